"""SPE chronologies: significance, who may submit, versions kept on correction, and the merged timeline."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from events.envelope import Actor
from events.orchestration import ChronologyEntryCorrected, ChronologyEntrySubmitted
from services.orchestration.chronology import is_significant
from services.orchestration.errors import InvalidInput, NotFound, NotPermitted
from services.orchestration.texts import MemoryTextStore, Texts
from tests.orchestration_samples import BM, LEAD, Case, Feed, Run, entry, no_significance, popo_app, recorded_events

POLICE = Actor(kind="person", id="police-author", role="reviewer")
STRANGER = Actor(kind="person", id="someone-else", role="reviewer")


def review() -> Run:
    app = popo_app()
    run = Run(app, Case(), MemoryTextStore())
    feed = Feed(app)
    decision = run.case.decision("initiate_scr")
    feed(decision)
    feed(run.case.appointment(decision))
    app.add_member(run.review_id, BM, "review_group", POLICE.id, "agency_author", "police")
    return run


def submit(run: Run, actor: Actor, agency: str, on: date, text: str, **yes: bool) -> UUID:
    t = run.pending()
    event = run.app.submit_chronology_entry(run.review_id, actor, agency, entry(t, on, text, **yes), texts=t)  # type: ignore[arg-type]
    assert isinstance(event, ChronologyEntrySubmitted)
    return event.payload.entry_id


@pytest.mark.parametrize("question", sorted(no_significance().model_dump()))
def test_one_yes_makes_a_significant_practice_event(question: str) -> None:
    assert is_significant(no_significance(**{question: True}))
    assert not is_significant(no_significance())


def test_an_entry_with_no_yes_is_flagged_not_significant() -> None:
    run = review()
    submit(run, BM, "education", date(2014, 9, 1), "Start of term")
    submit(run, BM, "education", date(2014, 9, 2), "Absence", pattern=True)
    plain, spe = run.app.timeline(run.review_id, Texts(run.store))
    assert (plain.significant, plain.flag) == (False, "not_significant")
    assert (spe.significant, spe.flag) == (True, None)
    events = [e for e in recorded_events(run.app) if isinstance(e, ChronologyEntrySubmitted)]
    assert [e.payload.significant for e in events] == [False, True]


def test_the_merged_timeline_is_by_date_then_agency_with_texts_from_the_store() -> None:
    run = review()
    submit(run, POLICE, "police", date(2015, 1, 5), "Police strategy discussion", statutory_event=True)
    submit(run, LEAD, "health", date(2015, 1, 5), "Health visit", significant_to_child=True)
    submit(run, BM, "local_authority", date(2014, 12, 1), "Referral received", changed_assessment=True)
    submit(run, LEAD, "health", date(2015, 1, 5), "Second health visit")
    timeline = run.app.timeline(run.review_id, Texts(run.store))
    assert [(e.event_date, e.agency, e.description) for e in timeline] == [
        (date(2014, 12, 1), "local_authority", "Referral received"),
        (date(2015, 1, 5), "health", "Health visit"),
        (date(2015, 1, 5), "health", "Second health visit"),
        (date(2015, 1, 5), "police", "Police strategy discussion"),
    ]
    assert timeline[0].principles.risk == "risk of Referral received"
    assert [e.recorded_by for e in timeline] == [BM.id, LEAD.id, LEAD.id, POLICE.id]


def test_a_correction_makes_a_new_version_and_keeps_the_history() -> None:
    run = review()
    first = submit(run, POLICE, "police", date(2015, 1, 5), "Strategy discussion")
    submit(run, POLICE, "police", date(2015, 1, 6), "Arrest")
    t = run.pending()
    corrected = run.app.correct_chronology_entry(
        run.review_id,
        POLICE,
        "police",
        first,
        entry(t, date(2015, 1, 7), "Strategy meeting", statutory_event=True),
        t.ref("reason", "Wrong date"),
        texts=t,
    )
    assert isinstance(corrected, ChronologyEntryCorrected) and corrected.payload.version == 2
    texts = Texts(run.store)
    history = run.app.entry_history(run.review_id, first, texts)
    assert [(v.version, v.event_date, v.description, v.significant) for v in history] == [
        (1, date(2015, 1, 5), "Strategy discussion", False),
        (2, date(2015, 1, 7), "Strategy meeting", True),
    ]
    assert history[1].correction_reason == "Wrong date"
    timeline = run.app.timeline(run.review_id, texts)
    assert [(e.description, e.version) for e in timeline] == [("Arrest", 1), ("Strategy meeting", 2)]


def test_who_may_submit_for_an_agency() -> None:
    run = review()
    submit(run, POLICE, "police", date(2015, 1, 5), "Own agency")  # the agency's author
    submit(run, LEAD, "probation", date(2015, 1, 5), "Any agency")  # a lead reviewer
    submit(run, BM, "cafcass", date(2015, 1, 5), "Any agency")  # the business manager
    with pytest.raises(NotPermitted, match="health"):
        submit(run, POLICE, "health", date(2015, 1, 5), "Another agency")
    with pytest.raises(NotPermitted):
        submit(run, STRANGER, "police", date(2015, 1, 5), "Not a member")
    assert len(run.app.require(run.review_id).chronology) == 3
    assert len(run.store.rows) == 6  # description and risk of the three accepted entries only


def test_corrections_are_checked_like_submissions() -> None:
    run = review()
    first = submit(run, POLICE, "police", date(2015, 1, 5), "Strategy discussion")
    t = run.pending()
    with pytest.raises(NotFound):
        run.app.correct_chronology_entry(run.review_id, POLICE, "health", first, entry(t, date(2015, 1, 5), "x"), None)
    with pytest.raises(NotFound):
        run.app.correct_chronology_entry(
            run.review_id, POLICE, "police", uuid4(), entry(t, date(2015, 1, 5), "x"), None
        )
    with pytest.raises(NotPermitted):
        run.app.correct_chronology_entry(
            run.review_id, STRANGER, "police", first, entry(t, date(2015, 1, 5), "x"), None
        )
    with pytest.raises(NotFound):
        run.app.entry_history(run.review_id, uuid4(), Texts(run.store))


def test_an_event_in_the_future_is_refused() -> None:
    run = review()
    with pytest.raises(InvalidInput) as caught:
        submit(run, BM, "police", date(2031, 1, 1), "Tomorrow")
    assert caught.value.field == "event_date"


def test_erased_texts_read_as_none_and_the_facts_stay() -> None:
    run = review()
    entry_id = submit(run, BM, "police", date(2015, 1, 5), "Strategy discussion", pattern=True)
    version = run.app.require(run.review_id).chronology[entry_id][0].payload
    run.store.erase(version.description.document_id)
    (erased,) = run.app.timeline(run.review_id, Texts(run.store))
    assert (erased.description, erased.principles.risk, erased.significant) == (
        None,
        "risk of Strategy discussion",
        True,
    )
