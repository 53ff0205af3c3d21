"""A large batch is recorded, not wedged: the event store's recorders on real PostgreSQL.

eventsourcing recorded in psycopg's pipeline mode, and a recording of about a megabyte waited for ever in
`Pipeline.sync` while the server waited to read (`ClientRead`), holding the log's table lock: a burst of
incidents over HTTP stopped decisioning for good. `lif.recorders` records without the pipeline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from lif.db import eventsourcing_env
from lif.recorders import AlsoRecorder
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]

EVENTS = 400
TEXT = "x" * 4000


class Note(Aggregate):
    """A case note of a few kilobytes, written many times (the shape of a big batch of recommendations)."""

    @event("Created")
    def __init__(self, text: str) -> None:
        self.texts = [text]

    @event("Added")
    def add(self, text: str) -> None:
        self.texts.append(text)


class Notes(Application[UUID]):
    name = "intake"  # a fresh database has intake's event tables (the migrations make them, not the library)


def test_a_recording_of_over_a_megabyte_commits_within_its_deadline(database_url: str) -> None:
    url = asyncio.run(fresh_database(database_url, "large_batch"))
    app = Notes(env=eventsourcing_env(url, "lif_intake"))
    assert isinstance(app.recorder, AlsoRecorder)
    notes = [Note(TEXT) for _ in range(EVENTS // 4)]
    for note in notes:
        for _ in range(3):
            note.add(f"{uuid4()} {TEXT}")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        recordings = pool.submit(app.save, *notes).result(timeout=60)
        assert len(recordings) == EVENTS
        assert app.repository.get(notes[-1].id).texts[-1].endswith(TEXT)
        last = app.recorder.max_notification_id()
        assert last is not None and last >= EVENTS
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        app.close()
