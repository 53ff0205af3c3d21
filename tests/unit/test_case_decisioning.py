"""The pure folds behind the read model and the audit: case decisioning state, timeline, timeline text."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

import pytest

from events.envelope import EventEnvelope
from lif.erasable import text_sha256
from projections.audit import build_timeline, document_refs
from projections.audit_text import format_timeline
from projections.case_decisioning import CASE_LEVEL, DeadlineState, breached, fold_case
from tests.decision_events import INTENSIVE, TARGETED, CaseStory

T1_DUE = date(2015, 4, 10)  # the sample notification is notified on 2015-03-10


def full_story() -> tuple[CaseStory, list[EventEnvelope]]:
    """A statutory SCR: referral, decision, a superseding decision, appointment, notice for each, themes."""
    story = CaseStory()
    rec = story.recommendation()
    referral = story.referral(date(2015, 3, 12), reason="Referred after the strategy meeting.")
    first = story.decision(rec, "no_review", date(2015, 4, 1), rationale="No new learning expected.")
    second = story.decision(
        rec, "initiate_scr", date(2015, 4, 20), rationale="Peer challenge.", supersedes=first, methodology=INTENSIVE
    )
    appointed = story.appoint(second, "rev-1", date(2015, 4, 25))
    first_notice = story.notice(first)
    first_sent = story.sent(first_notice, date(2015, 4, 10))
    second_notice = story.notice(second)
    themes = story.themes("multi_agency_longer_term")
    return story, [rec, referral, first, second, appointed, first_notice, first_sent, second_notice, themes]


def test_the_fold_of_a_full_story() -> None:
    _, events = full_story()
    rec, _, first, second, _, first_notice, _, second_notice, _ = events
    state = fold_case(events)

    assert state.recommendation == rec.payload.recommendation  # type: ignore[attr-defined]
    assert state.considered_for_scr is True
    assert state.referred_on == date(2015, 3, 12)
    assert state.decisions_count == 2
    assert state.decision is not None
    assert (state.decision["event_id"], state.decision["decision"]) == (str(second.event_id), "initiate_scr")
    assert state.decision["supersedes"] == str(first.event_id)
    assert state.decision["methodology"]["methodology"] == "intensive"
    assert [r["reviewer_id"] for r in state.lead_reviewers] == ["rev-1"]
    assert [(n["notice_id"], n["sent_on"]) for n in state.panel_notices] == [
        (str(first_notice.payload.notice_id), "2015-04-10"),  # type: ignore[attr-defined]
        (str(second_notice.payload.notice_id), None),  # type: ignore[attr-defined]
    ]
    assert state.learning_themes is not None and state.learning_themes["themes"] == ["multi_agency_longer_term"]
    assert sorted(state.deadlines, key=lambda d: (d.due, d.ref)) == [
        DeadlineState("chair_decision_due", CASE_LEVEL, T1_DUE, first.recorded_at, date(2015, 4, 1)),
        DeadlineState(
            "panel_notice_due",
            str(first.event_id),
            date(2015, 4, 15),
            events[6].recorded_at,
            date(2015, 4, 10),
        ),
        DeadlineState("panel_notice_due", str(second.event_id), date(2015, 5, 4)),
    ]


def test_the_fold_does_not_depend_on_arrival_order_or_duplicates() -> None:
    _, events = full_story()
    expected = fold_case(events)
    shuffler = random.Random(3)
    for _ in range(25):
        arrival = events + events[:3]
        shuffler.shuffle(arrival)
        assert fold_case(arrival) == expected


def test_no_decision_leaves_t1_open_and_no_notice_deadline() -> None:
    story = CaseStory()
    state = fold_case([story.recommendation()])
    assert state.decision is None and state.decisions_count == 0
    assert state.deadlines == [DeadlineState("chair_decision_due", CASE_LEVEL, T1_DUE)]
    assert state.considered_for_scr is True  # the statutory test holds for the sample


def test_a_referral_or_a_decision_makes_a_case_below_the_test_considered_for_an_scr() -> None:
    story = CaseStory(facts__outcome="harmed", facts__working_together_concern="yes")
    rec = story.recommendation()
    assert rec.payload.recommendation.statutory_scr is False
    assert fold_case([rec]).considered_for_scr is False
    assert fold_case([rec, story.referral(date(2015, 3, 20))]).considered_for_scr is True
    discretionary = story.decision(rec, "initiate_scr", date(2015, 4, 2), considered_for_scr=True, methodology=TARGETED)
    assert fold_case([rec, discretionary]).considered_for_scr is True


def test_a_notice_sent_before_it_was_prepared_still_meets_its_deadline() -> None:
    story = CaseStory()
    rec = story.recommendation()
    decision = story.decision(rec, "initiate_scr", date(2015, 4, 1), methodology=INTENSIVE)
    notice = story.notice(decision)
    sent = story.sent(notice, date(2015, 4, 20))
    alone = fold_case([rec, decision, sent])
    assert [d.met_on for d in alone.deadlines if d.name == "panel_notice_due"] == [None]
    late = next(d for d in fold_case([sent, decision, notice, rec]).deadlines if d.name == "panel_notice_due")
    assert (late.due, late.met_on) == (date(2015, 4, 15), date(2015, 4, 20))


MET = datetime(2015, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("met_on", "today", "expected"),
    [
        (None, date(2015, 4, 10), False),  # due today: not yet
        (None, date(2015, 4, 11), True),  # open and past due
        (date(2015, 4, 10), date(2016, 1, 1), False),  # met on the day
        (date(2015, 4, 11), date(2015, 4, 11), True),  # met late stays a breach
        (date(2015, 4, 1), date(2015, 3, 1), False),
    ],
)
def test_breached(met_on: date | None, today: date, expected: bool) -> None:
    assert breached(T1_DUE, None if met_on is None else MET, met_on, today) is expected


def test_the_timeline_shows_each_event_with_its_documents_checked() -> None:
    story, events = full_story()
    texts: dict = dict(story.texts)
    refs = document_refs(events)
    assert len(refs) == 5  # referral reason, two rationales, two notices
    rationale = events[2].payload.rationale  # type: ignore[attr-defined]
    texts[rationale.document_id] = None  # erased
    reason = events[1].payload.reason  # type: ignore[attr-defined]
    texts[reason.document_id] = "Someone changed this text."
    timeline = build_timeline(reversed(events), texts)

    assert [e["kind"] for e in timeline] == [
        "recommendation",
        "scr_panel_referral",
        "decision",
        "decision",
        "lead_reviewer_appointed",
        "panel_notice_prepared",
        "panel_notice_sent",
        "panel_notice_prepared",
        "learning_themes_tagged",
    ]
    rec, referral, first, second = timeline[:4]
    assert rec["facts"]["outcome"] == "seriously_harmed"
    assert rec["rules_fired"][:3] == ["A1", "A3", "A4"] and rec["rule_pack"] == "nwlif-2015"
    assert referral["reason"]["status"] == "altered" and referral["reason"]["verified"] is False
    assert (first["rationale"]["text"], first["rationale"]["status"]) == (None, "erased")
    assert second["rationale"] == {
        "document_id": str(events[3].payload.rationale.document_id),  # type: ignore[attr-defined]
        "sha256": text_sha256("Peer challenge."),
        "text": "Peer challenge.",
        "verified": True,
        "status": "verified",
    }
    assert (second["supersedes"], second["departs_from_recommendation"]) == (first["event_id"], False)
    assert second["rules_fired"] == ["D1"] and second["recommendation_seen"]["review_type"] == "serious_case_review"
    assert first["actor"] == {"kind": "person", "id": "chair-token", "role": "chair"}
    unread = build_timeline(events, {})
    assert unread[2]["rationale"]["status"] == "not_read" and unread[2]["rationale"]["text"] is None


def test_the_timeline_text_has_one_block_per_entry() -> None:
    story, events = full_story()
    timeline = {"case_id": str(story.case_id), "lscb": "BOL", "entries": build_timeline(events, story.texts)}
    text = format_timeline(timeline)
    blocks = text.strip().split("\n\n")
    assert len(blocks) == 1 + len(events)
    assert f"case {story.case_id} (board BOL): 9 events (decisioning)" in blocks[0]
    assert blocks[1].startswith("[1] 2015-03-10 09:01:00 UTC  recommendation")
    assert "rule pack nwlif-2015@" in blocks[1] and "rules A1, A3, A4" in blocks[1]
    assert "Chair decided no_review on 2015-04-01, departs from the recommendation (serious_case_review)" in blocks[3]
    assert "rationale: verified" in blocks[3] and "  | No new learning expected." in blocks[3]
    assert "supersedes decision" in blocks[4] and "rules D1" in blocks[4]
    assert "notice document: verified" in blocks[6] and "National Panel notice</p>" not in text
    for line in itertools.chain.from_iterable(block.splitlines()[1:] for block in blocks[1:]):
        assert line.startswith("    ")


def test_the_timeline_text_dates_an_event_recorded_for_a_date_by_that_date() -> None:
    """A review closed on 2015-08-12 (stored at London midnight, 23:00 UTC the day before) and a Chair's
    decision (stored at noon UTC) read as their business dates; an event of an instant keeps its time."""
    from projections.audit_text import format_entry

    actor = {"kind": "person", "id": "bm", "role": "business_manager"}
    closed = {
        "kind": "review_closed",
        "occurred_at": "2015-08-11T23:00:00+00:00",
        "recorded_at": "2026-12-02T06:55:13+00:00",
        "actor": actor,
        "payload": {"closed_on": "2015-08-12"},
    }
    text = format_entry(32, closed)
    assert text.startswith("[32] 2015-08-12 (business date)  review_closed")
    assert "review closed on 2015-08-12" in text and "2015-08-11" not in text
    decided = closed | {"kind": "stage_held", "occurred_at": "2015-03-18T12:00:00+00:00"}
    decided["payload"] = {"stage_id": "scoping", "held_on": "2015-03-18"}
    assert format_entry(1, decided).startswith("[1] 2015-03-18 (business date)  stage_held")
    instant = closed | {"occurred_at": "2015-08-12T14:32:00+00:00"}
    assert format_entry(2, instant).startswith("[2] 2015-08-12 14:32:00 UTC  review_closed")
