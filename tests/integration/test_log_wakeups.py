"""Loops are woken by commits from anywhere: PostgreSQL's NOTIFY through one LISTEN session, on real PostgreSQL.

The writer here is another application object with nothing wired to the listener, as another process
(a second `lif run` process, an admin command) would be; and the session is killed under the listener to
show it listens again and wakes every loop so nothing committed meanwhile waits for a tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from lif.db import connect, eventsourcing_env
from lif.delivery.wakeups import LogWakeups, log_channel
from tests.databases import fresh_database
from tests.polling import eventually

pytestmark = [pytest.mark.integration]


class Note(Aggregate):
    @event("Created")
    def __init__(self, text: str) -> None:
        self.text = text


class Notes(Application[UUID]):
    name = "intake"  # a fresh database has intake's event tables


async def _until(condition: Callable[[], bool], what: str) -> None:
    async def check() -> bool:
        return condition()

    await eventually(check, timeout=15.0, what=what)


async def test_a_commit_by_another_writer_wakes_the_watcher_and_a_lost_session_is_replaced(database_url: str) -> None:
    url = await fresh_database(database_url, "wakeups")
    reader = Notes(env=eventsourcing_env(url, "lif_intake"))
    writer = Notes(env=eventsourcing_env(url, "lif_intake"))
    wakeups = LogWakeups(url)
    woken: list[int] = []
    try:
        assert log_channel(reader) == "intake_events"
        assert wakeups.watch(reader, lambda: woken.append(1))
        wakeups.start()
        await _until(wakeups.listening.is_set, "the LISTEN session")
        await _until(lambda: len(woken) == 1, "the wake-up on connecting")  # what was committed before is read
        await asyncio.to_thread(writer.save, Note("first"))
        await _until(lambda: len(woken) == 2, "the wake-up by another writer's commit")



        admin = await connect(url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert killed == 1
        await _until(lambda: len(woken) >= 3 and wakeups.listening.is_set(), "a new session and its wake-up")
        before = len(woken)
        await asyncio.to_thread(writer.save, Note("second"))
        await _until(lambda: len(woken) == before + 1, "the wake-up through the new session")
    finally:
        await wakeups.stop()
        reader.close()
        writer.close()
