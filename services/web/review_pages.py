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
}

BodyOf = Callable[[Form], tuple[str, dict[str, Any], dict[str, str]]]
"""A form's API path suffix (below the review), its body, and the page's own errors (before the API)."""


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
    ]
    for slug, template, title, body_of, done in forms:
        router.add_api_route(f"{ROOT}/reviews/{{review_id}}/{slug}", _form_page(web, template, title), methods=["GET"])
        router.add_api_route(
            f"{ROOT}/reviews/{{review_id}}/{slug}", _submit(web, template, title, body_of, done), methods=["POST"]
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
        return web.render(
            request, template, session, title=title, review=found, agencies=AGENCIES, significance=SIGNIFICANCE,
            principles=PRINCIPLES, back=f"{ROOT}/reviews/{review_id}",
        )

    return show


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
        path, body, errors = body_of(form)
        if not errors:
            answer = await web.api.post(
                session.token, f"/v1/reviews/{review_id}/{path}", body, idempotency_key=form.get("idempotency_key")
            )
            if answer.ok:  # the review's own view is its service's state: nothing to wait for
                return RedirectResponse(f"{ROOT}/reviews/{review_id}?done={done}", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            errors = answer.field_errors()
        return web.render(
            request, template, session, status=422, title=title, review=found, errors=errors, values=form,
            agencies=AGENCIES, significance=SIGNIFICANCE, principles=PRINCIPLES, back=f"{ROOT}/reviews/{review_id}",
        )

    return post


def _entry(form: Form) -> tuple[str, dict[str, Any], dict[str, str]]:
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


def _findings(form: Form) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "findings", {"findings": form.get("findings").strip(), "shared_on": form.get("shared_on").strip()}, {}


def _publication(form: Form) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "publication", {"published_on": form.get("published_on").strip()}, {}


def _lines(form: Form, name: str) -> list[str]:
    return [line.strip() for line in form.get(name).splitlines() if line.strip()]


def _learning_summary(form: Form) -> tuple[str, dict[str, Any], dict[str, str]]:
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

