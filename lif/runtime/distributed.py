"""One service per process over Kafka and PostgreSQL (`lif serve <target>`).

Targets: `intake` (incidents topic consumer + relay of its log), `decisioning` (consumes intake's,
orchestration's and learning's events, relays its own), `orchestration` (consumes decisioning's events,
relays its own), `notifications` (consumes decisioning's, orchestration's and learning's events, runs the timer tick,
relays its own), `learning` (consumes decisioning's and orchestration's events, relays its own, keeps its
register from its own log), `projections` (consumes intake's, decisioning's and orchestration's into the
read model) and `web` (the board's pages, a client of the public API through the proxy at LIF_API_URL; it
consumes nothing). Each also serves its own HTTP routes (lif.http_routes) on LIF_HOST:LIF_PORT; the reverse
proxy in front routes every public request to its owner, so each service's commands run in that service's
process only.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import asyncpg
import uvicorn
from eventsourcing.application import Application
from fastapi import APIRouter, FastAPI
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from events import topics
from events.decisioning import RecommendationRecorded
from events.incidents import IncidentNotification
from events.intake import IncidentReceived
from events.learning import SourceRecorded
from events.notifications import ObligationOpened
from events.orchestration import ReviewProcessOpened
from events.receipts import IncidentReceipt
from lif.asyncapi import complete
from lif.auth.service import ServiceCredentials
from lif.clock import Today, today_london
from lif.composition import (
    CONSUMER_SCHEMAS,
    DECISIONING_SCHEMA,
    INTAKE_SCHEMA,
    LEARNING_SCHEMA,
    NOTIFICATIONS_SCHEMA,
    NOTIFICATIONS_TOPICS,
    ORCHESTRATION_SCHEMA,
    PROJECTED_TOPICS,
    build_service_app,
    close_board_actions,
    close_learning,
    decisioning_internal_routers,
    decisioning_routers,
    intake_internal_routers,
    intake_routers,
    learning_internal_routers,
    learning_routers,
    make_authenticator,
    make_board_actions,
    make_dead_letter_store,
    make_decisioning,
    make_decisioning_documents,
    make_intake,
    make_intake_summaries,
    make_learning,
    make_notifications,
    make_orchestration,
    make_parking,
    make_projector,
    make_report_inputs,
    make_review_texts,
    make_ticker,
    notifications_routers,
    orchestration_internal_routers,
    orchestration_routers,
    projections_routers,
    web_router,
)
from lif.db import close_pool, create_pool
from lif.delivery.delivered import Delivered
from lif.delivery.follow import LogFollower
from lif.delivery.kafka import subscribe_events
from lif.delivery.parking import Parking
from lif.delivery.relay import LogRelay, RelayPositions, create_producer
from lif.delivery.tracking import TrackingConsumer
from lif.delivery.wakeups import LogWakeups
from lif.infra.topics import load_topic_definitions
from lif.migrations import sets as migration_sets
from lif.notifications_outbox import build_outbox_service, notices_over_http, start_outbox_over_kafka
from lif.openapi import serve_union_document
from lif.runtime.eventloop import HTTP_PARSER
from lif.runtime.signals import keep_running_after_uvicorn_on_sigterm
from lif.runtime.startup import database_ready, start_with_retry
from lif.runtime.stopping import STOP_TIMEOUT, close_within, stop_tasks
from lif.runtime.targets import TARGET_MIGRATIONS, TARGETS
from lif.settings import Settings
from services.intake import handlers as intake_handlers
from services.learning.register import LearningRegister
from services.learning.summaries import OrchestrationSummaries
from services.web.api_client import ApiClient

log = logging.getLogger(__name__)

DECISIONING_GROUP = "lif-decisioning"
PROJECTIONS_GROUP = "lif-projections"
ORCHESTRATION_GROUP = "lif-orchestration"
NOTIFICATIONS_GROUP = "lif-notifications"
LEARNING_GROUP = "lif-learning"
DECISIONING_CONSUMES = (topics.INTAKE, topics.ORCHESTRATION, topics.LEARNING, topics.NOTIFICATIONS)
"""Intake's events (each incident gets a recommendation), orchestration's (the pre-decision stages a
decision's answer lists as open), learning's (the themes the region holds, rule E2) and the notifications
outbox's (a Panel notice delivered is recorded sent)."""
DECISIONING_TITLE = "decisioning: intake, orchestration, learning and notifications events"


@dataclass
class Running:
    """What a target started, so tests and signals can stop it cleanly."""

    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Cancel the tasks, then run the closers newest first, each within `timeout`; what hung is logged."""
        await stop_tasks(self.tasks, timeout)
        self.tasks.clear()
        while self.closers:
            close = self.closers.pop()
            await close_within(getattr(close, "__qualname__", repr(close)), close, timeout)


def new_broker(bootstrap: str) -> KafkaBroker:
    return KafkaBroker(bootstrap, client_id="lif", enable_idempotence=True, acks="all")


async def start_relay(
    running: Running, app: Application, topic: str, schema: str, settings: Settings, service: str
) -> LogRelay:
    pool = await create_pool(settings.database_url_for(service), max_size=2)
    running.closers.append(lambda: close_pool(pool))
    positions = RelayPositions(pool, schema)
    producer = create_producer(settings.require_kafka())
    await producer.start()
    running.closers.append(producer.stop)
    relay = LogRelay(app, topic, producer, positions)
    relay.notified = listen_to_log(running, settings.database_url_for(service), app, relay.wakeup.set)
    running.tasks.append(asyncio.create_task(relay.run(), name=f"relay {topic}"))
    return relay


def listen_to_log(running: Running, url: str, app: Application, wake: Callable[[], None]) -> Callable[[], bool] | None:
    """Wake `wake` on every commit to `app`'s log, by this process or another (another instance of the
    target writing the same log); what the loop's `notified` should be (None: its log sends no NOTIFY)."""
    wakeups = LogWakeups(url)
    if not wakeups.watch(app, wake):
        return None
    running.tasks.append(wakeups.start())
    return wakeups.listening.is_set


class Processor(Protocol):
    """A service that consumes another's events with tracking and records its own (decisioning, orchestration)."""

    name: str

    def handle(self, delivered: Delivered) -> bool: ...

    def handle_batch(self, batch: Sequence[Delivered]) -> bool: ...

    def skip(self, position_key: str, position: int) -> None: ...


async def start_processor(
    running: Running,
    settings: Settings,
    app: Processor,
    consumes: Sequence[str],
    group: str,
    publishes: str,
    schema: str,
    title: str,
) -> None:
    """Consume the topics `consumes` as consumer group `group`; relay the app's log to `publishes` when it records."""
    relay = await start_relay(
        running, app, settings.topic(publishes), schema, settings, app.name  # type: ignore[arg-type]
    )
    running.parts["relay"] = relay

    parking = await make_parking(relay.positions.pool, app.name, TrackingConsumer(app, [relay.wakeup.set]))
    running.parts["parking"] = parking
    broker = new_broker(settings.require_kafka())
    subscribed = [settings.topic(topic) for topic in consumes]
    subscribe_events(broker, subscribed, group_id=settings.topic(group), parking=parking, title=title)
    await _start_broker(running, broker)


async def start_target(target: str, settings: Settings, *, today: Today = today_london) -> Running:
    """Start one target's parts in the running loop; returns them for stopping. Its HTTP app is
    `parts["app"]`, which `serve` runs (tests run it themselves, behind a reverse proxy).

    First the database must answer and hold the migrations the target needs (it makes no tables itself).
    When any part fails to start, the parts already started are stopped before the error is raised, so
    a caller may simply try again. `today` is the business date the target's clock reads (the notifications
    timers tick on it; tests move it).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    for migration_set in migration_sets.select(TARGET_MIGRATIONS[target]):
        await database_ready(_checked_with(settings, target, migration_set.service), [migration_set])
    running = Running()
    try:
        await _start_parts(target, settings, running, today)
    except BaseException:
        await running.stop()
        raise
    return running


async def _http_app(
    running: Running,
    url: str,
    settings: Settings,
    title: str,
    routers: list[APIRouter],
    consumers: tuple[str, ...] = (),
    pool: asyncpg.Pool | None = None,
) -> FastAPI:
    """The target's own HTTP app (lif.composition.build_service_app), on a pool of its own unless given."""
    if pool is None:
        pool = await create_pool(url, max_size=4)
        running.closers.append(lambda: close_pool(pool))
    authenticator = await make_authenticator(pool, settings.bootstrap_token)
    app = build_service_app(
        routers,
        pool=pool,
        authenticator=authenticator,
        consumer_schemas={consumer: CONSUMER_SCHEMAS[consumer] for consumer in consumers},
        title=title,
    )
    running.parts["app"] = app
    return app


def _checked_with(settings: Settings, target: str, service: str) -> str:
    """The URL that checks `service`'s migrations for `target`: the service's own, except for the token
    store, which a target reads with the role it reads the rest with (only the admin CLI owns it)."""
    if service != "access":
        return settings.database_url_for(service)
    return settings.database_url_for(target)


async def _start_parts(target: str, settings: Settings, running: Running, today: Today) -> None:
    if target == "intake":
        url = settings.database_url_for("intake")
        intake = await asyncio.to_thread(make_intake, url, settings.require_pseudonym_key())
        running.closers.append(lambda: asyncio.to_thread(intake.close))
        running.closers.append(lambda: asyncio.to_thread(intake.personal.close))
        running.parts["intake"] = intake
        running.parts["relay"] = await start_relay(
            running, intake, settings.topic(topics.INTAKE), INTAKE_SCHEMA, settings, "intake"
        )
        dead_letters = await asyncio.to_thread(make_dead_letter_store, url)
        running.closers.append(lambda: asyncio.to_thread(dead_letters.close))
        running.parts["dead_letters"] = dead_letters
        credentials = ServiceCredentials.parse(settings.service_credentials)
        routers = intake_routers(intake) + intake_internal_routers(intake, credentials)
        await _http_app(running, url, settings, "LIF intake", routers)
        broker = new_broker(settings.require_kafka())
        intake_handlers.register(broker, intake, topic_prefix=settings.topic_prefix, dead_letters=dead_letters)
        await _start_broker(running, broker)
    elif target == "decisioning":
        url = settings.database_url_for("decisioning")
        decisioning = await asyncio.to_thread(make_decisioning, url)
        running.closers.append(lambda: asyncio.to_thread(decisioning.close))
        running.parts["decisioning"] = decisioning
        summaries = make_intake_summaries(settings.require_intake_url(), settings.require_service_token())
        running.closers.append(lambda: asyncio.to_thread(summaries.close))
        actions = await asyncio.to_thread(make_board_actions, url, decisioning, summaries)
        running.closers.append(lambda: asyncio.to_thread(close_board_actions, actions))
        running.parts["actions"] = actions
        await start_processor(
            running,
            settings,
            decisioning,
            DECISIONING_CONSUMES,
            DECISIONING_GROUP,
            topics.DECISIONING,
            DECISIONING_SCHEMA,
            DECISIONING_TITLE,
        )
        credentials = ServiceCredentials.parse(settings.service_credentials)
        routers = decisioning_routers(actions) + decisioning_internal_routers(actions, credentials)
        await _http_app(running, url, settings, "LIF decisioning", routers, ("decisioning",))
    elif target == "orchestration":
        url = settings.database_url_for("orchestration")
        orchestration = await asyncio.to_thread(make_orchestration, url)
        running.closers.append(lambda: asyncio.to_thread(orchestration.close))
        running.parts["orchestration"] = orchestration
        review_texts = await asyncio.to_thread(make_review_texts, url)
        running.closers.append(lambda: asyncio.to_thread(review_texts.close))
        await start_processor(
            running,
            settings,
            orchestration,
            (topics.DECISIONING,),
            ORCHESTRATION_GROUP,
            topics.ORCHESTRATION,
            ORCHESTRATION_SCHEMA,
            "orchestration: decisioning events",
        )
        credentials = ServiceCredentials.parse(settings.service_credentials)
        routers = orchestration_routers(orchestration, review_texts) + orchestration_internal_routers(
            orchestration, review_texts, credentials
        )
        await _http_app(running, url, settings, "LIF orchestration", routers, ("orchestration",))
    elif target == "notifications":
        url = settings.database_url_for("notifications")
        notifications = await asyncio.to_thread(make_notifications, url, today)
        running.closers.append(lambda: asyncio.to_thread(notifications.close))
        running.parts["notifications"] = notifications
        await start_processor(
            running,
            settings,
            notifications,
            NOTIFICATIONS_TOPICS,
            NOTIFICATIONS_GROUP,
            topics.NOTIFICATIONS,
            NOTIFICATIONS_SCHEMA,
            "notifications: decisioning, orchestration and learning events",
        )
        pool = await create_pool(url, max_size=4)
        running.closers.append(lambda: close_pool(pool))
        ticker = make_ticker(pool, notifications, today)
        running.parts["ticker"] = ticker
        running.tasks.extend(ticker.tasks(settings.notifications_tick))
        outbox = await build_outbox_service(url, settings.outbound, notices_over_http(settings), today=today)
        running.closers.append(outbox.stop)
        running.parts["outbox"] = outbox
        await start_outbox_over_kafka(running, settings, outbox)
        routers = notifications_routers(ticker, today, outbox.routers())
        await _http_app(
            running, url, settings, "LIF notifications", routers, ("notifications", "notifications_outbox"), pool
        )
    elif target == "learning":
        await _start_learning(running, settings)
    elif target == "projections":
        url = settings.database_url_for("projections")
        projector = await make_projector(url)
        running.closers.append(lambda: close_pool(projector.pool))
        running.parts["projector"] = projector
        parking = await make_parking(projector.pool, "projections", projector)
        running.parts["parking"] = parking
        documents = make_decisioning_documents(settings.require_decisioning_url(), settings.require_service_token())
        running.closers.append(documents.close)
        report_inputs = make_report_inputs(settings.learning_url, settings.service_token)
        if report_inputs is not None:
            running.closers.append(report_inputs.close)
        routers = projections_routers(projector.pool, document_text=documents, report_inputs=report_inputs)
        app = await _http_app(running, url, settings, "LIF", routers, ("projections",), projector.pool)
        serve_union_document(app)
        broker = new_broker(settings.require_kafka())
        subscribe_events(
            broker,
            [settings.topic(topic) for topic in PROJECTED_TOPICS],
            group_id=settings.topic(PROJECTIONS_GROUP),
            parking=parking,
            title="projections: intake, decisioning and orchestration events",
        )
        await _start_broker(running, broker)
    elif target == "web":
        url = settings.database_url_for("web")
        pool = await create_pool(url, max_size=4)
        running.closers.append(lambda: close_pool(pool))
        api = ApiClient.remote(settings.require_api_url())
        running.closers.append(api.close)
        await _http_app(running, url, settings, "LIF web", [web_router(api, pool)], pool=pool)


async def _start_learning(running: Running, settings: Settings) -> None:
    """Learning collation: consumes decisioning's and orchestration's events (asking orchestration for a
    closed review's Learning Summary), relays its own log, and keeps its register from that log."""
    url = settings.database_url_for("learning")
    summaries = OrchestrationSummaries(settings.require_orchestration_url(), settings.require_service_token())
    running.closers.append(lambda: asyncio.to_thread(summaries.close))
    learning = await asyncio.to_thread(make_learning, url, summaries)
    running.closers.append(lambda: asyncio.to_thread(close_learning, learning))
    running.parts["learning"] = learning
    pool = await create_pool(url, max_size=4)
    running.closers.append(lambda: close_pool(pool))
    register = LearningRegister(pool)
    parking = await make_parking(pool, "learning_register", register)
    follower = LogFollower(learning, "learning", parking, register.position)
    learning.on_saved.append(_waker(asyncio.get_running_loop(), follower))
    follower.notified = listen_to_log(running, url, learning, follower.wakeup.set)
    running.tasks.append(asyncio.create_task(follower.run(), name="learning_register <- log:learning"))
    running.parts["register"] = follower
    await start_processor(
        running,
        settings,
        learning,
        (topics.DECISIONING, topics.ORCHESTRATION),
        LEARNING_GROUP,
        topics.LEARNING,
        LEARNING_SCHEMA,
        "learning: decisioning and orchestration events",
    )
    credentials = ServiceCredentials.parse(settings.service_credentials)
    routers = learning_routers(learning, pool) + learning_internal_routers(pool, credentials)
    await _http_app(running, url, settings, "LIF learning", routers, ("learning", "learning_register"), pool)


def _waker(loop: asyncio.AbstractEventLoop, follower: LogFollower) -> Callable[[], None]:
    """Wake an in-process follower from the thread that saved new events."""

    def wake() -> None:
        loop.call_soon_threadsafe(follower.wakeup.set)

    return wake


async def _start_broker(running: Running, broker: KafkaBroker) -> None:
    await broker.start()
    running.closers.append(broker.stop)
    running.parts["broker"] = broker


async def serve(target: str, settings: Settings) -> None:
    """Run one target, its HTTP app on LIF_HOST:LIF_PORT, until SIGINT/SIGTERM; a start-up that fails for
    a transient reason is retried."""
    running = await start_with_retry(
        lambda: start_target(target, settings), what=f"lif serve {target}", timeout=settings.startup_timeout
    )
    print(f"lif serve {target}: started", file=sys.stderr, flush=True)
    try:
        config = uvicorn.Config(
            running.parts["app"],
            host=settings.host,
            port=settings.port,
            log_level="info",
            server_header=False,
            http=HTTP_PARSER,
            proxy_headers=False,  # lif.client_address reads them, from FORWARDED_ALLOW_IPS only
        )
        keep_running_after_uvicorn_on_sigterm()
        await uvicorn.Server(config).serve()
    finally:
        await running.stop()


def _incident_receipts(broker: KafkaBroker) -> None:
    """The receipts intake publishes to integrators (one per message on lif.incidents.v1)."""
    broker.publisher(
        topics.INCIDENT_RECEIPTS,
        title="incident receipts (integrators consume)",
        schema=IncidentReceipt,
        description="One IncidentReceipt per message on lif.incidents.v1, at least once, after intake processed "
        "it: the case id and status (accepted, duplicate, conflict, invalid with field errors). Key: the "
        "source.reference as the integrator sent it (the message key when it could not be read); header "
        "lif-receipt-status. Retention is bounded (7 days), because the key may identify a child elsewhere.",
    )


def asyncapi_document() -> dict[str, Any]:
    """The event contract as AsyncAPI: FastStream's channels and operations of every subscriber and publisher,
    with every event each topic carries and every dead-letter topic (lif.asyncapi.complete)."""
    broker = KafkaBroker("localhost:9092")

    not_used = cast(Parking, None)  # the document needs subscribers, not a running service
    intake_handlers.register(broker, None)  # type: ignore[arg-type]
    subscribe_events(
        broker, list(DECISIONING_CONSUMES), group_id=DECISIONING_GROUP, parking=not_used, title=DECISIONING_TITLE
    )
    subscribe_events(
        broker,
        [topics.DECISIONING, topics.ORCHESTRATION],
        group_id=LEARNING_GROUP,
        parking=not_used,
        title="learning: decisioning and orchestration events",
    )
    subscribe_events(
        broker,
        [topics.DECISIONING],
        group_id=ORCHESTRATION_GROUP,
        parking=not_used,
        title="orchestration: decisioning events",
    )
    subscribe_events(
        broker,
        list(PROJECTED_TOPICS),
        group_id=PROJECTIONS_GROUP,
        parking=not_used,
        title="projections: intake, decisioning and orchestration events",
    )
    subscribe_events(
        broker,
        list(NOTIFICATIONS_TOPICS),
        group_id=NOTIFICATIONS_GROUP,
        parking=not_used,
        title="notifications: decisioning, orchestration and learning events",
    )
    broker.publisher(
        topics.INCIDENTS,
        title="incident notifications (integrators publish)",
        schema=IncidentNotification,
        description="One IncidentNotification as JSON; invalid ones go to lif.incidents.v1.dlq",
    )
    broker.publisher(
        topics.INTAKE,
        title="intake events",
        schema=IncidentReceived,
        description="Relayed from intake's event store, keyed by case id",
    )
    broker.publisher(
        topics.DECISIONING,
        title="decisioning events",
        schema=RecommendationRecorded,
        description="Relayed from decisioning's event store, keyed by case id; every event of "
        "events/decisioning.py",
    )
    broker.publisher(
        topics.ORCHESTRATION,
        title="orchestration events",
        schema=ReviewProcessOpened,
        description="Relayed from orchestration's event store, keyed by case id; every event of "
        "events/orchestration.py",
    )
    broker.publisher(
        topics.NOTIFICATIONS,
        title="notifications events",
        schema=ObligationOpened,
        description="Relayed from the notifications service's event store, keyed by case id; every event of "
        "events/notifications.py (obligations, reminders due, breaches)",
    )
    broker.publisher(
        topics.LEARNING,
        title="learning events",
        schema=SourceRecorded,
        description="Relayed from learning collation's event store, keyed by case id (a forum's or audit's "
        "own source id); every event of events/learning.py",
    )
    _incident_receipts(broker)
    app = FastStream(broker, specification=AsyncAPI(title="LIF event contract", version="1.0.0"))
    generated: dict[str, Any] = app.schema.to_specification().to_jsonable()
    dead_letters = [t.name for t in load_topic_definitions() if t.name.endswith(".dlq")]
    return complete(generated, dead_letters)
