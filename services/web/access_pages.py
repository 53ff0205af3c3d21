"""Signing in (with a token, or a one-time link from `lif tokens create --web`), signing out, the home page
and the static assets (the GOV.UK Design System as npm installed it, and LIF's own few styles)."""

from __future__ import annotations

import hmac
import mimetypes
import os
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lif.settings import PROJECT_ROOT
from services.web.core import (
    COOKIE,
    ROOT,
    SIGN_IN_COOKIE,
    STATIC,
    Web,
    attribute,
    new_csrf,
    read_form,
    set_session_cookie,
    sign_in_redirect,
)
from services.web.sessions import Who

OWN_STATIC = Path(__file__).parent / "static"


# GOV.UK's font, crown and crest are licensed to services on GOV.UK domains only: of the Design System
# only the compiled stylesheet and scripts are served, never its fonts or brand images.
GOVUK_SERVED_SUFFIXES = (".css", ".js", ".map")


def govuk_assets_dir() -> Path:
    """Where `npm run build` (`make install`) put the Design System's styles, compiled without the GOV.UK font,
    and its images (`LIF_WEB_ASSETS_DIR` to override)."""
    configured = os.environ.get("LIF_WEB_ASSETS_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "build" / "web-assets" / "govuk"


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT)
    async def home(request: Request) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        return web.render(request, "home.html", session, title="Home")

    @router.get(f"{ROOT}/sign-in")
    async def sign_in_form(request: Request) -> Response:
        return _sign_in_page(web, request)

    @router.post(f"{ROOT}/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await read_form(request)
        if isinstance(form, Response):
            return form
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf_token"), expected):
            return web.csrf_refused(request, None)
        token = form.get("token").strip()
        if not token:
            return _sign_in_page(web, request, {"token": "Enter your access token"}, status=422)
        return await _start_session(web, request, token) or _sign_in_page(
            web, request, {"token": "The access token is not valid: check it, or ask for a new one"}, status=422
        )

    @router.get(f"{ROOT}/sign-in/link")
    async def sign_in_link_form(request: Request, code: str = "") -> Response:
        """A link only offers to sign in (a GET changes nothing, so a mail scanner cannot use it up)."""
        csrf = new_csrf()
        response = web.render(request, "sign_in_link.html", None, title="Sign in", code=code, sign_in_csrf=csrf)
        _set_sign_in_cookie(request, response, csrf)
        return response

    @router.post(f"{ROOT}/sign-in/link")
    async def sign_in_with_link(request: Request) -> Response:
        form = await read_form(request)
        if isinstance(form, Response):
            return form
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf_token"), expected):
            return web.csrf_refused(request, None)
        token = await web.sessions.redeem_link(form.get("code"))
        started = await _start_session(web, request, token) if token else None
        if started is None:
            return _sign_in_page(
                web, request, {"token": "That sign-in link has expired or was used already: sign in with your token"},
                status=422,
            )
        return started

    @router.post(f"{ROOT}/sign-out")
    async def sign_out(request: Request) -> Response:
        session = await web.session(request)
        if session is not None:
            form = await web.form(request, session)
            if isinstance(form, Response):
                return form
            await web.sessions.end(request.cookies[COOKIE])
        response = RedirectResponse(f"{ROOT}/signed-out", status_code=303)
        response.delete_cookie(COOKIE, path=ROOT)
        return response

    @router.get(f"{ROOT}/signed-out")
    async def signed_out(request: Request) -> Response:
        return web.render(request, "signed_out.html", None, title="You have signed out")

    @router.get(STATIC + "/govuk/{path:path}")
    async def govuk_asset(path: str) -> Response:
        if not path.lower().endswith(GOVUK_SERVED_SUFFIXES):
            return Response("not found", status_code=404, media_type="text/plain")
        return _asset(govuk_assets_dir(), path)

    @router.get(STATIC + "/web/{path:path}")
    async def own_asset(path: str) -> Response:
        return _asset(OWN_STATIC, path)

    return router


def _sign_in_page(web: Web, request: Request, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    csrf = new_csrf()
    response = web.render(
        request, "sign_in.html", None, status=status, title="Sign in", errors=errors or {}, sign_in_csrf=csrf
    )
    _set_sign_in_cookie(request, response, csrf)
    return response


def _set_sign_in_cookie(request: Request, response: Response, csrf: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE, csrf, max_age=3600, path=ROOT, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _start_session(web: Web, request: Request, token: str) -> Response | None:
    """A session for `token` when the API accepts it (`GET /v1/whoami`), redirecting home; the sign-in page
    again (429) when the API refuses this browser's address for too many failed attempts; None otherwise."""
    attribute(request)
    answer = await web.api.get(token, "/v1/whoami")
    if answer.status == 429:
        wait = answer.retry_after or "60"
        page = _sign_in_page(
            web, request, {"token": f"Too many failed sign-ins from this address: try again in {wait} seconds"},
            status=429,
        )
        page.headers["Retry-After"] = wait
        return page
    if answer.status != 200 or not isinstance(answer.body, dict):
        return None
    who = Who(str(answer.body["name"]), str(answer.body["role"]), str(answer.body["scope"]))
    secret = await web.sessions.start(token, who)
    response = RedirectResponse(ROOT, status_code=303)
    set_session_cookie(request, response, secret, int(web.sessions.expiry.absolute.total_seconds()))
    response.delete_cookie(SIGN_IN_COOKIE, path=ROOT)
    return response


def _asset(folder: Path, path: str) -> Response:
    """A file below `folder` (never above it), cacheable: the files change only with the package."""
    base = folder.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    content = _read(target)
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return Response(content, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


@lru_cache(maxsize=64)
def _read(target: Path) -> bytes:
    return target.read_bytes()
