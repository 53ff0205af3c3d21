"""The board's learning pages: its recommendations with each action's status and the overdue ones flagged,
and the business manager's forms to record a practitioner forum and a multi-case audit (learning collation's
`POST /v1/learning/forums` and `/v1/learning/audits`).

A forum or an audit is recorded once per reference (the same reference again is a repeat, not a second
source), so submitting a form twice records one. After it the page waits until the register and the
recommendations hold it (read-your-writes), then shows the board's learning.
"""

from __future__ import annotations

import asyncio
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from events.incidents import NotifyingAgency
from lif.typology import DEFAULT_TYPOLOGY
from services.web.api_client import Answer, wait_for
from services.web.core import ROOT, Form, Web, sign_in_redirect
from services.web.sessions import Session

AGENCY_LABELS = {"cdop": "Child death overview panel (CDOP)"}
AGENCIES = [
    (agency, AGENCY_LABELS.get(agency, agency.replace("_", " ").capitalize())) for agency in get_args(NotifyingAgency)
]
DONE = {"forum": "The practitioner forum was recorded.", "audit": "The multi-case audit was recorded."}
SOURCES = {
    "forum": {
        "path": "/v1/learning/forums",
        "template": "learning_forum.html",
        "title": "Record a practitioner forum",
        "on": "held_on",
        "findings": "what_was_learnt",
    },
    "audit": {
        "path": "/v1/learning/audits",
        "template": "learning_audit.html",
        "title": "Record a multi-case audit",
        "on": "completed_on",
        "findings": "findings",
    },
}
RECOMMENDATION_FIELDS = ("key_single_agency_recommendations", "key_multi_agency_recommendations")
BLANK = {
    "reference": "Enter your board's reference",
    "title": "Enter a title",
    "themes": "Select at least one theme",
    "held_on": "Enter the date it was held, for example 2015-06-01",
    "agencies": "Select the agencies that were there",
    "what_was_learnt": "Enter what was learnt",
    "completed_on": "Enter the date it was completed, for example 2015-07-01",
    "cases_count": "Enter the number of cases audited",
    "findings": "Enter the findings",
}
"""What the page says of a required field left blank (the API's own message otherwise)."""
ORDER = {
    "forum": ("reference", "title", "themes", "held_on", "agencies", "what_was_learnt", *RECOMMENDATION_FIELDS),
    "audit": ("reference", "title", "themes", "completed_on", "cases_count", "findings", *RECOMMENDATION_FIELDS),
}
"""The fields in the order the form shows them, which the error summary follows."""


def lines(text: str) -> list[str]:
    """A textarea's non-empty lines: one recommendation each."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def source_body(kind: str, lscb: str, form: Form) -> dict[str, Any]:
    """The API's body for a forum or an audit from its form (blank fields left for the API to name)."""
    spec = SOURCES[kind]
    body: dict[str, Any] = {
        "lscb": lscb,
        "reference": form.get("reference").strip(),
        "title": form.get("title").strip(),
        spec["on"]: form.text(spec["on"]),
        "themes": [{"code": code} for code in form.getlist("themes")],
        spec["findings"]: form.get(spec["findings"]).strip(),
        **{field: lines(form.get(field)) for field in RECOMMENDATION_FIELDS},
    }
    if kind == "forum":
        body["agencies"] = form.getlist("agencies")
    else:
        count = form.get("cases_count").strip()
        body["cases_count"] = int(count) if count.isdigit() else count or None
    return body


def form_errors(kind: str, answer: Answer, form: Form) -> dict[str, str]:
    """The API's messages by form field (`themes.0.code` is the themes' checkboxes), in the form's order; a
    required field left blank says what to enter."""
    errors: dict[str, str] = {}
    for field, message in answer.field_errors().items():
        name = field.split(".")[0].split("[")[0]
        blank = not any(value.strip() for value in form.getlist(name))
        errors.setdefault(name, BLANK[name] if blank and name in BLANK else message)
    order = ORDER[kind]
    return dict(sorted(errors.items(), key=lambda item: order.index(item[0]) if item[0] in order else -1))


def action_rows(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(detail.get("actions", []), key=lambda a: (not a.get("overdue"), a.get("due", "")))


async def board_themes(web: Web, session: Session, lscb: str) -> list[tuple[str, str]]:
    """The board's typology's themes as (code, label), from the reference API."""
    boards = await web.api.get(session.token, "/v1/boards")
    board = next((b for b in boards.body.get("boards", []) if b["code"] == lscb), None) if boards.ok else None
    typology = (board or {}).get("typology") or DEFAULT_TYPOLOGY
    answer = await web.api.get(session.token, f"/v1/typologies/{typology}")
    return [(t["id"], t["label"]) for t in answer.body.get("themes", [])] if answer.ok else []


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT + "/boards/{lscb}/learning")
    async def board_learning(request: Request, lscb: str) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        listed = await web.api.get(session.token, "/v1/learning/recommendations", {"lscb": lscb})
        if listed.unrouted:
            return web.render(
                request, "learning_board.html", session, title="Learning", lscb=lscb, recommendations=None
            )
        if not listed.ok:
            return web.refusal(request, session, listed)
        found = listed.body.get("recommendations", [])
        details = await asyncio.gather(
            *(web.api.get(session.token, f"/v1/learning/recommendations/{r['recommendation_id']}") for r in found)
        )
        register = await web.api.get(session.token, "/v1/learning/register", {"lscb": lscb, "limit": "1000"})
        titles = {s["source_id"]: s.get("title") for s in register.body.get("sources", [])} if register.ok else {}
        labels = dict(await board_themes(web, session, lscb))
        recommendations = [
            {
                **r,
                "source_title": titles.get(r["source_id"]) or "Learning",
                "theme_labels": ", ".join(labels.get(t.get("code", ""), t.get("code", "")) for t in r["themes"]),
                "action_list": action_rows(d.body) if d.ok else [],
                "evidence": d.body.get("impact_evidence", []) if d.ok else [],
                **({"text": d.body.get("text"), "text_erased": d.body.get("text_erased", False)} if d.ok else {}),
            }
            for r, d in zip(found, details, strict=True)
        ]
        return web.render(
            request,
            "learning_board.html",
            session,
            title=f"Learning of {lscb}",
            lscb=lscb,
            recommendations=recommendations,
            as_of=listed.body.get("as_of"),
            notice=DONE.get(request.query_params.get("done", "")),
        )

    def form_page(kind: str) -> Any:
        async def show(request: Request, lscb: str) -> Response:
            session = await web.session(request)
            if session is None:
                return sign_in_redirect(request)
            spec = SOURCES[kind]
            return web.render(
                request,
                spec["template"],
                session,
                title=spec["title"],
                lscb=lscb,
                themes=await board_themes(web, session, lscb),
                agencies=AGENCIES,
                back=f"{ROOT}/boards/{lscb}/learning",
            )

        return show

    def submit(kind: str) -> Any:
        async def post(request: Request, lscb: str) -> Response:
            submitted = await web.submitted(request)
            if isinstance(submitted, Response):
                return submitted
            session, form = submitted
            spec = SOURCES[kind]
            body = source_body(kind, lscb, form)
            answer = await web.api.post(session.token, spec["path"], body)
            if answer.ok:
                await settled(session, lscb, answer, sum(len(body[f]) for f in RECOMMENDATION_FIELDS))
                return RedirectResponse(f"{ROOT}/boards/{lscb}/learning?done={kind}", status_code=303)
            if answer.status != 422:
                return web.refusal(request, session, answer)
            return web.render(
                request,
                spec["template"],
                session,
                status=422,
                title=spec["title"],
                lscb=lscb,
                themes=await board_themes(web, session, lscb),
                agencies=AGENCIES,
                errors=form_errors(kind, answer, form),
                values=form,
                back=f"{ROOT}/boards/{lscb}/learning",
            )

        return post

    async def settled(session: Session, lscb: str, answer: Answer, recommendations: int) -> None:
        """Wait until the register holds the source and the recommendations list its recommendations."""
        events = answer.body.get("events", []) if isinstance(answer.body, dict) else []
        source_id = next(
            (e["payload"]["source_id"] for e in events if e.get("event_type") == "learning.source_recorded"), None
        )
        if source_id is None:
            return

        async def visible() -> bool:
            source = await web.api.get(session.token, f"/v1/learning/sources/{source_id}")
            listed = await web.api.get(session.token, "/v1/learning/recommendations", {"lscb": lscb})
            found = listed.body.get("recommendations", []) if listed.ok else []
            return source.ok and sum(r["source_id"] == source_id for r in found) >= recommendations

        await wait_for(visible)

    for kind in SOURCES:
        path = f"{ROOT}/boards/{{lscb}}/learning/{kind}s"
        router.add_api_route(path, form_page(kind), methods=["GET"])
        router.add_api_route(path, submit(kind), methods=["POST"])
    return router
