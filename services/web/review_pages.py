"""The pages of a review: the board's reviews (a reviewer's own only, as the API answers), the review with
its stage plan as a task list, members, the merged SPE chronology, parallel processes and holds, and the
forms of the review's commands (each stage scheduled, held, its outcome, moved; members added and removed;
chronology entries and their corrections; findings and the Case Group's responses; parallel processes
linked and updated; holds set and lifted; the final report, the Learning Summary with every Appendix B
field, publication and closure). Each form is the API's command with an Idempotency-Key per rendered form;
after it the page waits until the case view holds the recorded event, then shows the review.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from events.incidents import NotifyingAgency
from events.orchestration import MemberRole, ParallelProcessKind
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
    "moved": "The stage was moved.",
    "corrected": "The chronology entry was corrected.",
    "removed": "The member was removed.",
    "responded": "The Case Group member's response was recorded.",
    "linked": "The parallel process was linked.",
    "process": "The parallel process's status was recorded.",
}
GROUPS = [("review_group", "Review Group"), ("case_group", "Case Group")]
MEMBER_ROLES = [(r, r.replace("_", " ").capitalize()) for r in get_args(MemberRole)]
HOLD_REASONS = [("criminal_trial", "Criminal trial"), ("inquest", "Inquest"), ("other", "Other")]
PROCESS_KINDS = [
    ("dhr", "Domestic Homicide Review"),
    ("mappa_scr", "MAPPA Serious Case Review"),
    ("criminal_investigation", "Criminal investigation"),
    ("inquest", "Inquest"),
    ("youth_justice_serious_incident", "Youth justice serious incident"),
    ("health_serious_incident", "Health serious incident"),
]
assert {k for k, _ in PROCESS_KINDS} == set(get_args(ParallelProcessKind))  # every kind the API takes
PROCESS_STATUSES = [("ongoing", "Ongoing"), ("concluded", "Concluded")]
RESPONSES = [
    ("agrees", "Agrees with the findings"),
    ("agrees_with_corrections", "Agrees, with corrections"),
    ("disagrees", "Disagrees"),
    ("no_response", "Did not respond"),
]
REMOVAL_REASONS = [
    ("left", "Left the group"),
    ("replaced", "Replaced by someone else"),
    ("added_in_error", "Added in error"),
    ("not_independent", "Not independent of the case"),
    ("other", "Another reason"),
]
RESULTS = [
    ("completed", "Completed"),
    ("completed_with_actions", "Completed with actions"),
    ("incomplete", "Incomplete"),
]

BodyOf = Callable[[Form, dict[str, str]], tuple[str, dict[str, Any], dict[str, str]]]
"""From the form and the page's path parameters: the API path below the review, the body (for a DELETE,
its query), and the page's own errors (before the API is asked)."""
SUBJECTS = {"stage_id": "stage", "link_id": "process", "entry_id": "entry", "member_id": "member"}
"""A page about one thing of the review (its path parameter, and the context it is found under): 404 when
the review has no such thing."""


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
        ("stages/{stage_id}/move", "stage.html", "Stage", _move, "moved"),
        (
            "chronologies/{agency}/entries/{entry_id}", "chronology_entry.html", "Correct a chronology entry",
            _correction, "corrected",
        ),
        ("consultation", "consultation.html", "Consultation with the Case Group", _response, "responded"),
        ("parallel-processes", "parallel_process.html", "Link a parallel process", _process, "linked"),
        ("parallel-processes/{link_id}", "parallel_process.html", "Parallel process", _process_update, "process"),
        ("members/{group}/{member_id}/remove", "member_remove.html", "Remove a member", _removal, "removed"),
    ]
    for slug, template, title, body_of, done in forms:
        method = "DELETE" if slug.endswith("/remove") else "POST"
        router.add_api_route(f"{ROOT}/reviews/{{review_id}}/{slug}", _form_page(web, template, title), methods=["GET"])
        router.add_api_route(
            f"{ROOT}/reviews/{{review_id}}/{slug}", _submit(web, template, title, body_of, done, method),
            methods=["POST"],
        )

    router.add_api_route(
        ROOT + "/reviews/{review_id}/stages/{stage_id}", _form_page(web, "stage.html", "Stage"), methods=["GET"]
    )

    @router.post(ROOT + "/reviews/{review_id}/holds/{hold_id}/lift")
    async def lift(request: Request, review_id: str, hold_id: str) -> Response:
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        if not (is_uuid(review_id) and is_uuid(hold_id)):
            return web.not_found(request, session)
        answer = await web.api.post(
            session.token, f"/v1/reviews/{review_id}/publication-holds/{hold_id}/lift",
            {"lifted_on": form.get(f"lifted_on-{hold_id}").strip()}, idempotency_key=form.get("idempotency_key"),
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
        context = await _context(web, session, found, request.path_params, template)
        if context is None:
            return web.not_found(request, session)
        return web.render(
            request, template, session, title=title, review=found, back=f"{ROOT}/reviews/{review_id}",
            values=_current(context), **context,
        )

    return show


async def _context(
    web: Web, session: Session, review: dict[str, Any], params: dict[str, str], template: str
) -> dict[str, Any] | None:
    """What the review's forms offer to choose from, and the thing a page is about (its stage, parallel
    process, chronology entry or member; None when the review has no such thing)."""
    stage = next((s for s in review.get("stages", []) if s.get("stage_id") == params.get("stage_id")), None)
    process = next(
        (p for p in review.get("parallel_processes", []) if p.get("link_id") == params.get("link_id")), None
    )
    member = next(
        (m for m in review.get("members", [])
         if m.get("group") == params.get("group") and m.get("member_id") == params.get("member_id")),
        None,
    )
    entry = None
    if "entry_id" in params:
        timeline = await web.api.get(session.token, f"/v1/reviews/{review['review_id']}/chronologies")
        entry = next(
            (e for e in (timeline.body if timeline.ok else [])
             if e.get("entry_id") == params["entry_id"] and e.get("agency") == params.get("agency")),
            None,
        )
    consultation = None
    if template == "consultation.html":
        answer = await web.api.get(session.token, f"/v1/reviews/{review['review_id']}/consultation")
        consultation = answer.body if answer.ok else {}
    context: dict[str, Any] = {
        "agencies": AGENCIES, "significance": SIGNIFICANCE, "principles": PRINCIPLES, "groups": GROUPS,
        "member_roles": MEMBER_ROLES, "hold_reasons": HOLD_REASONS, "results": RESULTS,
        "process_kinds": PROCESS_KINDS, "process_statuses": PROCESS_STATUSES, "responses": RESPONSES,
        "removal_reasons": REMOVAL_REASONS, "consultation": consultation,
        "move_reasons": [(r, r.replace("_", " ").capitalize()) for r in (stage or {}).get("move_reasons", [])],
        "stage": stage, "process": process, "entry": entry, "member": member,
        "processes": [(p["link_id"], _process_label(p)) for p in review.get("parallel_processes", [])],
        "case_group": [
            (m["member_id"], f"{m['member_id']} ({str(m.get('role', '')).replace('_', ' ')})")
            for m in review.get("members", []) if m.get("group") == "case_group"
        ],
    }
    if any(param in params and context[subject] is None for param, subject in SUBJECTS.items()):
        return None
    return context


def _process_label(process: dict[str, Any]) -> str:
    kind = dict(PROCESS_KINDS).get(process.get("kind", ""), str(process.get("kind")))
    started = f", started {process['started_on']}" if process.get("started_on") else ""
    return f"{kind}{started} ({process.get('status')})"


def _current(context: dict[str, Any]) -> Form:
    """A form's values before anything is submitted: a correction starts from the entry as it stands, a
    response from the latest findings."""
    entry = context["entry"]
    if entry is not None:
        principles = entry.get("principles") or {}
        pairs = [("event_date", str(entry.get("event_date", ""))), ("description", entry.get("description") or "")]
        pairs += [(key, principles.get(key) or "") for key, _ in PRINCIPLES]
        pairs += [("significance", k) for k, v in (entry.get("significance") or {}).items() if v]
        pairs += [("learning_flags", k) for k, v in (entry.get("learning_flags") or {}).items() if v]
        return Form(pairs)
    if context["consultation"]:
        versions = [f.get("version") for f in context["consultation"].get("findings", [])]
        return Form([("findings_version", str(max(versions)))] if versions else [])
    return Form()


def _submit(web: Web, template: str, title: str, body_of: BodyOf, done: str, method: str = "POST") -> Any:
    async def post(request: Request, review_id: str) -> Response:
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        found = await _review(web, request, session, review_id)
        if isinstance(found, Response):
            return found
        context = await _context(web, session, found, request.path_params, template)
        if context is None:
            return web.not_found(request, session)
        path, body, errors = body_of(form, dict(request.path_params))
        if not errors:
            target = f"/v1/reviews/{review_id}/{path}"
            key = form.get("idempotency_key")
            if method == "DELETE":
                answer = await web.api.delete(session.token, target, body, idempotency_key=key)
            else:
                answer = await web.api.post(session.token, target, body, idempotency_key=key)
            if answer.ok:
                # the review's own view is its service's state; the case, the register and what is due follow
                event_id = (answer.body.get("event") or {}).get("event_id") if isinstance(answer.body, dict) else None
                await web.settled(session, found["case_id"], [event_id] if event_id else [])
                return RedirectResponse(f"{ROOT}/reviews/{review_id}?done={done}", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            errors = answer.field_errors()
        return web.render(
            request, template, session, status=422, title=title, review=found, errors=errors, values=form,
            back=f"{ROOT}/reviews/{review_id}", **context,
        )

    return post


def _entry(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    agency = form.get("agency")
    if agency not in {a for a, _ in AGENCIES}:
        return "", {}, {"agency": "Select the agency"}
    return f"chronologies/{agency}/entries", _entry_body(form), {}


def _correction(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A new version of the entry (the API keeps every version), with the reason it was corrected."""
    body = _entry_body(form)
    if form.text("reason"):
        body["reason"] = form.text("reason")
    return f"chronologies/{params['agency']}/entries/{params['entry_id']}/corrections", body, {}


def _entry_body(form: Form) -> dict[str, Any]:
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
    return body


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
    body: dict[str, Any] = {"reason": form.get("reason"), "set_on": form.get("set_on").strip()}
    if form.text("linked_process"):
        body["linked_process"] = form.text("linked_process")
    return "publication-holds", body, {}


def _removal(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The API's DELETE of the member, its reason in the query."""
    if not form.get("reason"):
        return "", {}, {"reason": "Select why the member leaves the group"}
    path = f"members/{quote(params['group'], safe='')}/{quote(params['member_id'], safe='')}"
    return path, {"reason": form.get("reason")}, {}


def _response(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A Case Group member's response to a version of the findings; corrections are one a line."""
    version = form.get("findings_version").strip()
    if not version.isdigit():
        return "", {}, {"findings_version": "Enter the version of the findings as a whole number"}
    body: dict[str, Any] = {
        "member_id": form.get("member_id"),
        "findings_version": int(version),
        "response": form.get("response"),
        "responded_on": form.get("responded_on").strip(),
        "corrections": _lines(form, "corrections"),
    }
    if form.text("comments"):
        body["comments"] = form.text("comments")
    return "consultation/responses", body, {}


def _process(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {"kind": form.get("kind"), "status": form.get("status") or "ongoing"}
    for name in ("reference", "started_on"):
        if form.text(name):
            body[name] = form.text(name)
    return "parallel-processes", body, {}


def _process_update(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    return f"parallel-processes/{params['link_id']}", {"status": form.get("status"), "on": form.get("on").strip()}, {}


def _move(form: Form, params: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Moved for a reason the plan allows; without a new date, until the reason ends."""
    body: dict[str, Any] = {"reason": form.get("reason")}
    for name in ("new_due", "note"):
        if form.text(name):
            body[name] = form.text(name)
    return f"stages/{params['stage_id']}/move", body, {}


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
