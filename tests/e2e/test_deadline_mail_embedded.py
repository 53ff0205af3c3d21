"""Deadlines as the board lives them, on the embedded runtime, with the mail received by a real SMTP server.

One case's T1: the clock moves forward over the month the Chair has to decide: a reminder a week before and
the day before reaches the Chair and the business manager by email and in their role's inbox, the breach the
day after is escalated to both, and once the decision is recorded nothing more about T1 is sent. Each mail
carries a Message-ID derived from its idempotency key, so a second tick sends nothing twice.

A forum's recommendation and its actions (learning collation): the business manager is reminded of each
action's due date; the action whose date passes unmet is escalated to the Chair and the business manager,
once; the action done in time is never escalated. Neither names a case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from lif.auth import Role
from lif.delivery.log import read_log
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from lif.settings import OutboundSettings
from services.notifications.outbox.dispatch import RetryPolicy
from tests.databases import fresh_database
from tests.mailbox import Mailbox, smtp_server
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "deadline-mail-admin-token"
KEY = b"deadline-mail-test-pseudonym-key-01234567"
CHAIR = "chair@bolton.test"
MANAGER = "manager@bolton.test"


@dataclass
class Clock:
    day: date = date(2015, 3, 12)

    def __call__(self) -> date:
        return self.day


@dataclass
class Board:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    mailbox: Mailbox
    clock: Clock
    tokens: dict[str, str]

    async def get(self, path: str, who: str = "admin") -> httpx.Response:
        return await self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def tick(self, day: date) -> None:
        self.clock.day = day
        await self.system.catch_up()
        await self.system.ticker.tick(day)
        await self.system.catch_up()

    def t1_timers(self, case_id: str) -> list[str]:
        """The ids of the T1 timer events recorded for the case (what the outbox turns into messages)."""
        timers = ("notifications.reminder_due", "notifications.obligation_breached")
        return [
            str(item.envelope["event_id"])
            for item in read_log(self.system.notifications, 0, 100_000)
            if item.envelope["event_type"] in timers
            and str(item.envelope["case_id"]) == case_id
            and item.envelope["payload"]["kind"] == "T1"
        ]

    def mail(self, needle: str) -> list[EmailMessage]:
        with self.mailbox.lock:
            return [m for m in self.mailbox.messages if needle in m["Subject"]]

    def t1_mail(self, case_id: str) -> list[EmailMessage]:
        with self.mailbox.lock:
            return [m for m in self.mailbox.messages if " T1 " in f" {m['Subject']} " and case_id in m["Subject"]]


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[Board]:
    clock = Clock()
    url = await fresh_database(database_url, "deadlinemail")
    with smtp_server() as (mailbox, port):
        settings = OutboundSettings(
            smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, mail_from="LIF Bolton <lif@bolton.test>"
        )
        system = await build_embedded(
            url,
            KEY,
            ADMIN,
            today=clock,
            tick_interval=3600,
            outbound=settings,
            outbox_policy=RetryPolicy(attempts=3, first_delay=0.05),
        )
        await system.start()
        for name, address, role in (("Bolton Chair", CHAIR, "chair"), ("Bolton manager", MANAGER, "business_manager")):
            await asyncio.to_thread(
                lambda n=name, a=address, r=role: system.outbox.directory.add(
                    lscb="BOL", channel="email", display_name=n, address=a, roles=[r], created_by="test"
                )
            )
        tokens = {"admin": ADMIN}
        for who, role in (("manager", Role.BUSINESS_MANAGER), ("chair", Role.CHAIR)):
            tokens[who], _ = await system.authenticator.store.create(role, "BOL", who)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
            yield Board(client, system, mailbox, clock, tokens)
        await system.stop()


async def test_t1_is_reminded_and_escalated_by_email_and_in_the_inbox_then_nothing_once_decided(board: Board) -> None:
    accepted = await board.post("/v1/incidents", "manager", notification())
    assert accepted.status_code == 202, accepted.text
    case_id: str = accepted.json()["case_id"]

    async def t1_open() -> bool:
        await board.system.catch_up()
        listed = (await board.get("/v1/lscbs/BOL/obligations?kind=T1")).json()["obligations"]
        return any(item["case_id"] == case_id and item["state"] == "open" for item in listed)

    await eventually(t1_open, what="the case's T1 obligation")
    listed = (await board.get("/v1/lscbs/BOL/obligations?kind=T1")).json()["obligations"]
    due = next(item["due"] for item in listed if item["case_id"] == case_id)
    assert due == "2015-04-10"

    expected: list[tuple[str, str]] = []
    for day, prefix in ((date(2015, 4, 3), "LIF reminder"), (date(2015, 4, 9), "LIF reminder"),
                        (date(2015, 4, 11), "LIF escalation")):
        await board.tick(day)
        expected += [(prefix, CHAIR), (prefix, MANAGER)]

        async def arrived(count: int = len(expected)) -> bool:
            return len(board.t1_mail(case_id)) >= count

        await eventually(arrived, what=f"the T1 mail of {day}")
    got = sorted((m["Subject"].split(":")[0].strip(), m["To"].addresses[0].addr_spec) for m in board.t1_mail(case_id))
    assert got == sorted(expected)
    assert len({m["Message-ID"] for m in board.t1_mail(case_id)}) == len(expected)

    # The same day's tick again fires nothing, so nothing more is queued or sent.
    fired = board.t1_timers(case_id)
    assert len(fired) == 3
    await board.tick(date(2015, 4, 11))
    assert board.t1_timers(case_id) == fired
    assert len(board.t1_mail(case_id)) == len(expected)

    # The Chair's role inbox holds the escalation too.
    inbox = (await board.get("/v1/me/notifications", "chair")).json()["notifications"]
    assert any("escalation" in item["subject"] and case_id in item["subject"] for item in inbox), inbox

    body = {"decision": "initiate_scr", "decided_on": "2015-04-11", "methodology": "intensive", "criteria_held": ["D1"]}
    decided = await board.post(f"/v1/cases/{case_id}/decisions", "chair", body)
    assert decided.status_code == 201, decided.text
    await board.system.catch_up()
    met = (await board.get("/v1/lscbs/BOL/obligations?kind=T1&state=met")).json()["obligations"]
    assert any(item["case_id"] == case_id for item in met)
    for day in (date(2015, 4, 18), date(2015, 4, 25)):
        await board.tick(day)
    assert board.t1_timers(case_id) == fired  # met: no weekly re-escalation
    assert len(board.t1_mail(case_id)) == len(expected)


FORUM = {
    "lscb": "BOL",
    "reference": "BOL-FORUM-2015-07",
    "title": "Disguised compliance",
    "held_on": "2015-06-01",
    "agencies": ["health", "police"],
    "themes": [{"code": "family_professional_interaction"}],
    "what_was_learnt": "Practitioners accepted the parents' accounts without challenge.",
    "key_multi_agency_recommendations": ["Joint training on disguised compliance."],
}


def sent(mail: list[EmailMessage]) -> list[tuple[str, str]]:
    return sorted((m["Subject"].split(":")[0].strip(), m["To"].addresses[0].addr_spec) for m in mail)


async def test_a_learning_action_past_its_date_is_escalated_once_and_one_done_in_time_never(board: Board) -> None:
    board.clock.day = date(2015, 7, 1)
    recorded = await board.post("/v1/learning/forums", "manager", FORUM)
    assert recorded.status_code == 201, recorded.text
    source_id = recorded.json()["events"][0]["payload"]["source_id"]

    async def recommendation() -> str | None:
        await board.system.catch_up()
        listed = (await board.get("/v1/learning/recommendations?lscb=BOL", "manager")).json()["recommendations"]
        return next((r["recommendation_id"] for r in listed if r["source_id"] == source_id), None)

    rec = await eventually(recommendation, what="the forum's recommendation tracked")
    late = {"owning_agency": "health", "due": "2015-09-01", "description": "Audit supervision files."}
    in_time = {"owning_agency": "police", "due": "2015-09-04", "description": "Brief every response officer."}
    actions = {}
    for name, body in (("late", late), ("in_time", in_time)):
        answer = await board.post(f"/v1/learning/recommendations/{rec}/actions", "manager", body)
        assert answer.status_code == 201, answer.text
        actions[name] = answer.json()["events"][0]["payload"]["action_id"]

    async def opened() -> list[dict[str, Any]]:
        await board.system.catch_up()
        listed = (await board.get("/v1/lscbs/BOL/obligations?kind=action_due", "manager")).json()["obligations"]
        return [o for o in listed if o["recommendation_id"] == rec and o["state"] == "open"]

    async def both_open() -> list[dict[str, Any]] | None:
        items = await opened()
        return items if len(items) == 2 else None

    found = await eventually(both_open, what="the two actions' obligations")
    assert {o["ref"] for o in found} == set(actions.values())
    assert all(o["case_id"] is None for o in found)  # a recommendation's obligation names no case
    assert {(o["rule_pack"], o["schedule"]) for o in found} == {("learning@1.0.0", "learning@1.0.0")}
    assert all(o["history"][0]["source_event_id"] for o in found)  # what produced it

    late_mail, in_time_mail = "due 2015-09-01", "due 2015-09-04"
    for day in (date(2015, 8, 25), date(2015, 8, 28)):
        await board.tick(day)
    async def reminded() -> bool:
        return len(board.mail(late_mail)) >= 1 and len(board.mail(in_time_mail)) >= 1

    await eventually(reminded, what="the week-before reminders")
    done = {"status": "done", "on": "2015-09-02"}
    board.clock.day = date(2015, 9, 2)
    answer = await board.post(f"/v1/learning/recommendations/{rec}/actions/{actions['in_time']}", "manager", done)
    assert answer.status_code == 201, answer.text
    for day in (date(2015, 9, 2), date(2015, 9, 2), date(2015, 9, 5), date(2015, 9, 6)):
        await board.tick(day)

    async def escalated() -> bool:
        return len(board.mail(f"was {late_mail}")) >= 2

    await eventually(escalated, what="the late action's escalation")
    await board.tick(date(2015, 9, 6))
    assert sent(board.mail(late_mail)) == sorted(
        [("LIF reminder", MANAGER), ("LIF escalation", CHAIR), ("LIF escalation", MANAGER)]
    )
    assert sent(board.mail(in_time_mail)) == [("LIF reminder", MANAGER)]  # reminded, never escalated
    assert all("case" not in m["Subject"] for m in board.mail("action_due"))
    inbox = (await board.get("/v1/me/notifications", "chair")).json()["notifications"]
    assert [i for i in inbox if "escalation" in i["subject"] and late_mail in i["subject"]], inbox

    listed = (await board.get("/v1/lscbs/BOL/obligations?kind=action_due", "manager")).json()["obligations"]
    states = {o["ref"]: (o["state"], o["met_on"]) for o in listed if o["recommendation_id"] == rec}
    assert states == {actions["late"]: ("breached", None), actions["in_time"]: ("met", "2015-09-02")}
