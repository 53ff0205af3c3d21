"""The board's pages about cases: what is due, the register, a case, and the commands on it (referral,
peer challenge or a National Panel consultation, learning themes, the Chair's decision, appointing a lead
reviewer, the National Panel notice, and the 2018 regime's Panel notification and rapid review) and the
auditor's history.

A case page offers a command only to the roles the API allows it and only where the case's state makes it
apply (`applicable_forms`); the API still decides every command, and refuses the others.

Each command is the API's own, sent with an Idempotency-Key made when the form was rendered, so submitting
the same form twice records one event. After it the page waits until the read model shows the event
(read-your-writes), then redirects: the next page is never stale.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from events.decisioning import DecisionKind
from events.incidents import AbuseOrNeglect, NotifyingAgency, Outcome, PlaceOfDeath, WorkingTogetherConcern
from lif.clock import today_london
from services.web.api_client import Answer, wait_for
from services.web.core import ROOT, Form, Web, is_uuid, sign_in_redirect
from services.web.learning_pages import board_themes
from services.web.sessions import Session

DECISIONS = {
    "initiate_scr": "Initiate a Serious Case Review",
    "commission_macr": "Commission a multi-agency concise review",
    "request_iar": "Request individual agency reviews",
    "propose_forum": "Propose a learning forum",
    "embedding_review": "Embed learning from earlier reviews",
    "no_review": "No review",
}
assert set(DECISIONS) == set(get_args(DecisionKind))  # every decision the API takes has its label
REVIEW_TYPES = {
    "serious_case_review": "Serious Case Review",
    "multi_agency_concise_review": "Multi-agency concise review",
    "individual_agency_review": "Individual agency review",
    "learning_forum": "Learning forum",
    "embedding_review": "Embedding review",
    "no_review": "No review",
}
DONE = {
    "referred": "The case was referred to the SCR panel.",
    "decided": "The decision was recorded.",
    "appointed": "The lead reviewer was appointed.",
    "notice": "The National Panel notice was prepared.",
    "sent": "The National Panel notice was marked as sent.",
    "notified": "The notification was recorded and the case opened.",
    "registered": "The reviewer was registered.",
    "consulted": "The peer challenge or National Panel consultation was recorded.",
    "themes": "The learning themes were recorded.",
    "panel_notified": "The notification of the Child Safeguarding Practice Review Panel was recorded.",
    "rapid_review": "The rapid review was recorded as held.",
}
DISCRETIONARY_KINDS = {
    "peer_challenge": "Peer challenge",
    "national_panel_consultation": "Consultation with the National Panel",
}
REGIME_2018_FORMS = {"panel-notification": "panel_notification_due", "rapid-review": "rapid_review_due"}
"""The 2018 regime's forms, each for the case deadline it meets (a case has it only under `cspr-2018`)."""


def _options(kind: Any) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ").capitalize()) for value in get_args(kind)]


NOTIFICATION_CHOICES: dict[str, Any] = {
    "agencies": _options(NotifyingAgency),
    "abuse": _options(AbuseOrNeglect),
    "outcomes": _options(Outcome),
    "concerns": _options(WorkingTogetherConcern),
    "places": _options(PlaceOfDeath),
    "flags": [
        ("practice_concern_single_agency", "A concern about one agency's practice"),
        ("good_practice", "Good practice to share"),
        ("historical", "Historical (the events are long past)"),
        ("learning_already_identified", "The learning is already identified elsewhere"),
    ],
}
_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT + "/boards/{lscb}/cases")
    async def register(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        query = request.query_params
        search = query.get("q", "").strip()
        if _UUID.match(search):
            return RedirectResponse(f"{ROOT}/cases/{search.lower()}", status_code=303)
        answer = await web.api.get(session.token, f"/v1/lscbs/{lscb}/cases", {"limit": 1000})
        if not answer.ok:
            return web.refusal(request, session, answer)
        cases = _filtered(answer.body["cases"], query.get("review_type", ""), query.get("decision", ""),
                          query.get("breached", ""), search)
        return web.render(
            request, "register.html", session, title=f"Cases of {lscb}", lscb=lscb, cases=cases,
            total=answer.body["total"], review_types=REVIEW_TYPES, decisions=DECISIONS,
            values=Form(query.multi_items()),
        )

    @router.get(ROOT + "/boards/{lscb}/due")
    async def what_is_due(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        obligations = await web.api.get(session.token, f"/v1/lscbs/{lscb}/obligations")
        available = obligations.ok or not _route_missing(obligations)
        if available and not obligations.ok:
            return web.refusal(request, session, obligations)
        register = await web.api.get(session.token, f"/v1/lscbs/{lscb}/cases", {"limit": 1000})
        if not register.ok:
            return web.refusal(request, session, register)
        today = today_london()
        due = _open_deadlines(register.body["cases"], today)
        return web.render(
            request, "due.html", session, title="What is due", lscb=lscb,
            obligations=_due_obligations(obligations.body.get("obligations", []), today) if obligations.ok else None,
            overdue=[d for d in due if d["due"] < today.isoformat()],
            this_week=[d for d in due if today.isoformat() <= d["due"] <= (today + timedelta(days=7)).isoformat()],
            new_cases=[c for c in register.body["cases"] if c.get("decision") is None],
            review_types=REVIEW_TYPES,
        )

    @router.get(ROOT + "/cases/{case_id}")
    async def case_page(request: Request, case_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        if not is_uuid(case_id):
            return web.not_found(request, session)
        case = await web.api.get(session.token, f"/v1/cases/{case_id}")
        if not case.ok:
            return web.refusal(request, session, case)
        history = None
        if session.who.role in ("business_manager", "chair", "auditor", "admin"):
            answer = await web.api.get(session.token, f"/v1/cases/{case_id}/decisions")
            history = answer.body["entries"] if answer.ok else None
        themes = case.body.get("learning_themes")
        labels = dict(await board_themes(web, session, case.body["lscb"])) if themes else {}
        return web.render(
            request, "case.html", session, title="Case", case=case.body, history=history,
            decisions=DECISIONS, review_types=REVIEW_TYPES, notice=DONE.get(request.query_params.get("done", "")),
            forms=applicable_forms(case.body, session.who.role), discretionary=discretionary_inputs(case.body),
            discretionary_kinds=DISCRETIONARY_KINDS,
            theme_labels=[labels.get(code, code) for code in (themes or {}).get("themes", [])],
        )

    @router.get(ROOT + "/cases/{case_id}/history")
    async def case_history(request: Request, case_id: str) -> Response:
        """The auditor's timeline: every recorded step, with who, when, the rule pack, and each text as
        recorded (verified against its hash) or erased."""
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        if not is_uuid(case_id):
            return web.not_found(request, session)
        answer = await web.api.get(session.token, f"/v1/cases/{case_id}/decisions")
        if not answer.ok:
            return web.refusal(request, session, answer)
        return web.render(
            request, "history.html", session, title="Case history", case_id=case_id, entries=answer.body["entries"],
            decisions=DECISIONS, back=f"{ROOT}/cases/{case_id}",
        )

    @router.get(ROOT + "/boards/{lscb}/notifications")
    async def notification_form(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        return web.render(
            request, "notification.html", session, title="Record a notification", lscb=lscb,
            back=f"{ROOT}/boards/{lscb}/due", **NOTIFICATION_CHOICES,
        )

    @router.post(ROOT + "/boards/{lscb}/notifications")
    async def record_notification(request: Request, lscb: str) -> Response:
        """The board's own notification: intake's `POST /v1/incidents` (a business manager may submit for
        their board). Its source reference makes it idempotent; the case page follows once the case has
        its recommendation."""
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        body, errors = _notification(form, lscb)
        if not errors:
            answer = await web.api.post(
                session.token, "/v1/incidents", body, idempotency_key=form.get("idempotency_key")
            )
            if answer.ok:
                case_id = str(answer.body["case_id"])

                async def recommended() -> bool:
                    case = await web.api.get(session.token, f"/v1/cases/{case_id}")
                    return case.ok and case.body.get("recommendation") is not None

                await wait_for(recommended)
                return RedirectResponse(f"{ROOT}/cases/{case_id}?done=notified", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            errors = answer.field_errors()
        return web.render(
            request, "notification.html", session, status=422, title="Record a notification", lscb=lscb,
            errors=errors, values=form, back=f"{ROOT}/boards/{lscb}/due", **NOTIFICATION_CHOICES,
        )

    @router.get(ROOT + "/boards/{lscb}/reviewers")
    async def reviewers_page(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        return await _reviewers_page(web, request, session, lscb, Form(), {})

    @router.post(ROOT + "/boards/{lscb}/reviewers")
    async def register_reviewer(request: Request, lscb: str) -> Response:
        """The registry's `POST /v1/reviewers` (a business manager adds to the region's pool), idempotent
        by the form's key; the list follows at once (the registry is a table, not a projection)."""
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        body, errors = _reviewer(form)
        if not errors:
            answer = await web.api.post(
                session.token, "/v1/reviewers", body, idempotency_key=form.get("idempotency_key")
            )
            if answer.ok:
                return RedirectResponse(f"{ROOT}/boards/{lscb}/reviewers?done=registered", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            errors = {_field_of(f): m for f, m in answer.field_errors().items()}
        return await _reviewers_page(web, request, session, lscb, form, errors, 422)

    command_pages(router, web)
    return router


async def _reviewers_page(
    web: Web, request: Request, session: Session, lscb: str, form: Form, errors: dict[str, str],
    status: int = 200,
) -> Response:
    answer = await web.api.get(session.token, "/v1/reviewers", {"limit": 1000})
    if not answer.ok:
        return web.refusal(request, session, answer)
    return web.render(
        request, "reviewers.html", session, status=status, title="Lead reviewers", lscb=lscb,
        reviewers=answer.body["reviewers"], agencies=NOTIFICATION_CHOICES["agencies"], errors=errors, values=form,
        notice=DONE.get(request.query_params.get("done", "")),
    )


def _reviewer(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """A registry entry: the employer, and each affiliation as `board code, organisation` (a line without
    a comma is an organisation outside the region's boards)."""
    affiliations = []
    for line in form.get("affiliations").splitlines():
        if not line.strip():
            continue
        board, comma, organisation = line.partition(",")
        if comma and re.fullmatch(r"\s*[A-Z]{2,5}\s*", board):
            affiliations.append({"lscb": board.strip(), "organisation": organisation.strip()})
        else:
            affiliations.append({"organisation": line.strip()})
    employer = _dropped({
        "organisation": form.text("employer.organisation"),
        "lscb": form.text("employer.lscb"),
        "agency": form.text("employer.agency"),
    })
    return _dropped({"name": form.text("name"), "employer": employer, "affiliations": affiliations}), {}


def _field_of(path: str) -> str:
    """The form field an API error is about: an affiliation's (`affiliations.0.lscb`) is the affiliations'."""
    return "affiliations" if path.startswith("affiliations") else path


def command_pages(router: APIRouter, web: Web) -> None:
    """The forms of the board's commands: each GET renders the form, each POST sends the API's command."""

    async def case_or_refusal(request: Request, session: Session, case_id: str) -> dict[str, Any] | Response:
        if not is_uuid(case_id):
            return web.not_found(request, session)
        answer = await web.api.get(session.token, f"/v1/cases/{case_id}")
        return answer.body if answer.ok else web.refusal(request, session, answer)

    def form_page(name: str, title: str, extra: Any = None) -> Any:
        async def show(request: Request, case_id: str) -> Response:
            session = await web.session(request)
            if session is None:
                return sign_in_redirect(request)
            case = await case_or_refusal(request, session, case_id)
            if isinstance(case, Response):
                return case
            more = await extra(session, case) if extra else {}
            return web.render(
                request, name, session, title=title, case=case, decisions=DECISIONS, review_types=REVIEW_TYPES,
                back=f"{ROOT}/cases/{case_id}", **more,
            )

        return show

    async def reviewers(session: Session, case: dict[str, Any]) -> dict[str, Any]:
        answer = await web.api.get(session.token, "/v1/reviewers", {"limit": 1000})
        found = answer.body.get("reviewers", []) if answer.ok else []
        options = [(r["reviewer_id"], f"{r['name']} ({_employer(r)})") for r in found]
        return {"reviewers": found, "reviewer_options": options}

    async def themes(session: Session, case: dict[str, Any]) -> dict[str, Any]:
        tagged = (case.get("learning_themes") or {}).get("themes", [])
        return {"themes": await board_themes(web, session, case["lscb"]), "tagged": Form(("themes", t) for t in tagged)}

    async def discretionary(session: Session, case: dict[str, Any]) -> dict[str, Any]:
        return {"kinds": list(DISCRETIONARY_KINDS.items())}

    def submit(name: str, title: str, path: str, body_of: Any, done: str, extra: Any = None) -> Any:
        async def post(request: Request, case_id: str) -> Response:
            submitted = await web.submitted(request)
            if isinstance(submitted, Response):
                return submitted
            session, form = submitted
            case = await case_or_refusal(request, session, case_id)
            if isinstance(case, Response):
                return case
            body, errors = body_of(form)
            answer = None
            if not errors:
                answer = await web.api.post(
                    session.token, path.format(case_id=case_id), body, idempotency_key=form.get("idempotency_key")
                )
                if answer.ok:
                    await _settled(web, session, case_id, answer)
                    return RedirectResponse(f"{ROOT}/cases/{case_id}?done={done}", status_code=303)
                if answer.status != 422:
                    return web.refusal(request, session, answer)
                errors = answer.field_errors()
            more = await extra(session, case) if extra else {}
            return web.render(
                request, name, session, status=422, title=title, case=case, errors=errors, values=form,
                decisions=DECISIONS, review_types=REVIEW_TYPES, back=f"{ROOT}/cases/{case_id}", **more,
            )

        return post

    case = "/v1/cases/{case_id}"
    pages = [
        ("refer", "refer.html", "Refer to the SCR panel", f"{case}/scr-panel-referral", _referral, "referred", None),
        ("decide", "decide.html", "Record the Chair's decision", f"{case}/decisions", _decision, "decided", None),
        (
            "lead-reviewer", "appoint.html", "Appoint a lead reviewer", f"{case}/lead-reviewers", _appointment,
            "appointed", reviewers,
        ),
        (
            "discretionary-input", "discretionary.html", "Record peer challenge or a National Panel consultation",
            f"{case}/discretionary-inputs", _discretionary, "consulted", discretionary,
        ),
        ("learning-themes", "themes.html", "Tag learning themes", f"{case}/learning-themes", _themes, "themes", themes),
        (
            "panel-notification", "panel_notification.html", "Record the Panel notification",
            f"{case}/panel-notification", _panel_notification, "panel_notified", None,
        ),
        (
            "rapid-review", "rapid_review.html", "Record the rapid review", f"{case}/rapid-review", _rapid_review,
            "rapid_review", None,
        ),
    ]
    for slug, template, title, path, body_of, done, extra in pages:
        router.add_api_route(f"{ROOT}/cases/{{case_id}}/{slug}", form_page(template, title, extra), methods=["GET"])
        router.add_api_route(
            f"{ROOT}/cases/{{case_id}}/{slug}", submit(template, title, path, body_of, done, extra), methods=["POST"]
        )

    @router.post(ROOT + "/cases/{case_id}/notices")
    async def prepare_notice(request: Request, case_id: str) -> Response:
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        if not is_uuid(case_id):
            return web.not_found(request, session)
        answer = await web.api.post(
            session.token, f"/v1/cases/{case_id}/panel-notices", idempotency_key=form.get("idempotency_key")
        )
        if not answer.ok:
            return web.refusal(request, session, answer)
        await _settled(web, session, case_id, answer)
        notice_id = answer.body["events"][0]["payload"]["notice_id"]
        return RedirectResponse(f"{ROOT}/cases/{case_id}/notices/{notice_id}", status_code=303)

    @router.get(ROOT + "/cases/{case_id}/notices/{notice_id}")
    async def preview_notice(request: Request, case_id: str, notice_id: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        return await _notice_page(web, request, session, case_id, notice_id, Form(), {})

    @router.post(ROOT + "/cases/{case_id}/notices/{notice_id}/sent")
    async def notice_sent(request: Request, case_id: str, notice_id: str) -> Response:
        submitted = await web.submitted(request)
        if isinstance(submitted, Response):
            return submitted
        session, form = submitted
        if not (is_uuid(case_id) and is_uuid(notice_id)):
            return web.not_found(request, session)
        body = _dropped({"sent_on": form.text("sent_on")})
        answer = await web.api.post(
            session.token, f"/v1/cases/{case_id}/panel-notices/{notice_id}/sent", body,
            idempotency_key=form.get("idempotency_key"),
        )
        if answer.ok:
            await _settled(web, session, case_id, answer)
            return RedirectResponse(f"{ROOT}/cases/{case_id}?done=sent", status_code=303)
        if answer.status != 422:
            return web.refusal(request, session, answer)
        return await _notice_page(web, request, session, case_id, notice_id, form, answer.field_errors(), 422)


async def _notice_page(
    web: Web, request: Request, session: Session, case_id: str, notice_id: str, form: Form,
    errors: dict[str, str], status: int = 200,
) -> Response:
    if not (is_uuid(case_id) and is_uuid(notice_id)):
        return web.not_found(request, session)
    answer = await web.api.get(
        session.token, f"/v1/cases/{case_id}/panel-notices/{notice_id}", {"format": "markdown"}
    )
    if answer.status != 200:
        return web.refusal(request, session, answer)
    case = await web.api.get(session.token, f"/v1/cases/{case_id}")
    notices = case.body.get("panel_notices", []) if case.ok else []
    this: dict[str, Any] = next((n for n in notices if n.get("notice_id") == notice_id), {})
    return web.render(
        request, "notice.html", session, status=status, title="National Panel notice", case_id=case_id,
        notice_id=notice_id, text=answer.text or str(answer.body), notice=this, errors=errors, values=form,
        back=f"{ROOT}/cases/{case_id}",
    )


async def _settled(web: Web, session: Session, case_id: str, answer: Answer) -> None:
    """The case view holds the events the command recorded (see `Web.settled`)."""
    events = answer.body.get("events", []) if isinstance(answer.body, dict) else []
    await web.settled(session, case_id, [str(e.get("event_id")) for e in events])


def _notification(form: Form, lscb: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The incident notification as the integration contract has it; fields left blank are left out, so
    the API says which are required."""
    age = form.get("child.age_years").strip()
    if age and not age.isdigit():
        return {}, {"child.age_years": "Enter the child's age as a whole number of years"}
    flags = set(form.getlist("facts.flags"))
    facts: dict[str, Any] = {
        "abuse_or_neglect": form.text("facts.abuse_or_neglect"),
        "outcome": form.text("facts.outcome"),
        "working_together_concern": form.text("facts.working_together_concern"),
        "place_of_death": form.text("facts.place_of_death"),
    }
    facts = _dropped(facts) | {key: key in flags for key, _ in NOTIFICATION_CHOICES["flags"]}
    child = _dropped({
        "subject_ref": form.text("child.subject_ref"),
        "age_years": int(age) if age else None,
        "normally_resident_lscb": form.text("child.normally_resident_lscb") or lscb,
    })
    body = _dropped({
        "lscb": lscb,
        "source": _dropped({"system": "lif-web", "reference": form.text("source.reference")}),
        "notifying_agency": form.text("notifying_agency"),
        "child": child,
        "incident_date": form.text("incident_date"),
        "notified_date": form.text("notified_date"),
        "summary": form.text("summary"),
        "facts": facts,
    })
    return body, {}


def _referral(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    return _dropped({"referred_on": form.text("referred_on"), "reason": form.text("reason")}), {}


def _decision(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    decision = form.get("decision")
    if not decision:
        return {}, {"decision": "Select the decision"}
    body: dict[str, Any] = {
        "decision": decision,
        "decided_on": form.text("decided_on"),
        "rationale": form.text("rationale"),
    }
    if decision == "initiate_scr":
        body["methodology"] = form.text("methodology")
        body["criteria_held"] = form.getlist("criteria_held") or None
    if decision == "propose_forum":
        body["forum_theme"] = form.text("forum_theme")
    return _dropped(body), {}


def _discretionary(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    """Peer challenge or a National Panel consultation (rule B); the kind and its advice are the person's to
    say, so leaving either blank is asked again here."""
    errors = {}
    if form.get("kind") not in DISCRETIONARY_KINDS:
        errors["kind"] = "Select peer challenge or a consultation with the National Panel"
    if form.get("supports_scr") not in ("yes", "no"):
        errors["supports_scr"] = "Select whether it advised a Serious Case Review"
    if errors:
        return {}, errors
    body = {
        "kind": form.get("kind"),
        "held_on": form.text("held_on"),
        "supports_scr": form.get("supports_scr") == "yes",
        "note": form.text("note"),
    }
    return _dropped(body), {}


def _themes(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    chosen = form.getlist("themes")
    if not chosen:
        return {}, {"themes": "Select at least one theme"}
    return {"themes": chosen}, {}


def _panel_notification(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    return _dropped({"notified_on": form.text("notified_on")}), {}


def _rapid_review(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    return _dropped({"held_on": form.text("held_on")}), {}


def applicable_forms(case: dict[str, Any], role: str) -> set[str]:
    """The command forms a case page offers this role: those the API allows the role (rules.md section 3)
    and the case's state makes apply. Referral: not yet referred nor decided; peer challenge and National
    Panel consultation: the statutory SCR test fails (rule B); the 2018 regime's two: the case has that
    deadline (a serious child safeguarding case under `cspr-2018`) and it is not met yet."""
    forms: set[str] = set()
    board = role in ("business_manager", "chair")
    if role == "business_manager":
        forms.add("learning-themes")
        if not case.get("referred_on") and not case.get("decision"):
            forms.add("refer")
    if board and case.get("statutory_scr") is False:
        forms.add("discretionary-input")
    open_deadlines = {d["name"] for d in case.get("deadlines", []) if d.get("ref") is None and not d.get("met")}
    if board:
        forms.update(slug for slug, deadline in REGIME_2018_FORMS.items() if deadline in open_deadlines)
    return forms


def discretionary_inputs(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The peer challenges and National Panel consultations recorded on the case, from its events (for the
    roles shown them), oldest first."""
    kind = "decisioning.discretionary_input_recorded"
    return [e["payload"] for e in case.get("events", []) if e.get("event_type") == kind]


def _appointment(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    if not form.get("reviewer_id"):
        return {}, {"reviewer_id": "Select the lead reviewer"}
    return _dropped({"reviewer_id": form.get("reviewer_id"), "appointed_on": form.text("appointed_on")}), {}


def _employer(reviewer: dict[str, Any]) -> str:
    return str((reviewer.get("employer") or {}).get("organisation", ""))


def _dropped(body: dict[str, Any]) -> dict[str, Any]:
    """The body without empty fields: the API's defaults apply to what the person left blank."""
    return {k: v for k, v in body.items() if v is not None}



def _route_missing(answer: Answer) -> bool:
    """The API has no such route (FastAPI's own 404), as opposed to LIF's "not found" for a board."""
    return answer.status == 404 and isinstance(answer.body, dict) and answer.body.get("detail") == "Not Found"


def _filtered(
    cases: list[dict[str, Any]], review_type: str, decision: str, breached: str, search: str
) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        if review_type and case.get("review_type") != review_type:
            continue
        if decision == "none" and case.get("decision") is not None:
            continue
        if decision and decision != "none" and (case.get("decision") or {}).get("decision") != decision:
            continue
        if breached and not case.get("breaches"):
            continue
        if search and not str(case.get("case_id", "")).startswith(search.lower()):
            continue
        out.append(case)
    return out


def _due_obligations(obligations: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """The notifications service's obligations still to answer (open or breached), soonest first, in the rows
    the deadline table shows: its answer names each by `kind` (and `ref`) and gives `state`, not flags. A
    learning recommendation's action or re-audit names no case (`case_id` None) but its recommendation."""
    week_ahead = (today + timedelta(days=7)).isoformat()
    rows = [
        {
            "case_id": item.get("case_id"),
            "recommendation_id": item.get("recommendation_id"),
            "name": _obligation_name(item),
            "due": item["due"],
            "breached": item["state"] == "breached",
            "met_on": item.get("met_on"),
            "status": item["state"],
            "due_soon": item["state"] == "open" and item["due"] <= week_ahead,
        }
        for item in obligations
        if item.get("state") in ("open", "breached")
    ]
    return sorted(rows, key=lambda d: d["due"])


def _obligation_name(item: dict[str, Any]) -> str:
    if not item.get("ref"):
        return str(item["kind"])
    if item.get("recommendation_id"):  # the ref is the action's or re-audit's id: the row names the recommendation
        return str(item["kind"])
    return f"{item['kind']} ({item['ref']})"


def _open_deadlines(cases: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Every deadline of the register not met yet, soonest first (overdue before this week's)."""
    due = [
        {**deadline, "case_id": case["case_id"], "review_type": case.get("review_type")}
        for case in cases
        for deadline in case.get("deadlines", [])
        if not deadline.get("met") and deadline.get("due")
    ]
    return sorted(due, key=lambda d: d["due"])
