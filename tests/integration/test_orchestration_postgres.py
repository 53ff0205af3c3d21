"""Review orchestration on real PostgreSQL: the event store with tracking records, and the erasable store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from events.orchestration import Duration
from lif.db import eventsourcing_env
from lif.delivery.delivered import Delivered
from lif.erasable import ErasableStore
from services.orchestration.application import OrchestrationApplication
from services.orchestration.commands import StageOutcome
from services.orchestration.errors import ConcurrentChange
from services.orchestration.texts import Texts
from tests.databases import fresh_database
from tests.orchestration_samples import BM, TODAY, Case, Feed, recorded_events, run_macr, run_scr

pytestmark = [pytest.mark.integration]
SCHEMA = "lif_orchestration"
PERSONAL = "lif_orchestration_personal"


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "orchestration"))


def open_app(url: str) -> OrchestrationApplication:
    return OrchestrationApplication(env=eventsourcing_env(url, SCHEMA), today=lambda: TODAY)


@pytest.fixture(scope="module")
def store(url: str) -> Iterator[ErasableStore]:
    erasable = ErasableStore(url, PERSONAL)
    yield erasable
    erasable.close()


@pytest.fixture
def app(url: str) -> Iterator[OrchestrationApplication]:
    application = open_app(url)
    yield application
    application.close()


def test_a_full_scr_is_stored_and_reads_back_after_a_restart(
    url: str, app: OrchestrationApplication, store: ErasableStore
) -> None:
    run = run_scr(app, "targeted", store=store)
    events = [e for e in recorded_events(app) if e.case_id == run.case.case_id]
    again = open_app(url)
    try:
        state = again.require(run.review_id)
        assert (state.status, state.plan_id) == ("closed", "scr_targeted")
        assert state.event_count == len(events)
        timeline = again.timeline(run.review_id, Texts(store))
        assert [e.description for e in timeline] == [
            "Call to the home (date corrected)",
            "Health visit",
            "Strategy meeting",
        ]
        summary = again.learning_summary(run.review_id, Texts(store))
        assert summary is not None and summary.summary is not None
        assert summary.summary.learning_about_the_case.good_practice == "The school nurse escalated promptly."
        assert summary.summary.lscb_area == "Bolton"
    finally:
        again.close()


def test_texts_live_in_the_erasable_store_and_erasing_them_keeps_the_history(
    url: str, app: OrchestrationApplication, store: ErasableStore
) -> None:
    run = run_macr(app, store=store)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f'SELECT kind, count(*) FROM "{PERSONAL}".details WHERE case_id = %s GROUP BY kind ORDER BY kind',
            (run.case.case_id,),
        ).fetchall()
        assert rows == [("final_report", 1), ("learning_summary", 1)]
        conn.execute(
            f'UPDATE "{PERSONAL}".details SET body = NULL, erased_at = now() WHERE case_id = %s', (run.case.case_id,)
        )
    summary = app.learning_summary(run.review_id, Texts(store))
    assert summary is not None
    assert (summary.summary, summary.reference_code, summary.themes) == (
        None,
        "BOL-MACR-2015-02",
        ["multi_agency_incidents_and_crises", "human_judgement"],
    )
    assert app.require(run.review_id).status == "closed"
    log = json.dumps([e.model_dump(mode="json") for e in recorded_events(app)])
    assert "MACR overview report." not in log


def test_tracking_makes_redelivery_and_republication_no_ops(url: str, app: OrchestrationApplication) -> None:
    case = Case()
    rec = case.recommendation()
    key = "kafka:lif.decisioning.v1:2"
    assert app.handle(Delivered(key, 41, rec)) is True
    other = open_app(url)  # a second worker on the same store
    try:
        assert other.handle(Delivered(key, 41, rec)) is False
        assert other.handle(Delivered(key, 42, rec)) is False
        assert other.position(key) == 42
    finally:
        other.close()
    assert app.position(key) == 42
    assert [e.event_type for e in recorded_events(app) if e.case_id == case.case_id] == [
        "orchestration.review_process_opened",
        "orchestration.review_plan_started",
    ]


def test_a_command_racing_another_is_refused_as_a_concurrent_change(
    url: str, app: OrchestrationApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Case()
    Feed(app, "log:race")(case.recommendation())
    other = open_app(url)
    try:
        stale = other._process(case.review_id)  # read before the first writer commits
        monkeypatch.setattr(other, "_process", lambda review_id: stale)
        app.record_stage_held(case.review_id, BM, "initial_meeting", date(2015, 3, 16))
        with pytest.raises(ConcurrentChange, match="retry"):
            other.schedule_stage(
                case.review_id, BM, "spe_chronologies", date(2015, 3, 20), Duration(amount=1, unit="days")
            )
    finally:
        other.close()
    state = app.require(case.review_id)
    assert state.stages["spe_chronologies"].schedule is None
    assert state.stages["initial_meeting"].held_on == date(2015, 3, 16)


def test_a_command_that_loses_a_race_leaves_none_of_its_text_behind(
    url: str, app: OrchestrationApplication, store: ErasableStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Case()
    Feed(app, "log:race-text")(case.recommendation())
    app.record_stage_held(case.review_id, BM, "initial_meeting", date(2015, 3, 16))
    other = open_app(url)
    try:
        stale = other._process(case.review_id)  # read before the winner commits
        monkeypatch.setattr(other, "_process", lambda review_id: stale)
        texts = Texts(store)
        winner_texts = texts.pending(case.lscb, case.case_id)
        winner = StageOutcome("completed", [], 0, winner_texts.ref("stage_note", "the accepted note"))
        app.record_stage_outcome(case.review_id, BM, "initial_meeting", winner, texts=winner_texts)
        loser_texts = texts.pending(case.lscb, case.case_id)
        loser_ref = loser_texts.ref("stage_note", "the refused note")
        loser = StageOutcome("completed", [], 0, loser_ref)
        with pytest.raises(ConcurrentChange):
            other.record_stage_outcome(case.review_id, BM, "initial_meeting", loser, texts=loser_texts)
    finally:
        other.close()
    assert store.get(loser_ref.document_id, case.lscb) is None
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT body FROM {PERSONAL}.details WHERE case_id = %s", (case.case_id,)).fetchall()
    bodies = [row[0] for row in rows]
    assert bodies == ["the accepted note"]
