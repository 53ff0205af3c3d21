"""A realistic multi-board history, written in bulk into the services' event stores (for benchmarks).

Going through HTTP and the consumers would take as long as the thing being measured, so this builds the
same aggregates and contract events the services build (intake's `IncidentReceived`, decisioning's
`RecommendationRecorded` from the real rule packs, some of the Chair's decisions, and orchestration's
answers to them from its real reaction rules) and writes each batch of cases straight into each service's
stored-events table with one COPY (under the table lock eventsourcing takes, with notification ids from the
table's own sequence, and the tracking record a follower of the upstream log would have written), instead
of eventsourcing's row-by-row insert. A `lif run` or a rebuild afterwards sees an ordinary history: the
followers resume after it, nothing is handled twice.

Building a case that way costs a millisecond or more of Python, so only the first `templates` cases are
built so; every later case is a copy of one of them (in turn) with its own identity: a new source reference
and child reference, and from them, as intake derives them, the keyed source hash, the case id, the content
hash and the summary's id; the aggregates' ids derived from the case id as each service derives them; and a
new random id for every other id (event, correlation and causation ids, decisions). Each copy is made on the
template's stored form (`_Template.copy`), so it costs a few string substitutions per stored event. The boards,
facts, dates, recommendations, decisions and reviews of the copies are those of the templates.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid4, uuid5

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
    make_learning,
    make_notifications,
    make_orchestration,
    summaries_in_process,
)
from lif.pseudonym import content_hash, keyed_hash
from services.decisioning.application import DecisioningApplication
from services.decisioning.board_actions import BoardActions, DecisionCommand
from services.decisioning.domain import ThresholdCase
from services.intake.application import received_event
from services.intake.domain import IncidentCase, case_id_for
from services.orchestration.domain import CaseWatch, ReviewProcess, review_id_for
from services.orchestration.envelopes import wire
from services.orchestration.upstream import UPSTREAM_EVENTS, react

INTAKE_FOLLOWER = "log:intake"
DECISIONING_FOLLOWER = "log:decisioning"
ORCHESTRATION_FOLLOWER = "log:orchestration"
"""The position keys of the embedded followers (lif.delivery.follow) that consume those logs."""

SEED_CHAIR = Actor(kind="person", id="seed-chair", role="chair")
DECISION_SHARE = 0.15
"""About this share of cases gets a Chair's decision (agreeing with the recommendation)."""
TEMPLATES = 2000
"""Cases built as the services build them; the later ones are copies of these (see the module's docstring)."""
COPY_CASES = 2000
"""Copied cases written per COPY (per service)."""

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
    """Writes batches of cases into intake's, decisioning's and orchestration's stores, and the positions of every
    embedded follower of their logs (blocking)."""

    def __init__(self, database_url: str, pseudonym_key: bytes, *, rng_seed: int = 0) -> None:
        self.key = pseudonym_key
        self.rng = random.Random(rng_seed)  # noqa: S311  # reproducible test data, not secrets
        self.intake = make_intake(database_url, pseudonym_key)
        self.decisioning = make_decisioning(database_url)
        summaries = summaries_in_process(self.intake)
        self.actions: BoardActions = make_board_actions(database_url, self.decisioning, summaries)
        self.orchestration = make_orchestration(database_url)
        self.notifications = make_notifications(database_url)
        self.learning = make_learning(database_url, None)
        self.boards = sorted(boards())
        self.number = self._first_free_number()
        self.templates: list[_Template] = []
        self._capture = False
        self._captured: dict[UUID, _Template] = {}
        self._owners: dict[UUID, UUID] = {}
        """An aggregate id derived from a case id -> the case id (while capturing)."""

    def _first_free_number(self) -> int:
        """Seeding twice appends: source references continue after the cases already there."""
        head = self.intake.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
        return int(head) + 1

    def close(self) -> None:
        self.learning.close()
        self.notifications.close()
        close_board_actions(self.actions)
        self.orchestration.close()
        self.decisioning.close()
        self.intake.personal.close()
        self.intake.close()

    def seed(
        self,
        events: int,
        *,
        batch_cases: int = 500,
        templates: int = TEMPLATES,
        progress: Callable[[int], None] | None = None,
    ) -> SeedResult:
        """Write cases until at least `events` contract events are stored: the first `templates` cases built as
        the services build them, the rest copied from those."""
        result = SeedResult()
        started = time.monotonic()
        while result.events < events:
            remaining = events - result.events
            cases = max(1, min(batch_cases, remaining // 2 or 1))
            if result.cases >= templates and self.templates:
                self.copy_batch(max(1, min(COPY_CASES, remaining // 3 or 1)), result)
            else:
                self.batch(min(cases, templates - result.cases) if templates > result.cases else cases, result)
            if progress:
                progress(result.events)
        self.pass_over()
        result.seconds = time.monotonic() - started
        return result

    def pass_over(self) -> None:
        """Record, at the end of the seeded logs, the positions of the followers the seed derives nothing for:
        notifications' and learning's of decisioning and orchestration, and decisioning's of orchestration (the
        pre-decision stages). Those consumers start after the seeded history as if they had skipped it: it
        leaves no obligations, no learning state and no stage notes (blocking)."""
        heads = {
            DECISIONING_FOLLOWER: self.decisioning.recorder.max_notification_id() or 0,  # type: ignore[attr-defined]
            ORCHESTRATION_FOLLOWER: self.orchestration.recorder.max_notification_id() or 0,  # type: ignore[attr-defined]
        }
        for consumer, key in (
            (self.notifications, DECISIONING_FOLLOWER),
            (self.notifications, ORCHESTRATION_FOLLOWER),
            (self.learning, DECISIONING_FOLLOWER),
            (self.learning, ORCHESTRATION_FOLLOWER),
            (self.decisioning, ORCHESTRATION_FOLLOWER),
        ):
            if heads[key]:
                consumer.skip(key, int(heads[key]))

    def batch(self, cases: int, result: SeedResult) -> None:
        self._capture = True
        self._captured = {}
        incidents = self._intake_batch(cases, result)
        decisioning_events = self._decisioning_batch(incidents, result)
        self._orchestration_batch(decisioning_events, result)
        result.cases += cases
        self.templates += [template.ready() for template in self._captured.values()]
        self._capture = False

    def _record(self, app: Application, service: int, domain_events: Sequence[Any], tracking: Tracking | None) -> list[
        tuple[int, Any]
    ]:
        """`bulk_record`, keeping each case's stored events as a template when capturing."""
        keep: list[Any] = []
        recorded = bulk_record(app, domain_events, tracking, keep)
        if self._capture:
            for stored, (_, event) in zip(keep, recorded, strict=True):
                envelope = getattr(event, "envelope", None)
                template = self._captured.get(self._owner(stored.originator_id))
                if template is not None:
                    template.rows[service].append(
                        (stored.originator_id, stored.originator_version, stored.topic, stored.state,
                         None if envelope is None else envelope["event_type"])
                    )
        return recorded

    def _owner(self, originator_id: UUID) -> UUID:
        return self._owners.get(originator_id, originator_id)

    def copy_batch(self, cases: int, result: SeedResult) -> None:
        """`cases` copies of the templates, in turn, each service's rows with one COPY."""
        rows: tuple[list[tuple[Any, ...]], ...] = ([], [], [])
        contract: tuple[list[bool], ...] = ([], [], [])
        summaries: list[tuple[UUID, str, UUID, str, str]] = []
        for _ in range(cases):
            template = self.templates[self.number % len(self.templates)]
            case_id, summary = template.copy(self.key, self.number, self.rng, rows, contract, result)
            summaries.append((summary, template.lscb, case_id, "incident_summary", template.summary))
            self.number += 1
        self._put_summaries(summaries)
        intake_ids = copy_stored(self.intake, rows[0], None)
        decisioning_ids = copy_stored(self.decisioning, rows[1], Tracking(INTAKE_FOLLOWER, intake_ids[-1]))
        last_contract = max(i for i, carries in zip(decisioning_ids, contract[1], strict=True) if carries)
        copy_stored(self.orchestration, rows[2], Tracking(DECISIONING_FOLLOWER, last_contract))
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
            if self._capture:
                self._captured[event.case_id] = _Template(
                    event.case_id, event.lscb, notification.model_dump(mode="json"), notification.summary,
                    str(event.payload.summary_ref), event.payload.source_reference_hash, event.payload.content_hash,
                )
                for derived in _derived(event.case_id):
                    self._owners[derived] = event.case_id
        self._put_summaries(summaries)
        recorded = self._record(self.intake, 0, [e for case in aggregates for e in case.collect_events()], None)
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
        recorded = self._record(self.decisioning, 1, processing.events, processing.tracking)
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
        recorded = self._record(self.orchestration, 2, processing.events, processing.tracking)
        list(_contract_events(recorded, result))


def bulk_record(
    app: Application, domain_events: Sequence[Any], tracking: Tracking | None, keep: list[Any] | None = None
) -> list[tuple[int, Any]]:
    """Store the events as `app` would (same stored form, notification ids in order) with one COPY (blocking).

    Returns (notification id, event) in log order; `keep`, when given, receives the stored events.
    """
    if not domain_events:
        return []
    stored = [app.mapper.to_stored_event(event) for event in domain_events]
    if keep is not None:
        keep.extend(stored)
    rows = [(item.originator_id, item.originator_version, item.topic, item.state) for item in stored]
    return list(zip(copy_stored(app, rows, tracking), domain_events, strict=True))


def copy_stored(app: Application, rows: Sequence[tuple[Any, ...]], tracking: Tracking | None) -> list[int]:
    """COPY stored events (originator id, version, topic, state) into `app`'s table; their notification ids.

    The table lock is eventsourcing's own (`LOCK ... IN EXCLUSIVE MODE`): no reader tailing the log can see a
    later id committed before an earlier one. The tracking record is the one `ProcessingEvent` would write, and
    the NOTIFY wakes the followers as an ordinary insert does.
    """
    if not rows:
        return []
    recorder = cast(Any, app.recorder)
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'notification_id')) AS id FROM generate_series(1, %s)",
            (table, len(rows)),
        )
        ids = sorted(row["id"] for row in cursor.fetchall())
        columns = "originator_id, originator_version, topic, state, notification_id"
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row, notification_id in zip(rows, ids, strict=True):
                copy.write_row((*row, notification_id))
        if tracking is not None:
            cursor.execute(
                recorder.insert_tracking_statement,
                {"application_name": tracking.application_name, "notification_id": tracking.notification_id},
            )
        cursor.execute(f'NOTIFY "{recorder.channel_name}"')
    return ids


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_HEX = re.compile(rb'"_data_":"([0-9a-f]{32})"')


@dataclass
class _Template:
    """One case as the services built it: its stored events per service (intake, decisioning, orchestration)."""

    case_id: UUID
    lscb: str
    notification: dict[str, Any]
    summary: str
    summary_ref: str
    source_hash: str
    digest: str
    rows: tuple[list[tuple[Any, ...]], ...] = field(default_factory=lambda: ([], [], []))
    others: int = 0
    """How many ids in the stored events are not derived from the case (each a new random one in each copy)."""
    parts: tuple[list[tuple[Any, ...]], ...] = field(default_factory=lambda: ([], [], []))
    """Per stored event: (the owner's slot, version, topic, the state's literal pieces, the slots between them,
    its event type if it carries an envelope)."""

    def ready(self) -> _Template:
        """Find the ids and hashes in the stored events, each a slot the copies fill with their own."""
        derived = [self.case_id, *_derived(self.case_id), UUID(self.summary_ref)]
        found: set[UUID] = set()
        for service_rows in self.rows:
            for row in service_rows:
                found.update(UUID(m.decode()) for m in _UUID.findall(row[3]))
                found.update(UUID(m.decode()) for m in _UUID_HEX.findall(row[3]))
        olds = derived + sorted(found - set(derived))
        self.others = len(olds) - len(derived)
        slots: dict[bytes, int] = {}
        for index, old in enumerate(olds):
            slots[str(old).encode()] = 2 * index
            slots[old.hex.encode()] = 2 * index + 1
        base = 2 * len(olds)
        slots[self.source_hash.encode()] = base
        slots[self.digest.encode()] = base + 1
        slots[self.notification["child"]["subject_ref"].encode()] = base + 2
        pattern = re.compile(b"|".join(re.escape(t) for t in sorted(slots, key=len, reverse=True)))
        owners = {old: index for index, old in enumerate(olds[:4])}
        for service, service_rows in enumerate(self.rows):
            for originator_id, version, topic, state, event_type in service_rows:
                literals, between, at = [], [], 0
                for match in pattern.finditer(state):
                    literals.append(state[at : match.start()])
                    between.append(slots[match.group()])
                    at = match.end()
                literals.append(state[at:])
                self.parts[service].append((owners[originator_id], version, topic, literals, between, event_type))
        self.rows = ([], [], [])
        return self

    def copy(
        self,
        key: bytes,
        number: int,
        rng: random.Random,
        rows: tuple[list[tuple[Any, ...]], ...],
        contract: tuple[list[bool], ...],
        result: SeedResult,
    ) -> tuple[UUID, UUID]:
        """Append a copy of this case with its own identity to `rows`; its case id and summary id."""
        notification = dict(self.notification)
        source = {**notification["source"], "reference": f"SEED-{number:09d}"}
        child = {**notification["child"], "subject_ref": f"subj-{rng.getrandbits(40):010x}"}
        notification["source"], notification["child"] = source, child
        source_hash = keyed_hash(key, self.lscb, source["system"], source["reference"])
        case_id = case_id_for(source_hash)
        digest = content_hash(key, notification)
        summary_ref = uuid5(case_id, f"summary:{digest}")
        fresh = [case_id, *_derived(case_id), summary_ref]
        fresh += [UUID(int=rng.getrandbits(128), version=4) for _ in range(self.others)]
        values: list[bytes] = []
        for value in fresh:
            values += (str(value).encode(), value.hex.encode())
        values += (source_hash.encode(), digest.encode(), child["subject_ref"].encode())
        join = b"".join
        for service, service_parts in enumerate(self.parts):
            for owner, version, topic, literals, between, event_type in service_parts:
                pieces = [literals[0]]
                for slot, literal in zip(between, literals[1:], strict=True):
                    pieces += (values[slot], literal)
                rows[service].append((fresh[owner], version, topic, join(pieces)))
                contract[service].append(event_type is not None)
                if event_type is not None:
                    result.events += 1
                    result.by_type[event_type] += 1
                    result.by_board[self.lscb] += 1
        return case_id, summary_ref


def _derived(case_id: UUID) -> tuple[UUID, UUID, UUID]:
    """The ids of the case's aggregates in decisioning and orchestration, as those services derive them."""
    return ThresholdCase.id_for(case_id), CaseWatch.id_for(case_id), review_id_for(case_id)


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
    templates: int = TEMPLATES,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write at least `events` contract events across every board (blocking)."""
    seeder = Seeder(database_url, pseudonym_key, rng_seed=rng_seed)
    try:
        return seeder.seed(events, batch_cases=batch_cases, templates=templates, progress=progress)
    finally:
        seeder.close()
