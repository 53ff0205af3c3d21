"""`lif tokens ...` and `lif projections rebuild`, run as the real command against a real PostgreSQL.

Each test gets a fresh database on the session's server; the command finds it through `DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.databases import fetch, fresh_database

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME = "Jo Bloggs"


class Lif:
    """Runs `lif` with `DATABASE_URL` set to this test's database and a data folder of its own."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("LIF_") and key not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"}
        }
        self.env.update(DATABASE_URL=url, LIF_DATA_DIR=str(data_dir))

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lif.cli", *args],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    def rows(self, query: str, *args: object) -> list[dict[str, Any]]:
        return [dict(row) for row in asyncio.run(fetch(self.url, query, *args))]

    def table_exists(self) -> bool:
        return bool(self.rows("SELECT to_regclass('lif_access.tokens') IS NOT NULL AS present")[0]["present"])

    def create(self, role: str = "business_manager", scope: str = "BOL", name: str = NAME) -> str:
        result = self("tokens", "create", "--role", role, "--scope", scope, "--name", name)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1, result.stdout
        return lines[0]

    def listing(self) -> tuple[str, list[dict[str, Any]]]:
        result = self("tokens", "list")
        assert result.returncode == 0, result.stderr
        return result.stdout, json.loads(result.stdout)


@pytest.fixture
def lif(database_url: str, tmp_path: Path) -> Lif:
    return Lif(asyncio.run(fresh_database(database_url, "cli")), tmp_path / "data")


def test_create_prints_only_the_token_and_stores_only_its_hash(lif: Lif) -> None:
    token = lif.create()
    assert token.startswith("lif_")
    assert len(token) >= 4 + 40  # 32 random bytes, url-safe
    assert token.strip() == token

    rows = lif.rows("SELECT * FROM lif_access.tokens")
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["role"], row["scope"], row["revoked_at"]) == (NAME, "business_manager", "BOL", None)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    dumped = json.dumps(rows, default=str)
    assert token not in dumped
    assert token.removeprefix("lif_") not in dumped


def test_the_note_about_the_token_goes_to_stderr_without_the_token(lif: Lif) -> None:
    result = lif("tokens", "create", "--role", "business_manager", "--scope", "BOL", "--name", NAME)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert NAME in result.stderr
    assert token not in result.stderr


def test_each_token_is_new(lif: Lif) -> None:
    first, second = lif.create(), lif.create()
    assert first != second
    assert len(lif.rows("SELECT 1 FROM lif_access.tokens WHERE name = $1", NAME)) == 2


def test_list_shows_the_name_but_never_the_token_or_its_hash(lif: Lif) -> None:
    token = lif.create()
    lif.create(role="admin", scope="region", name="Regional Admin")
    text, listing = lif.listing()
    assert [entry["name"] for entry in listing] == [NAME, "Regional Admin"]
    mine = listing[0]
    assert (mine["role"], mine["scope"], mine["revoked_at"]) == ("business_manager", "BOL", None)
    assert token not in text
    assert hashlib.sha256(token.encode()).hexdigest() not in text
    assert "token_hash" not in text


def test_list_on_an_empty_database_is_empty(lif: Lif) -> None:
    assert lif.listing()[1] == []


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("wizard", "BOL", "unknown role 'wizard'"),
        ("business_manager", "ZZZ", "unknown board code 'ZZZ'"),
        ("business_manager", "region", "must be scoped to one board"),
        ("admin", "BOL", "must have scope 'region'"),
        ("regional_analyst", "MAN", "must have scope 'region'"),
    ],
)
def test_invalid_role_or_scope_exits_2_with_a_clear_message(lif: Lif, role: str, scope: str, message: str) -> None:
    result = lif("tokens", "create", "--role", role, "--scope", scope, "--name", NAME)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if role == "wizard":
        assert "business_manager" in result.stderr  # says which roles exist
    assert not lif.table_exists() or lif.rows("SELECT * FROM lif_access.tokens") == []


def test_a_reserved_or_empty_name_is_refused(lif: Lif) -> None:
    for name in ("bootstrap", "   "):
        result = lif("tokens", "create", "--role", "admin", "--scope", "region", "--name", name)
        assert result.returncode == 2, (name, result.stderr)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
    assert lif.rows("SELECT * FROM lif_access.tokens") == []


def test_revoke_by_name(lif: Lif) -> None:
    token = lif.create()
    other = lif.create(role="chair", scope="BOL", name="Independent Chair")

    result = lif("tokens", "revoke", "--name", NAME)
    assert result.returncode == 0, result.stderr
    assert "revoked 1 token" in result.stderr

    rows = {row["name"]: row for row in lif.rows("SELECT name, token_hash, revoked_at FROM lif_access.tokens")}
    assert rows[NAME]["revoked_at"] is not None
    assert rows[NAME]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert rows["Independent Chair"]["revoked_at"] is None
    assert rows["Independent Chair"]["token_hash"] == hashlib.sha256(other.encode()).hexdigest()

    listing = {entry["name"]: entry for entry in lif.listing()[1]}
    assert listing[NAME]["revoked_at"] is not None  # revoked tokens stay listed, for the audit trail
    assert listing["Independent Chair"]["revoked_at"] is None

    again = lif("tokens", "revoke", "--name", NAME)
    assert again.returncode == 1  # nothing left to revoke
    assert "revoked 0 token" in again.stderr


def test_projections_rebuild_from_logs_on_an_empty_database(lif: Lif) -> None:
    result = lif("projections", "rebuild", "--source", "logs")
    assert result.returncode == 0, result.stderr
    assert "rebuilt the projections from 0 events" in result.stderr
    assert "Traceback" not in result.stderr
    again = lif("projections", "rebuild", "--source", "logs")  # and again, on the now set-up database
    assert again.returncode == 0, again.stderr
    assert "from 0 events" in again.stderr


def test_a_command_that_makes_a_new_embedded_database_says_so_on_stderr(tmp_path: Path) -> None:
    """Without DATABASE_URL, a data folder with no database yet gets a new one, and the command says so
    (a running server with another LIF_DATA_DIR would refuse the token); the next command says nothing."""
    data = tmp_path / "other-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIF_") and k not in {"DATABASE_URL"}}
    env.update(LIF_DATA_DIR=str(data))

    def create() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lif.cli", "tokens", "create", "--role", "chair", "--scope", "BOL", "--name", NAME],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=180,
            check=False,
        )

    first = create()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("lif_") and len(first.stdout.splitlines()) == 1
    assert "initialised a new, empty one at " + str((data / "embedded" / "postgres").resolve()) in first.stderr
    assert "another LIF_DATA_DIR" in first.stderr and "refuse a token created here" in first.stderr
    again = create()
    assert again.returncode == 0, again.stderr
    assert "initialised" not in again.stderr
