"""The decisioning events in the read model (real PostgreSQL): decisions, T1/T2 deadlines and breaches with
an injectable today, arrival order, idempotency, schema upgrade, rebuild, and the audit timeline over HTTP
and from `lif audit case`.

Events are built with the contract models (`tests/decision_events.py`) and fed to `CaseProjector.handle`
as the delivery loops feed them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from events.envelope import EventEnvelope
from lif.auth import Authenticator, Role, TokenStore
from lif.db import create_pool
from lif.delivery.delivered import Delivered
from lif.erasable import ErasableStore
from lif.migrations import migrate
from lif.migrations.sets import PROJECTIONS
from projections import schema
from projections.api import build_router
from projections.projector import CaseProjector
from tests.databases import fresh_database
from tests.decision_events import INTENSIVE, TARGETED, CaseStory

pytestmark = [pytest.mark.integration]

REPO_ROOT = Path(__file__).resolve().parents[2]
T1_DUE = date(2015, 4, 10)  # notified 2015-03-10, one calendar month


class Clock:
    """The injectable business date the views compute breaches with."""

    def __init__(self) -> None:
        self.today = date(2015, 4, 5)

    def __call__(self) -> date:
        return self.today


@dataclass
class ReadSide:
    """A projector and the HTTP views over one database, with tokens and a fake erasable store."""

    url: str
    pool: Any
    projector: CaseProjector
    client: httpx.AsyncClient
    clock: Clock
    store: TokenStore
    texts: dict[UUID, str | None] = field(default_factory=dict)
    text_reads: list[tuple[str, UUID]] = field(default_factory=list)
    position: int = 0

    async def feed(self, *events: EventEnvelope, position_key: str = "log:decisioning") -> None:
        for event in events:
            self.position += 1
            await self.projector.handle(Delivered(position_key, self.position, event))

    async def token(self, role: Role, scope: str) -> dict[str, str]:
        token, _ = await self.store.create(role, scope, f"{role.value}-{scope}-{uuid4().hex[:6]}")
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(path, headers=headers or await self.token(Role.ADMIN, "region"))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def case(self, case_id: UUID) -> dict[str, Any]:
        return await self.get(f"/v1/cases/{case_id}")

    async def timeline(self, case_id: UUID) -> dict[str, Any]:
        return await self.get(f"/v1/cases/{case_id}/decisions")

    def remember(self, story: CaseStory) -> None:
        self.texts.update(story.texts)


@pytest.fixture(scope="module")
def module_database(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "decisions"))


async def open_read_side(url: str) -> tuple[ReadSide, FastAPI]:
    pool = await create_pool(url)
    store = TokenStore(pool)
    clock = Clock()
    side = ReadSide(url, pool, CaseProjector(pool), httpx.AsyncClient(), clock, store)

    async def document_text(lscb: str, case_id: UUID, document_id: UUID) -> str | None:
        side.text_reads.append((lscb, document_id))
        return side.texts.get(document_id)

    app = FastAPI()
    app.state.authenticator = Authenticator(store, None)
    app.include_router(build_router(pool, clock, document_text))
    side.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif")
    return side, app


@pytest.fixture
async def side(module_database: str) -> AsyncIterator[ReadSide]:
    read_side, _ = await open_read_side(module_database)
    yield read_side
    await read_side.client.aclose()
    await read_side.pool.close()


@pytest.fixture
async def own_side(database_url: str) -> AsyncIterator[ReadSide]:
    """A database of its own (for resets and region-wide figures)."""
    read_side, _ = await open_read_side(await fresh_database(database_url, "decisions_own"))
    yield read_side
    await read_side.client.aclose()
    await read_side.pool.close()


def deadlines(case: dict[str, Any]) -> list[tuple[str, str | None, str, bool, str | None, bool]]:
    return [(d["name"], d["ref"], d["due"], d["met"], d["met_on"], d["breached"]) for d in case["deadlines"]]


# --- deadlines and breaches ---------------------------------------------------------------------------------


async def test_the_first_decision_meets_t1_and_starts_the_panel_notice_deadline(side: ReadSide) -> None:
    story = CaseStory()
    rec = story.recommendation()
    decision = story.decision(rec, "initiate_scr", date(2015, 4, 1), methodology=INTENSIVE)
    await side.feed(story.incident(), rec)
    side.clock.today = date(2015, 4, 11)
    before = await side.case(story.case_id)
    assert deadlines(before) == [("chair_decision_due", None, "2015-04-10", False, None, True)]
    assert (before["decision"], before["decisions_count"], before["breaches"]) == (None, 0, 1)

    await side.feed(decision)
    case = await side.case(story.case_id)
    assert deadlines(case) == [
        ("chair_decision_due", None, "2015-04-10", True, "2015-04-01", False),
        ("panel_notice_due", str(decision.event_id), "2015-04-15", False, None, False),
    ]
    assert case["considered_for_scr"] is True
    assert case["decisions_count"] == 1
    assert case["decision"]["event_id"] == str(decision.event_id)
    assert case["decision"]["decision"] == "initiate_scr"
    assert case["decision"]["decided_on"] == "2015-04-01"
    assert case["decision"]["departs_from_recommendation"] is False
    assert case["decision"]["scr_route"] == "statutory"
    assert case["decision"]["methodology"]["rules_fired"] == ["D1"]
    assert case["decision"]["supersedes"] is None

    side.clock.today = date(2015, 4, 16)  # the notice is now overdue; T1 stays met in time
    case = await side.case(story.case_id)
    assert [d["breached"] for d in case["deadlines"]] == [False, True]
    listed = await side.get("/v1/lscbs/BOL/cases?limit=1000")
    mine = next(c for c in listed["cases"] if c["case_id"] == str(story.case_id))
    assert (mine["breaches"], mine["decision"]["decision"], mine["decisions_count"]) == (1, "initiate_scr", 1)


async def test_a_decision_later_than_t1_stays_a_breach_once_made(side: ReadSide) -> None:
    story = CaseStory()
    rec = story.recommendation()
    late = story.decision(rec, "no_review", date(2015, 4, 20), rationale="Not needed.")
    await side.feed(rec, late)
    side.clock.today = date(2015, 4, 21)
    case = await side.case(story.case_id)
    assert deadlines(case)[0] == ("chair_decision_due", None, "2015-04-10", True, "2015-04-20", True)
    side.clock.today = date(2016, 1, 1)
    case = await side.case(story.case_id)
    assert deadlines(case)[0][-1] is True
    assert case["breaches"] == 2  # the late decision, and its notice (due 2015-05-04) never sent


async def test_the_notice_deadline_is_met_when_sent_and_breached_when_sent_late(side: ReadSide) -> None:
    on_time, late = CaseStory(), CaseStory()
    for story, sent_on in ((on_time, date(2015, 4, 15)), (late, date(2015, 4, 16))):
        rec = story.recommendation()
        decision = story.decision(rec, "initiate_scr", date(2015, 4, 1), methodology=INTENSIVE)
        notice = story.notice(decision)
        await side.feed(rec, decision, notice)
        side.clock.today = date(2015, 4, 14)
        pending = await side.case(story.case_id)
        assert deadlines(pending)[1] == ("panel_notice_due", str(decision.event_id), "2015-04-15", False, None, False)
        assert pending["panel_notices"][0]["sent_on"] is None
        await side.feed(story.sent(notice, sent_on))
        side.clock.today = date(2015, 6, 1)
        case = await side.case(story.case_id)
        breached = sent_on > date(2015, 4, 15)
        assert deadlines(case)[1] == (
            "panel_notice_due",
            str(decision.event_id),
            "2015-04-15",
            True,
            sent_on.isoformat(),
            breached,
        )
        notice_view = case["panel_notices"][0]
        assert notice_view["notice_id"] == str(notice.payload.notice_id)
        assert (notice_view["decision_event_id"], notice_view["content_rule"]) == (str(decision.event_id), "T4")
        assert (notice_view["due"], notice_view["sent_on"]) == ("2015-04-15", sent_on.isoformat())
        assert case["breaches"] == int(breached)


async def test_a_superseding_decision_makes_a_second_notice_due(side: ReadSide) -> None:
    story = CaseStory(facts__outcome="harmed", facts__working_together_concern="yes")
    rec = story.recommendation()
    referral = story.referral(date(2015, 3, 20))
    first = story.decision(rec, "commission_macr", date(2015, 4, 1), considered_for_scr=True)
    notice = story.notice(first)
    second = story.decision(
        rec,
        "initiate_scr",
        date(2015, 5, 2),
        rationale="Peer challenge advised an SCR.",
        supersedes=first,
        considered_for_scr=True,
        methodology=TARGETED,
    )
    appointed = story.appoint(second, "rev-77", date(2015, 5, 10))
    await side.feed(rec, referral, first, notice, story.sent(notice, date(2015, 4, 8)), second, appointed)
    side.clock.today = date(2015, 5, 3)
    case = await side.case(story.case_id)
    assert case["statutory_scr"] is False and case["considered_for_scr"] is True
    assert case["referred_on"] == "2015-03-20"
    assert case["decisions_count"] == 2
    assert case["decision"]["event_id"] == str(second.event_id)
    assert case["decision"]["supersedes"] == str(first.event_id)
    assert (case["decision"]["scr_route"], case["decision"]["methodology"]["methodology"]) == (
        "discretionary",
        "targeted",
    )
    assert deadlines(case) == [
        ("chair_decision_due", None, "2015-04-10", True, "2015-04-01", False),
        ("panel_notice_due", str(first.event_id), "2015-04-15", True, "2015-04-08", False),
        ("panel_notice_due", str(second.event_id), "2015-05-16", False, None, False),
    ]
    assert case["lead_reviewers"] == [
        {
            "reviewer_id": "rev-77",
            "review": "initiate_scr",
            "appointed_on": "2015-05-10",
            "decision_event_id": str(second.event_id),
            "independence": "independent_of_board",
            "event_id": str(appointed.event_id),
        }
    ]


# --- arrival order, idempotency, upgrade, rebuild -------------------------------------------------------------


async def test_a_decision_arriving_before_its_recommendation_and_incident(side: ReadSide) -> None:
    story = CaseStory()
    incident, rec = story.incident(), story.recommendation()
    decision = story.decision(rec, "initiate_scr", date(2015, 4, 1), methodology=INTENSIVE)
    await side.feed(decision)
    early = await side.case(story.case_id)
    assert (early["decisions_count"], early["recommendation"], early["opened_at"]) == (1, None, None)
    assert [d["name"] for d in early["deadlines"]] == ["panel_notice_due"]

    await side.feed(rec, position_key="log:decisioning-replay")
    await side.feed(incident, position_key="log:intake")
    case = await side.case(story.case_id)
    assert case["recommendation"] == rec.payload.recommendation.model_dump(mode="json")
    assert case["opened_at"] is not None and case["facts"]["outcome"] == "seriously_harmed"
    assert deadlines(case)[0] == ("chair_decision_due", None, "2015-04-10", True, "2015-04-01", False)
    assert case["decision"]["event_id"] == str(decision.event_id)


async def test_the_same_event_twice_changes_nothing(side: ReadSide) -> None:
    story = CaseStory()
    rec = story.recommendation()
    decision = story.decision(rec, "initiate_scr", date(2015, 4, 1), methodology=INTENSIVE)
    notice = story.notice(decision)
    await side.feed(rec, decision, notice)
    before = await side.case(story.case_id)
    timeline = await side.timeline(story.case_id)
    await side.projector.handle(Delivered("log:decisioning", side.position, notice))  # redelivered
    await side.feed(decision, rec, notice, position_key="kafka:republished:0")  # republished at new offsets
    assert await side.case(story.case_id) == before
    assert await side.timeline(story.case_id) == timeline
    assert before["decisions_count"] == 1 and len(before["panel_notices"]) == 1
    assert len(before["events"]) == 3


OLD_DDL = f"""
CREATE SCHEMA {schema.SCHEMA};
CREATE TABLE {schema.SCHEMA}.cases (
    case_id uuid PRIMARY KEY, lscb text NOT NULL, opened_at timestamptz, incident_date date, notified_date date,
    notifying_agency text, source_system text, child jsonb, facts jsonb, recommendation jsonb, review_type text,
    statutory_scr boolean, recommended_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {schema.SCHEMA}.deadlines (
    case_id uuid NOT NULL, lscb text NOT NULL, name text NOT NULL, due date NOT NULL, met_at timestamptz,
    PRIMARY KEY (case_id, name)
);
"""


async def test_a_read_model_of_the_foundation_upgrades_in_place(database_url: str) -> None:
    """The tables as the first read model made them: the migration adds the columns and lets a deadline name
    repeat per decision."""
    url = await fresh_database(database_url, "decisions_upgrade", migrated=False)
    pool = await create_pool(url)
    try:
        await pool.execute(OLD_DDL)
        old_case = uuid4()
        await pool.execute(f"INSERT INTO {schema.SCHEMA}.cases (case_id, lscb) VALUES ($1, 'BOL')", old_case)
        await pool.execute(
            f"INSERT INTO {schema.SCHEMA}.deadlines (case_id, lscb, name, due) VALUES ($1, 'BOL', 'x', '2015-01-01')",
            old_case,
        )
        assert [m.label for m in await migrate(url, [PROJECTIONS])] == [
            "0001_read_model",
            "0002_parked_events",
            "0003_reporting_years",
        ]
        assert await migrate(url, [PROJECTIONS]) == []  # and again: nothing left to do
        kept = await pool.fetchrow(f"SELECT * FROM {schema.SCHEMA}.deadlines WHERE case_id = $1", old_case)
        assert kept is not None
        assert (kept["name"], kept["ref"], kept["met_on"]) == ("x", "", None)
        key = await pool.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'deadlines_pkey' "
            "AND connamespace = $1::regnamespace",
            schema.SCHEMA,
        )
        assert key == "PRIMARY KEY (case_id, name, ref)"
        story = CaseStory()
        rec = story.recommendation()
        first = story.decision(rec, "no_review", date(2015, 4, 1), rationale="r")
        second = story.decision(rec, "initiate_scr", date(2015, 4, 3), rationale="r", supersedes=first)
        projector = CaseProjector(pool)
        for position, event in enumerate((rec, first, second), start=1):
            await projector.handle(Delivered("log:decisioning", position, event))
        names = await pool.fetch(
            f"SELECT name FROM {schema.SCHEMA}.deadlines WHERE case_id = $1 ORDER BY due", story.case_id
        )
        assert [row["name"] for row in names] == ["chair_decision_due", "panel_notice_due", "panel_notice_due"]
        row = await pool.fetchrow(f"SELECT * FROM {schema.SCHEMA}.cases WHERE case_id = $1", old_case)
        assert row is not None
        assert (row["decisions_count"], row["considered_for_scr"], json.loads(row["lead_reviewers"])) == (0, False, [])
    finally:
        await pool.close()


def stories_for_rebuild() -> tuple[list[CaseStory], list[EventEnvelope]]:
    """Two boards' cases with every kind of decisioning event."""
    bolton, wigan = CaseStory(), CaseStory(lscb="WGN")
    events: list[EventEnvelope] = []
    for story in (bolton, wigan):
        rec = story.recommendation()
        first = story.decision(rec, "no_review", date(2015, 4, 12), rationale="First view.")
        notice = story.notice(first)
        second = story.decision(
            rec, "initiate_scr", date(2015, 4, 30), rationale="Second view.", supersedes=first, methodology=INTENSIVE
        )
        events += [
            story.incident(),
            rec,
            story.referral(date(2015, 3, 11), reason="Referral reason."),
            story.discretionary(date(2015, 3, 30), note="Peer challenge note."),
            first,
            notice,
            story.sent(notice, date(2015, 4, 30)),
            second,
            story.notice(second),
            story.appoint(second, "rev-9", date(2015, 5, 4)),
            story.themes("family_professional_interaction"),
        ]
    return [bolton, wigan], events


async def snapshot(side: ReadSide, stories: Sequence[CaseStory]) -> dict[str, Any]:
    views: dict[str, Any] = {"region": await side.get("/v1/region/summary")}
    for story in stories:
        views[f"case {story.case_id}"] = await side.case(story.case_id)
        views[f"timeline {story.case_id}"] = await side.timeline(story.case_id)
        views[f"list {story.lscb}"] = await side.get(f"/v1/lscbs/{story.lscb}/cases")
    return views


async def test_a_rebuild_gives_the_same_views_and_audit_timeline(own_side: ReadSide) -> None:
    stories, events = stories_for_rebuild()
    for story in stories:
        own_side.remember(story)
    own_side.clock.today = date(2015, 6, 1)
    await own_side.feed(*events)
    before = await snapshot(own_side, stories)

    await schema.reset(own_side.pool)
    emptied = await own_side.client.get(
        f"/v1/cases/{stories[0].case_id}/decisions", headers=await own_side.token(Role.ADMIN, "region")
    )
    assert emptied.status_code == 404
    intake = [e for e in events if e.event_type.startswith("intake.")]
    decisioning = [e for e in events if not e.event_type.startswith("intake.")]
    await own_side.feed(*reversed(decisioning), position_key="kafka:lif.decisioning.v1:0")  # another order
    await own_side.feed(*intake, position_key="kafka:lif.intake.v1:0")
    after = await snapshot(own_side, stories)
    assert after == before

    region = before["region"]
    # Each board: T1 met late (decided 2015-04-12 > 2015-04-10), the first notice sent late (2015-04-30 >
    # 2015-04-26), the second notice open past its due date (2015-05-14).
    assert region["breached_deadlines"] == 6
    assert region["boards"]["BOL"]["breached_deadlines"] == 3
    assert region["deadlines"]["panel_notice_due"]["breached"] == 4
    assert region["deadlines"]["chair_decision_due"] == {
        "open": 0, "breached": 2, "due_within_7_days": 0, "overdue": 0, "met_in_time": 0, "met_late": 2
    }
    assert region["deadlines"]["panel_notice_due"] == {
        "open": 2, "breached": 4, "due_within_7_days": 0, "overdue": 2, "met_in_time": 0, "met_late": 2
    }


# --- the audit timeline over HTTP ------------------------------------------------------------------------------


async def test_the_audit_timeline_lists_every_decisioning_event_in_order(side: ReadSide) -> None:
    story = CaseStory()
    incident, rec = story.incident(), story.recommendation()
    referral = story.referral(date(2015, 3, 11), reason="The strategy meeting asked for the SCR panel.")
    peer = story.discretionary(date(2015, 3, 20), note="Peer challenge notes that were later erased.")
    first = story.decision(rec, "no_review", date(2015, 4, 2), rationale="The Chair's first rationale.")
    second = story.decision(
        rec, "initiate_scr", date(2015, 4, 9), rationale="Reconsidered.", supersedes=first, methodology=INTENSIVE
    )
    appointed = story.appoint(second, "rev-3", date(2015, 4, 14))
    notice = story.notice(second, body="<h1>Notice to the National Panel</h1>")
    sent = story.sent(notice, date(2015, 4, 15))
    themes = story.themes("human_judgement", "multi_agency_longer_term")
    ordered = [rec, referral, peer, first, second, appointed, notice, sent, themes]
    side.remember(story)
    side.texts[peer.payload.note.document_id] = None  # type: ignore[union-attr]  # erased
    side.texts[second.payload.rationale.document_id] = "Edited afterwards."  # type: ignore[union-attr]
    await side.feed(incident, *reversed(ordered))  # the timeline follows record time, not arrival

    timeline = await side.timeline(story.case_id)
    assert (timeline["case_id"], timeline["lscb"]) == (str(story.case_id), "BOL")
    entries = timeline["entries"]
    assert [e["event_id"] for e in entries] == [str(e.event_id) for e in ordered]
    assert [e["kind"] for e in entries] == [
        "recommendation",
        "scr_panel_referral",
        "discretionary_input",
        "decision",
        "decision",
        "lead_reviewer_appointed",
        "panel_notice_prepared",
        "panel_notice_sent",
        "learning_themes_tagged",
    ]
    recommendation = entries[0]
    assert recommendation["event_type"] == "decisioning.recommendation_recorded"
    assert recommendation["actor"] == {"kind": "service", "id": "decisioning", "role": None}
    assert recommendation["facts"] == story.notification.facts.model_dump(mode="json")
    assert (recommendation["rule_pack"], recommendation["rule_pack_version"]) == (
        rec.payload.recommendation.rule_pack,
        rec.payload.recommendation.rule_pack_version,
    )
    assert recommendation["rules_fired"] == rec.payload.recommendation.rules_fired
    assert recommendation["review_type"] == "serious_case_review" and recommendation["reasons"]
    assert recommendation["occurred_at"] == rec.occurred_at.isoformat()
    assert recommendation["recorded_at"] == rec.recorded_at.isoformat()

    assert entries[1]["reason"]["text"] == "The strategy meeting asked for the SCR panel."
    assert entries[1]["reason"]["verified"] is True
    assert (entries[2]["note"]["text"], entries[2]["note"]["status"], entries[2]["note"]["verified"]) == (
        None,
        "erased",
        False,
    )
    decided, superseding = entries[3], entries[4]
    assert (decided["decision"], decided["departs_from_recommendation"], decided["supersedes"]) == (
        "no_review",
        True,
        None,
    )
    assert decided["actor"] == {"kind": "person", "id": "chair-token", "role": "chair"}
    assert decided["rationale"]["text"] == "The Chair's first rationale." and decided["rationale"]["verified"]
    assert decided["recommendation_seen"]["event_id"] == str(rec.event_id)
    assert (superseding["supersedes"], superseding["methodology"]["methodology"]) == (
        str(first.event_id),
        "intensive",
    )
    assert superseding["rules_fired"] == ["D1"] and superseding["rule_pack"] == "nwlif-2015"
    assert (superseding["rationale"]["text"], superseding["rationale"]["status"]) == ("Edited afterwards.", "altered")
    assert entries[6]["document"]["text"] == "<h1>Notice to the National Panel</h1>"
    assert entries[6]["content_rule"] == "T4" and entries[7]["sent_on"] == "2015-04-15"
    assert entries[8]["themes"] == ["human_judgement", "multi_agency_longer_term"]
    assert {lscb for lscb, _ in side.text_reads} == {"BOL"}


async def test_the_audit_timeline_has_the_case_views_scope(side: ReadSide) -> None:
    story = CaseStory()
    rec = story.recommendation()
    await side.feed(rec, story.decision(rec, "no_review", date(2015, 4, 1), rationale="Secret reasoning."))
    side.remember(story)
    path = f"/v1/cases/{story.case_id}/decisions"
    side.text_reads.clear()

    for role, scope, status in [
        (Role.BUSINESS_MANAGER, "WGN", 404),
        (Role.CHAIR, "WGN", 404),
        (Role.AUDITOR, "WGN", 404),
        (Role.REGIONAL_ANALYST, "region", 403),
    ]:
        response = await side.client.get(path, headers=await side.token(role, scope))
        assert response.status_code == status, (role, scope, response.text)
        assert "Secret" not in response.text
    assert side.text_reads == []  # nothing read for a caller outside the scope
    assert (await side.client.get(path)).status_code == 401
    unknown = await side.client.get(f"/v1/cases/{uuid4()}/decisions", headers=await side.token(Role.ADMIN, "region"))
    assert unknown.status_code == 404

    for role, scope in [(Role.AUDITOR, "BOL"), (Role.AUDITOR, "region"), (Role.CHAIR, "BOL")]:
        timeline = await side.get(path, await side.token(role, scope))
        assert [e["kind"] for e in timeline["entries"]] == ["recommendation", "decision"]
        assert timeline["entries"][1]["rationale"]["text"] == "Secret reasoning."


async def test_a_case_without_decisioning_events_has_an_empty_timeline(side: ReadSide) -> None:
    story = CaseStory()
    await side.feed(story.incident())
    assert (await side.timeline(story.case_id))["entries"] == []


# --- lif audit case ------------------------------------------------------------------------------------------------


def run_lif(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIF_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(DATABASE_URL=url, LIF_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "lif.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


async def test_lif_audit_case_prints_the_timeline(own_side: ReadSide, tmp_path: Path) -> None:
    story = CaseStory()
    rec = story.recommendation()
    decision = story.decision(rec, "no_review", date(2015, 4, 1), rationale="No new learning, the Chair said.")
    notice = story.notice(decision)
    await own_side.feed(story.incident(), rec, decision, notice, story.sent(notice, date(2015, 4, 3)))
    cli_url = own_side.url
    store = await asyncio.to_thread(ErasableStore, cli_url, "lif_decisioning_personal")
    try:
        for document_id, text in story.texts.items():
            await asyncio.to_thread(store.put, document_id, "BOL", story.case_id, "decision", text)
    finally:
        await asyncio.to_thread(store.close)

    result = await asyncio.to_thread(run_lif, cli_url, tmp_path, "audit", "case", str(story.case_id))
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == 1 + 5  # the whole history: intake's notification and the four decisioning events
    assert f"case {story.case_id} (board BOL): 5 events (decisioning, intake)" in blocks[0]
    intake_block = next(b for b in blocks[1:] if "incident_received" in b)
    assert "notification from" in intake_block
    decisioning = [b for b in blocks[1:] if b is not intake_block]
    assert "recommendation" in decisioning[0] and "rule pack nwlif-2015@" in decisioning[0]
    assert "rules A1, A3, A4" in decisioning[0]
    assert "by person chair-token (chair)" in decisioning[1]
    assert "Chair decided no_review on 2015-04-01, departs from the recommendation" in decisioning[1]
    assert "rationale: verified" in decisioning[1] and "No new learning, the Chair said." in decisioning[1]
    assert "marked the notice" in decisioning[3] and "sent on 2015-04-03" in decisioning[3]

    as_json = await asyncio.to_thread(run_lif, cli_url, tmp_path, "audit", "case", str(story.case_id), "--json")
    assert as_json.returncode == 0, as_json.stderr
    own_side.remember(story)  # the HTTP view's reader now has the texts the CLI read from the store
    whole = json.loads(as_json.stdout)
    decision_history = await own_side.timeline(story.case_id)
    assert sorted(e["service"] for e in whole["entries"]) == ["decisioning"] * 4 + ["intake"]
    decisioning_part = [e for e in whole["entries"] if e["service"] == "decisioning"]
    assert {**whole, "entries": decisioning_part} == decision_history  # the HTTP view is decisioning's part

    unknown = await asyncio.to_thread(run_lif, cli_url, tmp_path, "audit", "case", str(uuid4()))
    assert unknown.returncode == 1
    assert "is not in the read model" in unknown.stderr and unknown.stdout == ""
    assert "Traceback" not in unknown.stderr
    malformed = await asyncio.to_thread(run_lif, cli_url, tmp_path, "audit", "case", "not-a-case")
    assert malformed.returncode == 2 and "not a case id" in malformed.stderr
