"""`lif projections rebuild` beside the live read model, on real PostgreSQL: the live one answers and follows
meanwhile, the result equals a read model built by following, an interrupted rebuild goes on where it stopped
with the same result, the swap never leaves the tables missing, and the new schema belongs to the read
model's role."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest
from eventsourcing.application import Application

from lif.admin import rebuild_projections
from lif.composition import INTAKE_SCHEMA, PROJECTED_TOPICS, open_logs
from lif.db import close_pool, connect, create_pool
from lif.delivery.log import log_head, read_log_page
from lif.delivery.parking import ParkedEvents, Parking, Pending
from lif.delivery.relay import LogRelay, RelayPositions, create_producer
from lif.seed import copy_stored, seed_history
from lif.settings import Settings
from projections import bulk_writer, fold_processes, rebuild, rebuild_sources
from projections.fold_processes import FoldProcesses
from projections.projector import CaseProjector
from projections.rebuild_sources import KafkaSource, LogSource, Page
from projections.schema import SCHEMA
from projections.schema_swap import NEXT
from tests.databases import RoleDatabase, fresh_database
from tests.harness import create_prefixed_topics, unique_prefix

pytestmark = [pytest.mark.integration]

KEY = b"rebuild-test-pseudonym-key-0123456789"
VOLATILE = {"arrival", "updated_at", "processed_at", "seq", "parked_at"}
"""Columns that say when or in which order a row was written, not what it holds."""
TABLES = ("cases", "case_events", "deadlines", "reviews", "processed_events", "parked_events")


class Interrupted(Exception):
    """Stands for Ctrl-C or a kill in the middle of a rebuild."""


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Every read-model row, without the columns that record write time or order."""
    tables: dict[str, list[str]] = {}
    for table in TABLES:
        rows = await pool.fetch(f"SELECT * FROM {SCHEMA}.{table}")
        tables[table] = sorted(
            json.dumps({k: v for k, v in dict(row).items() if k not in VOLATILE}, default=str, sort_keys=True)
            for row in rows
        )
    return tables


async def follow(projector: CaseProjector, logs: Sequence[tuple[str, Application]], page: int = 37) -> None:
    """Apply every logged event as the live followers do: small batches, the logs interleaved."""
    parking = Parking("projections", projector, ParkedEvents(projector.pool, SCHEMA, "projections"))
    readers = {name: 0 for name, _ in logs}
    apps = dict(logs)
    while True:
        moved = False
        for name in readers:
            batch, last = await asyncio.to_thread(read_log_page, apps[name], readers[name], page)
            if batch:
                await parking.deliver_many([Pending(f"log:{name}", e.notification_id, e.envelope) for e in batch])
            moved = moved or last > readers[name]
            readers[name] = last
        if not moved:
            return


@pytest.fixture
async def history(database_url: str) -> AsyncIterator[tuple[str, CaseProjector, list[tuple[str, Application]]]]:
    """A seeded history (cases built by the services' code and copies of them), followed into the live read model."""
    url = await fresh_database(database_url, "rebuild")
    await asyncio.to_thread(seed_history, url, KEY, 240, batch_cases=40, templates=40)
    projector = CaseProjector(await create_pool(url, max_size=6))
    logs = await asyncio.to_thread(open_logs, url)
    await follow(projector, logs)
    try:
        yield url, projector, logs
    finally:
        for _, app in logs:
            app.close()
        await close_pool(projector.pool)


async def test_a_rebuild_equals_the_read_model_built_by_following(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]],
) -> None:
    _, projector, logs = history
    followed = await snapshot(projector.pool)
    assert len(followed["cases"]) >= 80 and followed["deadlines"]
    assert any("orchestration." in row for row in followed["case_events"])

    applied = await rebuild.rebuild_from_logs(projector, logs, progress=False)

    assert applied == len(followed["case_events"])
    assert await snapshot(projector.pool) == followed
    rows = await projector.pool.fetch(f"SELECT * FROM {SCHEMA}.positions")
    positions = {r["position_key"]: r["position"] for r in rows}
    assert positions == {f"log:{name}": log_head(app) for name, app in logs}  # non-events read past too
    assert await projector.pool.fetchval("SELECT to_regnamespace($1)", NEXT) is None


def _append_to_intake(app: Application, envelopes: Sequence[dict[str, Any]]) -> None:
    """Store these envelopes in intake's log as `IncidentReceived` events of one new aggregate (blocking)."""
    first = app.recorder.select_notifications(start=1, limit=1)[0]  # type: ignore[attr-defined]
    state = orjson.loads(first.state)
    rows = []
    for version, envelope in enumerate(envelopes, start=1):
        rows.append((UUID(envelope["case_id"]), version, first.topic, orjson.dumps({**state, "envelope": envelope})))
    copy_stored(app, rows, None)


PARKED = f"SELECT event_id, status, behind IS NULL FROM {SCHEMA}.parked_events ORDER BY seq"


async def refused_case(
    projector: CaseProjector, logs: Sequence[tuple[str, Application]], change: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, list[str]], list[tuple[Any, ...]], str]:
    """Append to intake's log an event `change` makes one its model refuses and a later one of its case, and follow
    them live: the read model, its parked events (event id, status, whether it is the head) and the case id."""
    intake = dict(logs)["intake"]
    template = (await asyncio.to_thread(read_log_page, intake, 0, 1))[0][0].envelope
    case_id = str(uuid4())
    refused = {**template, "event_id": str(uuid4()), "case_id": case_id, "payload": dict(template["payload"])}
    change(refused)
    later = {**template, "event_id": str(uuid4()), "case_id": case_id}
    await asyncio.to_thread(_append_to_intake, intake, [refused, later])
    await follow(projector, logs)
    live_parked = [tuple(r) for r in await projector.pool.fetch(PARKED)]
    assert [(str(r[0]), r[2]) for r in live_parked] == [(refused["event_id"], True), (later["event_id"], False)]
    return await snapshot(projector.pool), live_parked, case_id


def bogus_outcome(event: dict[str, Any]) -> None:
    event["payload"]["facts"] = {**event["payload"]["facts"], "outcome": "bogus"}


def without_projection_parking(read_model: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in read_model.items() if k != "parked_events"}


async def test_an_event_its_model_refuses_is_parked_by_the_rebuild_as_by_live_delivery_with_its_case_behind_it(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]],
) -> None:
    _, projector, logs = history
    followed, live_parked, case_id = await refused_case(projector, logs, bogus_outcome)

    await rebuild.rebuild_from_logs(projector, logs, progress=False)

    rebuilt = await snapshot(projector.pool)
    assert without_projection_parking(rebuilt) == without_projection_parking(followed)
    assert [tuple(r) for r in await projector.pool.fetch(PARKED)] == live_parked
    assert case_id not in json.dumps(rebuilt["case_events"])


async def test_a_rebuild_copies_the_logs_inside_the_database_and_leaves_what_it_cannot_take_as_it_is_to_the_client(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, projector, logs = history

    def bell(event: dict[str, Any]) -> None:
        event["payload"]["source_system"] = "old\x07cms"  # a control character

    followed, live_parked, _ = await refused_case(projector, logs, bell)
    copies: list[tuple[str, int | None]] = []
    real = bulk_writer.copy_range

    async def recorded(conn: Any, schema: str, span: Any, *args: Any) -> int | None:
        copies.append((span.key, await real(conn, schema, span, *args)))
        return copies[-1][1]

    monkeypatch.setattr(bulk_writer, "copy_range", recorded)

    await rebuild.rebuild_from_logs(projector, logs, progress=False)

    assert ("log:intake", None) in copies  # its range holds the control character: read through the client
    assert sum(n or 0 for key, n in copies if key != "log:intake") > 0  # the others copied in the database
    assert [tuple(r) for r in await projector.pool.fetch(PARKED)] == live_parked
    assert without_projection_parking(await snapshot(projector.pool)) == without_projection_parking(followed)


async def test_a_rebuild_folding_in_worker_processes_equals_the_read_model_built_by_following(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, projector, logs = history
    followed, live_parked, _ = await refused_case(projector, logs, bogus_outcome)
    monkeypatch.setattr(fold_processes, "MIN_EVENTS", 0)
    monkeypatch.setattr(bulk_writer, "FOLD_CASES", 15)
    folded: list[int] = []
    real = fold_processes.fold_in_processes

    async def counted(*args: Any) -> None:
        folded.append(len(await fold_processes.range_ends(args[1], args[2], args[3])))
        await real(*args)

    monkeypatch.setattr(fold_processes, "fold_in_processes", counted)

    await rebuild.rebuild_from_logs(projector, logs, progress=False, fold_in=FoldProcesses(url, None, 2))

    assert folded and folded[0] >= 5  # ranges of 15 cases, in the workers
    assert [tuple(r) for r in await projector.pool.fetch(PARKED)] == live_parked
    assert without_projection_parking(await snapshot(projector.pool)) == without_projection_parking(followed)


async def test_an_event_a_log_holds_twice_is_stored_once_by_the_rebuild_as_by_live_delivery(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]],
) -> None:
    _, projector, logs = history
    intake = dict(logs)["intake"]
    template = (await asyncio.to_thread(read_log_page, intake, 0, 1))[0][0].envelope
    twice = {**template, "event_id": str(uuid4()), "case_id": str(uuid4())}
    await asyncio.to_thread(_append_to_intake, intake, [twice, twice])
    await follow(projector, logs)
    followed = await snapshot(projector.pool)
    assert sum(twice["event_id"] in row for row in followed["case_events"]) == 1

    await rebuild.rebuild_from_logs(projector, logs, progress=False)

    assert await snapshot(projector.pool) == followed


class LateArrivals(LogSource):
    """The logs, to which more cases arrive once the rebuild's load is done; the live side follows them."""

    def __init__(self, logs: Sequence[tuple[str, Application]], arrive: Callable[[], Any]) -> None:
        super().__init__(logs)
        self.arrive = arrive
        self.calls = 0

    async def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        self.calls += 1
        async for page in super().pages(start, until):
            yield page
        if self.calls == 1:
            await self.arrive()


async def test_the_live_read_model_answers_and_follows_during_a_rebuild_and_the_swap_leaves_no_gap(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, projector, logs = history
    monkeypatch.setattr(rebuild, "SWAP_LAG", 0)  # every late event goes through a catch-up round
    before = await snapshot(projector.pool)
    readers = await create_pool(url, max_size=2)
    answers: list[tuple[int, int]] = []
    failures: list[BaseException] = []
    done = asyncio.Event()
    live_follower: list[asyncio.Task[None]] = []

    async def read_views() -> None:
        while not done.is_set():
            try:
                row = await readers.fetchrow(
                    f"SELECT (SELECT count(*) FROM {SCHEMA}.cases) AS cases, "
                    f"(SELECT count(*) FROM {SCHEMA}.case_events e JOIN {SCHEMA}.cases c USING (case_id)) AS events"
                )
                assert row is not None
                answers.append((row["cases"], row["events"]))
            except Exception as exc:  # a missing table, a failed statement: what the swap must never cause
                failures.append(exc)
            await asyncio.sleep(0.002)

    async def arrive() -> None:
        await asyncio.to_thread(seed_history, url, KEY, 60, batch_cases=20, rng_seed=7)
        live_follower.append(asyncio.create_task(follow(projector, logs, page=3)))  # still following at the swap

    reading = asyncio.create_task(read_views())
    try:
        applied = await rebuild.rebuild_online(projector.pool, LateArrivals(logs, arrive), progress=False)
        await asyncio.gather(*live_follower)
    finally:
        done.set()
        await reading
        await close_pool(readers)
    assert failures == []
    assert len(answers) > 20
    assert min(cases for cases, _ in answers) >= len(before["cases"])  # never empty, never a missing table
    after = await snapshot(projector.pool)
    assert len(after["cases"]) > len(before["cases"])  # the late cases, caught up or followed after the swap
    assert applied >= len(before["case_events"])

    await rebuild.rebuild_from_logs(projector, logs, progress=False, restart=True)  # a quiet rebuild of it all
    assert await snapshot(projector.pool) == after


class StopsAfter(LogSource):
    """The logs, read until `pages` pages have been given, then interrupted."""

    def __init__(self, logs: Sequence[tuple[str, Application]], pages: int) -> None:
        super().__init__(logs)
        self.left = pages

    async def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        async for page in super().pages(start, until):
            if self.left == 0:
                raise Interrupted
            self.left -= 1
            yield page


@pytest.mark.parametrize("phase", ["load", "fold", "fold in processes"])
async def test_an_interrupted_rebuild_goes_on_where_it_stopped_with_the_same_result(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    url, projector, logs = history
    followed = await snapshot(projector.pool)
    monkeypatch.setattr(rebuild_sources, "LOG_PAGE", 50)
    monkeypatch.setattr(bulk_writer, "FOLD_CASES", 20)
    fold_in = None
    if phase == "fold in processes":  # the workers fold ranges past the checkpoint the rebuild stops at
        monkeypatch.setattr(fold_processes, "MIN_EVENTS", 0)
        fold_in = FoldProcesses(url, None, 2)
        phase = "fold"
    if phase == "load":
        source: LogSource = StopsAfter(logs, 4)
    else:
        source = LogSource(logs)
        checkpoints = itertools.count()
        real = rebuild._checkpoint_fold

        async def interrupted_fold(conn: Any, case_id: Any) -> None:
            if next(checkpoints) == 3:
                raise Interrupted
            await real(conn, case_id)

        monkeypatch.setattr(rebuild, "_checkpoint_fold", interrupted_fold)
    with pytest.raises(Interrupted):
        await rebuild.rebuild_online(projector.pool, source, progress=False, fold_in=fold_in)
    assert await snapshot(projector.pool) == followed  # the live read model is untouched
    state = await rebuild.read_state(projector.pool)
    assert state is not None and state.phase == phase
    stored = await projector.pool.fetchval(f"SELECT count(*) FROM {NEXT}.case_events")
    assert 0 < stored
    if phase == "fold":
        assert state.folded_after is not None
        monkeypatch.setattr(rebuild, "_checkpoint_fold", real)

    applied = await rebuild.rebuild_online(projector.pool, LogSource(logs), progress=False, fold_in=fold_in)

    assert applied == (len(followed["case_events"]) - stored if phase == "load" else 0)  # nothing loaded twice
    assert await snapshot(projector.pool) == followed


async def test_a_rebuild_with_an_administrators_url_leaves_the_read_model_to_its_role(
    role_database: RoleDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(seed_history, role_database.admin_url, KEY, 40, batch_cases=20)
    settings = Settings(database_url=role_database.admin_url, service_database_urls={})  # the superuser only
    copied: list[int | None] = []
    real = bulk_writer.copy_range

    async def recorded(conn: Any, schema: str, span: Any, *args: Any) -> int | None:
        copied.append(await real(conn, schema, span, *args))
        return copied[-1]

    monkeypatch.setattr(bulk_writer, "copy_range", recorded)
    applied = await rebuild_projections(settings, source="logs")
    assert applied >= 40
    assert copied and None not in copied  # read as the administrator, written as the read model's role
    conn = await connect(role_database.admin_url)
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
            SCHEMA,
        )
        schema_owner = await conn.fetchval(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", SCHEMA
        )
    finally:
        await conn.close()
    role = f"{role_database.prefix}lif_projections"
    assert schema_owner == role and [r["owner"] for r in owners] == [role]
    own = await connect(role_database.urls["projections"])
    try:  # the projections role still reads and writes its read model
        assert await own.fetchval(f"SELECT count(*) FROM {SCHEMA}.cases") >= 20
        await own.execute(f"INSERT INTO {SCHEMA}.positions VALUES ('log:test', 1)")
    finally:
        await own.close()


class KafkaStopsAfter(KafkaSource):
    """The topics, read until `pages` pages have been given, then interrupted."""

    def __init__(self, bootstrap: str, topics: Sequence[str], pages: int) -> None:
        super().__init__(bootstrap, topics)
        self.left = pages

    async def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        async for page in super().pages(start, until):
            if self.left == 0:
                raise Interrupted
            self.left -= 1
            yield page


async def test_a_rebuild_from_kafka_interrupted_goes_on_from_its_offsets_with_the_same_result(
    history: tuple[str, CaseProjector, list[tuple[str, Application]]], kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, projector, logs = history
    monkeypatch.setattr(rebuild_sources, "KAFKA_PAGE", 20)
    followed = await snapshot(projector.pool)
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        positions = RelayPositions(projector.pool, INTAKE_SCHEMA)
        for (_, app), topic in zip(logs, PROJECTED_TOPICS, strict=True):
            relay = LogRelay(app, prefix + topic, producer, positions, name=f"{prefix}{topic}", batch_size=20)
            while await relay.publish_pending():
                pass
        await producer.send_and_wait(prefix + PROJECTED_TOPICS[0], b"not json", key=b"x")  # dead-lettered live
    finally:
        await producer.stop()
    topics = [prefix + topic for topic in PROJECTED_TOPICS]
    copies: list[int | None] = []
    real = bulk_writer.copy_staged

    async def recorded(*args: Any) -> int | None:
        copies.append(await real(*args))
        return copies[-1]

    monkeypatch.setattr(bulk_writer, "copy_staged", recorded)

    interrupted = KafkaStopsAfter(kafka_bootstrap, topics, 1)
    await interrupted.start()
    try:
        with pytest.raises(Interrupted):
            await rebuild.rebuild_online(projector.pool, interrupted, progress=False)
    finally:
        await interrupted.stop()
    assert await snapshot(projector.pool) == followed
    stored = await projector.pool.fetchval(f"SELECT count(*) FROM {NEXT}.case_events")
    assert 0 < stored < len(followed["case_events"])

    applied = await rebuild.rebuild_from_kafka(projector, kafka_bootstrap, topics, progress=False)

    assert applied == len(followed["case_events"]) - stored
    rebuilt = await snapshot(projector.pool)
    assert {k: v for k, v in rebuilt.items() if k != "positions"} == followed
    assert None in copies  # the page with the record that is not JSON went through the client
    assert sum(n or 0 for n in copies) > 0  # the others were checked and copied inside the database
