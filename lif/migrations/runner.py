"""Versioned SQL migrations, per service, applied once each under a PostgreSQL advisory lock.

Each service keeps its steps as `<package>/migrations/NNNN_name.sql` and its history in a table of its own
schema (`<schema>.schema_migrations`), so that a service whose database role owns only its own schemas
can migrate itself. A step runs in one transaction with the row that records it; a step whose first line
is `-- migrate: no-transaction` runs on its own (for `CREATE INDEX CONCURRENTLY`, which must not take
locks against live writers) and must hold a single statement. Published steps are never edited: the
checksum of every applied step is checked, and a change is a new step.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib import resources

import asyncpg

from lif.db import connect
from lif.failures import OperatorError

log = logging.getLogger(__name__)

HISTORY_TABLE = "schema_migrations"
LOCK_NAMESPACE = 7200
"""First key of the two-key advisory lock; the second is a hash of the service's name."""
NO_TRANSACTION = "-- migrate: no-transaction"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class MigrationError(OperatorError):
    """The migrations cannot be applied as they are (a bad file, an edited step); the message says why."""


class MigrationsPending(OperatorError):
    """The database lacks steps this version of LIF needs; `lif migrate` applies them."""

    def __init__(self, pending: Sequence[Migration]) -> None:
        self.pending = tuple(pending)
        by_service: dict[str, list[Migration]] = {}
        for migration in self.pending:
            by_service.setdefault(migration.service, []).append(migration)
        names = ", ".join(f"{service} {len(steps)} (up to {steps[-1].label})" for service, steps in by_service.items())
        super().__init__(f"the database lacks migrations ({names}): run `lif migrate`")


@dataclass(frozen=True)
class Migration:
    service: str
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        return not self.sql.lstrip().startswith(NO_TRANSACTION)


@dataclass(frozen=True)
class MigrationSet:
    """One service's migrations: the files of `<package>/migrations/`, for the `schemas` it owns.

    Its history is kept in the first of them, so the set needs no rights beyond its own schemas.
    """

    service: str
    package: str
    schemas: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.schemas:
            raise ValueError(f"migration set {self.service!r} owns no schema")
        for schema in self.schemas:
            if not _IDENTIFIER.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")

    @property
    def history_schema(self) -> str:
        return self.schemas[0]

    @cached_property
    def migrations(self) -> tuple[Migration, ...]:
        folder = resources.files(self.package) / "migrations"
        found: list[Migration] = []
        for entry in folder.iterdir():
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_NAME.match(entry.name)
            if match is None:
                raise MigrationError(f"{self.package}/migrations/{entry.name}: name it NNNN_lowercase_words.sql")
            found.append(Migration(self.service, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
        found.sort(key=lambda m: m.version)
        expected = list(range(1, len(found) + 1))
        if [m.version for m in found] != expected:
            raise MigrationError(
                f"{self.package}/migrations: versions must run 0001, 0002, ... without gaps or repeats "
                f"(found {', '.join(m.label for m in found)})"
            )
        return tuple(found)

    @property
    def history(self) -> str:
        return f"{self.history_schema}.{HISTORY_TABLE}"


@dataclass(frozen=True)
class Applied:
    """A step as it stands in a database: when it was applied (None when pending)."""

    service: str
    version: int
    name: str
    applied_at: datetime | None
    known: bool = True
    """False for a step the database has but this version of LIF does not (a newer LIF applied it)."""

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


Report = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


async def migrate(url: str, sets: Iterable[MigrationSet], *, report: Report = _quiet) -> list[Migration]:
    """Apply every pending step of each set, in order; returns what this call applied.

    Safe to run from several processes at once: each set is migrated under its advisory lock, so one
    applies and the others find nothing left to do.
    """
    applied: list[Migration] = []
    for migration_set in sets:
        applied.extend(await _migrate_set(url, migration_set, report))
    return applied


async def _migrate_set(url: str, migration_set: MigrationSet, report: Report) -> list[Migration]:
    migrations = migration_set.migrations
    conn = await connect(url)
    try:
        await _lock(conn, migration_set, report)
        try:
            await _create_history(conn, migration_set)
            done = await _applied_checksums(conn, migration_set)
            _check_unchanged(migration_set, done)
            pending = [m for m in migrations if m.version not in done]
            for migration in pending:
                started = time.monotonic()
                await _apply(conn, migration_set, migration)
                elapsed = (time.monotonic() - started) * 1000
                report(f"{migration.service}: applied {migration.label} ({elapsed:.0f} ms)")
                log.info("applied migration %s %s", migration.service, migration.label)
            if not pending:
                latest = migrations[-1].label if migrations else "none"
                report(f"{migration_set.service}: up to date ({latest})")
            return pending
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", LOCK_NAMESPACE, migration_set.service)
    finally:
        await conn.close()


async def _lock(conn: asyncpg.Connection, migration_set: MigrationSet, report: Report) -> None:
    """The set's advisory lock for this session (released by unlock, or by PostgreSQL if we die)."""
    key = (LOCK_NAMESPACE, migration_set.service)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", *key):
        report(f"{migration_set.service}: waiting for another migration of this service to finish")
        await conn.execute("SELECT pg_advisory_lock($1, hashtext($2))", *key)


async def _create_history(conn: asyncpg.Connection, migration_set: MigrationSet) -> None:
    """The history table, on the first run only (under the lock, so concurrent first runs cannot race)."""
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", migration_set.history):
        return
    async with conn.transaction():
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {migration_set.history_schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {migration_set.history} ("
            "version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )


async def _applied_checksums(conn: asyncpg.Connection, migration_set: MigrationSet) -> dict[int, str]:
    rows = await conn.fetch(f"SELECT version, checksum FROM {migration_set.history}")
    return {row["version"]: row["checksum"] for row in rows}


def _check_unchanged(migration_set: MigrationSet, done: dict[int, str]) -> None:
    for migration in migration_set.migrations:
        checksum = done.get(migration.version)
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(
                f"{migration.service} {migration.label} was changed after it was applied (its checksum differs "
                "from the one recorded). A published migration is never edited: restore it and add a new step"
            )


async def _apply(conn: asyncpg.Connection, migration_set: MigrationSet, migration: Migration) -> None:
    record = f"INSERT INTO {migration_set.history} (version, name, checksum) VALUES ($1, $2, $3)"
    try:
        if migration.transactional:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(record, migration.version, migration.name, migration.checksum)
        else:
            await conn.execute(migration.sql)
            await conn.execute(record, migration.version, migration.name, migration.checksum)
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"{migration.service} {migration.label} failed: {exc}") from exc


async def status(url: str, sets: Iterable[MigrationSet]) -> list[Applied]:
    """Every step of each set, applied (with its time) or pending, and steps only the database knows."""
    conn = await connect(url)
    try:
        result: list[Applied] = []
        for migration_set in sets:
            recorded = await _recorded(conn, migration_set)
            known = {m.version for m in migration_set.migrations}
            for migration in migration_set.migrations:
                row = recorded.get(migration.version)
                result.append(
                    Applied(migration.service, migration.version, migration.name, row[1] if row else None)
                )
            for version in sorted(set(recorded) - known):
                name, applied_at = recorded[version]
                result.append(Applied(migration_set.service, version, name, applied_at, known=False))
        return result
    finally:
        await conn.close()


async def _recorded(conn: asyncpg.Connection, migration_set: MigrationSet) -> dict[int, tuple[str, datetime]]:
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", migration_set.history):
        return {}
    rows = await conn.fetch(f"SELECT version, name, applied_at FROM {migration_set.history}")
    return {row["version"]: (row["name"], row["applied_at"]) for row in rows}


async def pending(url: str, sets: Iterable[MigrationSet]) -> list[Migration]:
    """The steps of `sets` this database has not applied yet."""
    wanted = list(dict.fromkeys(sets))
    by_key = {(m.service, m.version): m for s in wanted for m in s.migrations}
    rows = await status(url, wanted)
    return [by_key[(row.service, row.version)] for row in rows if row.known and row.applied_at is None]


async def require_migrated(url: str, sets: Iterable[MigrationSet]) -> None:
    """Raise `MigrationsPending` unless every step of `sets` is applied (a start-up check; no DDL)."""
    missing = await pending(url, sets)
    if missing:
        raise MigrationsPending(missing)
