"""`Idempotency-Key` means the same everywhere: one command of each service through the whole embedded app
over real PostgreSQL. A repeat answers 200 with the first event; the key on a different request is a 422
naming `Idempotency-Key` and records nothing; another board's same key is another key, told nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio

from lif.auth import Role
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.databases import fresh_database
from tests.polling import eventually
from tests.review_journeys import Driver, initiate_scr, open_case

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "idempotency-test-admin-token"
KEY = b"idempotency-test-pseudonym-key-0123"
BOARDS = ("BOL", "WGN")


@dataclass
class Target:
    """A command to send (as the board's business manager), the same with another request, and how many
    things the service holds (unchanged by a refused command)."""

    path: str
    body: dict[str, Any]
    changed: dict[str, Any]
    recorded: Callable[[], int]


Make = Callable[[EmbeddedSystem, Driver], Awaitable[Target]]


@dataclass
class Site:
    system: EmbeddedSystem
    drivers: dict[str, Driver]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(database_url: str) -> AsyncIterator[Site]:
    url = await fresh_database(database_url, "idempotency")
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await system.authenticator.store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Site(system, {lscb: Driver(client, tokens, lscb=lscb) for lscb in BOARDS})
    await system.stop()


def log_size(app: Any) -> Callable[[], int]:
    return lambda: int(app.recorder.max_notification_id() or 0)


async def referral(system: EmbeddedSystem, d: Driver) -> Target:
    review = await open_case(d, child__normally_resident_lscb=d.lscb)
    return Target(
        f"/v1/cases/{review.case_id}/scr-panel-referral",
        {"referred_on": "2015-03-12", "reason": "Agencies did not share what they knew."},
        {"referred_on": "2015-03-12", "reason": "Another reason."},
        log_size(system.decisioning),
    )


async def action(system: EmbeddedSystem, d: Driver) -> Target:
    forum = {
        "lscb": d.lscb,
        "reference": f"{d.lscb}-FORUM-2015-01",
        "title": "Disguised compliance",
        "held_on": "2015-06-01",
        "agencies": ["health", "police"],
        "themes": [{"typology": "national-panel-practice-themes", "code": "babies"}],
        "what_was_learnt": "Practitioners accepted the parents' accounts without challenge.",
        "key_multi_agency_recommendations": ["Joint training on disguised compliance."],
    }
    bm = await d.bm()
    await d.post("/v1/learning/forums", forum, bm)

    async def tracked() -> str | None:
        found = (await d.get(f"/v1/learning/recommendations?lscb={d.lscb}", bm))["recommendations"]
        return next((str(r["recommendation_id"]) for r in found if r.get("lscb", d.lscb) == d.lscb), None)

    recommendation = await eventually(tracked, what=f"{d.lscb}'s forum recommendation tracked")
    body = {"owning_agency": "health", "due": "2015-09-01", "description": "Run the joint training."}
    return Target(
        f"/v1/learning/recommendations/{recommendation}/actions",
        body,
        body | {"due": "2015-10-01"},
        log_size(system.learning),
    )


async def member(system: EmbeddedSystem, d: Driver) -> Target:
    review = await open_case(d, child__normally_resident_lscb=d.lscb)
    await initiate_scr(d, review, "targeted", date(2015, 3, 18))
    body = {"group": "review_group", "member_id": f"police-{review.tag}", "role": "agency_author", "agency": "police"}
    return Target(f"{review.base}/members", body, body | {"agency": "health"}, log_size(system.orchestration))


async def reviewer(system: EmbeddedSystem, d: Driver) -> Target:
    body = {"name": "Robin Keyed", "employer": {"lscb": None, "organisation": "Independent Reviews Ltd"}}
    return Target("/v1/reviewers", body, body | {"name": "Robin Other"}, system.actions.reviewers.count)


def event_id(answer: httpx.Response) -> str:
    body = answer.json()
    if "reviewer_id" in body:
        return str(body["reviewer_id"])
    event = body["event"] if "event" in body else body["events"][0]
    return str(event["event_id"])


@pytest.mark.parametrize("make", [referral, action, member, reviewer], ids=lambda m: m.__name__)
async def test_a_key_repeats_refuses_another_request_and_is_its_boards_own(site: Site, make: Make) -> None:
    bol, wgn = site.drivers["BOL"], site.drivers["WGN"]
    first_target, other_target = await make(site.system, bol), await make(site.system, wgn)
    await site.system.catch_up()
    keyed = await bol.bm() | {"Idempotency-Key": "form-1"}

    first = await bol.client.post(first_target.path, json=first_target.body, headers=keyed)
    again = await bol.client.post(first_target.path, json=first_target.body, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json()

    await site.system.catch_up()
    before = first_target.recorded()
    reused = await bol.client.post(first_target.path, json=first_target.changed, headers=keyed)
    assert reused.status_code == 422, reused.text
    assert [e["field"] for e in reused.json()["detail"]] == ["Idempotency-Key"]
    await site.system.catch_up()
    assert first_target.recorded() == before

    # Another board's token with the same key: a new command of its own, nothing of the first board's.
    theirs = await wgn.bm() | {"Idempotency-Key": "form-1"}
    other = await wgn.client.post(other_target.path, json=other_target.body, headers=theirs)
    assert other.status_code == 201, other.text
    assert event_id(other) != event_id(first)
    assert "BOL" not in other.text
