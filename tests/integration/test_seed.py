"""`lif bench seed` (lif.seed) on real PostgreSQL: valid contract events across the boards, in the services'
own logs, with the followers' positions recorded, and exactly what a rebuild applies."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from events.intake import IncidentReceived
from events.orchestration import ReviewProcessOpened
from events.registry import parse_event
from lif.composition import make_decisioning, make_orchestration, make_projector, open_logs
from lif.db import close_pool
from lif.delivery.log import log_head, read_log
from lif.runtime.embedded import build_embedded
from lif.seed import DECISIONING_FOLLOWER, INTAKE_FOLLOWER, seed_history
from projections.rebuild import rebuild_from_logs
from services.decisioning.domain import ThresholdCase
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]

KEY = b"seed-test-pseudonym-key-0123456789"


def contract_events(url: str) -> dict[str, list[object]]:
    events: dict[str, list[object]] = {}
    for name, app in open_logs(url):
        try:
            events[name] = [parse_event(item.envelope) for item in read_log(app, 0, 100_000)]
        finally:
            app.close()
    return events


async def test_seeding_writes_valid_multi_board_history_that_a_rebuild_applies_in_full(database_url: str) -> None:
    url = await fresh_database(database_url, "seed")
    result = await asyncio.to_thread(seed_history, url, KEY, 160, batch_cases=30, templates=25)  # 35+ copies

    logged = await asyncio.to_thread(contract_events, url)
    every = [event for events in logged.values() for event in events]
    assert result.events >= 160
    assert len(every) == result.events
    assert Counter(e.event_type for e in every) == result.by_type  # type: ignore[attr-defined]
    assert result.by_type["intake.incident_received"] == result.cases
    assert result.by_type["decisioning.recommendation_recorded"] == result.cases
    assert result.by_type["decisioning.chair_decision_recorded"] > 0
    assert any(t.startswith("orchestration.") for t in result.by_type)
    assert len(result.by_board) >= 12
    assert len({e.case_id for e in logged["intake"]}) == result.cases  # type: ignore[attr-defined]

    # The embedded followers resume after the seeded history (its last contract event) instead of handling it again.
    decisioning = await asyncio.to_thread(make_decisioning, url)
    orchestration = await asyncio.to_thread(make_orchestration, url)
    try:
        # A copied case is a case of its own everywhere: its aggregates are found by the ids the services derive.
        copied = logged["intake"][-1]
        assert isinstance(copied, IncidentReceived)
        threshold = decisioning.repository.get(ThresholdCase.id_for(copied.case_id))
        assert threshold.case_id == copied.case_id
        assert threshold.incident is not None and threshold.incident["event_id"] == str(copied.event_id)
        review_ids = {e.payload.review_id for e in logged["orchestration"] if isinstance(e, ReviewProcessOpened)}
        assert all(orchestration.repository.get(review_id) for review_id in review_ids)
        assert len({e.event_id for events in logged.values() for e in events}) == result.events
        logs = dict(await asyncio.to_thread(open_logs, url))
        assert decisioning.position(INTAKE_FOLLOWER) == log_head(logs["intake"])
        last_decisioning = read_log(logs["decisioning"], 0, 100_000)[-1].notification_id
        assert orchestration.position(DECISIONING_FOLLOWER) == last_decisioning
        for app in logs.values():
            app.close()
    finally:
        decisioning.close()
        orchestration.close()

    projector = await make_projector(url)
    logs_list = await asyncio.to_thread(open_logs, url)
    try:
        applied = await rebuild_from_logs(projector, logs_list, progress=False)
        recommended = await projector.pool.fetchval(
            "SELECT count(*) FROM lif_projections.cases WHERE recommendation IS NOT NULL"
        )
    finally:
        for _, app in logs_list:
            app.close()
        await close_pool(projector.pool)
    assert applied == result.events
    assert recommended == result.cases

    # After the seed and a rebuild, none of lif run's followers has anything left to process (notifications',
    # learning's and decisioning's followers of the logs the seed derives nothing for start at their heads).
    system = await build_embedded(url, KEY, None)
    try:
        left = {f"{f.parking.name} <- {f.position_key}": await f.catch_up() for f in system.followers}
    finally:
        await system.stop()
    assert left == dict.fromkeys(left, 0)
