"""`/docs` (Swagger UI) and `/redoc` with their scripts and styles served by LIF itself, not a public CDN.

The assets come from the installed `fastapi-offline` package, so the docs work on a closed network. Neither
the pages nor `/openapi.json` need a token: they describe the API, hold no data, and a browser cannot send a
bearer token when it opens a page.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from lif.http_security import html_response

ASSETS = "/docs-assets"
"""Where the docs' scripts, styles and icon are served from."""


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def add_docs(app: FastAPI) -> None:
    """Serve `/docs`, `/redoc` and their assets; the app must be built with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    ).body
    swagger_html = bytes(swagger).decode()
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    ).body
    redoc_html = bytes(redoc).decode()

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return html_response(swagger_html, served_assets=True)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return html_response(redoc_html, served_assets=True)
