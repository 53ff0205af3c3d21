"""The migrations against a real PostgreSQL: applied once, safe to run concurrently, the event store the
library expects, and start-ups that make no tables and so never race or lock a live projector."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from eventsourcing.application import Application

from lif.composition import (
    DECISIONING_SCHEMA,
    INTAKE_SCHEMA,
    ORCHESTRATION_SCHEMA,
    close_board_actions,
    make_authenticator,
    make_board_actions,
    make_decisioning,
    make_intake,
    make_orchestration,
    make_projector,
    make_review_texts,
    summaries_in_process,
)
from lif.db import close_pool, create_pool, eventsourcing_env
from lif.delivery.tracking import TrackingApplication
from lif.migrations import ALL, MigrationError, migrate, status
from lif.migrations.sets import PROJECTIONS
from lif.runtime.distributed import Running, start_target
from lif.runtime.targets import TARGETS
from lif.settings import Settings
from projections.schema import SCHEMA as READ_MODEL
from projections.schema import TABLES as READ_MODEL_TABLES
from tests.databases import fetch, fresh_database
from tests.harness import create_prefixed_topics, unique_prefix

pytestmark = [pytest.mark.integration]

EVERY_STEP = [(m.service, m.label) for s in ALL for m in s.migrations]
KEY = "migrations-test-pseudonym-key-0123456789"


def applied_steps(applied: Sequence[Any]) -> list[tuple[str, str]]:
    return [(m.service, m.label) for m in applied]


async def test_an_empty_database_gets_every_step_once_and_a_second_run_is_a_no_op(database_url: str) -> None:
    url = await fresh_database(database_url, "migrate_twice", migrated=False)
    before = await status(url, ALL)
    assert [row.applied_at for row in before] == [None] * len(EVERY_STEP)

    report: list[str] = []
    assert applied_steps(await migrate(url, ALL, report=report.append)) == EVERY_STEP
    assert [line for line in report if ": applied " in line] == [
        line for line in report if re.fullmatch(r"[a-z]+: applied \d{4}_[a-z_]+ \(\d+ ms\)", line)
    ]
    assert len(report) == len(EVERY_STEP)
    first = await status(url, ALL)
    assert all(row.applied_at is not None for row in first)

    again: list[str] = []
    assert await migrate(url, ALL, report=again.append) == []
    assert again == [f"{s.service}: up to date ({s.migrations[-1].label})" for s in ALL]
    assert await status(url, ALL) == first  # nothing re-applied: the same rows, the same times


async def test_concurrent_migrations_of_an_empty_database_never_fail(database_url: str) -> None:
    """Four migrators at once, five times over: each step is applied by exactly one of them."""
    for round_ in range(5):
        url = await fresh_database(database_url, f"migrate_race{round_}", migrated=False)
        results = await asyncio.gather(*(migrate(url, ALL) for _ in range(4)))
        applied = sorted(step for result in results for step in applied_steps(result))
        assert applied == sorted(EVERY_STEP), f"round {round_}: {applied}"
        assert all(row.applied_at is not None for row in await status(url, ALL))


def run_lif(url: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lif.cli", *args],
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def test_lif_migrate_from_several_processes_at_once(database_url: str) -> None:
    url = await fresh_database(database_url, "migrate_processes", migrated=False)
    results = await asyncio.gather(*(asyncio.to_thread(run_lif, url, "migrate") for _ in range(4)))
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    lines = [line for result in results for line in result.stdout.splitlines()[:-1] if ": applied " in line]
    assert sorted(re.sub(r" \(\d+ ms\)$", "", line) for line in lines) == sorted(
        f"{service}: applied {label}" for service, label in EVERY_STEP
    ), "each step applied by exactly one process"
    summary = re.compile(r"lif migrate: (?:applied (\d+)|nothing to apply)")
    counts = [summary.fullmatch(result.stdout.splitlines()[-1]) for result in results]
    assert all(counts) and sum(int(m[1] or 0) for m in counts if m) == len(EVERY_STEP)

    listed = run_lif(url, "migrate", "--status")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[-1] == "lif migrate: every migration is applied"
    assert [tuple(row.split()[:2]) for row in rows[:-1]] == EVERY_STEP
    assert all(" applied 20" in row for row in rows[:-1])


async def test_status_lists_pending_steps_and_only_the_named_service_is_migrated(database_url: str) -> None:
    url = await fresh_database(database_url, "migrate_one", migrated=False)
    result = run_lif(url, "migrate", "--service", "projections")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"projections: applied 0001_read_model \(\d+ ms\)\nprojections: applied 0002_parked_events \(\d+ ms\)\n"
        r"projections: applied 0003_reporting_years \(\d+ ms\)\nlif migrate: applied 3\n",
        result.stdout,
    )
    rows = {(row.service, row.label): row.applied_at for row in await status(url, ALL)}
    assert rows.pop(("projections", "0001_read_model")) is not None
    assert rows.pop(("projections", "0002_parked_events")) is not None
    assert rows.pop(("projections", "0003_reporting_years")) is not None
    assert set(rows.values()) == {None}
    listed = run_lif(url, "migrate", "--status")
    assert listed.stdout.splitlines()[-1] == f"lif migrate: {len(EVERY_STEP) - 3} pending"


async def test_an_edited_migration_is_refused(database_url: str) -> None:
    url = await fresh_database(database_url, "migrate_edited")
    pool = await create_pool(url)
    try:
        await pool.execute(f"UPDATE {PROJECTIONS.history} SET checksum = 'edited' WHERE version = 1")
    finally:
        await pool.close()
    with pytest.raises(MigrationError, match="projections 0001_read_model was changed after it was applied"):
        await migrate(url, [PROJECTIONS])
    result = run_lif(url, "migrate")
    assert result.returncode == 1 and "was changed after it was applied" in result.stderr
    assert "Traceback" not in result.stderr


# --- the event store: what eventsourcing would have made --------------------------------------------------------

SHAPE_QUERIES = {
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default,
               is_identity
        FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position""",
    "constraints": """
        SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def
        FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1, 2""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2",
    "options": """
        SELECT relname, relkind, reloptions FROM pg_class
        WHERE relnamespace = $1::regnamespace ORDER BY relname""",
    "types": """
        SELECT t.typname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
        WHERE t.typnamespace = $1::regnamespace AND t.typtype = 'c' ORDER BY 1, 3""",
    "functions": """
        SELECT proname, pg_get_function_arguments(oid) AS args, pg_get_function_result(oid) AS result,
               regexp_replace(prosrc, '\\s+', ' ', 'g') AS body
        FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY 1""",
}
OURS = {"schema_migrations", "relay_positions", "parked_events", "summary_reads", "document_reads"}


async def shape(url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The catalog's description of `schema`, without our own tables."""
    pool = await create_pool(url)
    try:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for name, query in SHAPE_QUERIES.items():
            rows = [tuple(row) for row in await pool.fetch(query, schema)]
            found[name] = [row for row in rows if not any(own in str(row[0]) for own in OURS)]
        tracking = await pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE '%tracking'",
            schema,
        )
        for row in tracking:
            found[f"rows of {row['table_name']}"] = [
                tuple(r) for r in await pool.fetch(f"SELECT * FROM {schema}.{row['table_name']} ORDER BY 1")
            ]
        return found
    finally:
        await pool.close()


class _Intake(Application):
    name = "intake"


class _Decisioning(TrackingApplication):
    name = "decisioning"


class _Orchestration(TrackingApplication):
    name = "orchestration"


def let_the_library_create(url: str) -> None:
    """The tables as eventsourcing 9.5 creates them itself (CREATE_TABLE=true), in each service's schema."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in (INTAKE_SCHEMA, DECISIONING_SCHEMA, ORCHESTRATION_SCHEMA):
            conn.execute(f"CREATE SCHEMA {schema}")
    apps: list[tuple[type[Application], str]] = [
        (_Intake, INTAKE_SCHEMA),
        (_Decisioning, DECISIONING_SCHEMA),
        (_Orchestration, ORCHESTRATION_SCHEMA),
    ]
    for cls, schema in apps:
        cls(env={**eventsourcing_env(url, schema), "CREATE_TABLE": "y"}).close()


async def test_the_event_store_tables_are_the_ones_eventsourcing_creates(database_url: str) -> None:
    migrated = await fresh_database(database_url, "es_migrated")
    by_library = await fresh_database(database_url, "es_library", migrated=False)
    await asyncio.to_thread(let_the_library_create, by_library)
    for schema in (INTAKE_SCHEMA, DECISIONING_SCHEMA, ORCHESTRATION_SCHEMA):
        ours, theirs = await shape(migrated, schema), await shape(by_library, schema)
        assert ours["columns"], f"{schema}: no tables"
        assert ours == theirs, schema


async def test_the_applications_make_no_tables_and_find_the_migrated_ones(database_url: str) -> None:
    """With CREATE_TABLE=false an application on an unmigrated database creates nothing."""
    url = await fresh_database(database_url, "es_nothing", migrated=False)
    await asyncio.to_thread(lambda: _Intake(env=eventsourcing_env(url, INTAKE_SCHEMA)).close())
    await asyncio.to_thread(lambda: _Decisioning(env=eventsourcing_env(url, DECISIONING_SCHEMA)).close())
    assert await fetch(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'lif%'") == []


# --- start-ups together, and beside a live projector ----------------------------------------------------------


async def build_everything(url: str) -> list[Any]:
    """Every application and store a process builds at start-up, all at once (as targets started together)."""
    intake = await asyncio.to_thread(make_intake, url, KEY.encode())
    built: list[Any] = list(
        await asyncio.gather(
            asyncio.to_thread(make_intake, url, KEY.encode()),
            asyncio.to_thread(make_decisioning, url),
            asyncio.to_thread(make_decisioning, url),
            asyncio.to_thread(make_orchestration, url),
            asyncio.to_thread(make_orchestration, url),
            asyncio.to_thread(make_review_texts, url),
            make_projector(url),
            make_projector(url),
        )
    )
    actions = await asyncio.to_thread(make_board_actions, url, built[1], summaries_in_process(intake))
    authenticator = await make_authenticator(built[6].pool, None)
    return [intake, *built, actions, authenticator]


async def close_everything(parts: list[Any]) -> None:
    intake, intake2, dec1, dec2, orch1, orch2, texts, proj1, proj2, actions, _ = parts
    close_board_actions(actions)
    for app in (intake, intake2):
        app.close()
        app.personal.close()
    for closable in (dec1, dec2, orch1, orch2, texts):
        closable.close()
    for projector in (proj1, proj2):
        await close_pool(projector.pool)


async def test_every_application_starts_together_on_a_freshly_migrated_database(database_url: str) -> None:
    for round_ in range(3):
        url = await fresh_database(database_url, f"start_together{round_}")
        before = {schema: await shape(url, schema) for s in ALL for schema in s.schemas}
        parts = await build_everything(url)
        try:
            intake, decisioning = parts[0], parts[2]
            assert decisioning.position("log:intake") == 0
            assert (await parts[-1].store.count_admins()) == 0
            assert intake.recorder.max_notification_id() in (None, 0)
        finally:
            await close_everything(parts)
        after = {schema: await shape(url, schema) for s in ALL for schema in s.schemas}
        assert after == before, "a start-up changed the schema"


async def test_every_target_starts_together_on_a_freshly_migrated_database(
    database_url: str, kafka_bootstrap: str
) -> None:
    """As a first `docker compose up` starts them: every target at once, twice over, none failing."""
    for round_ in range(2):
        prefix = unique_prefix()
        await create_prefixed_topics(kafka_bootstrap, prefix)
        settings = Settings(
            database_url=await fresh_database(database_url, f"targets_together{round_}"),
            kafka_bootstrap=kafka_bootstrap,
            pseudonym_key=KEY,
            bootstrap_token="targets-together-admin-token-0123",
            topic_prefix=prefix,
            intake_url="http://127.0.0.1:9",  # decisioning asks intake only when preparing a T3 notice
            decisioning_url="http://127.0.0.1:9",  # the read model asks decisioning only for an audit timeline
            service_token="decisioning.targets-together-credential",
            api_url="http://127.0.0.1:9",  # the web service calls the API only to serve a page
            orchestration_url="http://127.0.0.1:9",  # learning asks orchestration only when a review closes
        )
        results = await asyncio.gather(*(start_target(t, settings) for t in TARGETS), return_exceptions=True)
        try:
            failures = [r for r in results if isinstance(r, BaseException)]
            assert failures == [], f"round {round_}: {failures!r}"
        finally:
            for result in results:
                if isinstance(result, Running):
                    await result.stop()


async def test_a_second_projections_instance_starts_while_the_projector_is_mid_transaction(
    database_url: str, kafka_bootstrap: str
) -> None:
    """The projector holds its tables' row locks while it applies events; a start-up must not wait for them.

    Start-up DDL (`CREATE INDEX`, `ALTER TABLE`) needed locks that conflict with the projector's and, taken in
    another order, deadlocked with it. Now a start-up takes none: it completes while the transaction is open.
    """
    url = await fresh_database(database_url, "beside_projector")
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    settings = Settings(
        database_url=url,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=prefix,
        pseudonym_key=KEY,
        bootstrap_token="beside-projector-admin-token-0123",
        decisioning_url="http://127.0.0.1:9",  # asked only for an audit timeline's texts
        service_token="projections.beside-projector-credential",
    )
    projector = await create_pool(url, max_size=1)
    try:
        async with projector.acquire() as conn, conn.transaction():
            tables = ", ".join(f"{READ_MODEL}.{name}" for name in READ_MODEL_TABLES)
            await conn.execute(f"LOCK TABLE {tables} IN ROW EXCLUSIVE MODE")  # what the projector's writes hold
            await conn.execute(
                f"INSERT INTO {READ_MODEL}.positions (position_key, position) VALUES ('log:intake', 1)"
            )
            async with asyncio.timeout(60):
                running = await start_target("projections", settings)
            try:
                app = running.parts["app"]
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif") as client:
                    assert (await client.get("/healthz")).json() == {"status": "ok"}
            finally:
                await running.stop()
    finally:
        await projector.close()
