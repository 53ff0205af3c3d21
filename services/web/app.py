"""The web service's routes, put together: mounted under /app in the embedded app, and served alone by
`lif serve web` in the distributed runtime (where its API client calls the reverse proxy)."""

from __future__ import annotations

from fastapi import APIRouter

from services.web import access_pages, case_pages, learning_pages, region_pages, review_pages
from services.web.api_client import ApiClient
from services.web.core import Web
from services.web.sessions import SessionStore


def build_router(api: ApiClient, sessions: SessionStore) -> APIRouter:
    web = Web(api, sessions)
    router = APIRouter(include_in_schema=False)
    for part in (access_pages, case_pages, review_pages, region_pages, learning_pages):
        router.include_router(part.build_router(web))
    return router
