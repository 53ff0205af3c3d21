"""`lif status` and `lif parked list|retry|drop`, run as the real command against a real PostgreSQL.

The embedded runtime parks a poison event from intake's log first; the commands then show, retry and
drop it (and retry an event parked for a reason that has passed, which then reaches the read model).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import UUID

import pytest

from lif.runtime.embedded import build_embedded
from tests.databases import fetch, fresh_database
from tests.integration.test_cli_tokens import Lif
from tests.poison import FAR_FUTURE, FAR_FUTURE_REASONS, NUL_SUBJECT, incident_envelope, inject
from tests.polling import eventually

pytestmark = pytest.mark.integration
KEY = b"cli-parked-test-pseudonym-key-0123456789"


async def test_parked_events_are_listed_retried_and_dropped_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    url = await fresh_database(database_url, "cliparked")
    system = await build_embedded(url, KEY, None)
    await system.start()
    try:
        nul = incident_envelope("MAN", child__subject_ref=NUL_SUBJECT)
        far = incident_envelope("OLD", incident_date=FAR_FUTURE, notified_date=FAR_FUTURE)
        for poison in (nul, far):
            await asyncio.to_thread(inject, system.intake, poison)
        decisions = system.followers[0].parking
        projections = system.followers[1].parking

        async def both_parked() -> bool:
            for parking in (decisions, projections):
                for poison in (nul, far):
                    if not await parking.parked.get(UUID(poison["event_id"])):
                        return False
            return True

        await eventually(both_parked, what="decisioning and the projections to park both poisons")
        # An event parked for a reason that has passed since (a bug fixed, say), with a later one behind it.
        fixed, later = incident_envelope("BOL"), incident_envelope("BOL")
        later["case_id"] = fixed["case_id"]
        await projections.parked.park("log:intake", 10_001, fixed, "RuntimeError: a bug since fixed", None)
        reason = f"parked behind {fixed['event_id']}"
        await projections.parked.park("log:intake", 10_002, later, reason, UUID(fixed["event_id"]))
    finally:
        await system.stop()
    # The NUL case's own later events (its recommendation...) are parked behind it when they arrived after it.
    rows = await fetch(url, "SELECT event_id::text, case_id::text FROM lif_projections.parked_events ORDER BY seq")
    projections_parked = len(rows)
    behind_nul = [row["event_id"] for row in rows if row["case_id"] == nul["case_id"]][1:]

    lif = Lif(url, tmp_path)
    status = lif("status")
    assert status.returncode == 1, status.stderr  # something is parked
    lines = {line.split()[0]: line for line in status.stdout.splitlines()}
    # The contract refuses both poisons, so decisioning and the projections each park both.
    assert "parked=2" in lines["decisioning"] and "log:intake=" in lines["decisioning"]
    assert f"parked={projections_parked}" in lines["projections"] and projections_parked >= 4
    assert json.loads(lif("status", "--json").stdout)["consumers"]["orchestration"]["parked"] == 0

    listed = json.loads(lif("parked", "list", "--json").stdout)
    by_id = {(item["consumer"], item["event_id"]): item for item in listed}
    assert by_id["decisioning", far["event_id"]]["reason"].startswith(FAR_FUTURE_REASONS)
    assert by_id["projections", nul["event_id"]]["behind"] is None
    assert by_id["projections", later["event_id"]]["behind"] == fixed["event_id"]
    text = lif("parked", "list", "--consumer", "decisioning").stdout
    assert far["event_id"] in text and nul["event_id"] in text and fixed["event_id"] not in text

    ambiguous = lif("parked", "retry", far["event_id"])
    assert ambiguous.returncode == 2 and "--consumer" in ambiguous.stderr  # parked by two consumers
    again = lif("parked", "retry", far["event_id"], "--consumer", "decisioning")
    assert again.returncode == 1 and "failed again and stays parked" in again.stderr
    behind = lif("parked", "retry", later["event_id"])
    assert behind.returncode == 2 and f"waits behind {fixed['event_id']}" in behind.stderr

    retried = lif("parked", "retry", fixed["event_id"], "--by", "ops")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.split() == ["retried", fixed["event_id"], "retried", later["event_id"]]
    rows = await fetch(url, "SELECT lscb FROM lif_projections.cases WHERE case_id = $1", UUID(fixed["case_id"]))
    assert [r["lscb"] for r in rows] == ["BOL"]  # the retried event reached the read model

    dropped = lif("parked", "drop", nul["event_id"], "--consumer", "projections", "--by", "Jo Bloggs")
    assert dropped.returncode == 0, dropped.stderr
    everything = {
        (i["consumer"], i["event_id"]): i for i in json.loads(lif("parked", "list", "--all", "--json").stdout)
    }
    dropped_nul = everything["projections", nul["event_id"]]
    assert dropped_nul["status"] == "dropped" and dropped_nul["resolved_by"] == "Jo Bloggs"
    assert dropped_nul["resolved_at"]
    assert {
        everything["projections", fixed["event_id"]]["status"],
        everything["projections", later["event_id"]]["status"],
    } == {"retried"}
    left = [(i["consumer"], i["event_id"]) for i in json.loads(lif("parked", "list", "--json").stdout)]
    expected = [("decisioning", far["event_id"]), ("decisioning", nul["event_id"]), ("projections", far["event_id"])]
    assert sorted(left) == sorted([*expected, *(("projections", e) for e in behind_nul)])
    assert lif("parked", "drop", "not-an-id").returncode == 2
