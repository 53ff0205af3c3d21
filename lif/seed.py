"""A realistic multi-board history, written in bulk into the services' event stores (for benchmarks).

Going through HTTP and the consumers would take as long as the thing being measured, so this builds the
same aggregates and contract events the services build (intake's `IncidentReceived`, decisioning's
`RecommendationRecorded` from the real rule packs, some of the Chair's decisions, and orchestration's
answers to them from its real reaction rules) and writes each batch of cases straight into each service's
stored-events table with one COPY (under the table lock eventsourcing takes, with notification ids from the
table's own sequence, and the tracking record a follower of the upstream log would have written), instead
of eventsourcing's row-by-row insert. A `lif run` or a rebuild afterwards sees an ordinary history: the
followers resume after it, nothing is handled twice.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Tracking

from events.decisioning import RecommendationRecorded
from events.envelope import Actor, EventEnvelope
from events.incidents import IncidentNotification
from events.intake import IncidentReceived
from events.registry import parse_event
from lif.boards import boards
from lif.composition import (
    close_board_actions,
    make_board_actions,
    make_decisioning,
    make_intake,
    make_orchestration,
    summaries_in_process,
)
from services.decisioning.application import DecisioningApplication
from services.decisioning.board_actions import BoardActions, DecisionCommand
from services.decisioning.domain import ThresholdCase
from services.intake.application import received_event
from services.intake.domain import IncidentCase
from services.orchestration.domain import CaseWatch, ReviewProcess
from services.orchestration.envelopes import wire
from services.orchestration.upstream import UPSTREAM_EVENTS, react

INTAKE_FOLLOWER = "log:intake"
DECISIONING_FOLLOWER = "log:decisioning"
"""The position keys of the embedded followers (lif.delivery.follow) that consume those logs."""

SEED_CHAIR = Actor(kind="person", id="seed-chair", role="chair")
DECISION_SHARE = 0.15
"""About this share of cases gets a Chair's decision (agreeing with the recommendation)."""

_AGENCIES = ("local_authority", "police", "health", "education")
_FACTS = {
    "abuse_or_neglect": (("known", 2), ("suspected", 3), ("not_suspected", 5)),
    "outcome": (("died", 1), ("seriously_harmed", 3), ("harmed", 3), ("not_harmed", 3)),
    "working_together_concern": (("yes", 3), ("no", 4), ("unclear", 3)),
}
_DECISIONS: tuple[DecisionCommand, ...] = (
    DecisionCommand("initiate_scr", methodology="targeted", criteria_held=("D4",)),
    DecisionCommand("commission_macr"),
    DecisionCommand("request_iar"),
    DecisionCommand("embedding_review"),
    DecisionCommand("no_review"),
)


@dataclass
class SeedResult:
    """What was written: contract events (what a rebuild applies) by type and board, and how long it took."""

    events: int = 0
    cases: int = 0
    seconds: float = 0.0
    by_type: Counter[str] = field(default_factory=Counter)
    by_board: Counter[str] = field(default_factory=Counter)

    def count(self, envelope: EventEnvelope) -> None:
        self.events += 1
        self.by_type[envelope.event_type] += 1
        self.by_board[envelope.lscb] += 1


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def random_notification(rng: random.Random, lscb: str, number: int) -> IncidentNotification:
    """A valid notification for `lscb`, with facts spread so every review type comes up."""
    incident = date(2014, 1, 1) + timedelta(days=rng.randrange(0, 3800))
    outcome = _pick(rng, _FACTS["outcome"])
    return IncidentNotification.model_validate(
        {
            "lscb": lscb,
            "source": {"system": f"{lscb.lower()}-cms", "reference": f"SEED-{number:09d}"},
            "notifying_agency": rng.choice(_AGENCIES),
            "child": {
                "subject_ref": f"subj-{rng.getrandbits(40):010x}",
                "age_years": rng.randrange(0, 18),
                "normally_resident_lscb": lscb,
            },
            "incident_date": incident,
            "notified_date": incident + timedelta(days=rng.randrange(1, 30)),
            "summary": "Seeded incident for benchmarks; no real person.",
            "facts": {
                "abuse_or_neglect": _pick(rng, _FACTS["abuse_or_neglect"]),
                "outcome": outcome,
                "working_together_concern": _pick(rng, _FACTS["working_together_concern"]),
                "place_of_death": "custody" if outcome == "died" and rng.random() < 0.05 else None,
                "practice_concern_single_agency": rng.random() < 0.2,
                "good_practice": rng.random() < 0.1,
                "historical": rng.random() < 0.05,
            },
        }
    )



class Seeder:
    """Writes batches of cases into intake's, decisioning's and orchestration's stores (blocking)."""

    def __init__(self, database_url: str, pseudonym_key: bytes, *, rng_seed: int = 0) -> None:
        self.key = pseudonym_key
        self.rng = random.Random(rng_seed)  # noqa: S311  # reproducible test data, not secrets
        self.intake = make_intake(database_url, pseudonym_key)
        self.decisioning = make_decisioning(database_url)
        summaries = summaries_in_process(self.intake)
        self.actions: BoardActions = make_board_actions(database_url, self.decisioning, summaries)
        self.orchestration = make_orchestration(database_url)
        self.boards = sorted(boards())
        self.number = self._first_free_number()

    def _first_free_number(self) -> int:
        """Seeding twice appends: source references continue after the cases already there."""
        head = self.intake.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
        return int(head) + 1

    def close(self) -> None:
        close_board_actions(self.actions)
        self.orchestration.close()
        self.decisioning.close()
        self.intake.personal.close()
        self.intake.close()

    def seed(self, events: int, *, batch_cases: int = 500, progress: Callable[[int], None] | None = None) -> SeedResult:
        """Write cases until at least `events` contract events are stored."""
        result = SeedResult()
        started = time.monotonic()
        while result.events < events:
            remaining = events - result.events
            self.batch(max(1, min(batch_cases, remaining // 2 or 1)), result)
            if progress:
                progress(result.events)
        result.seconds = time.monotonic() - started
        return result

    def batch(self, cases: int, result: SeedResult) -> None:
        incidents = self._intake_batch(cases, result)
        decisioning_events = self._decisioning_batch(incidents, result)
        self._orchestration_batch(decisioning_events, result)
        result.cases += cases

    def _intake_batch(self, cases: int, result: SeedResult) -> list[tuple[int, IncidentReceived]]:
        actor = Actor(kind="system", id="seed-integration", role="integration")
        aggregates: list[IncidentCase] = []
        summaries: list[tuple[UUID, str, UUID, str, str]] = []
        for _ in range(cases):
            notification = random_notification(self.rng, self.rng.choice(self.boards), self.number)
            self.number += 1
            event = received_event(self.key, notification, actor, "kafka")
            aggregates.append(IncidentCase(envelope=event.model_dump(mode="json")))
            summaries.append(
                (event.payload.summary_ref, event.lscb, event.case_id, "incident_summary", notification.summary)
            )
        self._put_summaries(summaries)
        recorded = bulk_record(self.intake, [e for case in aggregates for e in case.collect_events()], None)
        return [(position, cast(IncidentReceived, event)) for position, event in _contract_events(recorded, result)]

    def _put_summaries(self, rows: list[tuple[UUID, str, UUID, str, str]]) -> None:
        store = self.intake.personal
        with store.pool.connection() as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY {store.table} (id, lscb, case_id, kind, body) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _decisioning_batch(
        self, incidents: list[tuple[int, IncidentReceived]], result: SeedResult
    ) -> list[tuple[int, EventEnvelope]]:
        if not incidents:
            return []
        processing: ProcessingEvent[UUID] = ProcessingEvent(Tracking(INTAKE_FOLLOWER, incidents[-1][0]))
        for _, incident in incidents:
            case = ThresholdCase(
                case_id=incident.case_id,
                envelope=DecisioningApplication._recommendation_envelope(incident),
            )
            case.note_incident(incident.model_dump(mode="json"))
            if self.rng.random() < DECISION_SHARE:
                self._decide(case)
            processing.collect_events(case)
        recorded = bulk_record(self.decisioning, processing.events, processing.tracking)
        return list(_contract_events(recorded, result))

    def _decide(self, case: ThresholdCase) -> None:
        """The first decision that agrees with the recommendation (so it needs no rationale)."""
        notified = date.fromisoformat(cast(dict[str, Any], case.incident)["payload"]["notified_date"])
        for command in _DECISIONS:
            decided = DecisionCommand(
                command.decision,
                decided_on=notified + timedelta(days=10),
                methodology=command.methodology,
                criteria_held=command.criteria_held,
            )
            try:
                envelope = self.actions._decision_envelope(case, SEED_CHAIR, decided, uuid4())
            except Exception:  # noqa: S112  # this decision departs or is refused; try the next
                continue
            case.record(envelope)
            return

    def _orchestration_batch(self, upstream: list[tuple[int, EventEnvelope]], result: SeedResult) -> None:
        """Orchestration's reactions to the batch, as `OrchestrationApplication.handle` makes them."""
        if not upstream:
            return
        processing: ProcessingEvent[UUID] = ProcessingEvent(Tracking(DECISIONING_FOLLOWER, upstream[-1][0]))
        watches: dict[UUID, CaseWatch] = {}
        processes: dict[UUID, ReviewProcess] = {}
        for _, event in upstream:
            if not isinstance(event, UPSTREAM_EVENTS):
                continue
            watch = watches.setdefault(event.case_id, CaseWatch(event.case_id))
            process = processes.get(event.case_id)
            reactions = react(
                event, None if process is None else process.state, watch.rule_pack, watch.recommendation_deadlines()
            )
            for reaction in reactions:
                if process is None:
                    process = ReviewProcess(envelope=wire(reaction))
                else:
                    process.record(wire(reaction))
            if process is not None:
                processes[event.case_id] = process
            rec = event.payload.recommendation if isinstance(event, RecommendationRecorded) else None
            watch.see(
                str(event.event_id),
                rec.rule_pack if rec else None,
                {k: v.isoformat() for k, v in rec.deadlines.items()} if rec else None,
            )
        processing.collect_events(*watches.values(), *processes.values())
        recorded = bulk_record(self.orchestration, processing.events, processing.tracking)
        list(_contract_events(recorded, result))


def bulk_record(
    app: Application, domain_events: Sequence[Any], tracking: Tracking | None
) -> list[tuple[int, Any]]:
    """Store the events as `app` would (same stored form, notification ids in order) with one COPY (blocking).

    The table lock is eventsourcing's own (`LOCK ... IN EXCLUSIVE MODE`): no reader tailing the log can see a
    later id committed before an earlier one. The tracking record is the one `ProcessingEvent` would write, and
    the NOTIFY wakes the followers as an ordinary insert does. Returns (notification id, event) in log order.
    """
    if not domain_events:
        return []
    recorder = cast(Any, app.recorder)
    stored = [app.mapper.to_stored_event(event) for event in domain_events]
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'notification_id')) AS id FROM generate_series(1, %s)",
            (table, len(stored)),
        )
        ids = sorted(row["id"] for row in cursor.fetchall())
        columns = "originator_id, originator_version, topic, state, notification_id"
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for item, notification_id in zip(stored, ids, strict=True):
                copy.write_row((item.originator_id, item.originator_version, item.topic, item.state, notification_id))
        if tracking is not None:
            cursor.execute(
                recorder.insert_tracking_statement,
                {"application_name": tracking.application_name, "notification_id": tracking.notification_id},
            )
        cursor.execute(f'NOTIFY "{recorder.channel_name}"')
    return list(zip(ids, domain_events, strict=True))


def _contract_events(recorded: list[tuple[int, Any]], result: SeedResult) -> list[tuple[int, EventEnvelope]]:
    """The recorded events that carry a public envelope, parsed, in log order; counted into `result`."""
    events = []
    for notification_id, domain_event in recorded:
        envelope = getattr(domain_event, "envelope", None)
        if envelope is None:
            continue
        event = parse_event(envelope)
        result.count(event)
        events.append((notification_id, event))
    return events


def seed_history(
    database_url: str,
    pseudonym_key: bytes,
    events: int,
    *,
    batch_cases: int = 500,
    rng_seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write at least `events` contract events across every board (blocking)."""
    seeder = Seeder(database_url, pseudonym_key, rng_seed=rng_seed)
    try:
        return seeder.seed(events, batch_cases=batch_cases, progress=progress)
    finally:
        seeder.close()
