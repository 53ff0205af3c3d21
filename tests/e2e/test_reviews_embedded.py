"""A Multi-Agency Concise Review end to end on the embedded runtime, with the board's progress views.

A case below the SCR test gets a MACR recommendation; nothing is orchestrated until the Chair commissions
one. Then the board's MACR method (SILP by default) runs through HTTP only (tests/review_journeys.py) with an
internal lead reviewer, to publication and closure. The business date is an injected clock, so the board's
view can be shown a stage overdue; a rebuild from the services' logs gives the same views.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from lif.auth import Role
from lif.composition import open_logs
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from projections.rebuild import rebuild_from_logs
from tests.databases import fresh_database
from tests.polling import eventually
from tests.review_journeys import (
    Driver,
    Review,
    add_members,
    appoint_lead_reviewer,
    board_entry,
    close,
    consult_case_group,
    decide,
    hold_plan_stages,
    lead,
    open_case,
    plan_stages,
    projected_case,
    publish,
    record_final_report,
    record_learning_summary,
    submit_chronologies,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "reviews-embedded-test-admin-token"
KEY = b"reviews-embedded-test-pseudonym-key-0123"
MACR_FACTS = {"facts__outcome": "harmed", "facts__working_together_concern": "yes"}
INTERNAL = {"lscb": "BOL", "organisation": "Bolton Council", "agency": "local_authority"}
SILP = ["scoping_meeting", "agency_reports", "learning_event", "family_involvement", "recall_event"]
SILP += ["overview_report", "report_to_lscb"]


@dataclass
class Clock:
    """The business date every service sees; the journey moves it forward as things happen."""

    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day

    def advance_to(self, day: date) -> None:
        self.day = max(self.day, day)


@dataclass
class Board:
    driver: Driver
    system: EmbeddedSystem
    clock: Clock
    database_url: str


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[Board]:
    clock = Clock()
    url = await fresh_database(database_url, "reviews_embedded")
    system = await build_embedded(url, KEY, ADMIN, today=clock)
    await system.start()

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await system.authenticator.store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Board(Driver(client, tokens, advance_to=clock.advance_to), system, clock, url)
    await system.stop()


async def entry_when(d: Driver, review: Review, ready: Any, what: str) -> dict[str, Any]:
    """The review's entry in the board's view once `ready(entry)` holds (the projection follows the log)."""

    async def check() -> dict[str, Any] | None:
        listing = await d.get("/v1/lscbs/BOL/reviews", await d.bm())
        found = [r for r in listing["reviews"] if r["review_id"] == review.review_id]
        return found[0] if found and ready(found[0]) else None

    return await eventually(check, what=what)


async def test_a_macr_runs_from_commissioning_to_closure_and_its_progress_is_visible(board: Board) -> None:
    d, clock = board.driver, board.clock
    review = await open_case(d, **MACR_FACTS)
    assert review.recommendation["review_type"] == "multi_agency_concise_review"
    await board.system.catch_up()
    await d.get(f"/v1/cases/{review.case_id}/review", await d.bm(), status=404)  # below the SCR test: not yet
    assert (await d.get(f"/v1/cases/{review.case_id}", await d.admin()))["review"] is None

    view = await decide(d, review, "commission_macr", date(2015, 3, 18))
    assert (view["status"], view["review_kind"], view["method"], view["plan_id"]) == (
        "in_review",
        "macr",
        "silp",
        "macr_silp",
    )
    assert (view["considered_for_scr"], view["t6"], view["deadlines"]) == (False, None, {})
    assert [s["stage_id"] for s in plan_stages(view)] == SILP
    view = await appoint_lead_reviewer(d, review, date(2015, 3, 19), employer=INTERNAL)  # a MACR's may be internal
    await add_members(d, review)
    await submit_chronologies(d, review, date(2015, 3, 20))
    timeline = await d.get(f"{review.base}/chronologies", await lead(d, review))
    assert [(e["agency"], e["version"], e["significant"], e["flag"]) for e in timeline] == [
        ("police", 2, True, None),
        ("health", 1, False, "not_significant"),
    ]

    # Progress: the board sees the current stage, then a stage overdue once the clock passes its due date.
    await hold_plan_stages(d, review, view, await lead(d, review), only=["scoping_meeting"])
    entry = await entry_when(d, review, lambda e: e["current_stage"] == "agency_reports", "the second stage")
    assert (entry["status"], entry["review_kind"], entry["method"], entry["t6"]) == ("open", "macr", "silp", None)
    assert entry["overdue_stages"] == [] and clock.day == date(2015, 4, 1)
    agency_reports = next(s for s in entry["stages"] if s["stage_id"] == "agency_reports")
    assert agency_reports["due"] == "2015-04-29"
    clock.day = date(2015, 5, 4)
    entry = await board_entry(d, review)
    assert entry["overdue_stages"] == ["agency_reports"]
    assert (await d.get(review.base, await d.chair()))["overdue_stages"] == ["agency_reports"]
    region = await d.get("/v1/region/reviews", await d.admin())
    assert region["boards"]["BOL"]["reviews_with_overdue_stages"] == 1
    assert region["boards"]["BOL"]["by_current_stage"] == {"agency_reports": 1}

    # The rest of the plan in order (the late stage recorded on the day it was held), then completion.
    held = await hold_plan_stages(d, review, view, await lead(d, review), skip=["scoping_meeting"])
    assert held == SILP[1:]
    await entry_when(
        d, review, lambda e: e["current_stage"] == "publication" and not e["overdue_stages"], "publication"
    )
    await consult_case_group(d, review, date(2015, 7, 24), date(2015, 7, 28))
    await record_final_report(d, review, date(2015, 8, 3))
    refused = await d.post(f"{review.base}/close", {"closed_on": "2015-08-03"}, await d.bm(), status=409)
    assert "learning summary" in refused["detail"].lower()
    await record_learning_summary(d, review, "MACR (SILP)", date(2015, 8, 4))
    published = await publish(d, review, date(2015, 8, 10))
    assert published["payload"]["available_until"] == "2016-08-10"
    await close(d, review, date(2015, 8, 12))

    case = await projected_case(d, review)
    entry = await board_entry(d, review)
    assert case["review"] == entry
    assert (entry["status"], entry["current_stage"], entry["overdue_stages"], entry["t6"]) == ("closed", None, [], None)
    assert (entry["published_on"], entry["closed_on"]) == ("2015-08-10", "2015-08-12")
    assert entry["learning_summary_reference_code"] == review.reference_code
    assert entry["chronology"] == {"entries": 2, "significant": 1}
    assert entry["members"] == {"review_group": 3, "case_group": 1}
    assert [s["held_on"] for s in entry["stages"] if s["stage_id"] == "agency_reports"] == ["2015-04-29"]
    learning = await d.get(f"{review.base}/learning-summary", await d.admin())
    assert learning["summary"]["type_of_review"]["methodology"] == "MACR (SILP)"

    # The views rebuilt from the services' logs are the same.
    await board.system.catch_up()
    admin = await d.admin()
    views = ["/v1/lscbs/BOL/reviews", "/v1/region/reviews", f"/v1/cases/{review.case_id}"]
    before = [await d.get(path, admin) for path in views]
    applied = await rebuild_from_logs(board.system.projector, open_logs(board.database_url), progress=False)
    assert applied == len(before[2]["events"])
    assert [await d.get(path, admin) for path in views] == before
