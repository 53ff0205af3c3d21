"""The region's pages: the review pipeline and timeliness by board, and the learning register with search.
Aggregates only: the API gives a regional token no case details, and these pages ask for none."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.core import ROOT, Form, Web, sign_in_redirect

LEARNING_REGISTER = "/v1/region/learning"
"""The learning service's regional register with search (`?q=`), when that service is deployed."""


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
        answer = await web.api.get(session.token, LEARNING_REGISTER, {"q": query} if query else None)
        missing = answer.status == 404 and isinstance(answer.body, dict) and answer.body.get("detail") == "Not Found"
        if not answer.ok and not missing:
            return web.refusal(request, session, answer)
        results = answer.body.get("results", answer.body.get("summaries", [])) if answer.ok else None
        return web.render(
            request, "learning.html", session, title="Learning register", results=results, query=query,
            values=Form(request.query_params.multi_items()),
        )

    return router
