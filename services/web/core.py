"""What every page shares: the session behind the cookie, CSRF on every form, rendering with the GOV.UK
templates and a strict Content-Security-Policy, and the pages for refusals.

Pages never decide who may see what: they call the API with the person's token and show its answer
(404 as the one "not found" page, 403 as "you cannot do this"). The role only chooses which links to offer.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.web.api_client import BROWSER_ADDRESS, Answer, ApiClient, new_idempotency_key, wait_for
from services.web.sessions import Session, SessionStore

ROOT = "/app"
STATIC = f"{ROOT}/static"
COOKIE = "lif_session"
SIGN_IN_COOKIE = "lif_sign_in"
"""Holds the sign-in form's CSRF token before there is a session (double submit)."""
TEMPLATES = Path(__file__).parent / "templates"
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_FORM_BYTES = 1024 * 1024


class Form:
    """A submitted `application/x-www-form-urlencoded` form (fields may repeat: checkboxes)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, list[str]] = {}
        for key, value in pairs:
            self._items.setdefault(key, []).append(value)

    def get(self, name: str, default: str = "") -> str:
        values = self._items.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._items.get(name, []))

    def text(self, name: str) -> str | None:
        """The field stripped, or None when empty (the API's defaults then apply)."""
        value = self.get(name).strip()
        return value or None


def field_id(name: str) -> str:
    """The HTML id of a field (an API field path such as `type_of_review.methodology` included)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    current: bool = False


def navigation(session: Session | None, path: str) -> list[NavItem]:
    """The links a role is offered (the API still decides every request)."""
    if session is None:
        return []
    who = session.who
    items: list[tuple[str, str]] = []
    if who.role in ("business_manager", "chair"):
        items = [
            ("What is due", f"{ROOT}/boards/{who.scope}/due"),
            ("Cases", f"{ROOT}/boards/{who.scope}/cases"),
            ("Reviews", f"{ROOT}/boards/{who.scope}/reviews"),
            ("Learning", f"{ROOT}/boards/{who.scope}/learning"),
            ("Lead reviewers", f"{ROOT}/boards/{who.scope}/reviewers"),
        ]
    elif who.role == "auditor" and who.scope != "region":
        items = [("Cases", f"{ROOT}/boards/{who.scope}/cases"), ("Reviews", f"{ROOT}/boards/{who.scope}/reviews")]
    elif who.role == "reviewer":
        items = [("My reviews", f"{ROOT}/boards/{who.scope}/reviews")]
    elif who.role in ("regional_analyst", "admin", "auditor"):
        items = [("Region", f"{ROOT}/region"), ("Learning register", f"{ROOT}/region/learning")]
    current = max((href for _, href in items if path.startswith(href)), key=len, default=None)
    return [NavItem(label, href, href == current) for label, href in items]


class Web:
    """The web service's shared parts: the API client, the sessions and the templates."""

    def __init__(self, api: ApiClient, sessions: SessionStore) -> None:
        self.api = api
        self.sessions = sessions
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True
        )
        self.templates.filters["field_id"] = field_id
        self.templates.filters["words"] = lambda value: str(value).replace("_", " ") if value is not None else "—"

    async def session(self, request: Request) -> Session | None:
        attribute(request)
        secret = request.cookies.get(COOKIE)
        if not secret:
            return None
        return await self.sessions.load(secret)

    def render(
        self, request: Request, template: str, session: Session | None, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        context.setdefault("errors", {})
        context.setdefault("values", Form())
        html = self.templates.get_template(template).render(
            root=ROOT,
            static=STATIC,
            who=session.who if session else None,
            csrf_token=session.csrf_token if session else context.pop("sign_in_csrf", ""),
            nav=navigation(session, request.url.path),
            new_key=new_idempotency_key,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})

    def refusal(self, request: Request, session: Session | None, answer: Answer) -> Response:
        """The page for an API refusal that is not about the form's fields."""
        if answer.status == 401:
            response = RedirectResponse(f"{ROOT}/sign-in", status_code=303)
            response.delete_cookie(COOKIE, path=ROOT)
            return response
        if answer.status == 404:
            return self.not_found(request, session)
        if answer.status == 403:
            return self.render(request, "forbidden.html", session, status=403, title="You cannot do this")
        return self.render(
            request, "problem.html", session, status=answer.status if answer.status >= 400 else 502,
            title="The service could not do this", message=answer.message(),
        )

    def not_found(self, request: Request, session: Session | None) -> HTMLResponse:
        """One page for every "not found": a case outside your scope and an id that never existed alike."""
        return self.render(request, "not_found.html", session, status=404, title="Page not found")

    async def form(self, request: Request, session: Session) -> Form | Response:
        """The submitted form when its CSRF token is this session's, else the 403 page (nothing is done)."""
        form = await read_form(request)
        if isinstance(form, Response):
            return form
        if not hmac.compare_digest(form.get("csrf_token"), session.csrf_token):
            return self.csrf_refused(request, session)
        return form

    async def submitted(self, request: Request) -> tuple[Session, Form] | Response:
        """The signed-in person's session and their form, or the page to answer instead: the sign-in page
        without a session, the 403 page when the form's CSRF token is not this session's."""
        session = await self.session(request)
        if session is None:
            return sign_in_redirect(request)
        form = await self.form(request, session)
        if isinstance(form, Response):
            return form
        return session, form

    def csrf_refused(self, request: Request, session: Session | None) -> HTMLResponse:
        return self.render(request, "csrf.html", session, status=403, title="This form has expired")

    async def settled(self, session: Session, case_id: str, event_ids: Iterable[str]) -> None:
        """Wait until the case view holds the events a command recorded (read-your-writes), so the pages
        the person goes to next (the case, the register, what is due) show them. For a role that is not
        shown the case's events, or not the case at all, there is nothing to wait for."""
        wanted = set(event_ids)

        async def visible() -> bool:
            case = await self.api.get(session.token, f"/v1/cases/{case_id}")
            if case.status in (403, 404) or (case.ok and "events" not in case.body):
                return True
            return case.ok and wanted <= {e.get("event_id") for e in case.body["events"]}

        await wait_for(visible)


def attribute(request: Request) -> None:
    """The API calls made for this request come from its browser (lif.http_security's per-address limits)."""
    BROWSER_ADDRESS.set(request.client.host if request.client else "unknown")


async def read_form(request: Request) -> Form | Response:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return Response("request body too large", status_code=413)
    return Form(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def sign_in_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{ROOT}/sign-in", status_code=303)


def set_session_cookie(request: Request, response: Response, secret: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, Secure behind TLS, and sent only to the web service's paths."""
    response.set_cookie(
        COOKIE,
        secret,
        max_age=max_age,
        path=ROOT,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def is_uuid(text: str) -> bool:
    """Ids in page paths are UUIDs; anything else is the one "not found" page without asking the API."""
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def new_csrf() -> str:
    return secrets.token_urlsafe(24)
