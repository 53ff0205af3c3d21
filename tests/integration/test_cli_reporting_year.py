"""`lif boards reporting-year`, run as the real command against a real PostgreSQL: it shows and sets a board's
reporting-year start as the HTTP route does, refuses what the route refuses, and a rebuild keeps it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.databases import fresh_database
from tests.integration.test_cli_tokens import Lif

pytestmark = pytest.mark.integration


@pytest.fixture
def lif(database_url: str, tmp_path: Path) -> Lif:
    return Lif(asyncio.run(fresh_database(database_url, "cli_year")), tmp_path / "data")


def test_a_board_sets_its_reporting_year_and_a_rebuild_keeps_it(lif: Lif) -> None:
    shown = lif("boards", "reporting-year", "BOL")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) | {"set_at": None} == {
        "lscb": "BOL", "start_month": 4, "runs": "1 April to the end of March", "version": 0, "default": True,
        "set_by": None, "set_at": None,
    }
    made = lif("boards", "reporting-year", "BOL", "--start-month", "1", "--by", "Jo Bloggs")
    assert made.returncode == 0, made.stderr
    assert (json.loads(made.stdout)["version"], json.loads(made.stdout)["set_by"]) == (1, "Jo Bloggs")
    assert lif("projections", "rebuild", "--source", "logs").returncode == 0
    kept = lif.rows("SELECT lscb, version, start_month, set_by FROM lif_projections.reporting_year_settings")
    assert kept == [{"lscb": "BOL", "version": 1, "start_month": 1, "set_by": "Jo Bloggs"}]
    assert json.loads(lif("boards", "reporting-year", "BOL").stdout)["runs"] == "1 January to the end of December"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("XXX",), "unknown board code"),
        (("BOL", "--start-month", "13"), "1 to 12"),
        (("BOL", "--start-month", "0"), "1 to 12"),
    ],
)
def test_what_the_command_refuses_changes_nothing(lif: Lif, args: tuple[str, ...], message: str) -> None:
    refused = lif("boards", "reporting-year", *args)
    assert refused.returncode == 2 and message in refused.stderr
    assert lif.rows("SELECT count(*) AS n FROM lif_projections.reporting_year_settings") == [{"n": 0}]
