"""The composition root: build each service's parts from settings, the same way in both runtimes.

Nothing here creates a table: the schemas come from the migrations (`lif migrate`), applied before any
part is built, so processes started together never race on DDL and never lock a live service's tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any, cast
from uuid import UUID

import asyncpg
from eventsourcing.application import Application
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from events import topics
from lif.api_docs import ASSETS, add_docs
from lif.auth import Authenticator, TokenStore
from lif.auth.service import ServiceCredentials
from lif.client_address import ClientAddress
from lif.clock import Today, today_london
from lif.db import create_pool, eventsourcing_env
from lif.delivery.parking import ParkedEvents, Parking, ParkingConsumer
from lif.delivery.tracking import TrackingConsumer
from lif.erasable import ErasableStore
from lif.health import readiness
from lif.http_errors import document_errors
from lif.http_security import RateLimiter, SecurityHeaders
from lif.reference_api import build_router as build_reference_router
from lif.request_body import RequestBodyGuard
from lif.settings import ConfigurationError
from lif.validation import field_errors
from projections.api import build_router as build_projection_router
from projections.audit import DocumentText
from projections.decisioning_documents import DecisioningDocuments
from projections.projector import CaseProjector
from projections.reports.api import build_router as build_reports_router
from projections.reports.inputs import HttpReportInputs, ReportInputs
from projections.schema import SCHEMA as PROJECTIONS_SCHEMA
from services.decisioning.api import build_router as build_decisions_router
from services.decisioning.application import DecisioningApplication
from services.decisioning.board_actions import BoardActions, IncidentSummary
from services.decisioning.document_reads import read_document
from services.decisioning.intake_summaries import IntakeSummaries
from services.decisioning.internal_api import build_internal_router as build_decisioning_internal_router
from services.decisioning.learning_register import LearningRegister
from services.decisioning.reviewers import ReviewerRegistry
from services.decisioning.reviewers_api import build_router as build_reviewers_router
from services.intake.api import build_router as build_intake_router
from services.intake.application import IntakeApplication
from services.intake.dead_letters import DeadLetterStore
from services.intake.internal_api import build_internal_router as build_intake_internal_router
from services.intake.summary_reads import read_summary
from services.learning.api import build_router as build_learning_router
from services.learning.application import LearningApplication, ReviewSummaries
from services.learning.internal_api import build_internal_router as build_learning_internal_router
from services.learning.register import LearningRegister as LearningCollationRegister
from services.learning.report_inputs import report_inputs
from services.notifications.api import build_router as build_obligations_router
from services.notifications.application import NotificationsApplication
from services.notifications.feeds import FeedStore
from services.notifications.index import ObligationIndex
from services.notifications.outbox_api import build_router as build_outbox_router
from services.notifications.ticker import Ticker
from services.orchestration.api import build_router as build_reviews_router
from services.orchestration.application import OrchestrationApplication
from services.orchestration.internal_api import build_internal_router as build_orchestration_internal_router
from services.orchestration.summary_reads import read_learning_summary
from services.web.api_client import ApiClient
from services.web.app import build_router as build_web_router
from services.web.sessions import SessionStore

log = logging.getLogger(__name__)

INTAKE_SCHEMA = "lif_intake"
DECISIONING_SCHEMA = "lif_decisioning"
INTAKE_PERSONAL_SCHEMA = "lif_intake_personal"
DECISIONING_PERSONAL_SCHEMA = "lif_decisioning_personal"
REGISTRY_SCHEMA = "lif_decisioning_registry"
ORCHESTRATION_SCHEMA = "lif_orchestration"
ORCHESTRATION_PERSONAL_SCHEMA = "lif_orchestration_personal"
NOTIFICATIONS_SCHEMA = "lif_notifications"
NOTIFICATIONS_TOPICS = (topics.DECISIONING, topics.ORCHESTRATION, topics.LEARNING)
"""The topics the notifications service follows: the deadlines are set, met and moved there, and learning
collation's action and re-audit dates (intake's events carry none: the recommendation computes T1 from the
notification)."""
LEARNING_SCHEMA = "lif_learning"
LEARNING_PERSONAL_SCHEMA = "lif_learning_personal"
PROJECTED_TOPICS = (topics.INTAKE, topics.DECISIONING, topics.ORCHESTRATION)
"""The topics the read model follows (live and in a rebuild from Kafka)."""
CONSUMER_SCHEMAS = {
    "decisioning": DECISIONING_SCHEMA,
    "orchestration": ORCHESTRATION_SCHEMA,
    "notifications": NOTIFICATIONS_SCHEMA,
    "notifications_outbox": "lif_notifications_outbox",
    "learning": LEARNING_SCHEMA,
    "learning_register": LEARNING_SCHEMA,
    "projections": PROJECTIONS_SCHEMA,
}
"""Every consumer of another service's events, and the schema that holds its positions and parked events."""


async def make_parking(pool: asyncpg.Pool, consumer: str, handler: ParkingConsumer) -> Parking:
    """A consumer's parking, with its parked events in its own schema."""
    return Parking(consumer, handler, ParkedEvents(pool, CONSUMER_SCHEMAS[consumer], consumer))


async def open_consumer(
    database_url: str, pool: asyncpg.Pool, consumer: str
) -> tuple[ParkingConsumer, Callable[[], None]]:
    """A consumer's handler outside its running process (for `lif parked retry`), and how to close it."""
    if consumer == "projections":
        return CaseProjector(pool), lambda: None
    if consumer == "learning_register":
        return LearningCollationRegister(pool), lambda: None
    app: DecisioningApplication | OrchestrationApplication | NotificationsApplication | LearningApplication
    if consumer == "decisioning":
        app = await asyncio.to_thread(make_decisioning, database_url)
    elif consumer == "orchestration":
        app = await asyncio.to_thread(make_orchestration, database_url)
    elif consumer == "notifications":
        app = await asyncio.to_thread(make_notifications, database_url)
    elif consumer == "notifications_outbox":
        from lif.notifications_outbox import make_directory, make_outbox  # it builds on this module

        directory = await asyncio.to_thread(make_directory, database_url)
        outbox = await asyncio.to_thread(make_outbox, database_url, directory)

        def close_outbox() -> None:
            outbox.close()
            directory.close()

        return TrackingConsumer(outbox), close_outbox
    elif consumer == "learning":
        app = await asyncio.to_thread(make_learning, database_url, None)
    else:
        raise ValueError(f"unknown consumer {consumer!r}; choose one of {', '.join(CONSUMER_SCHEMAS)}")
    return TrackingConsumer(app), app.close


def make_intake(database_url: str, pseudonym_key: bytes) -> IntakeApplication:
    personal = ErasableStore(database_url, INTAKE_PERSONAL_SCHEMA)
    return IntakeApplication(
        eventsourcing_env(database_url, INTAKE_SCHEMA), pseudonym_key=pseudonym_key, personal=personal
    )


def make_dead_letter_store(database_url: str) -> DeadLetterStore:
    """Intake's store of dead-lettered notifications as they came (erasable, in intake's personal schema)."""
    return DeadLetterStore(database_url, INTAKE_PERSONAL_SCHEMA)


def make_decisioning(database_url: str) -> DecisioningApplication:
    """Decisioning, with the register of learning already held that rule E2 reads; it learns the register
    from learning collation's events (`SourceRecorded`), over Kafka or from its log in-process."""
    return DecisioningApplication(
        env=eventsourcing_env(database_url, DECISIONING_SCHEMA),
        learning=LearningRegister(database_url, REGISTRY_SCHEMA),
    )


def make_board_actions(
    database_url: str, decisioning: DecisioningApplication, summaries: IncidentSummary, today: Today = today_london
) -> BoardActions:
    """The board's commands: decisioning's log, its erasable store and registries, and `summaries`, how it
    asks intake for the incident summary a National Panel notice quotes (T3): `IntakeSummaries` over HTTP
    in the distributed runtime, `summaries_in_process` in the embedded one. Either way intake logs the read.
    """
    documents = ErasableStore(database_url, DECISIONING_PERSONAL_SCHEMA)
    reviewers = ReviewerRegistry(database_url, REGISTRY_SCHEMA)
    learning = decisioning.learning or LearningRegister(database_url, REGISTRY_SCHEMA)
    return BoardActions(decisioning, documents, reviewers, learning, summaries, today)


def summaries_in_process(intake: IntakeApplication, reader: str = "decisioning") -> IncidentSummary:
    """Intake's summaries for a caller in the same process (the embedded runtime, seeding, tests), read
    through the same logged function as intake's internal route."""

    def summary(lscb: str, summary_ref: UUID, case_id: UUID) -> str | None:
        return read_summary(intake, reader, lscb, summary_ref, case_id)

    return summary


def make_intake_summaries(intake_url: str, service_token: str) -> IntakeSummaries:
    """Decisioning's client of intake's internal summary route, with decisioning's service credential."""
    return IntakeSummaries(intake_url, service_token)


def make_orchestration(database_url: str, today: Today = today_london) -> OrchestrationApplication:
    return OrchestrationApplication(env=eventsourcing_env(database_url, ORCHESTRATION_SCHEMA), today=today)


def make_notifications(database_url: str, today: Today = today_london) -> NotificationsApplication:
    return NotificationsApplication(env=eventsourcing_env(database_url, NOTIFICATIONS_SCHEMA), today=today)


def make_ticker(pool: asyncpg.Pool, notifications: NotificationsApplication, today: Today = today_london) -> Ticker:
    """The obligations table over `pool` and the timer tick, on the clock `today`."""
    return Ticker(notifications, ObligationIndex(pool, notifications), today)


def make_review_texts(database_url: str) -> ErasableStore:
    """Orchestration's erasable store: chronology texts, outcomes, reports and learning summaries."""
    return ErasableStore(database_url, ORCHESTRATION_PERSONAL_SCHEMA)


def close_board_actions(actions: BoardActions) -> None:
    """The board's stores (the learning register is decisioning's, closed with it)."""
    for part in (actions.documents, actions.reviewers):
        part.close()


def make_learning(database_url: str, summaries: ReviewSummaries | None) -> LearningApplication:
    """Learning collation, its texts in its own erasable store; `summaries` is how it asks orchestration
    for a closed review's Learning Summary (`OrchestrationSummaries` over HTTP in the distributed runtime,
    `learning_summaries_in_process` in the embedded one; either way orchestration logs the read)."""
    texts = ErasableStore(database_url, LEARNING_PERSONAL_SCHEMA)
    return LearningApplication(eventsourcing_env(database_url, LEARNING_SCHEMA), texts=texts, summaries=summaries)


def close_learning(learning: LearningApplication) -> None:
    learning.close()
    texts = learning.texts
    if isinstance(texts, ErasableStore):
        texts.close()


def learning_summaries_in_process(
    orchestration: OrchestrationApplication, review_texts: ErasableStore, reader: str = "learning"
) -> ReviewSummaries:
    """Orchestration's Learning Summaries for learning collation in the same process, through the same
    logged function as orchestration's internal route."""

    def summary(lscb: str, case_id: UUID) -> dict[str, Any] | None:
        return read_learning_summary(orchestration, review_texts, reader, lscb, case_id)

    return summary


LearningReportInputs = Callable[[str | None, date, date], Awaitable[dict[str, Any]]]
"""`(lscb or None for the region, from, to) -> the learning inputs of a report` (services.learning.report_inputs)."""


def report_inputs_in_process(pool: asyncpg.Pool, reader: str, today: Today = today_london) -> LearningReportInputs:
    """Learning's report inputs for a reporting caller in the same process (the embedded runtime), read and
    logged by the same function as learning's internal routes."""

    async def inputs(lscb: str | None, period_from: date, period_to: date) -> dict[str, Any]:
        return await report_inputs(pool, reader, lscb, period_from, period_to, today())

    return inputs


class _IntakeLog(Application):
    name = IntakeApplication.name


class _DecisioningLog(Application):
    name = DecisioningApplication.name


class _OrchestrationLog(Application):
    name = OrchestrationApplication.name


def open_logs(database_url: str) -> list[tuple[str, Application]]:
    """Read-only handles on each service's event log (for rebuilds: no keys or stores needed)."""
    logs: list[tuple[str, Application]] = []
    for schema, cls in (
        (INTAKE_SCHEMA, _IntakeLog),
        (DECISIONING_SCHEMA, _DecisioningLog),
        (ORCHESTRATION_SCHEMA, _OrchestrationLog),
    ):
        logs.append((cls.name, cls(env=eventsourcing_env(database_url, schema))))
    return logs


async def make_projector(database_url: str) -> CaseProjector:
    return CaseProjector(await create_pool(database_url, max_size=8))


async def make_authenticator(pool: asyncpg.Pool, bootstrap_token: str | None) -> Authenticator:
    return Authenticator(TokenStore(pool), bootstrap_token)


def documents_in_process(documents: ErasableStore, reader: str = "projections") -> DocumentText:
    """Decisioning's documents for a caller in the same process (the embedded runtime), read through the
    same logged function as decisioning's internal route."""

    async def document_text(lscb: str, case_id: UUID, document_id: UUID) -> str | None:
        return await asyncio.to_thread(read_document, documents, reader, lscb, document_id, case_id)

    return document_text


def make_decisioning_documents(decisioning_url: str, service_token: str) -> DecisioningDocuments:
    """The read model's client of decisioning's internal document route, with the read model's credential."""
    return DecisioningDocuments(decisioning_url, service_token)


def build_service_app(
    routers: Sequence[APIRouter],
    *,
    pool: asyncpg.Pool,
    authenticator: Authenticator,
    consumer_schemas: Mapping[str, str] = CONSUMER_SCHEMAS,
    title: str = "LIF",
    rate_limiter: RateLimiter | None = None,
    consumers_running: Callable[[], Mapping[str, bool]] | None = None,
) -> FastAPI:
    """One HTTP app around `routers`, with what every service's app shares: bearer tokens (lif.auth),
    the caller's address behind a trusted proxy (lif.client_address), security headers, the docs, declared
    errors, the body guard, the rate limiter, /healthz and /readyz.

    Each service of the distributed runtime serves its own routers through this; the embedded runtime
    serves every router through it (`build_http_app`), so both apply the same rules. `pool` answers the
    health checks and holds the tokens; `consumer_schemas` are the consumers whose parked events /readyz
    reports (those this process runs).
    """
    app = FastAPI(
        title=title,
        version="0.1.0",
        description="North West Learning and Improvement Framework: incident intake, threshold "
        "recommendations and case registers for Local Safeguarding Children Boards. Every path but "
        "/healthz, /readyz, /docs, /redoc, /openapi.json and the calendar feeds (/v1/feeds/..., whose URL is "
        "their own secret) needs `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.authenticator = authenticator
    app.add_middleware(RequestBodyGuard)
    app.state.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter.from_env()
    app.add_middleware(SecurityHeaders, cacheable=[ASSETS])
    app.add_middleware(ClientAddress)  # the caller behind the proxy, for the rate limits and the cookies
    add_docs(app)
    document_errors(app)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with one message per bad field, never the submitted values."""
        return JSONResponse(status_code=422, content={"detail": field_errors(list(exc.errors()))})

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        """Liveness without authentication: answers when the database answers."""
        await pool.fetchval("SELECT 1")
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness without authentication: consumers running (where this process runs them) and parked
        events by consumer (ids and types only). 503 when a consumer has stopped or the database is down;
        200 with `status` "degraded" when events are parked."""
        status, body = await readiness(pool, consumer_schemas, consumers_running)
        return JSONResponse(status_code=status, content=body)

    for router in routers:
        app.include_router(router)
    return app


def intake_routers(intake: IntakeApplication) -> list[APIRouter]:
    """Intake's public routes: notifications over HTTP."""
    return [build_intake_router(intake)]


def intake_internal_routers(intake: IntakeApplication, credentials: ServiceCredentials) -> list[APIRouter]:
    """Intake's internal routes (other services' requests, with a service credential; never proxied)."""
    return [build_intake_internal_router(intake, credentials)]


def decisioning_routers(actions: BoardActions) -> list[APIRouter]:
    """Decisioning's routes: the board's commands and notices, and the reviewer registry."""
    registry = actions.reviewers if actions else cast(ReviewerRegistry, None)  # None: contract export
    return [build_decisions_router(actions), build_reviewers_router(registry)]


def decisioning_internal_routers(actions: BoardActions, credentials: ServiceCredentials) -> list[APIRouter]:
    """Decisioning's internal routes (other services' requests, with a service credential; never proxied):
    the documents the read model quotes and the National Panel notices the notifications outbox sends."""
    return [build_decisioning_internal_router(actions, credentials)]


def orchestration_routers(
    orchestration: OrchestrationApplication, review_texts: ErasableStore, today: Today = today_london
) -> list[APIRouter]:
    """Orchestration's routes: every review's commands and views."""
    return [build_reviews_router(orchestration, review_texts, today=today)]


def notifications_routers(
    ticker: Ticker | None, today: Today = today_london, outbox: Sequence[APIRouter] | None = None
) -> list[APIRouter]:
    """The notifications service's routes: what is due (obligations), the calendar feeds, and the outbox's
    (`OutboxService.routers()` of lif.notifications_outbox: inbox, recipients directory, Panel notice delivery)."""
    index = ticker.index if ticker else cast(ObligationIndex, None)  # None: contract export
    feeds = FeedStore(index.pool) if ticker else cast(FeedStore, None)
    if outbox is None:  # contract export: the outbox's routes with nothing behind them
        unused = cast(Any, None)
        outbox = [build_outbox_router(unused, unused, unused, None)]
    return [build_obligations_router(index, feeds, today), *outbox]


def orchestration_internal_routers(
    orchestration: OrchestrationApplication, review_texts: ErasableStore, credentials: ServiceCredentials
) -> list[APIRouter]:
    """Orchestration's internal routes (learning collation's requests for Learning Summaries; never proxied)."""
    return [build_orchestration_internal_router(orchestration, review_texts, credentials)]


def learning_routers(
    learning: LearningApplication, pool: asyncpg.Pool, today: Today = today_london
) -> list[APIRouter]:
    """Learning collation's routes: sources, the register, search, figures, recommendations to impact."""
    return [build_learning_router(learning, pool, today=today)]


def learning_internal_routers(
    pool: asyncpg.Pool, credentials: ServiceCredentials, today: Today = today_london
) -> list[APIRouter]:
    """Learning's internal routes (the report inputs, with a service credential; never proxied)."""
    return [build_learning_internal_router(pool, credentials, today)]


def projections_routers(
    read_pool: asyncpg.Pool,
    today: Today = today_london,
    document_text: DocumentText | None = None,
    report_inputs: ReportInputs | None = None,
) -> list[APIRouter]:
    """The read model's routes, the reports made from it, and the reference data served beside them.

    `report_inputs` asks the learning service for the reports' findings and recommendations
    (`make_report_inputs` over HTTP; in one process, `projections.reports.inputs.InProcessReportInputs` around
    the learning service's own function); None: the reports say no learning service is connected."""
    return [
        build_reference_router(),
        build_projection_router(read_pool, today, document_text),
        build_reports_router(read_pool, today, report_inputs),
    ]


def make_report_inputs(learning_url: str | None, service_token: str | None) -> HttpReportInputs | None:
    """The projections' client of the learning service's report inputs (LIF_LEARNING_URL, with the projections'
    service credential LIF_SERVICE_TOKEN); None when no learning service is configured."""
    if not learning_url:
        return None
    if not service_token:
        raise ConfigurationError(
            "LIF_LEARNING_URL is set but LIF_SERVICE_TOKEN is not: the projections need a service credential "
            "to ask the learning service (`lif tokens service projections`)"
        )
    return HttpReportInputs(learning_url, service_token)


def build_http_app(
    *,
    intake: IntakeApplication,
    actions: BoardActions,
    orchestration: OrchestrationApplication,
    review_texts: ErasableStore,
    read_pool: asyncpg.Pool,
    authenticator: Authenticator,
    today: Today = today_london,
    title: str = "LIF",
    rate_limiter: RateLimiter | None = None,
    consumers_running: Callable[[], Mapping[str, bool]] | None = None,
    report_inputs: ReportInputs | None = None,
    ticker: Ticker | None = None,
    outbox_routers: Sequence[APIRouter] | None = None,
    learning: LearningApplication | None = None,
) -> FastAPI:
    """The embedded runtime's one HTTP surface: every service's routers at the same paths as behind the
    reverse proxy, and the web pages under /app, which call this same app in-process as their API. The audit
    timeline asks decisioning for its documents through decisioning's logged read, in-process here, as the
    projections service asks over decisioning's internal route; `report_inputs` is the learning service's
    report inputs, called in-process (`InProcessReportInputs`)."""
    documents = None if actions is None else documents_in_process(actions.documents)  # None: contract export
    routers = [
        *intake_routers(intake),
        *decisioning_routers(actions),
        *orchestration_routers(orchestration, review_texts, today),
        *notifications_routers(ticker, today, outbox_routers),
        *learning_routers(cast(LearningApplication, learning), read_pool, today),  # None: contract export
        *projections_routers(read_pool, today, documents, report_inputs),
    ]
    app = build_service_app(
        routers,
        pool=read_pool,
        authenticator=authenticator,
        title=title,
        rate_limiter=rate_limiter,
        consumers_running=consumers_running,
    )
    app.include_router(web_router(ApiClient.in_process(app), read_pool))
    return app


def web_router(api: ApiClient, pool: asyncpg.Pool) -> APIRouter:
    """The web service's pages (under /app): a client of the public API through `api`, with its sessions in
    its own schema on `pool`."""
    return build_web_router(api, SessionStore(pool))
