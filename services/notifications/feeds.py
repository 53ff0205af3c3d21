"""Calendar feeds (iCalendar, RFC 5545): every open obligation as an all-day event with its reminders as alarms.

Calendar clients cannot send bearer tokens, so each feed has its own URL with an unguessable secret
(`/v1/feeds/<secret>.ics`); only the secret's SHA-256 is stored, and a revoked feed answers 404 as an
unknown one does. A board feed shows the board's obligations; a person's feed shows, at each request, what
the person's token may see and their role answers for, so revoking the token (or the feed) stops it. A feed
names kinds, dates, case ids and roles, never a person or a child.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
from icalendar import Alarm, Calendar, Event

from lif.auth import CaseAction, Principal, Role, TokenStore, case_reads
from lif.auth.case_access import may_ever
from lif.clock import LONDON
from services.notifications.index import SCHEMA, ObligationIndex
from services.notifications.schedules import load_schedule

FEED_PREFIX = "lif_feed_"
FEED_PATH_PATTERN = r"^lif_feed_[A-Za-z0-9_-]{43}\.ics$"
ALARM_HOUR = time(9)
"""Alarms ring at 09:00 Europe/London on the day the schedule's step falls."""
KIND_LABELS = {
    "T1": "Chair's decision on an SCR due (T1)",
    "T2": "National Panel notice due (T2)",
    "T6": "SCR completion due (T6)",
    "T7": "Published report availability ends (T7)",
    "stage_due": "Review stage due",
    "panel_notification_due": "Child Safeguarding Practice Review Panel notification due",
    "rapid_review_due": "Rapid review due",
    "action_due": "Learning action due",
    "reaudit_due": "Re-audit of a recommendation's impact due",
}
ROLE_ANSWERS = {"reviewer": "lead_reviewer"}
"""The answering role a token's role stands for in the schedules (a reviewer token answers as a lead reviewer)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Feed:
    feed_id: UUID
    owner_kind: Literal["board", "person"]
    lscb: str | None
    principal: str | None


class FeedStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, owner_kind: Literal["board", "person"], owner: str, created_by: str) -> tuple[Feed, str]:
        """A new feed and its secret path segment (`lif_feed_....ics`), shown once."""
        secret = f"{FEED_PREFIX}{secrets.token_urlsafe(32)}.ics"
        feed = Feed(
            uuid4(), owner_kind, owner if owner_kind == "board" else None, owner if owner_kind == "person" else None
        )
        await self.pool.execute(
            f"INSERT INTO {SCHEMA}.feeds (feed_id, secret_sha256, owner_kind, lscb, principal, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            feed.feed_id,
            _hash(secret),
            owner_kind,
            feed.lscb,
            feed.principal,
            created_by,
        )
        return feed, secret

    async def revoke(self, feed_id: UUID) -> bool:
        status = await self.pool.execute(
            f"UPDATE {SCHEMA}.feeds SET revoked_at = now() WHERE feed_id = $1 AND revoked_at IS NULL", feed_id
        )
        return status.endswith(" 1")

    async def list(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"SELECT feed_id, owner_kind, lscb, principal, created_at, created_by, revoked_at FROM {SCHEMA}.feeds "
            "ORDER BY created_at"
        )
        return [dict(row) for row in rows]

    async def resolve(self, secret: str) -> Feed | None:
        row = await self.pool.fetchrow(
            f"SELECT feed_id, owner_kind, lscb, principal FROM {SCHEMA}.feeds "
            "WHERE secret_sha256 = $1 AND revoked_at IS NULL",
            _hash(secret),
        )
        return None if row is None else Feed(row["feed_id"], row["owner_kind"], row["lscb"], row["principal"])


async def person(tokens: TokenStore, name: str) -> Principal | None:
    """The person's newest active token, as the principal whose view the feed shows (None: none active)."""
    active = [t for t in await tokens.list() if t["name"] == name and t["revoked_at"] is None]
    if not active:
        return None
    newest = max(active, key=lambda t: t["created_at"])
    return Principal(newest["name"], newest["role"], newest["scope"])


async def feed_items(
    feed: Feed, index: ObligationIndex, tokens: TokenStore, today: date
) -> list[dict[str, Any]] | None:
    """The open obligations the feed's owner may see (None: the owner is gone, so the feed answers 404)."""
    if feed.owner_kind == "board":
        board = Principal(f"feed:{feed.feed_id}", Role.AUDITOR, feed.lscb or "")
        return await index.open_items(case_reads(board), today)
    owner = await person(tokens, feed.principal or "")
    if owner is None:
        return None
    if not may_ever(owner, CaseAction.READ_CASE):
        return []
    role = ROLE_ANSWERS.get(str(owner.role), str(owner.role))
    answers = role in {"chair", "business_manager", "lead_reviewer"}
    return await index.open_items(case_reads(owner), today, roles=[role] if answers else None)


def render(items: list[dict[str, Any]], name: str, now: datetime | None = None) -> bytes:
    """The feed as iCalendar text: one VEVENT per obligation (UID stable, SEQUENCE its number of moves)."""
    stamp = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", "-//LIF//Obligations//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in items:
        calendar.add_component(_event(item, stamp))
    return calendar.to_ical()


def _event(item: dict[str, Any], stamp: datetime) -> Event:
    due = date.fromisoformat(item["due"])
    label = KIND_LABELS.get(item["kind"], item["kind"].replace("_", " "))
    what = f"{label}: {item['ref']}" if item["kind"] == "stage_due" else label
    overdue = item["state"] == "breached"
    summary = f"{'OVERDUE ' if overdue else ''}{what} ({item['lscb']})"
    event = Event()
    event.add("uid", f"{item['obligation_id']}@lif")
    event.add("dtstamp", stamp)
    event.add("dtstart", due)
    event.add("dtend", due + timedelta(days=1))
    event.add("summary", summary)
    event.add(
        "description",
        f"{_subject(item)}, board {item['lscb']}. Due {item['due']} under {item['rule_pack']}. "
        f"Answered by: {', '.join(item['answering_roles'])}.",
    )
    event.add("categories", [item["kind"]])
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("sequence", max(0, len(item["history"]) - 1))
    for when in _alarm_days(item, due):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", datetime.combine(when, ALARM_HOUR, LONDON).astimezone(UTC))
        event.add_component(alarm)
    return event


def _subject(item: dict[str, Any]) -> str:
    if item.get("case_id"):
        return f"Case {item['case_id']}"
    return f"Recommendation {item.get('recommendation_id')}"  # a learning action or re-audit names no case


def _alarm_days(item: dict[str, Any], due: date) -> list[date]:
    spec = load_schedule(item["schedule"]).for_kind(item["kind"])
    return sorted({step.first_fire(due) for step in spec.steps if step.kind == "reminder"})
