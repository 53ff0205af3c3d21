"""Review progress in the read model (real PostgreSQL): an Intensive SCR from opening to closure, stages overdue
and T6 with an injectable today, arrival order and duplicates, scoping, reviewers, schema upgrade, reset and
replay.

Events are built with the contract models (`tests/review_events.py`) and fed to `CaseProjector.handle` as the
delivery loops feed them.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from events.envelope import EventEnvelope
from lif.auth import Authenticator, Role, TokenStore
from lif.db import create_pool
from lif.delivery.delivered import Delivered
from lif.migrations import migrate
from lif.migrations.sets import PROJECTIONS
from projections import schema
from projections.api import build_router
from projections.projector import CaseProjector
from projections.review_queries import review_summary
from projections.reviews import fold_review
from tests.databases import fresh_database
from tests.review_events import DECIDED_ON, LEAD, REFERENCE_CODE, T6_DUE, IntensiveScr, intensive_scr

pytestmark = [pytest.mark.integration]

ORCHESTRATION_KEY = "kafka:lif.orchestration.v1:0"


class Clock:
    """The injectable business date the views compute overdue stages and T6 with."""

    def __init__(self) -> None:
        self.today = date(2015, 4, 5)

    def __call__(self) -> date:
        return self.today


@dataclass
class ReadSide:
    """A projector and the HTTP views over one database, with tokens."""

    pool: Any
    projector: CaseProjector
    client: httpx.AsyncClient
    clock: Clock
    store: TokenStore
    position: int = 0

    async def feed(self, *events: EventEnvelope, position_key: str = ORCHESTRATION_KEY) -> None:
        for event in events:
            self.position += 1
            await self.projector.handle(Delivered(position_key, self.position, event))

    async def feed_case(self, scr: IntensiveScr) -> None:
        """Every event of the case, each from its own topic, in recorded order."""
        for event in scr.events:
            await self.feed(event, position_key=f"kafka:lif.{event.event_type.split('.')[0]}.v1:0")

    async def token(self, role: Role, scope: str, name: str | None = None) -> dict[str, str]:
        token, _ = await self.store.create(role, scope, name or f"{role.value}-{scope}-{uuid4().hex[:6]}")
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(path, headers=headers or await self.token(Role.ADMIN, "region"))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def status(self, path: str, headers: dict[str, str]) -> int:
        return (await self.client.get(path, headers=headers)).status_code

    async def review(self, scr: IntensiveScr, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The case view's `review`."""
        return (await self.get(f"/v1/cases/{scr.case.case_id}", headers))["review"]  # type: ignore[no-any-return]

    async def listed(self, lscb: str, headers: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """The board's reviews by case id."""
        reviews = (await self.get(f"/v1/lscbs/{lscb}/reviews", headers))["reviews"]
        return {review["case_id"]: review for review in reviews}


async def open_read_side(url: str) -> ReadSide:
    pool = await create_pool(url)
    store = TokenStore(pool)
    clock = Clock()
    app = FastAPI()
    app.state.authenticator = Authenticator(store, None)
    app.include_router(build_router(pool, clock))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif")
    return ReadSide(pool, CaseProjector(pool), client, clock, store)


@pytest.fixture(scope="module")
def module_database(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "reviews"))


@pytest.fixture
async def side(module_database: str) -> AsyncIterator[ReadSide]:
    read_side = await open_read_side(module_database)
    yield read_side
    await read_side.client.aclose()
    await read_side.pool.close()


@pytest.fixture
async def own_side(database_url: str) -> AsyncIterator[ReadSide]:
    """A database of its own (for resets and region-wide figures)."""
    read_side = await open_read_side(await fresh_database(database_url, "reviews_own"))
    yield read_side
    await read_side.client.aclose()
    await read_side.pool.close()


def stage(review: dict[str, Any], stage_id: str) -> dict[str, Any]:
    return next(s for s in review["stages"] if s["stage_id"] == stage_id)


def expected_review(orchestration: list[EventEnvelope], today: date) -> dict[str, Any]:
    """The review as the pure fold of its events in log order gives it, as JSON."""
    row = fold_review(orchestration)
    assert row is not None
    return json.loads(json.dumps(review_summary(asdict(row), today)))  # type: ignore[no-any-return]


# --- an Intensive SCR from opening to closure -------------------------------------------------------------------


async def test_an_intensive_scr_through_its_stages_to_publication_and_closure(side: ReadSide) -> None:
    scr = intensive_scr()
    incident, rec, decision, appointment = scr.upstream
    await side.feed(incident, rec, position_key="kafka:lif.decisioning.v1:0")
    case = await side.get(f"/v1/cases/{scr.case.case_id}")
    assert case["review"] is None  # considered for an SCR, but no process opened yet

    await side.feed(*scr.phases["pre_decision"])
    side.clock.today = date(2015, 4, 5)
    review = await side.review(scr)
    assert review is not None
    assert (review["review_id"], review["case_id"], review["lscb"]) == (
        str(scr.review.review_id),
        str(scr.case.case_id),
        "BOL",
    )
    assert (review["status"], review["phase"], review["plan_id"], review["opened_on"]) == (
        "open",
        "pre_decision",
        "pre_decision",
        "2015-03-10",
    )
    assert (review["current_stage"], review["pre_decision_due"], review["t6"]) == (None, "2015-04-10", None)
    assert [(s["stage_id"], s["held_on"]) for s in review["stages"]] == [
        ("initial_meeting", "2015-03-16"),
        ("spe_chronologies", "2015-03-27"),
        ("planning_meeting", "2015-04-02"),
    ]
    assert review["chronology"] == {"entries": 2, "significant": 1}

    await side.feed(decision, appointment, position_key="kafka:lif.decisioning.v1:0")
    await side.feed(*scr.phases["initiated"])
    side.clock.today = date(2015, 4, 10)
    review = await side.review(scr)
    assert review is not None
    assert (review["review_kind"], review["method"], review["phase"], review["status"]) == (
        "scr",
        "intensive",
        "review",
        "open",
    )
    assert (review["current_stage"], review["started_on"], review["decision_event_id"]) == (
        "national_panel_engagement",
        DECIDED_ON.isoformat(),
        str(decision.event_id),
    )
    assert [s["number"] for s in review["stages"]] == [4, 5, 6, 7, 8, 9, 10, 11, 12, None, None]
    assert review["t6"]["due"] == T6_DUE.isoformat() and review["t6"]["days_elapsed"] == 2
    assert review["members"] == {"review_group": 1, "case_group": 1}
    assert review["chronology"] == {"entries": 2, "significant": 2}
    assert review["publication_hold"] is True
    assert review["parallel_processes"] == [
        {"kind": "criminal_investigation", "status": "ongoing", "started_on": "2015-03-03"}
    ]

    await side.feed(*scr.phases["stages"], *scr.phases["moved"], *scr.phases["late_stages"])
    side.clock.today = date(2015, 10, 1)
    review = await side.review(scr)
    assert review is not None
    assert review["current_stage"] == "publication"  # family involvement moved while the trial runs
    assert stage(review, "family_involvement")["moved"] == "criminal_proceedings"
    assert stage(review, "spe_forum")["outcome"] == "completed"
    assert review["overdue_stages"] == []
    assert review["learning_summary_reference_code"] == REFERENCE_CODE

    await side.feed(*scr.phases["trial_over"], *scr.phases["published"])
    side.clock.today = date(2016, 2, 5)
    review = await side.review(scr)
    assert review is not None
    assert (review["status"], review["current_stage"], review["publication_hold"]) == ("published", "closure", False)
    assert (review["published_on"], review["available_until"]) == ("2016-02-01", "2017-02-01")
    assert stage(review, "family_involvement")["held_on"] == "2016-01-25"
    assert review["t6"]["overdue"] is True  # not complete until closed

    await side.feed(*scr.phases["closed"])
    side.clock.today = date(2016, 3, 1)
    review = await side.review(scr)
    assert review is not None
    assert (review["status"], review["current_stage"], review["closed_on"]) == ("closed", None, "2016-02-10")
    assert (review["t6"]["completed_on"], review["t6"]["days_overdue"], review["t6"]["days_remaining"]) == (
        "2016-02-10",
        125,
        None,
    )
    listed = (await side.listed("BOL"))[str(scr.case.case_id)]
    assert listed == review


# --- overdue stages and T6 with an injectable today -------------------------------------------------------------


async def test_a_stage_overdue_against_the_plan_moves_with_today(side: ReadSide) -> None:
    scr = intensive_scr()
    await side.feed(*scr.upstream, position_key="kafka:lif.decisioning.v1:0")
    await side.feed(*scr.until("initiated"), *scr.phases["stages"][:3])  # national panel engagement held

    side.clock.today = date(2015, 5, 20)  # spe_forum is due today
    review = await side.review(scr)
    assert review is not None and review["overdue_stages"] == [] and review["current_stage"] == "spe_forum"
    side.clock.today = date(2015, 5, 21)
    review = await side.review(scr)
    assert review is not None and review["overdue_stages"] == ["spe_forum"]
    assert stage(review, "spe_forum")["overdue"] is True and stage(review, "information_audit")["overdue"] is False
    listed = (await side.listed("BOL"))[str(scr.case.case_id)]
    assert listed["overdue_stages"] == ["spe_forum"]

    await side.feed(*scr.phases["stages"][3:6])  # the forum is held late
    review = await side.review(scr)
    assert review is not None and review["overdue_stages"] == [] and review["current_stage"] == "information_audit"


async def test_t6_progress_and_overdue(side: ReadSide) -> None:
    scr = intensive_scr()
    await side.feed(*scr.upstream, position_key="kafka:lif.decisioning.v1:0")
    await side.feed(*scr.until("late_stages"))

    side.clock.today = date(2015, 6, 1)
    t6 = (await side.listed("BOL"))[str(scr.case.case_id)]["t6"]
    assert (t6["due"], t6["days_in_period"], t6["days_elapsed"], t6["days_remaining"], t6["overdue"]) == (
        "2015-10-08",
        183,
        54,
        129,
        False,
    )
    side.clock.today = date(2015, 10, 20)
    t6 = (await side.listed("BOL"))[str(scr.case.case_id)]["t6"]
    assert (t6["days_elapsed"], t6["days_remaining"], t6["days_overdue"], t6["overdue"]) == (195, 0, 12, True)


# --- arrival order and duplicates ----------------------------------------------------------------------------


async def test_arrival_order_across_topics_and_duplicates_change_nothing(side: ReadSide) -> None:
    scr = intensive_scr()
    orchestration, upstream = scr.orchestration, list(scr.upstream)
    rng = random.Random(4)
    mixed: list[tuple[str, EventEnvelope]] = [(ORCHESTRATION_KEY, e) for e in orchestration]
    for event in upstream:  # intake and decisioning interleave anywhere, the orchestration topic stays in order
        mixed.insert(rng.randrange(len(mixed) + 1), ("kafka:lif.decisioning.v1:0", event))
    for key, event in mixed:
        await side.feed(event, position_key=key)
    # Redelivery at the same position, and republication at a new position, are both no-ops.
    await side.projector.handle(Delivered(ORCHESTRATION_KEY, side.position, orchestration[-1]))
    await side.feed(*orchestration[5:12], *upstream)

    side.clock.today = date(2016, 3, 1)
    assert await side.review(scr) == expected_review(orchestration, side.clock.today)
    count = await side.pool.fetchval(
        f"SELECT count(*) FROM {schema.SCHEMA}.case_events WHERE case_id = $1", scr.case.case_id
    )
    assert count == len(scr.events)


async def test_a_review_whose_events_arrive_before_the_case_shows_once_the_case_does(side: ReadSide) -> None:
    scr = intensive_scr()
    await side.feed(*scr.until("initiated"))
    admin = await side.token(Role.ADMIN, "region")
    assert await side.status(f"/v1/cases/{scr.case.case_id}", admin) == 404  # no intake or decisioning event yet
    assert str(scr.case.case_id) in await side.listed("BOL", admin)
    await side.feed(*reversed(scr.upstream), position_key="kafka:lif.decisioning.v1:0")
    review = await side.review(scr, admin)
    assert review is not None and review["current_stage"] == "national_panel_engagement"


async def test_the_fold_follows_record_time_even_when_a_log_replays_out_of_order(side: ReadSide) -> None:
    """The topic keeps a case's orchestration events in order; were they not, record time still orders them."""
    scr = intensive_scr()
    await side.feed(*reversed(scr.orchestration))
    side.clock.today = date(2016, 3, 1)
    listed = (await side.listed("BOL"))[str(scr.case.case_id)]
    assert listed == expected_review(scr.orchestration, side.clock.today)


async def test_events_recorded_in_the_same_instant_fold_in_arrival_order(side: ReadSide) -> None:
    """A command may record several events at one instant; the topic's order then decides, not the event ids."""
    scr = intensive_scr()
    instant = scr.phases["pre_decision"][0].recorded_at
    same = [event.model_copy(update={"recorded_at": instant}) for event in scr.phases["pre_decision"]]
    await side.feed(*same)
    review = (await side.listed("BOL"))[str(scr.case.case_id)]
    assert (review["status"], review["plan_id"], review["chronology"]) == (
        "open",
        "pre_decision",
        {"entries": 2, "significant": 1},
    )
    assert [s["held_on"] for s in review["stages"]] == ["2015-03-16", "2015-03-27", "2015-04-02"]
    assert [s["outcome"] for s in review["stages"]] == ["completed"] * 3


# --- scoping (rules.md section 3) ---------------------------------------------------------------------------------


async def test_board_and_regional_scoping(own_side: ReadSide) -> None:
    bolton, wigan = intensive_scr(), intensive_scr(lscb="WGN")
    for scr in (bolton, wigan):
        await own_side.feed_case(scr)
    own_side.clock.today = date(2015, 11, 1)

    board_list = "/v1/lscbs/BOL/reviews"
    for role, scope, status in [
        (Role.BUSINESS_MANAGER, "WGN", 404),
        (Role.CHAIR, "WGN", 404),
        (Role.AUDITOR, "WGN", 404),
        (Role.REVIEWER, "WGN", 404),
        (Role.REGIONAL_ANALYST, "region", 403),
    ]:
        assert await own_side.status(board_list, await own_side.token(role, scope)) == status, (role, scope)
    assert (await own_side.client.get(board_list)).status_code == 401
    admin = await own_side.token(Role.ADMIN, "region")
    assert await own_side.status("/v1/lscbs/XXX/reviews", admin) == 404
    for role, scope in [
        (Role.BUSINESS_MANAGER, "BOL"),
        (Role.CHAIR, "BOL"),
        (Role.AUDITOR, "BOL"),
        (Role.AUDITOR, "region"),
    ]:
        listed = await own_side.listed("BOL", await own_side.token(role, scope))
        assert list(listed) == [str(bolton.case.case_id)], (role, scope)
    other_case = f"/v1/cases/{wigan.case.case_id}"
    assert await own_side.status(other_case, await own_side.token(Role.BUSINESS_MANAGER, "BOL")) == 404

    for role, scope in [(Role.BUSINESS_MANAGER, "BOL"), (Role.CHAIR, "WGN"), (Role.AUDITOR, "BOL")]:
        assert await own_side.status("/v1/region/reviews", await own_side.token(role, scope)) == 403, (role, scope)
    assert (await own_side.client.get("/v1/region/reviews")).status_code == 401
    analyst = await own_side.token(Role.REGIONAL_ANALYST, "region")
    response = await own_side.client.get("/v1/region/reviews", headers=analyst)
    assert response.status_code == 200
    for scr in (bolton, wigan):  # aggregates only
        assert str(scr.case.case_id) not in response.text and str(scr.review.review_id) not in response.text
    assert LEAD not in response.text
    region = response.json()
    assert region["as_of"] == "2015-11-01"
    assert set(region["boards"]) == {"BOL", "WGN"}
    assert region["boards"]["BOL"] == {
        "reviews": 1,
        "by_status": {"closed": 1},
        "by_review_kind": {"scr": 1},
        "by_current_stage": {},
        "reviews_with_overdue_stages": 0,
        "overdue_stages": 0,
        "t6_overdue": 0,
        "t6_closed_late": 1,
    }
    assert region["reviews"] == 2 and region["by_status"] == {"closed": 2}
    assert (await own_side.get("/v1/region/reviews", await own_side.token(Role.AUDITOR, "region"))) == region


async def test_the_region_sees_the_pipeline_by_status_stage_and_lateness(own_side: ReadSide) -> None:
    early, overdue, published = intensive_scr(), intensive_scr(), intensive_scr(lscb="WGN")
    await own_side.feed(*early.phases["pre_decision"])
    await own_side.feed(*overdue.until("initiated"), *overdue.phases["stages"][:3])
    await own_side.feed(*published.until("published"))
    own_side.clock.today = date(2015, 10, 20)  # past T6 (2015-10-08) for the two running SCRs

    region = await own_side.get("/v1/region/reviews", await own_side.token(Role.REGIONAL_ANALYST, "region"))
    bolton = region["boards"]["BOL"]
    assert (bolton["reviews"], bolton["by_status"], bolton["by_current_stage"]) == (
        2,
        {"open": 2},
        {"spe_forum": 1},  # the pre-decision process has held its stages and awaits the Chair
    )
    # spe_forum .. programmes_of_action (due by 2015-09-30) are past due and not held: 8 stages of one review.
    assert (bolton["reviews_with_overdue_stages"], bolton["overdue_stages"], bolton["t6_overdue"]) == (1, 8, 1)
    wigan = region["boards"]["WGN"]
    assert (wigan["by_status"], wigan["by_current_stage"], wigan["t6_overdue"]) == (
        {"published": 1},
        {"closure": 1},
        1,
    )
    assert (region["reviews"], region["t6_overdue"], region["by_current_stage"]) == (
        3,
        2,
        {"spe_forum": 1, "closure": 1},
    )


# --- reviewers see only their own reviews --------------------------------------------------------------------------


async def test_a_reviewer_sees_only_the_reviews_they_are_a_member_of(own_side: ReadSide) -> None:
    theirs, others = intensive_scr(lead="rev-17"), intensive_scr(lead="rev-99")
    for scr in (theirs, others):
        await own_side.feed(*scr.upstream, position_key="kafka:lif.decisioning.v1:0")
        await own_side.feed(*scr.until("initiated"))
    reviewer = await own_side.token(Role.REVIEWER, "BOL", name="rev-17")
    assert list(await own_side.listed("BOL", reviewer)) == [str(theirs.case.case_id)]
    listing = await own_side.get("/v1/lscbs/BOL/reviews", reviewer)
    assert listing["total"] == 1
    assert await own_side.review(theirs, reviewer) == await own_side.review(theirs)
    # The case of a review they are not a member of is out of their scope: the same 404 as no case at all.
    other_case = await own_side.client.get(f"/v1/cases/{others.case.case_id}", headers=reviewer)
    missing = await own_side.client.get(f"/v1/cases/{uuid4()}", headers=reviewer)
    assert other_case.status_code == missing.status_code == 404
    assert other_case.content == missing.content
    assert await own_side.review(others) is not None
    register = await own_side.get("/v1/lscbs/BOL/cases", reviewer)  # the register holds their reviews' cases only
    assert [case["case_id"] for case in register["cases"]] == [str(theirs.case.case_id)]
    own_view = await own_side.get(f"/v1/cases/{theirs.case.case_id}", reviewer)
    assert "events" not in own_view  # a reviewer reads the case and its review, not every event of it
    assert len(await own_side.listed("BOL", await own_side.token(Role.BUSINESS_MANAGER, "BOL"))) == 2

    await own_side.feed(theirs.review.removed("rev-17"))
    assert await own_side.listed("BOL", reviewer) == {}
    assert await own_side.status(f"/v1/cases/{theirs.case.case_id}", reviewer) == 404
    case_group = await own_side.token(Role.REVIEWER, "BOL", name="health-visitor-7")
    assert len(await own_side.listed("BOL", case_group)) == 2  # a Case Group member of both reviews


# --- schema upgrade, reset and replay -------------------------------------------------------------------------------


async def test_an_older_read_model_upgrades_in_place(database_url: str) -> None:
    """A read model made before reviews were projected, and before migrations kept a history."""
    url = await fresh_database(database_url, "reviews_upgrade")
    pool = await create_pool(url)
    try:
        await pool.execute(f"DROP TABLE {schema.SCHEMA}.reviews")
        await pool.execute(f"ALTER TABLE {schema.SCHEMA}.case_events DROP COLUMN arrival")
        await pool.execute(f"DROP TABLE {schema.SCHEMA}.schema_migrations")
        older = intensive_scr()
        projector = CaseProjector(pool)
        await projector.handle(Delivered("log:intake", 1, older.upstream[0]))  # a case event from before
        assert [m.label for m in await migrate(url, [PROJECTIONS])] == [
            "0001_read_model",
            "0002_parked_events",
            "0003_reporting_years",
        ]
        arrival = await pool.fetchval(f"SELECT arrival FROM {schema.SCHEMA}.case_events")
        assert arrival is not None
        scr = intensive_scr()
        for position, event in enumerate(scr.phases["pre_decision"], start=1):
            await projector.handle(Delivered(ORCHESTRATION_KEY, position, event))
        row = await pool.fetchrow(f"SELECT status, current_stage FROM {schema.SCHEMA}.reviews")
        assert row is not None and (row["status"], row["current_stage"]) == ("open", None)
    finally:
        await pool.close()


async def snapshot(side: ReadSide, stories: Sequence[IntensiveScr]) -> dict[str, Any]:
    views: dict[str, Any] = {"region": await side.get("/v1/region/reviews")}
    for scr in stories:
        views[f"case {scr.case.case_id}"] = await side.get(f"/v1/cases/{scr.case.case_id}")
        views[f"reviews {scr.case.lscb}"] = await side.get(f"/v1/lscbs/{scr.case.lscb}/reviews")
    return views


async def test_reset_and_replay_give_identical_views(own_side: ReadSide) -> None:
    done, running, wigan = intensive_scr(), intensive_scr(lead="rev-2"), intensive_scr(lscb="WGN")
    stories = [done, running, wigan]
    await own_side.feed_case(done)
    await own_side.feed(*running.upstream[:3], position_key="kafka:lif.decisioning.v1:0")
    await own_side.feed(*running.until("stages"))
    await own_side.feed_case(wigan)
    own_side.clock.today = date(2015, 9, 1)
    before = await snapshot(own_side, stories)
    assert before[f"case {running.case.case_id}"]["review"]["status"] == "open"

    await schema.reset(own_side.pool)
    assert (await own_side.get("/v1/region/reviews"))["reviews"] == 0
    upstream = [e for scr in stories for e in scr.upstream if scr is not running] + running.upstream[:3]
    orchestration = [*done.orchestration, *running.until("stages"), *wigan.orchestration]
    await own_side.feed(*orchestration, position_key="log:orchestration")  # another order: reviews first
    await own_side.feed(*reversed(upstream), position_key="log:decisioning")
    after = await snapshot(own_side, stories)
    assert after == before
