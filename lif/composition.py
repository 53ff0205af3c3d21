"""The composition root: build each service's parts from settings, the same way in both runtimes."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from eventsourcing.application import Application
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lif.auth import Authenticator, TokenStore
from lif.clock import Today, today_london
from lif.db import create_pool, ensure_schema, eventsourcing_env
from lif.validation import field_errors
from projections import schema as projection_schema
from projections.api import build_router as build_projection_router
from projections.projector import CaseProjector
from services.decisioning.application import DecisioningApplication
from services.intake.api import build_router as build_intake_router
from services.intake.application import IntakeApplication
from services.intake.personal_store import PersonalDetailsStore

log = logging.getLogger(__name__)

INTAKE_SCHEMA = "lif_intake"
DECISIONING_SCHEMA = "lif_decisioning"


def make_intake(database_url: str, pseudonym_key: bytes) -> IntakeApplication:
    personal = PersonalDetailsStore(database_url)
    personal.setup()
    ensure_schema(database_url, INTAKE_SCHEMA)
    return IntakeApplication(
        eventsourcing_env(database_url, INTAKE_SCHEMA), pseudonym_key=pseudonym_key, personal=personal
    )


def make_decisioning(database_url: str) -> DecisioningApplication:
    ensure_schema(database_url, DECISIONING_SCHEMA)
    return DecisioningApplication(env=eventsourcing_env(database_url, DECISIONING_SCHEMA))


class _IntakeLog(Application):
    name = IntakeApplication.name


class _DecisioningLog(Application):
    name = DecisioningApplication.name


def open_logs(database_url: str) -> list[tuple[str, Application]]:
    """Read-only handles on each service's event log (for rebuilds: no keys or stores needed)."""
    logs: list[tuple[str, Application]] = []
    for schema, cls in ((INTAKE_SCHEMA, _IntakeLog), (DECISIONING_SCHEMA, _DecisioningLog)):
        ensure_schema(database_url, schema)
        logs.append((cls.name, cls(env=eventsourcing_env(database_url, schema))))
    return logs


async def make_projector(database_url: str) -> CaseProjector:
    pool = await create_pool(database_url, max_size=8)
    await projection_schema.setup(pool)
    return CaseProjector(pool)


async def make_authenticator(pool: asyncpg.Pool, bootstrap_token: str | None) -> Authenticator:
    store = TokenStore(pool)
    await store.setup()
    return Authenticator(store, bootstrap_token)


def build_http_app(
    *,
    intake: IntakeApplication,
    read_pool: asyncpg.Pool,
    authenticator: Authenticator,
    today: Today = today_london,
    title: str = "LIF",
) -> FastAPI:
    """The one HTTP surface: intake's commands and the projections' views, behind bearer tokens."""
    app = FastAPI(
        title=title,
        version="0.1.0",
        description="North West Learning and Improvement Framework: incident intake, threshold "
        "recommendations and case registers for Local Safeguarding Children Boards. Every path but "
        "/healthz needs `Authorization: Bearer <token>`.",
    )
    app.state.authenticator = authenticator

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with one message per bad field, never the submitted values."""
        return JSONResponse(status_code=422, content={"detail": field_errors(list(exc.errors()))})

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        """Liveness without authentication: answers when the database answers."""
        await read_pool.fetchval("SELECT 1")
        return {"status": "ok"}

    app.include_router(build_intake_router(intake))
    app.include_router(build_projection_router(read_pool, today))
    return app
