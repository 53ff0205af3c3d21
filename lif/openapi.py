"""The HTTP API as OpenAPI, without connecting to anything."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI

from lif.composition import build_http_app


def openapi_document() -> dict[str, Any]:
    unused = cast(Any, None)  # the document needs the routes, not the parts behind them
    app = build_http_app(
        intake=unused,
        actions=unused,
        orchestration=unused,
        review_texts=unused,
        read_pool=unused,
        authenticator=unused,
    )
    return app.openapi()


def serve_union_document(app: FastAPI) -> None:
    """Make one service's app serve the whole API's document at /openapi.json (and so at /docs).

    Behind the reverse proxy each service serves its own routes, but `/openapi.json` must still describe
    them all, as the embedded runtime's does; the proxy sends it to `lif.http_routes.DOCS_SERVICE`,
    whose app calls this. The document is built on first use, from the same routers.
    """
    cached: dict[str, Any] = {}

    def union() -> dict[str, Any]:
        if not cached:
            cached.update(openapi_document())
        return cached

    app.openapi = union  # type: ignore[method-assign]
