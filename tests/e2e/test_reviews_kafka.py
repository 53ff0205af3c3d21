"""Reviews end to end over a real Kafka broker: an Intensive and a Targeted SCR from the incident to closure.

Every target of `lif serve` runs in this process on this module's own topics and database. The journeys go
through HTTP only (tests/review_journeys.py): intake and decisioning reach orchestration over Kafka, and the
board and regional views follow orchestration's topic. The refusals are tried at the moments they matter in
the Intensive journey, through the HTTP service that fronts every other one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, get_args

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition

from lif.auth import Role
from lif.composition import PROJECTED_TOPICS, make_projector
from lif.infra.topics import partitions_of
from projections.rebuild import rebuild_from_kafka
from tests.databases import fetch
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.review_journeys import (
    Dates,
    Driver,
    Moment,
    Review,
    appoint_lead_reviewer,
    board_entry,
    hold_for_criminal_trial,
    hold_plan_stages,
    hold_pre_decision_stages,
    initiate_scr,
    lead,
    open_case,
    plan_stages,
    projected_case,
    run_scr,
    wait_for_review,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "reviews-kafka-test-admin-token"
SCR_STAGES = list(range(4, 13))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "reviews_kafka", ADMIN, reverse_proxy) as running:
        yield running


async def projections_caught_up(deployment: Deployment) -> bool:
    """Whether the projections have applied everything on the topics they follow (positions at the end)."""
    bootstrap, url = deployment.settings.kafka_bootstrap or "", deployment.settings.database_url or ""
    names = [deployment.settings.topic(topic) for topic in PROJECTED_TOPICS]
    partitions = [TopicPartition(t, p) for t, ps in (await partitions_of(bootstrap, names)).items() for p in ps]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    rows = await fetch(url, "SELECT position_key, position FROM lif_projections.positions")
    positions = {row["position_key"]: row["position"] for row in rows}
    return all(positions.get(f"kafka:{tp.topic}:{tp.partition}", 0) >= end for tp, end in ends.items())


def driver_for(deployment: Deployment, lscb: str = "BOL") -> Driver:
    assert deployment.client is not None
    store = deployment.running["projections"].parts["app"].state.authenticator.store

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await store.create(role, scope, name)
        return str(value)

    return Driver(deployment.client, tokens, lscb=lscb)


@pytest.fixture
def driver(deployment: Deployment) -> Driver:
    return driver_for(deployment)


async def region_matches_boards(d: Driver, *boards: str) -> dict[str, Any]:
    """The regional pipeline counts, per board, exactly what each board's own reviews view lists."""
    admin = await d.admin()
    region = await d.get("/v1/region/reviews", admin)
    for lscb in boards:
        reviews = (await d.get(f"/v1/lscbs/{lscb}/reviews?limit=1000", admin))["reviews"]
        if not reviews:
            assert lscb not in region["boards"]
            continue
        pipeline = region["boards"][lscb]
        assert pipeline["reviews"] == len(reviews)
        assert pipeline["by_status"] == Counter(r["status"] for r in reviews)
        assert pipeline["by_review_kind"] == Counter(r["review_kind"] or "pending" for r in reviews)
        assert pipeline["by_current_stage"] == Counter(r["current_stage"] for r in reviews if r["current_stage"])
        assert pipeline["overdue_stages"] == sum(len(r["overdue_stages"]) for r in reviews)
        assert pipeline["t6_closed_late"] == sum(1 for r in reviews if r["status"] == "closed" and r["t6"]["overdue"])
        text = json.dumps(region)
        assert not any(r["review_id"] in text or r["case_id"] in text for r in reviews)  # aggregates only
    return region  # type: ignore[no-any-return]


def assert_closed_scr(entry: dict[str, Any], review: Review, method: str, dates: Dates) -> None:
    """A closed SCR as the board's view shows it: kind, method, T6, no stage overdue, every stage held."""
    assert (entry["status"], entry["review_kind"], entry["method"], entry["plan_id"]) == (
        "closed",
        "scr",
        method,
        f"scr_{method}",
    )
    assert (entry["current_stage"], entry["overdue_stages"]) == (None, [])
    assert entry["started_on"] == dates.decided_on.isoformat()
    assert (entry["published_on"], entry["closed_on"]) == (dates.published_on.isoformat(), dates.closed_on.isoformat())
    assert entry["available_until"] == dates.published_on.replace(year=dates.published_on.year + 1).isoformat()  # T7
    assert entry["learning_summary_reference_code"] == review.reference_code
    assert entry["publication_hold"] is False
    assert entry["chronology"] == {"entries": 2, "significant": 1}
    assert [(p["kind"], p["status"]) for p in entry["parallel_processes"]] == [("criminal_investigation", "concluded")]
    stages = [s for s in entry["stages"] if s["step"] == "stage"]
    assert [s["number"] for s in stages] == SCR_STAGES
    assert all(s["held_on"] for s in stages) and not any(s["overdue"] for s in entry["stages"])
    family = next(s for s in stages if s["stage_id"] == "family_involvement")
    assert (family["moved"], family["held_on"]) == ("criminal_proceedings", dates.family_involvement.isoformat())
    t6 = entry["t6"]
    assert (t6["due"], t6["started_on"], t6["completed_on"]) == (
        "2015-09-18",
        dates.decided_on.isoformat(),
        dates.closed_on.isoformat(),
    )
    assert t6["days_remaining"] is None and t6["days_elapsed"] == (dates.closed_on - dates.decided_on).days


async def test_an_intensive_scr_runs_to_closure_and_is_refused_what_it_must_be_on_the_way(driver: Driver) -> None:
    d, seen = driver, []
    bm, chair, admin = await d.bm(), await d.chair(), await d.admin()
    wigan = await d.as_(Role.BUSINESS_MANAGER, "wgn-bm", "WGN")

    async def at(moment: Moment, review: Review) -> None:
        seen.append(moment)
        base, case = review.base, f"/v1/cases/{review.case_id}"
        if moment == "considered":
            view = await d.get(f"{case}/review", bm)
            assert (view["status"], view["plan_id"], view["considered_for_scr"]) == (
                "pre_decision",
                "pre_decision",
                True,
            )
            assert [s["number"] for s in plan_stages(view)] == [1, 2, 3]
            assert view["deadlines"] == {"pre_decision_due": review.recommendation["deadlines"]["chair_decision_due"]}
            late = await d.post(f"{base}/stages/planning_meeting/held", {"held_on": "2015-03-11"}, bm, status=409)
            assert "comes after" in late["detail"]  # out of order
            schedule = {"scheduled_for": "2015-03-11", "planned_duration": {"amount": 1, "unit": "half_days"}}
            await d.post(f"{base}/stages/initial_meeting/schedule", schedule, chair, status=403)  # the BM runs it
            await d.get(base, await d.as_(Role.INTEGRATION), status=403)
            for path in (base, f"{case}/review", case):  # another board learns nothing
                await d.get(path, wigan, status=404)
            await d.post(f"{base}/stages/initial_meeting/held", {"held_on": "2015-03-11"}, wigan, status=404)
        elif moment == "decided":
            initiate = {"decision": "initiate_scr", "methodology": "intensive", "criteria_held": ["D1"]}
            await d.post(f"{case}/decisions", initiate, bm, status=403)  # only the Chair decides
            await d.post(f"{case}/decisions", initiate, await d.as_(Role.CHAIR, scope="WGN"), status=404)
            view = await d.get(base, bm)
            assert (view["status"], view["plan_id"], view["review_kind"], view["method"]) == (
                "in_review",
                "scr_intensive",
                "scr",
                "intensive",
            )
            assert [s["number"] for s in plan_stages(view)] == SCR_STAGES
            assert view["deadlines"]["scr_completion_due"] == "2015-09-18"  # T6: six months from the decision
        elif moment == "appointed":
            me = await lead(d, review)
            stranger = await d.reviewer(f"not-a-member-{review.tag}")
            await d.get(base, stranger, status=404)
            await d.post(f"{base}/stages/national_panel_engagement/held", {"held_on": "2015-04-01"}, stranger, 404)
            await d.get(case, stranger, status=404)  # not a member: the case is outside their scope
            assert (await d.get("/v1/lscbs/BOL/reviews", stranger))["total"] == 0
            schedule = {"scheduled_for": "2015-04-01", "planned_duration": {"amount": 1, "unit": "half_days"}}
            await d.post(f"{base}/stages/national_panel_engagement/schedule", schedule, me, status=403)
            late = await d.post(f"{base}/stages/spe_analysis/held", {"held_on": "2015-04-01"}, me, status=409)
            assert "comes after" in late["detail"]
            mine = await eventually(lambda: _reviews_of(d, me), what="the lead reviewer's own reviews")
            assert [r["review_id"] for r in mine] == [review.review_id]
        elif moment == "stages_held":
            view = await d.get(base, admin)
            assert view["overdue_stages"] == [] and view["current_stage"] == "publication"  # family moved
            await d.post(f"{base}/publication", {"published_on": "2015-09-14"}, chair, status=409)  # no report yet
        elif moment == "final_report":
            refused = await d.post(f"{base}/close", {"closed_on": "2015-09-02"}, bm, status=409)
            assert "learning summary" in refused["detail"].lower()
            await d.post(f"{base}/publication", {"published_on": "2015-09-14"}, bm, status=403)  # the Chair's
        elif moment == "summary":
            held = await d.post(f"{base}/publication", {"published_on": "2015-09-14"}, chair, status=409)
            assert "hold" in held["detail"]
            lift = f"{base}/publication-holds/{review.hold_id}/lift"
            await d.post(lift, {"lifted_on": "2015-09-10"}, await lead(d, review), status=403)
            await d.post(f"{base}/close", {"closed_on": "2015-09-16"}, bm, status=409)  # on hold, too
        elif moment == "hold_lifted":
            early = await d.post(f"{base}/publication", {"published_on": "2015-09-14"}, chair, status=409)
            assert "Family and child involvement" in early["detail"]  # T8
        elif moment == "closed":
            more = {"findings": "Second thoughts", "shared_on": "2015-09-17"}
            await d.post(f"{base}/findings", more, await lead(d, review), status=409)

    dates = Dates()
    review = await run_scr(d, "intensive", dates, at)
    assert seen == list(get_args(Moment))  # every checkpoint was reached, in order

    case = await projected_case(d, review)
    entry = await board_entry(d, review)
    assert case["review"] == entry
    assert_closed_scr(entry, review, "intensive", dates)
    assert entry["t6"]["overdue"] is False and entry["t6"]["days_overdue"] == 0
    assert entry["members"] == {"review_group": 3, "case_group": 1}
    assert [e["event_type"] for e in case["events"]][-1] == "orchestration.review_closed"

    timeline = await d.get(f"{review.base}/chronologies", bm)
    assert [(e["agency"], e["version"], e["event_date"], e["flag"]) for e in timeline] == [
        ("police", 2, "2015-01-04", None),
        ("health", 1, "2015-02-10", "not_significant"),
    ]
    history = await d.get(f"{review.base}/chronologies/police/entries/{review.entries['police']}", bm)
    assert [h["event_date"] for h in history] == ["2015-01-05", "2015-01-04"]
    consultation = await d.get(f"{review.base}/consultation", bm)
    assert consultation["awaiting"] == []
    assert consultation["responses"][0]["corrections"] == ["The visit was on the 6th", "The GP was not told"]
    summary = await d.get(f"{review.base}/learning-summary", await d.as_(Role.AUDITOR))
    assert summary["summary"]["lscb_area"] == "Bolton" and summary["reference_code"] == review.reference_code

    region = await region_matches_boards(d, "BOL")
    assert region["boards"]["BOL"]["by_status"]["closed"] >= 1
    await d.get("/v1/region/reviews", bm, status=403)


async def _reviews_of(d: Driver, headers: dict[str, str]) -> list[dict[str, Any]] | None:
    """The reviews a caller sees in the board's view, once the projection has any."""
    reviews: list[dict[str, Any]] = (await d.get("/v1/lscbs/BOL/reviews", headers))["reviews"]
    return reviews or None


async def test_a_targeted_scr_held_up_by_a_trial_closes_late_and_the_views_say_so(driver: Driver) -> None:
    dates = Dates(
        hold_lifted=date(2016, 1, 20),
        family_involvement=date(2016, 1, 25),
        published_on=date(2016, 2, 1),
        closed_on=date(2016, 2, 10),
    )
    review = await run_scr(driver, "targeted", dates)
    case = await projected_case(driver, review)
    entry = await board_entry(driver, review)
    assert case["review"] == entry
    assert_closed_scr(entry, review, "targeted", dates)
    assert entry["t6"]["overdue"] is True
    assert entry["t6"]["days_overdue"] == (dates.closed_on - date(2015, 9, 18)).days
    spe_forum = next(s for s in entry["stages"] if s["stage_id"] == "spe_forum")
    assert spe_forum["due"] == "2015-04-29" and spe_forum["held_on"] == "2015-04-29"
    region = await region_matches_boards(driver, "BOL")
    assert region["boards"]["BOL"]["t6_closed_late"] >= 1


async def test_the_region_sees_the_review_pipeline_by_board(deployment: Deployment, driver: Driver) -> None:
    wigan = driver_for(deployment, "WGN")
    review = await open_case(wigan, child__normally_resident_lscb="WGN")
    await wait_for_review(wigan, review, lambda v: v["status"] == "pre_decision", "the pre-decision process")

    async def projected() -> dict[str, Any] | None:
        listing = await wigan.get("/v1/lscbs/WGN/reviews", await wigan.bm())
        planned = listing["total"] == 1 and listing["reviews"][0]["plan_id"] == "pre_decision"
        return listing if planned else None

    listing = await eventually(projected, what="Wigan's review and its plan in its board view")
    assert listing["reviews"][0]["current_stage"] == "initial_meeting"
    await wigan.get("/v1/lscbs/BOL/reviews", await wigan.bm(), status=404)
    region = await region_matches_boards(driver, "BOL", "WGN")
    assert region["boards"]["WGN"]["reviews"] == 1 and region["boards"]["WGN"]["by_status"] == {"open": 1}
    assert region["reviews"] == sum(board["reviews"] for board in region["boards"].values())
    await driver.get("/v1/region/reviews", await driver.as_(Role.REGIONAL_ANALYST))


async def test_replaying_the_orchestration_events_rebuilds_the_same_views(
    deployment: Deployment, driver: Driver
) -> None:
    d, dates = driver, Dates()
    review = await open_case(d)
    view = await wait_for_review(d, review, lambda v: v["status"] == "pre_decision", "the pre-decision process")
    await hold_pre_decision_stages(d, review, view, dates)
    await initiate_scr(d, review, "targeted", dates.decided_on)
    view = await appoint_lead_reviewer(d, review, dates.appointed_on)
    await hold_for_criminal_trial(d, review, dates.trial_listed)
    await hold_plan_stages(d, review, view, await lead(d, review), only=["national_panel_engagement", "spe_forum"])
    await projected_case(d, review)  # a review half way, beside the closed ones of the other tests
    await eventually(lambda: projections_caught_up(deployment), what="the projections to reach the end of the topics")

    admin = await d.admin()
    listing = await d.get("/v1/lscbs/BOL/reviews?limit=1000", admin)
    assert any(r["review_id"] == review.review_id and r["overdue_stages"] for r in listing["reviews"])
    before = {
        "board": listing,
        "region": await d.get("/v1/region/reviews", admin),
        "cases": [await d.get(f"/v1/cases/{r['case_id']}", admin) for r in listing["reviews"]],
    }
    await deployment.stop("projections")
    projector = await make_projector(deployment.settings.database_url or "")
    try:
        applied = await rebuild_from_kafka(
            projector,
            deployment.settings.kafka_bootstrap or "",
            [deployment.settings.topic(topic) for topic in PROJECTED_TOPICS],
            progress=False,
        )
    finally:
        await projector.pool.close()
    assert applied >= sum(len(case["events"]) for case in before["cases"])
    await deployment.start("projections")
    after = {
        "board": await d.get("/v1/lscbs/BOL/reviews?limit=1000", admin),
        "region": await d.get("/v1/region/reviews", admin),
        "cases": [await d.get(f"/v1/cases/{r['case_id']}", admin) for r in listing["reviews"]],
    }
    assert after == before
