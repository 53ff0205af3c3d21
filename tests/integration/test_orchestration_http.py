"""The review API over real PostgreSQL with real tokens: a review run over HTTP, and who may do what."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lif.auth import Authenticator, Role, TokenStore
from lif.db import create_pool, eventsourcing_env
from lif.erasable import ErasableStore
from lif.validation import field_errors
from services.orchestration.api import build_router
from services.orchestration.application import OrchestrationApplication
from tests.databases import fresh_database
from tests.orchestration_samples import TODAY, Case, Feed

pytestmark = [pytest.mark.integration]
SIGNIFICANCE = {
    "changed_assessment": False,
    "pattern": False,
    "statutory_event": True,
    "significant_to_child": False,
    "significant_to_adult": False,
    "learning_point": False,
}


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "orchestration_http"))


@pytest.fixture(scope="module")
def orchestration(url: str) -> Iterator[tuple[OrchestrationApplication, ErasableStore]]:
    app = OrchestrationApplication(env=eventsourcing_env(url, "lif_orchestration"), today=lambda: TODAY)
    store = ErasableStore(url, "lif_orchestration_personal")
    yield app, store
    app.close()
    store.close()


class Api:
    """An HTTP client of the review router, and a token per (role, scope, name)."""

    def __init__(self, client: httpx.AsyncClient, tokens: TokenStore, app: OrchestrationApplication) -> None:
        self.client, self.tokens, self.app = client, tokens, app
        self._made: dict[tuple[str, str, str], str] = {}

    async def token(self, role: Role, scope: str = "BOL", name: str | None = None) -> dict[str, str]:
        key = (role.value, scope, name or f"{role.value}-{scope}")
        if key not in self._made:
            self._made[key], _ = await self.tokens.create(role, scope, key[2])
        return {"Authorization": f"Bearer {self._made[key]}"}

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str], status: int = 201) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=headers)
        assert response.status_code == status, response.text
        return response.json()  # type: ignore[no-any-return]

    async def get(self, path: str, headers: dict[str, str], status: int = 200) -> Any:
        response = await self.client.get(path, headers=headers)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
async def api(url: str, orchestration: tuple[OrchestrationApplication, ErasableStore]) -> AsyncIterator[Api]:
    app, store = orchestration
    pool = await create_pool(url)
    tokens = TokenStore(pool)
    web = FastAPI()
    web.state.authenticator = Authenticator(tokens, None, cache_ttl=0)

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": field_errors(list(exc.errors()))})

    web.include_router(build_router(app, store, today=lambda: TODAY))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://lif") as client:
        yield Api(client, tokens, app)
    await pool.close()


def initiated(app: OrchestrationApplication, methodology: str = "targeted", lead: str = "lead-reviewer-1") -> Case:
    case = Case()
    feed = Feed(app)
    feed(case.recommendation())
    decision = case.decision("initiate_scr", methodology=methodology)
    feed(decision)
    feed(case.appointment(decision, lead))
    return case


def summary() -> dict[str, Any]:
    return {
        "date_completed": "2015-10-20",
        "type_of_review": {
            "methodology": "Targeted SCR",
            "chairing_and_authoring": "Independent chair and author",
            "how_selected": "Statutory criteria; planning meeting advice",
        },
        "incident_month": "2015-03",
        "review_reference_code": "BOL-SCR-2015-07",
        "learning_about_the_case": {
            "themes": ["human_judgement"],
            "concerns": "Assessment drift.",
            "good_practice": "Prompt escalation by the GP.",
        },
        "learning_about_the_review_method": "Forum worked well.",
        "key_single_agency_recommendations": ["Health: supervision audit."],
        "key_multi_agency_recommendations": [],
        "how_changes_will_be_made": "Learning subgroup action plan.",
        "how_impact_will_be_audited": "Audit in 12 months.",
        "other_comments": "",
    }


async def test_a_board_runs_a_targeted_scr_to_publication_and_closure_over_http(api: Api) -> None:
    case = initiated(api.app)
    base = f"/v1/reviews/{case.review_id}"
    bm, chair = await api.token(Role.BUSINESS_MANAGER), await api.token(Role.CHAIR)
    lead = await api.token(Role.REVIEWER, name="lead-reviewer-1")
    view = await api.get(f"/v1/cases/{case.case_id}/review", lead)
    assert (view["review_id"], view["plan_id"], view["current_stage"]) == (
        str(case.review_id),
        "scr_targeted",
        "national_panel_engagement",
    )
    await api.post(
        f"{base}/members", {"group": "case_group", "member_id": "gp-1", "role": "practitioner", "agency": "health"}, bm
    )
    await api.post(
        f"{base}/members",
        {"group": "review_group", "member_id": "police-1", "role": "agency_author", "agency": "police"},
        bm,
    )
    police = await api.token(Role.REVIEWER, name="police-1")
    entry = {
        "event_date": "2015-01-05",
        "description": "Strategy discussion",
        "risk": "Risk seen",
        "significance": SIGNIFICANCE,
    }
    created = await api.post(f"{base}/chronologies/police/entries", entry, police)
    entry_id = created["event"]["payload"]["entry_id"]
    await api.post(f"{base}/chronologies/health/entries", dict(entry, description="GP visit"), lead)
    await api.post(
        f"{base}/chronologies/police/entries/{entry_id}/corrections",
        dict(entry, event_date="2015-01-04", reason="Date"),
        police,
    )
    timeline = await api.get(f"{base}/chronologies", bm)
    assert [(e["agency"], e["description"], e["version"]) for e in timeline] == [
        ("police", "Strategy discussion", 2),
        ("health", "GP visit", 1),
    ]
    history = await api.get(f"{base}/chronologies/police/entries/{entry_id}", bm)
    assert [h["event_date"] for h in history] == ["2015-01-05", "2015-01-04"]
    link = await api.post(f"{base}/parallel-processes", {"kind": "criminal_investigation", "reference": "OP-1"}, bm)
    link_id = link["event"]["payload"]["link_id"]
    hold = await api.post(
        f"{base}/publication-holds", {"reason": "criminal_trial", "linked_process": link_id, "set_on": "2015-04-20"}, bm
    )
    days = {
        "national_panel_engagement": ("2015-04-20", {"amount": 1, "unit": "half_days"}),
        "spe_forum": ("2015-05-12", {"amount": 1, "unit": "days"}),
        "information_audit": ("2015-05-20", {"amount": 1, "unit": "half_days"}),
        "spe_analysis": ("2015-06-16", {"amount": 2, "unit": "half_days"}),
    }
    for stage, (day, duration) in days.items():
        await api.post(f"{base}/stages/{stage}/schedule", {"scheduled_for": day, "planned_duration": duration}, bm)
        await api.post(f"{base}/stages/{stage}/held", {"held_on": day}, lead)
        await api.post(
            f"{base}/stages/{stage}/outcome",
            {"result": "completed", "agencies_present": ["police"], "note": "Fine"},
            lead,
        )
    await api.post(
        f"{base}/stages/family_involvement/move", {"reason": "criminal_proceedings", "note": "Trial listed"}, bm
    )
    for stage, day in zip(
        ["progress_report", "learning_workshop", "initial_report", "programmes_of_action"],
        ["2015-07-01", "2015-07-22", "2015-08-19", "2015-09-16"],
        strict=True,
    ):
        await api.post(f"{base}/stages/{stage}/held", {"held_on": day}, lead)
    findings = await api.post(f"{base}/findings", {"findings": "Draft findings", "shared_on": "2015-08-01"}, lead)
    assert findings["event"]["payload"]["version"] == 1
    response = {
        "member_id": "gp-1",
        "findings_version": 1,
        "response": "agrees_with_corrections",
        "responded_on": "2015-08-10",
        "corrections": ["Visit on the 6th"],
    }
    await api.post(f"{base}/consultation/responses", response, bm)
    consultation = await api.get(f"{base}/consultation", lead)
    assert consultation["responses"][0]["corrections"] == ["Visit on the 6th"]
    assert (consultation["findings"][0]["findings"], consultation["awaiting"]) == ("Draft findings", [])
    await api.post(f"{base}/final-report", {"report": "Final report text", "received_on": "2015-09-20"}, lead)
    await api.post(f"{base}/learning-summary", summary(), lead)
    refused = await api.post(f"{base}/publication", {"published_on": "2016-01-01"}, chair, status=409)
    assert "hold" in refused["detail"]
    await api.post(
        f"{base}/publication-holds/{hold['event']['payload']['hold_id']}/lift", {"lifted_on": "2016-01-20"}, chair
    )
    refused = await api.post(f"{base}/publication", {"published_on": "2016-01-21"}, chair, status=409)
    assert "Family and child involvement" in refused["detail"]
    await api.post(f"{base}/stages/family_involvement/held", {"held_on": "2016-01-25"}, lead)
    published = await api.post(f"{base}/publication", {"published_on": "2016-02-01"}, chair)
    assert published["event"]["payload"]["available_until"] == "2017-02-01"
    await api.post(f"{base}/close", {"closed_on": "2016-02-10"}, bm)
    view = await api.get(base, await api.token(Role.AUDITOR, "region", "regional-auditor"))
    assert (view["status"], view["completion"]["published_on"], view["t6"]["breached"]) == (
        "closed",
        "2016-02-01",
        True,
    )
    learning = await api.get(f"{base}/learning-summary", bm)
    assert learning["summary"]["lscb_area"] == "Bolton"
    assert set(learning["summary"]) == {*summary(), "lscb_area"}
    assert (learning["reference_code"], learning["themes"], learning["typology"]) == (
        "BOL-SCR-2015-07",
        ["human_judgement"],
        "scie-learning-together",
    )


async def test_other_boards_and_non_members_learn_nothing_and_roles_are_checked(api: Api) -> None:
    case = initiated(api.app, lead="lead-reviewer-2")
    base = f"/v1/reviews/{case.review_id}"
    held = {"held_on": "2015-04-20"}
    wigan = await api.token(Role.BUSINESS_MANAGER, "WGN")
    stranger = await api.token(Role.REVIEWER, name="reviewer-not-a-member")
    wigan_auditor = await api.token(Role.AUDITOR, "WGN")
    for headers in (wigan, stranger, wigan_auditor):
        await api.get(base, headers, status=404)
        await api.get(f"/v1/cases/{case.case_id}/review", headers, status=404)
        await api.get(f"{base}/chronologies", headers, status=404)
    for headers in (wigan, stranger):
        await api.post(f"{base}/stages/national_panel_engagement/held", held, headers, status=404)
    # An auditor never records anything: 403 whatever the review, so it tells nothing about this one.
    await api.post(f"{base}/stages/national_panel_engagement/held", held, wigan_auditor, status=403)
    await api.post(f"/v1/reviews/{uuid4()}/stages/national_panel_engagement/held", held, wigan_auditor, status=403)
    await api.get(base, await api.token(Role.REGIONAL_ANALYST, "region"), status=403)
    await api.get(base, await api.token(Role.INTEGRATION), status=403)
    auditor = await api.token(Role.AUDITOR)
    await api.get(base, auditor)
    await api.post(f"{base}/stages/national_panel_engagement/held", held, auditor, status=403)
    chair, bm = await api.token(Role.CHAIR), await api.token(Role.BUSINESS_MANAGER)
    lead = await api.token(Role.REVIEWER, name="lead-reviewer-2")
    schedule = {"scheduled_for": "2015-04-20", "planned_duration": {"amount": 1, "unit": "half_days"}}
    await api.post(f"{base}/stages/national_panel_engagement/schedule", schedule, chair, status=403)
    await api.post(f"{base}/stages/national_panel_engagement/schedule", schedule, lead, status=403)
    await api.post(f"{base}/publication", {"published_on": "2015-05-01"}, bm, status=403)
    await api.post(
        f"{base}/publication", {"published_on": "2015-05-01"}, await api.token(Role.ADMIN, "region"), status=403
    )
    await api.post(f"{base}/stages/national_panel_engagement/held", held, lead)  # a member reviewer contributes
    hold = await api.post(f"{base}/publication-holds", {"reason": "inquest", "set_on": "2015-05-01"}, bm)
    lift = f"{base}/publication-holds/{hold['event']['payload']['hold_id']}/lift"
    await api.post(lift, {"lifted_on": "2015-05-02"}, bm, status=403)
    await api.post(lift, {"lifted_on": "2015-05-02"}, chair)
    await api.get(f"/v1/reviews/{Case().review_id}", bm, status=404)
    assert (await api.client.get(base)).status_code == 401


async def test_a_reviewer_submits_chronologies_only_for_their_agency_unless_lead(api: Api) -> None:
    case = initiated(api.app, lead="lead-reviewer-3")
    base = f"/v1/reviews/{case.review_id}"
    bm = await api.token(Role.BUSINESS_MANAGER)
    await api.post(
        f"{base}/members",
        {"group": "review_group", "member_id": "edu-1", "role": "agency_author", "agency": "education"},
        bm,
    )
    edu = await api.token(Role.REVIEWER, name="edu-1")
    entry = {"event_date": "2015-01-05", "description": "Absence", "significance": SIGNIFICANCE}
    await api.post(f"{base}/chronologies/education/entries", entry, edu)
    refused = await api.post(f"{base}/chronologies/police/entries", entry, edu, status=403)
    assert "police" in refused["detail"]
    await api.post(f"{base}/chronologies/police/entries", entry, await api.token(Role.REVIEWER, name="lead-reviewer-3"))
    assert len(api.app.require(case.review_id).chronology) == 2


async def test_a_command_repeated_with_its_idempotency_key_is_recorded_once(api: Api) -> None:
    case = initiated(api.app, lead="lead-reviewer-5")
    base = f"/v1/reviews/{case.review_id}"
    lead = await api.token(Role.REVIEWER, name="lead-reviewer-5")
    entry = {"event_date": "2015-01-05", "description": "Absence", "significance": SIGNIFICANCE}
    keyed = lead | {"Idempotency-Key": "form-1"}
    first = await api.client.post(f"{base}/chronologies/police/entries", json=entry, headers=keyed)
    again = await api.client.post(f"{base}/chronologies/police/entries", json=entry, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["event"] == first.json()["event"]
    assert len(api.app.require(case.review_id).chronology) == 1
    # The same key on another request is refused, naming the key; no key, a new event each time.
    other = entry | {"description": "Second absence"}
    reused = await api.client.post(f"{base}/chronologies/police/entries", json=other, headers=keyed)
    assert reused.status_code == 422 and [e["field"] for e in reused.json()["detail"]] == ["Idempotency-Key"]
    await api.post(f"{base}/chronologies/police/entries", entry, lead)
    assert len(api.app.require(case.review_id).chronology) == 2
    # A DELETE too: the member removed once, the repeat answers the same event; the query is the request's.
    bm = await api.token(Role.BUSINESS_MANAGER)
    member = {"group": "case_group", "member_id": "gp-5", "role": "practitioner", "agency": "health"}
    await api.post(f"{base}/members", member, bm | {"Idempotency-Key": "form-2"})
    removal = f"{base}/members/case_group/gp-5"
    removals = [
        await api.client.delete(f"{removal}?reason=left", headers=bm | {"Idempotency-Key": "form-3"}) for _ in range(2)
    ]
    assert [r.status_code for r in removals] == [200, 200]
    assert removals[0].json()["event"]["event_id"] == removals[1].json()["event"]["event_id"]
    other_query = await api.client.delete(f"{removal}?reason=moved", headers=bm | {"Idempotency-Key": "form-3"})
    assert other_query.status_code == 422, other_query.text


async def test_bad_input_answers_422_per_field_and_state_conflicts_409(api: Api) -> None:
    case = initiated(api.app, methodology="intensive", lead="lead-reviewer-4")
    base = f"/v1/reviews/{case.review_id}"
    bm = await api.token(Role.BUSINESS_MANAGER)
    bad = await api.post(
        f"{base}/stages/spe_forum/schedule",
        {"scheduled_for": "2015-02-30", "planned_duration": {"amount": 0, "unit": "weeks"}, "colour": "red"},
        bm,
        status=422,
    )
    assert {e["field"] for e in bad["detail"]} >= {
        "scheduled_for",
        "planned_duration.amount",
        "planned_duration.unit",
        "colour",
    }
    short = {"scheduled_for": "2015-05-12", "planned_duration": {"amount": 1, "unit": "half_days"}}
    refused = await api.post(f"{base}/stages/spe_forum/schedule", short, bm, status=422)
    assert refused["detail"][0]["field"] == "planned_duration"
    late = await api.post(f"{base}/stages/spe_forum/held", {"held_on": "2015-05-12"}, bm, status=409)
    assert "comes after" in late["detail"]
    await api.post(f"{base}/stages/tea_break/held", {"held_on": "2015-05-12"}, bm, status=404)
    member = {"group": "review_group", "member_id": "x", "role": "lead_reviewer"}
    assert "appointment" in (await api.post(f"{base}/members", member, bm, status=409))["detail"]
    incomplete = dict(summary())
    del incomplete["how_impact_will_be_audited"]
    missing = await api.post(f"{base}/learning-summary", incomplete, bm, status=422)
    assert [e["field"] for e in missing["detail"]] == ["how_impact_will_be_audited"]
    assert (
        "learning summary"
        in (await api.post(f"{base}/close", {"closed_on": "2015-06-01"}, bm, status=409))["detail"].lower()
    )


async def test_the_review_api_is_documented(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    paths = {path for path in document["paths"] if path.startswith(("/v1/reviews", "/v1/cases"))}
    assert "/v1/reviews/{review_id}/chronologies/{agency}/entries" in paths
    assert "/v1/cases/{case_id}/review" in paths
    operations = [op for path in paths for op in document["paths"][path].values()]
    assert all(op["tags"] == ["reviews"] and op.get("summary") for op in operations)
    assert len(operations) == 24  # 6 views and 18 commands
    close = document["paths"]["/v1/reviews/{review_id}/close"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(close["responses"])
