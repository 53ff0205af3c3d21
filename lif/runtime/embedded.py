"""The embedded runtime: every service in one process, real PostgreSQL, in-process delivery with tracking.

Delivery pulls each upstream service's log from the position the consumer recorded with its effects,
exactly as the Kafka path does per topic-partition: stopping the process at any point loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from lif.auth import Authenticator, Role
from lif.clock import Today, today_london
from lif.composition import (
    LearningReportInputs,
    build_http_app,
    close_board_actions,
    close_learning,
    learning_summaries_in_process,
    make_authenticator,
    make_board_actions,
    make_decisioning,
    make_intake,
    make_learning,
    make_notifications,
    make_orchestration,
    make_parking,
    make_projector,
    make_review_texts,
    make_ticker,
    report_inputs_in_process,
    summaries_in_process,
)
from lif.db import close_pool
from lif.delivery.follow import LogFollower
from lif.delivery.tracking import TrackingConsumer
from lif.delivery.wakeups import LogWakeups
from lif.erasable import ErasableStore
from lif.migrations import Migration, migrate
from lif.migrations import sets as migration_sets
from lif.notifications_outbox import OutboxService, attach_to_embedded, build_outbox_service, notices_in_process
from lif.runtime.database import embedded_postgres
from lif.runtime.eventloop import HTTP_PARSER
from lif.runtime.parts import FIRST, SECOND, WHOLE, Part, SecondProcess, die_with_parent, until_stopped
from lif.runtime.signals import keep_running_after_uvicorn_on_sigterm
from lif.runtime.startup import probe_database, start_with_retry
from lif.runtime.stopping import STOP_TIMEOUT, close_within, in_thread, stop_tasks
from lif.settings import OutboundSettings, Settings
from projections.projector import CaseProjector
from projections.reports.inputs import InProcessReportInputs
from services.decisioning.application import DecisioningApplication
from services.decisioning.board_actions import BoardActions
from services.intake.application import IntakeApplication
from services.learning.application import LearningApplication
from services.learning.register import LearningRegister
from services.notifications.application import NotificationsApplication
from services.notifications.outbox.dispatch import RetryPolicy
from services.notifications.ticker import Ticker
from services.orchestration.application import OrchestrationApplication

log = logging.getLogger(__name__)


def embedded_pseudonym_key(settings: Settings) -> bytes:
    """`LIF_PSEUDONYM_KEY`, or a key made on first start and kept beside the data (never in the repo)."""
    if settings.pseudonym_key:
        return settings.require_pseudonym_key()
    path = settings.data_dir / "embedded" / "pseudonym.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


@dataclass
class EmbeddedSystem:
    """Every service wired in-process; `start()` runs the followers, `app` serves HTTP."""

    intake: IntakeApplication
    decisioning: DecisioningApplication
    actions: BoardActions
    orchestration: OrchestrationApplication
    review_texts: ErasableStore
    learning: LearningApplication
    projector: CaseProjector
    authenticator: Authenticator
    app: FastAPI
    notifications: NotificationsApplication
    ticker: Ticker
    outbox: OutboxService
    tick_interval: float = 60.0
    wakeups: LogWakeups | None = None
    followers: list[LogFollower] = field(default_factory=list)
    part: Part = WHOLE
    second: SecondProcess | None = None
    """The process running the other part's consumers (`lif run` with two processes), for `/readyz`."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, part: Part = WHOLE) -> None:
        """Run the followers of `part`'s consumers (every one by default), and the timers when it has them."""
        loop = asyncio.get_running_loop()
        self.part = part
        if self.wakeups is not None:
            self._listen(self.wakeups)
            self.tasks.append(self.wakeups.start())
        for follower in self.followers:
            if part.runs(follower.parking.name):
                name = f"{follower.parking.name} <- {follower.position_key}"
                self.tasks.append(asyncio.create_task(follower.run(), name=name))

        def waker(upstream: object) -> Callable[[], None]:
            def wake() -> None:
                for follower in self.followers:
                    if follower.upstream is upstream:
                        loop.call_soon_threadsafe(follower.wakeup.set)

            return wake

        self.intake.on_saved.append(waker(self.intake))
        self.decisioning.on_saved.append(waker(self.decisioning))
        self.orchestration.on_saved.append(waker(self.orchestration))
        self.notifications.on_saved.append(waker(self.notifications))
        self.learning.on_saved.append(waker(self.learning))
        if part.timers:
            self.tasks.extend(self.ticker.tasks(self.tick_interval))
            await self.outbox.start()
            self.tasks.extend(self.outbox.tasks)

    def _listen(self, wakeups: LogWakeups) -> None:
        """Every follower and the obligations index woken by any commit to what they read, from any process."""
        for follower in self.followers:
            if wakeups.watch(follower.upstream, follower.wakeup.set):
                follower.notified = wakeups.listening.is_set
        if wakeups.watch(self.notifications, self.ticker.index.wakeup.set):
            self.ticker.index.notified = wakeups.listening.is_set

    def learning_report_inputs(self, reader: str = "reporting", today: Today = today_london) -> LearningReportInputs:
        """Learning's report inputs in-process (what its internal routes answer, logged as read by `reader`)."""
        return report_inputs_in_process(self.projector.pool, reader, today)

    def consumers_running(self) -> dict[str, bool]:
        """Per consumer: whether all its followers are still running (for `/readyz`)."""
        running: dict[str, bool] = {}
        for task in self.tasks:
            consumer = task.get_name().split(" ", 1)[0]
            running[consumer] = running.get(consumer, True) and not task.done()
        if self.second is not None:
            for follower in self.followers:
                if not self.part.runs(follower.parking.name):
                    running[follower.parking.name] = self.second.running
        return running

    async def catch_up(self) -> None:
        """Deliver everything pending (for tests and shutdown)."""
        for follower in self.followers:
            await follower.catch_up()
        await self.ticker.index.catch_up()

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the followers and close every store, each within `timeout`; what did not stop is logged."""
        if self.second is not None:
            await self.second.stop(timeout + 5.0)
        await stop_tasks(self.tasks, timeout)
        self.tasks.clear()
        await close_within("notifications outbox", lambda: self.outbox.stop(timeout), timeout)
        for name, close in (
            ("board actions", in_thread(lambda: close_board_actions(self.actions))),
            ("orchestration", in_thread(self.orchestration.close)),
            ("notifications", in_thread(self.notifications.close)),
            ("review texts", in_thread(self.review_texts.close)),
            ("learning", in_thread(lambda: close_learning(self.learning))),
            ("intake", in_thread(self.intake.close)),
            ("intake personal store", in_thread(self.intake.personal.close)),
            ("decisioning", in_thread(self.decisioning.close)),
            ("read model pool", lambda: close_pool(self.projector.pool)),
        ):
            await close_within(name, close, timeout)


async def build_embedded(
    database_url: str,
    pseudonym_key: bytes,
    bootstrap_token: str | None,
    today: Today = today_london,
    tick_interval: float = 60.0,
    outbound: OutboundSettings | None = None,
    outbox_policy: RetryPolicy | None = None,
) -> EmbeddedSystem:
    """Every service in one process over `database_url`; `outbound` is how the outbox reaches people (SMTP,
    webhooks; unset: the environment's), `outbox_policy` how it retries."""
    intake = await asyncio.to_thread(make_intake, database_url, pseudonym_key)
    decisioning = await asyncio.to_thread(make_decisioning, database_url)
    summaries = summaries_in_process(intake)
    actions = await asyncio.to_thread(make_board_actions, database_url, decisioning, summaries, today)
    orchestration = await asyncio.to_thread(make_orchestration, database_url, today)
    review_texts = await asyncio.to_thread(make_review_texts, database_url)
    learning_summaries = learning_summaries_in_process(orchestration, review_texts)
    learning = await asyncio.to_thread(make_learning, database_url, learning_summaries)
    projector = await make_projector(database_url)
    authenticator = await make_authenticator(projector.pool, bootstrap_token)
    notifications = await asyncio.to_thread(make_notifications, database_url, today)
    ticker = make_ticker(projector.pool, notifications, today)
    outbox = await build_outbox_service(
        database_url,
        outbound if outbound is not None else OutboundSettings(),
        notices_in_process(actions),
        policy=outbox_policy,
        today=today,
    )
    holder: list[EmbeddedSystem] = []
    app = build_http_app(
        intake=intake,
        actions=actions,
        orchestration=orchestration,
        review_texts=review_texts,
        read_pool=projector.pool,
        authenticator=authenticator,
        today=today,
        consumers_running=lambda: holder[0].consumers_running(),
        learning=learning,
        report_inputs=InProcessReportInputs(report_inputs_in_process(projector.pool, "projections", today)),
        ticker=ticker,
        outbox_routers=outbox.routers(),
    )
    system = EmbeddedSystem(
        intake,
        decisioning,
        actions,
        orchestration,
        review_texts,
        learning,
        projector,
        authenticator,
        app,
        notifications,
        ticker,
        outbox,
        tick_interval,
        LogWakeups(database_url),
    )
    holder.append(system)

    pool = projector.pool  # every consumer's parked events live in its own schema of this one database
    projections = await make_parking(pool, "projections", projector)
    projector_of_decisions = LogFollower(decisioning, "decisioning", projections, projector.position)
    projector_of_reviews = LogFollower(orchestration, "orchestration", projections, projector.position)
    obligations = await make_parking(pool, "notifications", TrackingConsumer(notifications))
    notifier_of_decisions = LogFollower(decisioning, "decisioning", obligations, _position_of(notifications))
    notifier_of_reviews = LogFollower(orchestration, "orchestration", obligations, _position_of(notifications))
    notifier_of_learning = LogFollower(learning, "learning", obligations, _position_of(notifications))
    register = LearningRegister(pool)
    register_parking = await make_parking(pool, "learning_register", register)
    register_of_learning = LogFollower(learning, "learning", register_parking, register.position)
    woken_by_learning = [_wake(register_of_learning), _wake(notifier_of_learning)]
    collation = await make_parking(pool, "learning", TrackingConsumer(learning, woken_by_learning))
    learning_of_reviews = LogFollower(orchestration, "orchestration", collation, _position_of(learning))
    learning_of_decisions = LogFollower(decisioning, "decisioning", collation, _position_of(learning))
    woken_by_reviews = [_wake(projector_of_reviews), _wake(notifier_of_reviews), _wake(learning_of_reviews)]
    reviews = await make_parking(pool, "orchestration", TrackingConsumer(orchestration, woken_by_reviews))
    orchestrator = LogFollower(decisioning, "decisioning", reviews, _position_of(orchestration))
    woken_by_decisions = [
        _wake(projector_of_decisions),
        _wake(orchestrator),
        _wake(notifier_of_decisions),
        _wake(learning_of_decisions),
    ]
    decisions = await make_parking(pool, "decisioning", TrackingConsumer(decisioning, woken_by_decisions))
    system.followers = [
        LogFollower(intake, "intake", decisions, _position_of(decisioning)),
        LogFollower(intake, "intake", projections, projector.position),
        projector_of_decisions,
        orchestrator,
        projector_of_reviews,
        LogFollower(orchestration, "orchestration", decisions, _position_of(decisioning)),  # the open stages
        notifier_of_decisions,
        notifier_of_reviews,
        notifier_of_learning,
        LogFollower(notifications, "notifications", outbox.parking(), _position_of(outbox.outbox)),
        LogFollower(learning, "learning", decisions, _position_of(decisioning)),
        learning_of_decisions,
        learning_of_reviews,
        register_of_learning,
    ]
    await attach_to_embedded(system, outbox)  # decisioning follows the outbox's log (a notice delivered)
    return system


def _wake(follower: LogFollower) -> Callable[[], None]:
    return follower.wakeup.set


class _Positioned(Protocol):
    def position(self, position_key: str) -> int: ...


def _position_of(app: _Positioned) -> Callable[[str], Awaitable[int]]:
    async def position(key: str) -> int:
        return await asyncio.to_thread(app.position, key)

    return position


async def apply_migrations(database_url: str, settings: Settings) -> list[Migration]:
    """Every service's pending migrations (`lif run` is every service, so it migrates its own database).

    Waits out a database that does not answer yet, as `lif serve` does.
    """

    async def attempt() -> list[Migration]:
        await probe_database(database_url)
        return await migrate(database_url, migration_sets.ALL)

    return await start_with_retry(attempt, what="lif run", timeout=settings.startup_timeout)


def migrations_summary(applied: Sequence[Migration]) -> str:
    """One line for the start-up banner: what this start applied."""
    if not applied:
        return "Migrations: up to date."
    names = ", ".join(f"{m.service} {m.label}" for m in applied)
    return f"Migrations: applied {len(applied)} ({names})."


async def announce_admin_token(system: EmbeddedSystem, settings: Settings) -> str:
    """How to authenticate: the bootstrap token, a new admin token on first start, or where to get one."""
    if settings.bootstrap_token:
        return "Authenticate with the LIF_BOOTSTRAP_TOKEN you set (an admin token)."
    store = system.authenticator.store
    if await store.count_admins() == 0:
        token, _ = await store.create(Role.ADMIN, "region", "first-admin")
        return (
            "First start: created an admin token (shown once, keep it safe):\n\n"
            f"    {token}\n\n"
            "Use it as `Authorization: Bearer <token>`; make more with `.venv/bin/lif tokens create`."
        )
    return "Authenticate with a token you created before (`.venv/bin/lif tokens create --role ...`)."


async def _build(settings: Settings, database_url: str) -> EmbeddedSystem:
    return await build_embedded(
        database_url,
        embedded_pseudonym_key(settings),
        settings.bootstrap_token,
        tick_interval=settings.notifications_tick,
        outbound=settings.outbound,
    )


async def run_embedded(settings: Settings) -> None:
    async with embedded_postgres(settings) as database_url:
        applied = await apply_migrations(database_url, settings)
        system = await _build(settings, database_url)
        second: SecondProcess | None = None
        if settings.processes > 1:
            second = system.second = SecondProcess({**os.environ, "DATABASE_URL": database_url})
            await system.start(FIRST)
        else:
            await system.start()
        how = await announce_admin_token(system, settings)
        base = f"http://{settings.host}:{settings.port}"
        processes = "" if settings.processes == 1 else " in 2 processes"
        print(
            f"\nLIF is running (embedded runtime{processes}) at {base}\n"
            f"API docs: {base}/docs   OpenAPI: {base}/openapi.json\n{how}\n"
            f"{migrations_summary(applied)}\n"
            f"Data: {settings.data_dir}   Stop with Ctrl-C.\n",
            file=sys.stderr,
            flush=True,
        )
        config = uvicorn.Config(
            system.app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            server_header=False,
            http=HTTP_PARSER,
            proxy_headers=False,  # lif.client_address reads them, from FORWARDED_ALLOW_IPS only
        )
        server = uvicorn.Server(config)
        keep_running_after_uvicorn_on_sigterm()
        starting = asyncio.create_task(start_when_serving(server, second)) if second is not None else None
        try:
            await server.serve()
        finally:
            if starting is not None:
                starting.cancel()
            await stop_despite_ctrl_c(system)


async def start_when_serving(server: uvicorn.Server, second: SecondProcess) -> None:
    """Start the second process once HTTP answers: its imports and build, a second or two of CPU, would
    otherwise compete with the first's start-up on a small machine."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.05)
    second.start()


async def run_second_process(settings: Settings) -> None:
    """`lif consume`: the second part's consumers of a `lif run` (which started it, on its own database)."""
    die_with_parent(int(os.environ.get("LIF_PARENT_PID", os.getppid())))
    system = await _build(settings, settings.require_database_url())
    await system.start(SECOND)
    try:
        await until_stopped()
    finally:
        await stop_despite_ctrl_c(system)


async def stop_despite_ctrl_c(system: EmbeddedSystem) -> None:
    """Run the bounded stop to its end even though the Ctrl-C that ended uvicorn is raised again once it
    returns (asyncio turns it into a cancel of this task): that cancel is the request to stop, not a reason
    to skip closing the stores and the embedded PostgreSQL."""
    stopping = asyncio.ensure_future(system.stop())
    try:
        await asyncio.shield(stopping)
    except asyncio.CancelledError:
        await stopping
