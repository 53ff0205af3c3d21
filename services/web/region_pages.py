"""The region's pages: the review pipeline and timeliness by board, and the learning register with search.
Aggregates only: the API gives a regional token no case details, and these pages ask for none."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from services.web.core import ROOT, Form, Web, sign_in_redirect

LEARNING_REGISTER = "/v1/learning/register"
"""The learning service's regional register (every board's sources; other boards' without case ids)."""
LEARNING_SEARCH = "/v1/learning/search"
"""Its ranked full-text search (`?q=`), whose snippets mark the matched words with `<mark>`."""


def marked_snippet(snippet: str | None) -> Markup | None:
    """The search snippet escaped, with only the search's own `<mark>` highlighting kept as markup."""
    if not snippet:
        return None
    escaped = str(escape(snippet)).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    return Markup(escaped)  # noqa: S704 - escaped above; only the search's own tags are restored


def learning_rows(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the register page shows of each source: board, kind, month, themes and the snippet."""
    return [
        {
            "title": source.get("title") or "Learning",
            "board": source.get("board") or source.get("lscb"),
            "kind": (source.get("source_kind") or "").replace("_", " "),
            "review_type": (source.get("review_type") or "").upper() or None,
            "incident_month": source.get("incident_month"),
            "themes": ", ".join(
                theme.get("code", "") for theme in source.get("themes") or [] if isinstance(theme, dict)
            ),
            "snippet": marked_snippet(source.get("snippet")),
        }
        for source in sources
    ]


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT + "/region")
    async def region(request: Request) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        summary = await web.api.get(session.token, "/v1/region/summary")
        if not summary.ok:
            return web.refusal(request, session, summary)
        reviews = await web.api.get(session.token, "/v1/region/reviews")
        if not reviews.ok:
            return web.refusal(request, session, reviews)
        boards = sorted(set(summary.body.get("boards", {})) | set(reviews.body.get("boards", {})))
        return web.render(
            request, "region.html", session, title="The region", summary=summary.body, reviews=reviews.body,
            boards=boards,
        )

    @router.get(ROOT + "/region/learning")
    async def learning(request: Request) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        query = request.query_params.get("q", "").strip()
        if query:
            answer = await web.api.get(session.token, LEARNING_SEARCH, {"q": query, "limit": "50"})
        else:
            answer = await web.api.get(session.token, LEARNING_REGISTER, {"limit": "50"})
        missing = answer.status == 404 and isinstance(answer.body, dict) and answer.body.get("detail") == "Not Found"
        if not answer.ok and not missing:
            return web.refusal(request, session, answer)
        results = learning_rows(answer.body.get("sources", [])) if answer.ok else None
        return web.render(
            request, "learning.html", session, title="Learning register", results=results, query=query,
            values=Form(request.query_params.multi_items()),
        )

    return router
