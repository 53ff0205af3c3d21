"""The HTTP API as OpenAPI, without connecting to anything."""

from __future__ import annotations

from typing import Any, cast

from lif.composition import build_http_app


def openapi_document() -> dict[str, Any]:
    app = build_http_app(intake=cast(Any, None), read_pool=cast(Any, None), authenticator=cast(Any, None))
    return app.openapi()
