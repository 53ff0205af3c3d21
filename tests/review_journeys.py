"""Drive a review from incident to closure through the HTTP API only, as a board's people would.

The end-to-end tests of both runtimes share these steps: intake, decisioning, orchestration and the
projections are reached only through HTTP, so a step works the same over Kafka or in one process. Each
step is a small function of a `Driver` (the client and who is calling) and a `Review` (the ids made so far);
`run_scr` puts them together, and calls a checkpoint at named moments so a test can try what must be
refused there. Nothing here sleeps: what travels between services is awaited with `tests.polling.eventually`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import uuid4

import httpx

from lif.auth import Role
from tests.polling import eventually
from tests.samples import notification

TokenFactory = Callable[[Role, str, str], Awaitable[str]]
"""Issues a token for (role, scope, name) and returns its bearer value."""

AdvanceTo = Callable[[date], None]
"""Moves an injected clock forward to a day (never back) before something dated that day is recorded."""

Moment = Literal[
    "considered", "decided", "appointed", "stages_held", "final_report", "summary", "hold_lifted", "closed"
]
Checkpoint = Callable[[Moment, "Review"], Awaitable[None]]

NOT_SIGNIFICANT: dict[str, bool] = {
    "changed_assessment": False,
    "pattern": False,
    "statutory_event": False,
    "significant_to_child": False,
    "significant_to_adult": False,
    "learning_point": False,
}
SIGNIFICANT: dict[str, bool] = NOT_SIGNIFICANT | {"statutory_event": True, "learning_point": True}
AGENCIES_PRESENT = ["health", "local_authority", "police"]
CRITERIA = {"intensive": ["D1"], "targeted": ["D4"]}
INDEPENDENT = {"lscb": None, "organisation": "Independent Reviews Ltd"}


@dataclass(frozen=True)
class Dates:
    """When each thing happens in a journey (2015, the regime of the sample notification).

    Review stages are held on the due dates the plan gives them; these are the other dates. The defaults
    close an SCR decided on 18 March inside T6 (18 September); a test moves the trial's end for a late one.
    """

    initial_meeting: date = date(2015, 3, 11)
    chronologies: date = date(2015, 3, 13)
    planning_meeting: date = date(2015, 3, 16)
    decided_on: date = date(2015, 3, 18)
    appointed_on: date = date(2015, 3, 19)
    trial_listed: date = date(2015, 3, 20)
    findings_shared: date = date(2015, 8, 20)
    case_group_responded: date = date(2015, 8, 27)
    final_report: date = date(2015, 9, 1)
    summary_completed: date = date(2015, 9, 2)
    hold_lifted: date = date(2015, 9, 10)
    family_involvement: date = date(2015, 9, 11)
    published_on: date = date(2015, 9, 14)
    closed_on: date = date(2015, 9, 16)


@dataclass
class Review:
    """What a journey made: the ids to assert on, and the latest event a command recorded (to await it)."""

    case_id: str
    tag: str
    recommendation: dict[str, Any] = field(default_factory=dict)
    review_id: str = ""
    reviewer_id: str = ""
    members: dict[str, str] = field(default_factory=dict)
    entries: dict[str, str] = field(default_factory=dict)
    link_id: str = ""
    hold_id: str = ""
    reference_code: str = ""
    last_event_id: str = ""

    @property
    def base(self) -> str:
        return f"/v1/reviews/{self.review_id}"


class Driver:
    """An HTTP client of the whole system, and a token for each person a journey needs (made once each)."""

    def __init__(
        self, client: httpx.AsyncClient, tokens: TokenFactory, *, lscb: str = "BOL", advance_to: AdvanceTo | None = None
    ) -> None:
        self.client, self.tokens, self.lscb = client, tokens, lscb
        self.advance_to: AdvanceTo = advance_to or (lambda day: None)
        self._made: dict[tuple[Role, str, str], dict[str, str]] = {}

    async def as_(self, role: Role, name: str | None = None, scope: str | None = None) -> dict[str, str]:
        """The Authorization header of `name` (default: one person per role and board) in `role`."""
        scope = scope or (self.lscb if role not in (Role.ADMIN, Role.REGIONAL_ANALYST) else "region")
        key = (role, scope, name or f"{role.value}-{scope}")
        if key not in self._made:
            self._made[key] = {"Authorization": f"Bearer {await self.tokens(*key)}"}
        return self._made[key]

    async def bm(self) -> dict[str, str]:
        return await self.as_(Role.BUSINESS_MANAGER)

    async def chair(self) -> dict[str, str]:
        return await self.as_(Role.CHAIR)

    async def admin(self) -> dict[str, str]:
        return await self.as_(Role.ADMIN)

    async def reviewer(self, member_id: str) -> dict[str, str]:
        """A reviewer acts as the account whose name is their member id (how membership is matched)."""
        return await self.as_(Role.REVIEWER, member_id)

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str], status: int = 201) -> Any:
        response = await self.client.post(path, json=body, headers=headers)
        assert response.status_code == status, f"POST {path} -> {response.status_code}: {response.text}"
        return response.json()

    async def get(self, path: str, headers: dict[str, str], status: int = 200) -> Any:
        response = await self.client.get(path, headers=headers)
        assert response.status_code == status, f"GET {path} -> {response.status_code}: {response.text}"
        return response.json()

    async def command(self, review: Review, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """A review command that must be recorded: its event (and it becomes the review's latest)."""
        event: dict[str, Any] = (await self.post(f"{review.base}{path}", body, headers))["event"]
        review.last_event_id = event["event_id"]
        return event


# --- the case and its decision -----------------------------------------------------------------------------------


async def open_case(d: Driver, **changes: Any) -> Review:
    """A notification through intake, awaited until its recommendation is in the case view."""
    created = await d.post("/v1/incidents", notification(lscb=d.lscb, **changes), await d.bm(), status=202)
    review = Review(case_id=created["case_id"], tag=uuid4().hex[:6])
    bm = await d.bm()

    async def recommended() -> dict[str, Any] | None:
        case = await d.client.get(f"/v1/cases/{review.case_id}", headers=bm)
        return case.json()["recommendation"] if case.status_code == 200 else None

    review.recommendation = await eventually(recommended, what=f"the recommendation of {review.case_id}")
    return review


async def wait_for_review(
    d: Driver, review: Review, ready: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The review view (served by orchestration) once `ready` holds; it follows decisioning's events."""
    bm = await d.bm()

    async def check() -> dict[str, Any] | None:
        response = await d.client.get(f"/v1/cases/{review.case_id}/review", headers=bm)
        view: dict[str, Any] | None = response.json() if response.status_code == 200 else None
        return view if view is not None and ready(view) else None

    view = await eventually(check, what=f"{what} of case {review.case_id}")
    review.review_id = view["review_id"]
    return view


async def decide(d: Driver, review: Review, decision: str, on: date, **body: Any) -> dict[str, Any]:
    """The Chair's decision (decisioning), awaited until orchestration has started the plan it calls for."""
    d.advance_to(on)
    events = (
        await d.post(
            f"/v1/cases/{review.case_id}/decisions",
            {"decision": decision, "decided_on": on.isoformat(), **body},
            await d.chair(),
        )
    )["events"]
    decision_id = events[0]["event_id"]
    return await wait_for_review(
        d, review, lambda v: v["decision_event_id"] == decision_id and v["phase"] == "review", "the review plan"
    )


async def initiate_scr(d: Driver, review: Review, methodology: str, on: date) -> dict[str, Any]:
    return await decide(d, review, "initiate_scr", on, methodology=methodology, criteria_held=CRITERIA[methodology])


async def appoint_lead_reviewer(
    d: Driver, review: Review, on: date, employer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A reviewer of the registry appointed by the Chair, awaited until orchestration made them a member."""
    d.advance_to(on)
    registered = await d.post(
        "/v1/reviewers", {"name": f"Lead Reviewer {review.tag}", "employer": employer or INDEPENDENT}, await d.bm()
    )
    review.reviewer_id = registered["reviewer_id"]
    await d.post(
        f"/v1/cases/{review.case_id}/lead-reviewers",
        {"reviewer_id": review.reviewer_id, "appointed_on": on.isoformat()},
        await d.chair(),
    )

    def appointed(view: dict[str, Any]) -> bool:
        return any(m["member_id"] == review.reviewer_id and m["role"] == "lead_reviewer" for m in view["members"])

    return await wait_for_review(d, review, appointed, "the lead reviewer's membership")


async def lead(d: Driver, review: Review) -> dict[str, str]:
    return await d.reviewer(review.reviewer_id)


# --- groups and chronologies -------------------------------------------------------------------------------------


async def add_members(d: Driver, review: Review) -> None:
    """Agency authors for police and health in the Review Group, a health practitioner in the Case Group."""
    members = [
        ("police", "review_group", "agency_author", "police"),
        ("health", "review_group", "agency_author", "health"),
        ("practitioner", "case_group", "practitioner", "health"),
    ]
    for key, group, role, agency in members:
        member_id = f"{key}-{review.tag}"
        body = {"group": group, "member_id": member_id, "role": role, "agency": agency}
        await d.command(review, "/members", body, await d.bm())
        review.members[key] = member_id


async def submit_chronologies(d: Driver, review: Review, on: date) -> None:
    """Each agency's author submits its entry (health's has no 'yes'); police then corrects its own."""
    d.advance_to(on)
    police, health = await d.reviewer(review.members["police"]), await d.reviewer(review.members["health"])
    strategy = {
        "event_date": "2015-01-05",
        "description": "Strategy discussion held after the first injury",
        "risk": "Risk to the child seen, not shared",
        "partnership": "Health not invited",
        "learning_flags": {"significant": True, "new": True},
        "significance": SIGNIFICANT,
    }
    event = await d.command(review, "/chronologies/police/entries", strategy, police)
    review.entries["police"] = event["payload"]["entry_id"]
    visit = {"event_date": "2015-02-10", "description": "Routine health visit", "significance": NOT_SIGNIFICANT}
    event = await d.command(review, "/chronologies/health/entries", visit, health)
    review.entries["health"] = event["payload"]["entry_id"]
    corrected = strategy | {"event_date": "2015-01-04", "reason": "Date taken from the minutes"}
    await d.command(review, f"/chronologies/police/entries/{review.entries['police']}/corrections", corrected, police)


# --- stages ------------------------------------------------------------------------------------------------------


def plan_stages(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages of the plan in force, in plan order (the publication and closure steps are not stages)."""
    return [s for s in view["stages"] if s["plan_id"] == view["plan_id"] and s["step"] == "stage"]


def duration_for(stage: dict[str, Any]) -> dict[str, Any]:
    """The shortest duration the plan allows for the stage (one half day where it says nothing)."""
    allowed = stage["duration"]
    return {"amount": allowed["min_half_days"] if allowed else 1, "unit": "half_days"}


async def hold_stage(d: Driver, review: Review, stage: dict[str, Any], day: date, by: dict[str, str]) -> None:
    """Scheduled by the business manager; held and its outcome recorded by `by`."""
    stage_id = stage["stage_id"]
    schedule = {"scheduled_for": day.isoformat(), "planned_duration": duration_for(stage)}
    await d.command(review, f"/stages/{stage_id}/schedule", schedule, await d.bm())
    d.advance_to(day)
    await d.command(review, f"/stages/{stage_id}/held", {"held_on": day.isoformat()}, by)
    outcome = {"result": "completed_with_actions", "agencies_present": AGENCIES_PRESENT, "actions_agreed": 2}
    await d.command(review, f"/stages/{stage_id}/outcome", outcome | {"note": f"Notes of {stage_id}"}, by)


async def hold_plan_stages(
    d: Driver,
    review: Review,
    view: dict[str, Any],
    by: dict[str, str],
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> list[str]:
    """Hold the plan's stages in plan order, each on its due date; returns the ids held."""
    wanted, skipped = (None if only is None else set(only)), set(skip)
    held = []
    for stage in plan_stages(view):
        if stage["stage_id"] in skipped or (wanted is not None and stage["stage_id"] not in wanted):
            continue
        await hold_stage(d, review, stage, date.fromisoformat(stage["due"]), by)
        held.append(stage["stage_id"])
    return held


async def hold_pre_decision_stages(d: Driver, review: Review, view: dict[str, Any], dates: Dates) -> None:
    """Stages 1-3 before the Chair's decision; the chronologies are gathered before stage 2 is held."""
    stages = {s["stage_id"]: s for s in plan_stages(view)}
    bm = await d.bm()
    await hold_stage(d, review, stages["initial_meeting"], dates.initial_meeting, bm)
    await add_members(d, review)
    await submit_chronologies(d, review, dates.chronologies)
    await hold_stage(d, review, stages["spe_chronologies"], dates.chronologies, bm)
    await hold_stage(d, review, stages["planning_meeting"], dates.planning_meeting, bm)


async def hold_family_involvement(d: Driver, review: Review, on: date) -> None:
    d.advance_to(on)
    await d.command(review, "/stages/family_involvement/held", {"held_on": on.isoformat()}, await lead(d, review))


# --- parallel processes and publication holds -------------------------------------------------------------------


async def hold_for_criminal_trial(d: Driver, review: Review, on: date) -> None:
    """A criminal investigation linked, publication held while the trial runs, family involvement moved."""
    d.advance_to(on)
    bm = await d.bm()
    link = {"kind": "criminal_investigation", "reference": f"OP-{review.tag}", "started_on": on.isoformat()}
    review.link_id = (await d.command(review, "/parallel-processes", link, bm))["payload"]["link_id"]
    hold = {"reason": "criminal_trial", "linked_process": review.link_id, "set_on": on.isoformat()}
    review.hold_id = (await d.command(review, "/publication-holds", hold, bm))["payload"]["hold_id"]
    move = {"reason": "criminal_proceedings", "note": "Family seen after the trial"}
    await d.command(review, "/stages/family_involvement/move", move, bm)


async def trial_ends(d: Driver, review: Review, on: date) -> None:
    """The investigation concludes and the Chair lifts the hold."""
    d.advance_to(on)
    concluded = {"status": "concluded", "on": on.isoformat()}
    await d.command(review, f"/parallel-processes/{review.link_id}", concluded, await d.bm())
    lifted = {"lifted_on": on.isoformat()}
    await d.command(review, f"/publication-holds/{review.hold_id}/lift", lifted, await d.chair())


# --- consultation and completion ---------------------------------------------------------------------------------


async def consult_case_group(d: Driver, review: Review, shared_on: date, responded_on: date) -> None:
    """The lead shares the findings; the practitioner answers for themself, with corrections."""
    d.advance_to(shared_on)
    shared = {"findings": "Draft findings: assessment drift", "shared_on": shared_on.isoformat()}
    version = (await d.command(review, "/findings", shared, await lead(d, review)))["payload"]["version"]
    practitioner = review.members["practitioner"]
    response = {
        "member_id": practitioner,
        "findings_version": version,
        "response": "agrees_with_corrections",
        "responded_on": responded_on.isoformat(),
        "comments": "Broadly right",
        "corrections": ["The visit was on the 6th", "The GP was not told"],
    }
    d.advance_to(responded_on)
    await d.command(review, "/consultation/responses", response, await d.reviewer(practitioner))


async def record_final_report(d: Driver, review: Review, on: date) -> None:
    d.advance_to(on)
    report = {"report": "Final report text", "received_on": on.isoformat()}
    await d.command(review, "/final-report", report, await lead(d, review))


def learning_summary(review: Review, methodology: str, completed: date) -> dict[str, Any]:
    """Every Appendix B field (the LSCB area defaults to the board's name)."""
    return {
        "date_completed": completed.isoformat(),
        "type_of_review": {
            "methodology": methodology,
            "chairing_and_authoring": "Independent lead reviewer; Review Group chaired by the board",
            "how_selected": "Threshold recommendation; the planning meeting advised the methodology",
        },
        "incident_month": "2015-03",
        "review_reference_code": review.reference_code,
        "learning_about_the_case": {
            "themes": ["human_judgement", "multi_agency_incidents_and_crises"],
            "concerns": "Risk seen by one agency was not shared.",
            "good_practice": "Prompt escalation by the GP.",
        },
        "learning_about_the_review_method": "The SPE forum brought the practitioners together well.",
        "key_single_agency_recommendations": ["Police: invite health to strategy discussions."],
        "key_multi_agency_recommendations": ["Joint supervision of neglect cases."],
        "how_changes_will_be_made": "The learning subgroup owns the action plan.",
        "how_impact_will_be_audited": "A multi-agency case audit in 12 months.",
        "other_comments": "None.",
    }


async def record_learning_summary(d: Driver, review: Review, methodology: str, completed: date) -> dict[str, Any]:
    review.reference_code = f"{d.lscb}-{review.tag}"
    body = learning_summary(review, methodology, completed)
    d.advance_to(completed)
    await d.command(review, "/learning-summary", body, await lead(d, review))
    return body


async def publish(d: Driver, review: Review, on: date) -> dict[str, Any]:
    d.advance_to(on)
    return await d.command(review, "/publication", {"published_on": on.isoformat()}, await d.chair())


async def close(d: Driver, review: Review, on: date) -> dict[str, Any]:
    d.advance_to(on)
    return await d.command(review, "/close", {"closed_on": on.isoformat()}, await d.bm())


# --- the projections ---------------------------------------------------------------------------------------------


async def projected_case(d: Driver, review: Review, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The case view once the projections have the review's latest event (they follow the logs or Kafka)."""
    who = headers or await d.admin()

    async def check() -> dict[str, Any] | None:
        response = await d.client.get(f"/v1/cases/{review.case_id}", headers=who)
        case: dict[str, Any] = response.json()
        has_latest = any(e["event_id"] == review.last_event_id for e in case.get("events", []))
        return case if response.status_code == 200 and has_latest and case["review"] else None

    return await eventually(check, what=f"the projected review of case {review.case_id}")


async def board_entry(d: Driver, review: Review, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The review's entry in the board's reviews view (which the caller must see)."""
    listing = await d.get(f"/v1/lscbs/{d.lscb}/reviews", headers or await d.admin())
    found = [r for r in listing["reviews"] if r["review_id"] == review.review_id]
    assert len(found) == 1, f"review {review.review_id} is not once in the board's view: {listing}"
    return found[0]  # type: ignore[no-any-return]


# --- a whole SCR -------------------------------------------------------------------------------------------------


async def _nothing(moment: Moment, review: Review) -> None:
    return None


async def run_scr(
    d: Driver, methodology: str, dates: Dates | None = None, at: Checkpoint | None = None, **facts: Any
) -> Review:
    """A statutory SCR from the incident to its closure; `at` is awaited at each moment with the review so far."""
    dates = dates or Dates()
    at = at or _nothing
    review = await open_case(d, **facts)
    assert review.recommendation["review_type"] == "serious_case_review", review.recommendation
    view = await wait_for_review(d, review, lambda v: v["status"] == "pre_decision", "the pre-decision process")
    await at("considered", review)
    await hold_pre_decision_stages(d, review, view, dates)
    await initiate_scr(d, review, methodology, dates.decided_on)
    await at("decided", review)
    view = await appoint_lead_reviewer(d, review, dates.appointed_on)
    await at("appointed", review)
    await hold_for_criminal_trial(d, review, dates.trial_listed)
    await hold_plan_stages(d, review, view, await lead(d, review), skip=["family_involvement"])
    await at("stages_held", review)
    await consult_case_group(d, review, dates.findings_shared, dates.case_group_responded)
    await record_final_report(d, review, dates.final_report)
    await at("final_report", review)
    await record_learning_summary(d, review, f"{methodology.capitalize()} SCR", dates.summary_completed)
    await at("summary", review)
    await trial_ends(d, review, dates.hold_lifted)
    await at("hold_lifted", review)
    await hold_family_involvement(d, review, dates.family_involvement)
    await publish(d, review, dates.published_on)
    await close(d, review, dates.closed_on)
    await at("closed", review)
    return review
