"""The pages of a review: the board's reviews (a reviewer's own only, as the API answers), the review with
its stage plan as a task list, members, the merged SPE chronology and holds, and the forms of the review's
commands (chronology entry, findings, the Learning Summary with every Appendix B field, lifting a hold,
publication). Each form is the API's command with an Idempotency-Key per rendered form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from events.incidents import NotifyingAgency
from events.orchestration import MemberRole
from services.web.core import ROOT, Form, Web, is_uuid, sign_in_redirect
from services.web.sessions import Session

AGENCIES = [(a, a.replace("_", " ").capitalize()) for a in get_args(NotifyingAgency)]
SIGNIFICANCE = [
    ("changed_assessment", "Changed, or could have changed, the assessment"),
    ("pattern", "Symbolic of a pattern"),
    ("statutory_event", "A statutory event (conference, court)"),
    ("significant_to_child", "Significant to the child"),
    ("significant_to_adult", "Significant to a significant adult"),
    ("learning_point", "A learning point for agencies"),
]
PRINCIPLES = [("risk", "Risk"), ("response", "Response"), ("partnership", "Partnership"), ("learning", "Learning")]
DONE = {
    "entry": "The chronology entry was recorded.",
    "findings": "The findings were shared.",
    "summary": "The Learning Summary was recorded.",
    "lifted": "The publication hold was lifted.",
    "published": "The review was published.",
    "member": "The member was added.",
    "hold": "The publication hold was set.",
    "report": "The final report was recorded.",
    "closed": "The review was closed.",
    "scheduled": "The stage was scheduled.",
    "held": "The stage was recorded as held.",
    "outcome": "The stage's outcome was recorded.",
}
GROUPS = [("review_group", "Review Group"), ("case_group", "Case Group")]
MEMBER_ROLES = [(r, r.replace("_", " ").capitalize()) for r in get_args(MemberRole)]
HOLD_REASONS = [("criminal_trial", "Criminal trial"), ("inquest", "Inquest"), ("other", "Other")]
RESULTS = [
    ("completed", "Completed"),
    ("completed_with_actions", "Completed with actions"),
    ("incomplete", "Incomplete"),
]

BodyOf = Callable[[Form, dict[str, str]], tuple[str, dict[str, Any], dict[str, str]]]
"""From the form and the page's path parameters: the API path below the review, the body, and the page's
own errors (before the API is asked)."""


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT + "/boards/{lscb}/reviews")
    async def reviews(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        answer = await web.api.get(session.token, f"/v1/lscbs/{lscb}/reviews", {"limit": 1000})
        if not answer.ok:
            return web.refusal(request, session, answer)
        return web.render(request, "reviews.html", session, title="Reviews", lscb=lscb, reviews=answer.body["reviews"])

    @router.get(ROOT + "/reviews/{review_id}")
    async def review(request: Request, review_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        found = await _review(web, request, session, review_id)
        if isinstance(found, Response):
            return found
        chronology = await web.api.get(session.token, f"/v1/reviews/{review_id}/chronologies")
        return web.render(
            request, "review.html", session, title="Review", review=found,
            chronology=chronology.body if chronology.ok else [],
            notice=DONE.get(request.query_params.get("done", "")),
        )

    forms: list[tuple[str, str, str, BodyOf, str]] = [
        ("chronology", "chronology_entry.html", "Add a chronology entry", _entry, "entry"),
        ("findings", "findings.html", "Share the findings", _findings, "findings"),
        ("learning-summary", "learning_summary.html", "Learning Summary", _learning_summary, "summary"),
        ("publish", "publish.html", "Publish the review", _publication, "published"),
        ("members", "member.html", "Add a member", _member, "member"),
        ("holds", "hold.html", "Set a publication hold", _hold, "hold"),
        ("final-report", "final_report.html", "Record the final report", _final_report, "report"),
        ("close", "close.html", "Close the review", _closure, "closed"),
        ("stages/{stage_id}/schedule", "stage.html", "Stage", _schedule, "scheduled"),
        ("stages/{stage_id}/held", "stage.html", "Stage", _held, "held"),
        ("stages/{stage_id}/outcome", "stage.html", "Stage", _outcome, "outcome"),
    ]
    for slug, template, title, body_of, done in forms:
        router.add_api_route(f"{ROOT}/reviews/{{review_id}}/{slug}", _form_page(web, template, title), methods=["GET"])
        router.add_api_route(
            f"{ROOT}/reviews/{{review_id}}/{slug}", _submit(web, template, title, body_of, done), methods=["POST"]
        )

    router.add_api_route(
        ROOT + "/reviews/{review_id}/stages/{stage_id}", _form_page(web, "stage.html", "Stage"), methods=["GET"]
    )

    @router.post(ROOT + "/reviews/{review_id}/holds/{hold_id}/lift")
    async def lift(request: Request, review_id: str, hold_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        form = await web.form(request, session)
        if isinstance(form, Response):
            return form
        if not (is_uuid(review_id) and is_uuid(hold_id)):
            return web.not_found(request, session)
        answer = await web.api.post(
            session.token, f"/v1/reviews/{review_id}/publication-holds/{hold_id}/lift",
            {"lifted_on": form.get("lifted_on").strip()}, idempotency_key=form.get("idempotency_key"),
        )
        if answer.ok:
            return RedirectResponse(f"{ROOT}/reviews/{review_id}?done=lifted", status_code=303)
        if answer.status == 422:
            found = await _review(web, request, session, review_id)
            if isinstance(found, Response):
                return found
            return web.render(
                request, "review.html", session, status=422, title="Review", review=found, chronology=[],
                errors={f"lifted_on-{hold_id}": m for m in answer.field_errors().values()}, values=form,
            )
        return web.refusal(request, session, answer)

    return router


async def _review(web: Web, request: Request, session: Session, review_id: str) -> dict[str, Any] | Response:
    if not is_uuid(review_id):
        return web.not_found(request, session)
    answer = await web.api.get(session.token, f"/v1/reviews/{review_id}")
    return answer.body if answer.ok else web.refusal(request, session, answer)


def _form_page(web: Web, template: str, title: str) -> Any:
    async def show(request: Request, review_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        found = await _review(web, request, session, review_id)
        if isinstance(found, Response):
            return found
        choices = _choices(found, request.path_params)
        if template == "stage.html" and choices["stage"] is None:
            return web.not_found(request, session)
        return web.render(
            request, template, session, title=title, review=found, back=f"{ROOT}/reviews/{review_id}", **choices
        )

    return show


def _choices(review: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """What the review's forms offer to choose from, and the stage a stage page is about."""
    stage = next((s for s in review.get("stages", []) if s.get("stage_id") == params.get("stage_id")), None)
    return {
        "agencies": AGENCIES, "significance": SIGNIFICANCE, "principles": PRINCIPLES, "groups": GROUPS,
        "member_roles": MEMBER_ROLES, "hold_reasons": HOLD_REASONS, "results": RESULTS, "stage": stage,
    }


def _submit(web: Web, template: str, title: str, body_of: BodyOf, done: str) -> Any:
    async def post(request: Request, review_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        form = await web.form(request, session)
        if isinstance(form, Response):
            return form
        found = await _review(web, request, session, review_id)
        if isinstance(found, Response):
            return found
        path, body, errors = body_of(form, dict(request.path_params))
        if not errors:
            answer = await web.api.post(
                session.token, f"/v1/reviews/{review_id}/{path}", body, idempotency_key=form.get("idempotency_key")
            )
            if answer.ok:  # the review's own view is its service's state: nothing to wait for
                return RedirectResponse(f"{ROOT}/reviews/{review_id}?done={done}", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            errors = answer.field_errors()
        choices = _choices(found, request.path_params)
        if template == "stage.html" and choices["stage"] is None:
            return web.not_found(request, session)
        return web.render(
            request, template, session, status=422, title=title, review=found, errors=errors, values=form,
            back=f"{ROOT}/reviews/{review_id}", **choices,
        )

    return post


def _entry(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    agency = form.get("agency")
    if agency not in {a for a, _ in AGENCIES}:
        return "", {}, {"agency": "Select the agency"}
    chosen = set(form.getlist("significance"))
    flags = set(form.getlist("learning_flags"))
    body: dict[str, Any] = {
        "event_date": form.get("event_date").strip(),
        "description": form.get("description").strip(),
        "significance": {key: key in chosen for key, _ in SIGNIFICANCE},
        "learning_flags": {"significant": "significant" in flags, "new": "new" in flags},
    }
    for key, _ in PRINCIPLES:
        if form.text(key):
            body[key] = form.text(key)
    return f"chronologies/{agency}/entries", body, {}


def _findings(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "findings", {"findings": form.get("findings").strip(), "shared_on": form.get("shared_on").strip()}, {}


def _publication(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "publication", {"published_on": form.get("published_on").strip()}, {}


def _lines(form: Form, name: str) -> list[str]:
    return [line.strip() for line in form.get(name).splitlines() if line.strip()]


def _learning_summary(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Every Appendix B field: lists are one item a line; the LSCB area defaults to the review's board."""
    body: dict[str, Any] = {
        "date_completed": form.get("date_completed").strip(),
        "type_of_review": {
            "methodology": form.get("type_of_review.methodology").strip(),
            "chairing_and_authoring": form.get("type_of_review.chairing_and_authoring").strip(),
            "how_selected": form.get("type_of_review.how_selected").strip(),
        },
        "incident_month": form.get("incident_month").strip(),
        "review_reference_code": form.get("review_reference_code").strip(),
        "learning_about_the_case": {
            "themes": [t.strip() for t in form.get("learning_about_the_case.themes").split(",") if t.strip()],
            "concerns": form.get("learning_about_the_case.concerns").strip(),
            "good_practice": form.get("learning_about_the_case.good_practice").strip(),
        },
        "learning_about_the_review_method": form.get("learning_about_the_review_method").strip(),
        "key_single_agency_recommendations": _lines(form, "key_single_agency_recommendations"),
        "key_multi_agency_recommendations": _lines(form, "key_multi_agency_recommendations"),
        "how_changes_will_be_made": form.get("how_changes_will_be_made").strip(),
        "how_impact_will_be_audited": form.get("how_impact_will_be_audited").strip(),
        "other_comments": form.get("other_comments").strip(),
    }
    if form.text("lscb_area"):
        body["lscb_area"] = form.text("lscb_area")
    return "learning-summary", body, {}



def _member(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {"group": form.get("group"), "member_id": form.get("member_id").strip(),
                            "role": form.get("role")}
    if form.get("agency"):
        body["agency"] = form.get("agency")
    return "members", body, {}


def _hold(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "publication-holds", {"reason": form.get("reason"), "set_on": form.get("set_on").strip()}, {}


def _final_report(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "final-report", {"report": form.get("report").strip(), "received_on": form.get("received_on").strip()}, {}


def _closure(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "close", {"closed_on": form.get("closed_on").strip()}, {}


def _schedule(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    amount = form.get("amount").strip()
    if not amount.isdigit():
        return "", {}, {"amount": "Enter the planned duration as a whole number"}
    body = {
        "scheduled_for": form.get("scheduled_for").strip(),
        "planned_duration": {"amount": int(amount), "unit": form.get("unit") or "half_days"},
    }
    return f"stages/{params['stage_id']}/schedule", body, {}


def _held(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return f"stages/{params['stage_id']}/held", {"held_on": form.get("held_on").strip()}, {}


def _outcome(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    actions = form.get("actions_agreed").strip() or "0"
    if not actions.isdigit():
        return "", {}, {"actions_agreed": "Enter the number of actions agreed as a whole number"}
    body: dict[str, Any] = {
        "result": form.get("result"),
        "agencies_present": form.getlist("agencies_present"),
        "actions_agreed": int(actions),
    }
    if form.text("note"):
        body["note"] = form.text("note")
    return f"stages/{params['stage_id']}/outcome", body, {}
