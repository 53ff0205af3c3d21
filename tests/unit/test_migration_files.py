"""The migration files: well named, numbered without gaps, each set touching only the schemas it owns,
installed with the package, and the start-up's classification of what may pass."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from lif.migrations import ALL, MigrationError, MigrationSet, MigrationsPending, select
from lif.runtime.startup import DatabaseUnavailable, StartupFailed, is_transient, start_with_retry
from lif.runtime.targets import TARGET_MIGRATIONS, TARGETS

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_NAME = re.compile(r"\blif_[a-z_]+\b")


@pytest.mark.parametrize("migration_set", ALL, ids=lambda s: s.service)
def test_each_set_touches_only_the_schemas_it_owns(migration_set: MigrationSet) -> None:
    assert migration_set.migrations, f"{migration_set.service} has no migrations"
    for migration in migration_set.migrations:
        named = set(SCHEMA_NAME.findall(migration.sql))
        assert named, f"{migration.service} {migration.label} names no schema"
        assert named <= set(migration_set.schemas), (
            f"{migration.service} {migration.label} touches {sorted(named - set(migration_set.schemas))}, "
            f"which {migration.service} does not own"
        )


def test_no_two_sets_own_the_same_schema() -> None:
    owned = [schema for migration_set in ALL for schema in migration_set.schemas]
    assert len(owned) == len(set(owned))


def test_the_migrations_are_installed_with_the_package() -> None:
    """`pip install .` (the image) must carry every set's SQL files."""
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for migration_set in ALL:
        assert "migrations/*.sql" in package_data.get(migration_set.package, []), (
            f"pyproject.toml: package-data of {migration_set.package} must include migrations/*.sql"
        )


def test_every_target_names_migration_sets_that_exist() -> None:
    assert set(TARGET_MIGRATIONS) == set(TARGETS)
    for target, services in TARGET_MIGRATIONS.items():
        assert len(select(services)) == len(services), target
    for target in TARGETS:  # its own schemas and the tokens its HTTP routes authenticate with, nothing else
        assert set(TARGET_MIGRATIONS[target]) == {"access", target}, target


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service nope"):
        select(["intake", "nope"])


def _package_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, str]) -> MigrationSet:
    package = tmp_path / name
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for file_name, text in files.items():
        (package / "migrations" / file_name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return MigrationSet("example", name, ("lif_example",))


def test_a_badly_named_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    migration_set = _package_with(tmp_path, monkeypatch, "badly_named", {"1_first.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match=r"1_first\.sql: name it NNNN_lowercase_words\.sql"):
        _ = migration_set.migrations


def test_a_gap_in_the_versions_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    migration_set = _package_with(
        tmp_path, monkeypatch, "with_gap", {"0001_first.sql": "SELECT 1;", "0003_third.sql": "SELECT 3;"}
    )
    with pytest.raises(MigrationError, match="without gaps"):
        _ = migration_set.migrations


def test_pending_migrations_are_summarised_per_service() -> None:
    pending = [m for s in ALL for m in s.migrations]
    message = str(MigrationsPending(pending))
    assert message.endswith("run `lif migrate`")
    for migration_set in ALL:
        last = migration_set.migrations[-1]
        assert f"{migration_set.service} {len(migration_set.migrations)} (up to {last.label})" in message


def test_what_may_pass_is_transient_and_the_rest_is_not() -> None:
    assert is_transient(DatabaseUnavailable("down"))
    assert is_transient(MigrationsPending(ALL[0].migrations))
    assert is_transient(KafkaConnectionError("no broker"))
    assert is_transient(ConnectionRefusedError(111, "refused"))
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(ValueError("a bug"))
    assert not is_transient(FileNotFoundError("no such board registry"))


async def test_a_permanent_failure_is_raised_at_the_first_attempt() -> None:
    attempts = 0

    async def start() -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("bad configuration")

    with pytest.raises(ValueError, match="bad configuration"):
        await start_with_retry(start, what="test", timeout=30)
    assert attempts == 1


async def test_a_transient_failure_is_retried_with_backoff_until_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    now = 0.0
    attempts: list[float] = []
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr("lif.runtime.startup.asyncio.sleep", sleep)

    def clock() -> float:
        return now

    async def start() -> None:
        nonlocal now
        attempts.append(now)
        now += 1.0  # each attempt takes a second of the deadline
        raise DatabaseUnavailable("PostgreSQL does not answer")

    with pytest.raises(StartupFailed, match=r"test: could not start within 5s \(attempt 5\): .*does not answer"):
        await start_with_retry(start, what="test", timeout=5, first_delay=0.5, max_delay=2.0, clock=clock)
    assert attempts == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert pauses == [0.5, 1.0, 2.0, 1.0]  # doubling, capped at max_delay, never past the deadline


async def test_a_transient_failure_that_passes_returns_the_result() -> None:
    outcomes: list[Exception | str] = [DatabaseUnavailable("starting"), KafkaConnectionError("no broker"), "started"]

    async def start() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await start_with_retry(start, what="test", timeout=30, first_delay=0.001) == "started"
    assert outcomes == []
