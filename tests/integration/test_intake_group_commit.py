"""Intake records concurrent submissions together on a real PostgreSQL: one transaction holds the new cases'
events and their summaries, and each submission still gets the answer it would get on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from events.envelope import Actor
from events.incidents import IncidentNotification
from lif.composition import INTAKE_PERSONAL_SCHEMA, INTAKE_SCHEMA, make_intake
from services.intake.application import IntakeApplication, Submission, SubmitResult, UnknownBoardError
from tests.databases import fetch, fresh_database
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]
ACTOR = Actor(kind="system", id="test", role="integration")


@pytest.fixture
async def intake(database_url: str) -> AsyncIterator[tuple[IntakeApplication, str]]:
    url = await fresh_database(database_url, "intakegc")
    app = await asyncio.to_thread(make_intake, url, b"group-commit-test-key-0123456789ab")
    yield app, url
    await asyncio.to_thread(app.personal.close)
    await asyncio.to_thread(app.close)


def submission(doc: dict[str, Any]) -> Submission:
    return Submission(IncidentNotification.model_validate(doc), ACTOR, "http")


async def test_submissions_together_are_one_transaction_with_their_summaries_and_each_gets_its_answer(
    intake: tuple[IntakeApplication, str],
) -> None:
    app, url = intake
    docs = [notification(summary=f"summary {i}") for i in range(3)]
    other_content = {**docs[0], "summary": "the same source with other content"}
    unknown = submission(notification())
    unknown = unknown._replace(notification=unknown.notification.model_copy(update={"lscb": "XXX"}))
    batch = [*(submission(d) for d in docs), submission(docs[0]), submission(other_content), unknown]

    results = await asyncio.to_thread(app.submit_many, batch)

    assert [r.status for r in results[:5] if isinstance(r, SubmitResult)] == [
        "created",
        "created",
        "created",
        "duplicate",
        "conflict",
    ]
    assert isinstance(results[5], UnknownBoardError)
    events = await fetch(url, f'SELECT xmin::text AS tx FROM "{INTAKE_SCHEMA}".intake_events')
    texts = await fetch(url, f'SELECT xmin::text AS tx, body FROM "{INTAKE_PERSONAL_SCHEMA}".details')
    assert len(events) == 3 and sorted(t["body"] for t in texts) == ["summary 0", "summary 1", "summary 2"]
    assert len({row["tx"] for row in [*events, *texts]}) == 1  # written by one transaction


async def test_a_case_opened_meanwhile_by_another_writer_leaves_nothing_of_the_batch_then_each_is_answered(
    intake: tuple[IntakeApplication, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, url = intake
    first, second = notification(summary="first"), notification(summary="second")
    await asyncio.to_thread(app.submit, submission(first).notification, ACTOR, "http")
    racing = {**first, "summary": "a rival text that must not be kept"}
    looked_up: list[object] = []
    real_existing = app._existing

    def not_seen_the_first_time(case_id: Any) -> Any:  # as if the other writer committed just after the check
        looked_up.append(case_id)
        return None if len(looked_up) == 1 else real_existing(case_id)

    monkeypatch.setattr(app, "_existing", not_seen_the_first_time)
    results = await asyncio.to_thread(app.submit_many, [submission(racing), submission(second)])

    assert [r.status for r in results if isinstance(r, SubmitResult)] == ["conflict", "created"]
    bodies = sorted(row["body"] for row in await fetch(url, f'SELECT body FROM "{INTAKE_PERSONAL_SCHEMA}".details'))
    assert bodies == ["first", "second"]  # the failed transaction kept no text
    events = await fetch(url, f'SELECT count(*) AS n FROM "{INTAKE_SCHEMA}".intake_events')
    assert events[0]["n"] == 2
