"""The HTTP API as OpenAPI, without connecting to anything."""

from __future__ import annotations

from typing import Any, cast

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
