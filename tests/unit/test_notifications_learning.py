"""Learning collation's dates as obligations (in memory): a recommendation's action due date and its
re-audit, from the learning service's real events, with their timers and what meets or ends them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from icalendar import Calendar

from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from services.learning.application import LearningApplication
from services.notifications.application import NotificationsApplication
from services.notifications.directory import Target
from services.notifications.feeds import render
from services.notifications.learning_rules import ACTION_DUE, REAUDIT_DUE, load_rules
from services.notifications.obligations import obligation_id_for
from services.notifications.outbox.messages import timer_messages
from services.notifications.state import CaseState, Obligation
from services.web.case_pages import _due_obligations
from tests.learning_samples import BM, forum, popo_learning, recorded_events
from tests.notifications_samples import Clock, Notifier

DUE = date(2015, 9, 1)


class Board:
    """A forum recorded by the learning service, its events delivered to the notifications service as the
    follower of the learning log would."""

    def __init__(self, today: date = date(2015, 7, 1)) -> None:
        self.learning: LearningApplication = popo_learning()
        self.notifier = Notifier(Clock(today))
        self.delivered = 0
        source = forum()
        self.learning.record_source(BM, source, "hash")
        tracked = next(e for e in recorded_events(self.learning) if e.event_type == "learning.recommendation_tracked")
        self.recommendation_id: UUID = tracked.payload.recommendation_id  # type: ignore[attr-defined]
        self.subject = tracked.case_id  # a forum's events travel under its own source id: it has no case
        self.keys = 0

    def sync(self) -> list[EventEnvelope]:
        """Deliver what the learning log holds beyond what was delivered."""
        events = recorded_events(self.learning)[self.delivered :]
        self.delivered += len(events)
        for event in events:
            self.notifier.deliver(event)
        return events

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def action(self, due: date = DUE) -> UUID:
        recorded = self.learning.add_action(self.recommendation_id, BM, "health", due, "Audit files.", self.key(), "h")
        self.sync()
        return UUID(recorded.event["payload"]["action_id"])

    def update(self, action_id: UUID, on: date, status: Any = None, due: date | None = None) -> None:
        self.learning.update_action(
            self.recommendation_id, action_id, BM, status=status, due=due, on=on, key=self.key(), hashed="h"
        )
        self.sync()

    def reaudit(self, due: date) -> UUID:
        recorded = self.learning.schedule_reaudit(self.recommendation_id, BM, due, self.key(), "h")
        self.sync()
        return UUID(recorded.event["payload"]["reaudit_id"])

    def evidence(self, on: date, reaudit_id: UUID | None, result: Any = "evidenced") -> None:
        self.learning.record_impact(self.recommendation_id, BM, on, result, "Seen.", reaudit_id, self.key(), "h")
        self.sync()

    @property
    def state(self) -> CaseState:
        state = self.notifier.app.case_state(self.subject)
        assert state is not None
        return state

    def obligation(self, kind: str, ref: UUID) -> Obligation:
        return self.state.obligations[obligation_id_for(self.subject, kind, str(ref))]

    def tick(self, day: date) -> list[EventEnvelope]:
        return self.notifier.tick(day, [self.subject])


def test_an_action_due_date_is_an_obligation_of_the_recommendation_recording_what_produced_it() -> None:
    board = Board()
    action_id = board.action()
    action = board.obligation(ACTION_DUE, action_id)
    source_event = next(e for e in recorded_events(board.learning) if e.event_type == "learning.action_due_set")
    assert (action.kind, action.ref, action.due, action.state) == (ACTION_DUE, str(action_id), DUE, "open")
    assert (action.rule_pack, action.schedule) == ("learning@1.0.0", "learning@1.0.0")
    assert action.source_event_id == source_event.event_id
    assert action.answering_roles == ["business_manager"]
    assert action.recommendation_id == board.recommendation_id
    view = action.view(date(2015, 7, 1))
    assert view["recommendation_id"] == str(board.recommendation_id)
    assert "case_id" not in view  # the obligation names no case


def test_a_new_due_date_moves_it_and_done_meets_it_late_or_in_time() -> None:
    board = Board()
    action_id = board.action()
    board.update(action_id, date(2015, 8, 1), due=date(2015, 10, 1))
    action = board.obligation(ACTION_DUE, action_id)
    assert [m.due for m in action.history] == [DUE, date(2015, 10, 1)]
    board.update(action_id, date(2015, 9, 15), status="in_progress")
    assert board.obligation(ACTION_DUE, action_id).state == "open"  # in progress is not done
    board.update(action_id, date(2015, 9, 20), status="done")
    action = board.obligation(ACTION_DUE, action_id)
    assert (action.state, action.met_on, action.met_by_event_type) == (
        "met",
        date(2015, 9, 20),
        "learning.action_status_changed",
    )
    assert action.view(date(2015, 9, 20))["late"] is False


def test_a_cancelled_action_is_dropped_and_never_reminded() -> None:
    board = Board()
    action_id = board.action()
    board.update(action_id, date(2015, 8, 1), status="cancelled")
    action = board.obligation(ACTION_DUE, action_id)
    cancelled = (action.state, action.cancelled_reason, action.cancelled_on)
    assert cancelled == ("cancelled", "action_cancelled", date(2015, 8, 1))
    fired = [e for day in range(0, 60) for e in board.tick(date(2015, 8, 2) + timedelta(days=day))]
    assert fired == []


def test_an_action_due_date_passing_unmet_is_escalated_once_to_the_chair_and_business_manager() -> None:
    board = Board()
    board.action()
    week = board.tick(DUE - timedelta(days=7))
    assert [(e.event_type, e.payload.step.step_id) for e in week] == [("notifications.reminder_due", "before_7d")]
    assert week[0].payload.step.notify_roles == ["business_manager"]
    breach = board.tick(DUE + timedelta(days=1))
    assert [(e.event_type, e.payload.kind) for e in breach] == [("notifications.obligation_breached", ACTION_DUE)]
    assert set(breach[0].payload.step.notify_roles) == {"chair", "business_manager"}
    assert breach[0].case_id == board.subject  # travels under the forum's own id, as the learning events do
    assert board.tick(DUE + timedelta(days=1)) == []  # nothing twice
    assert board.tick(DUE + timedelta(days=3)) == []  # weekly: nothing until a week after the first
    again = board.tick(DUE + timedelta(days=8))
    assert [e.payload.fired_for for e in again] == [DUE + timedelta(days=8)]


def test_an_action_done_in_time_is_not_escalated() -> None:
    board = Board()
    action_id = board.action()
    board.tick(DUE - timedelta(days=7))
    board.update(action_id, DUE - timedelta(days=2), status="done")
    fired = [e for day in range(-1, 30) for e in board.tick(DUE + timedelta(days=day))]
    assert fired == []


def test_a_reaudit_is_met_by_the_impact_evidence_that_names_it_whatever_its_result() -> None:
    board = Board()
    first = board.reaudit(date(2016, 3, 1))
    second = board.reaudit(date(2016, 9, 1))
    assert board.obligation(REAUDIT_DUE, first).recommendation_id == board.recommendation_id
    board.evidence(date(2016, 2, 1), None)  # evidence naming no re-audit answers none
    assert board.obligation(REAUDIT_DUE, first).state == "open"
    board.evidence(date(2016, 3, 2), first, result="not_evidenced")
    met = board.obligation(REAUDIT_DUE, first)
    assert (met.state, met.met_on, met.met_by_event_type) == ("met", date(2016, 3, 2), "learning.impact_evidenced")
    assert met.view(date(2016, 3, 2))["late"] is True
    assert board.obligation(REAUDIT_DUE, second).state == "open"
    assert set(load_rules("learning@1.0.0").kinds[REAUDIT_DUE].met_by_results) == {
        "evidenced",
        "partly_evidenced",
        "not_evidenced",
    }


def test_a_redelivered_learning_event_changes_nothing() -> None:
    board = Board()
    board.action()
    before = len(board.notifier.events())
    for event in recorded_events(board.learning):
        assert board.notifier.redeliver(event) is False
    assert len(board.notifier.events()) == before


def test_a_learning_obligations_messages_name_no_case_and_the_due_page_no_case_link() -> None:
    board = Board()
    board.action()
    breach = board.tick(DUE + timedelta(days=1))[0]
    queued = timer_messages(breach, [Target("rcp-1", "email")])  # type: ignore[arg-type]
    assert queued[0]["payload"]["context"]["case_id"] == ""
    assert queued[0]["payload"]["context"]["kind"] == ACTION_DUE
    obligation = next(iter(board.state.obligations.values()))
    item = {"lscb": "BOL", "case_id": None, **obligation.view(DUE + timedelta(days=1))}
    rows = _due_obligations([item], DUE + timedelta(days=1))
    assert rows == [
        {
            "case_id": None,
            "recommendation_id": str(board.recommendation_id),
            "name": ACTION_DUE,
            "due": DUE.isoformat(),
            "breached": True,
            "met_on": None,
            "status": "breached",
            "due_soon": False,
        }
    ]


def test_a_version_1_obligation_cancelled_reads_as_version_2() -> None:
    board = Board()
    action_id = board.action()
    board.update(action_id, date(2015, 8, 1), status="cancelled")
    cancelled = board.notifier.of_type("notifications.obligation_cancelled")[0]
    document = cancelled.model_dump(mode="json")
    assert document["schema_version"] == 2
    old = {**document, "schema_version": 1, "payload": {**document["payload"], "reason": "superseded"}}
    parsed = parse_event(old)
    assert parsed.schema_version == 2 and parsed.payload.reason == "superseded"  # type: ignore[attr-defined]


def test_a_batch_of_learning_events_is_answered_as_one_at_a_time() -> None:
    board = Board()
    action_id = board.action()
    board.update(action_id, date(2015, 8, 1), due=date(2015, 10, 1))
    board.update(action_id, date(2015, 9, 1), status="done")
    reaudit = board.reaudit(date(2016, 3, 1))
    board.evidence(date(2016, 3, 2), reaudit)
    events = recorded_events(board.learning)
    batch = [Delivered("log:learning", position, event) for position, event in enumerate([*events, events[2]], 1)]
    batched = NotificationsApplication(env={}, today=board.notifier.clock)
    assert batched.handle_batch(batch) is True
    state = batched.case_state(board.subject)
    assert state is not None
    views = {o.kind: (o.state, o.due, o.met_on, len(o.history)) for o in state.obligations.values()}
    assert views == {
        o.kind: (o.state, o.due, o.met_on, len(o.history)) for o in board.state.obligations.values()
    }
    assert views[ACTION_DUE] == ("met", date(2015, 10, 1), date(2015, 9, 1), 2)
    assert batched.handle_batch(batch) is False  # redelivered: nothing new


def test_a_learning_obligation_in_a_calendar_feed_names_its_recommendation() -> None:
    board = Board()
    board.action()
    obligation = next(iter(board.state.obligations.values()))
    item = {"lscb": "BOL", "case_id": None, **obligation.view(date(2015, 7, 1))}
    (event,) = Calendar.from_ical(render([item], "LIF obligations: BOL")).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Learning action due (BOL)"
    assert str(event["DESCRIPTION"]).startswith(f"Recommendation {board.recommendation_id}, board BOL.")
