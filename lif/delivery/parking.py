"""Parking: an event its consumer can never process is set aside, with its reason, and the consumer moves on.

Every consumer (embedded log followers and Kafka subscribers alike) delivers through `Parking.deliver`:

* a transient failure (see `lif.delivery.failures`) is raised, and the caller's loop retries it for ever
  with backoff, parking nothing;
* a deterministic failure is tried `attempts` times with backoff, then the event is parked in the
  consumer's own schema (`parked_events`) with the reason, its envelope and position, and the position is
  recorded so it does not come back;
* order per case: while a case has a parked event, its later events are parked behind it ("parked behind
  <event id>") without running the handler, so retrying the head replays them in order. Other cases go on.

`lif parked list|retry|drop` and `lif status` read and work these tables; `/readyz` names what is parked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from lif.delivery.failures import Backoff, describe, is_transient

log = logging.getLogger(__name__)

PARKED_TABLE = "parked_events"


class ParkingConsumer(Protocol):
    """What a consumer gives the delivery plumbing: apply an event, or record its position with no effect."""

    async def handle(self, delivered: Delivered) -> None: ...

    async def skip(self, position_key: str, position: int) -> None: ...


class BatchConsumer(ParkingConsumer, Protocol):
    """A consumer that can also apply many events in one transaction, with the last position of each stream.

    `handle_batch` must have the same effects as `handle` on each event in turn, or none at all (it raises).
    """

    async def handle_batch(self, batch: Sequence[Delivered]) -> None: ...


class Unparkable(Exception):
    """The event has no event id or case id, so it cannot be parked in order (a Kafka consumer dead-letters it)."""


@dataclass(frozen=True)
class ParkedEvent:
    consumer: str
    event_id: UUID
    case_id: UUID
    lscb: str
    event_type: str
    position_key: str
    position: int
    reason: str
    behind: UUID | None
    status: str
    parked_at: Any
    resolved_at: Any
    resolved_by: str | None
    envelope: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """What `lif parked list` shows: everything but the envelope's payload."""
        return {
            "consumer": self.consumer,
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "case_id": str(self.case_id),
            "lscb": self.lscb,
            "position_key": self.position_key,
            "position": self.position,
            "reason": self.reason,
            "behind": None if self.behind is None else str(self.behind),
            "status": self.status,
            "parked_at": self.parked_at,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
        }


def _clean(text: object) -> str:
    return str(text).replace("\x00", "\\x00")


class ParkedEvents:
    """The parked events of one consumer, in that consumer's own schema (the table is made by the
    consumer's migrations: `<package>/migrations/NNNN_parked_events.sql`)."""

    def __init__(self, pool: asyncpg.Pool, schema: str, consumer: str) -> None:
        self.pool = pool
        self.schema = schema
        self.consumer = consumer
        self.table = f'"{schema}".{PARKED_TABLE}'

    async def check(self, event_id: UUID, case_id: UUID) -> tuple[bool, UUID | None]:
        """(whether this event was parked before, in any state; the oldest open parked event of its case)."""
        rows = await self.pool.fetch(
            f"SELECT event_id, status FROM {self.table} WHERE consumer = $1 AND "
            "(event_id = $2 OR (case_id = $3 AND status = 'parked')) ORDER BY seq",
            self.consumer,
            event_id,
            case_id,
        )
        known = any(row["event_id"] == event_id for row in rows)
        head = next((row["event_id"] for row in rows if row["status"] == "parked"), None)
        return known, head

    async def involved(self, event_ids: Sequence[UUID], case_ids: Sequence[UUID]) -> bool:
        """Whether any of these events was parked before, or any of these cases has an open parked event."""
        return bool(
            await self.pool.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {self.table} WHERE consumer = $1 AND "
                "(event_id = ANY($2::uuid[]) OR (case_id = ANY($3::uuid[]) AND status = 'parked')))",
                self.consumer,
                list(event_ids),
                list(case_ids),
            )
        )

    async def park(
        self, position_key: str, position: int, envelope: dict[str, Any], reason: str, behind: UUID | None
    ) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.table} (consumer, event_id, case_id, lscb, event_type, position_key, position, "
            "envelope, reason, behind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (consumer, event_id) DO NOTHING",
            self.consumer,
            UUID(str(envelope["event_id"])),
            UUID(str(envelope["case_id"])),
            _clean(envelope.get("lscb", "")),
            _clean(envelope.get("event_type", "")),
            position_key,
            position,
            json.dumps(envelope, default=str),
            reason,
            behind,
        )

    async def select(self, status: str | None = "parked") -> list[ParkedEvent]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table} WHERE consumer = $1 AND ($2::text IS NULL OR status = $2) ORDER BY seq",
            self.consumer,
            status,
        )
        return [_parked(row) for row in rows]

    async def get(self, event_id: UUID) -> ParkedEvent | None:
        row = await self.pool.fetchrow(
            f"SELECT * FROM {self.table} WHERE consumer = $1 AND event_id = $2", self.consumer, event_id
        )
        return None if row is None else _parked(row)

    async def queue(self, head: UUID) -> list[ParkedEvent]:
        """The open parked events of the head's case, in the order they were parked (the head first)."""
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table} WHERE consumer = $1 AND status = 'parked' AND case_id = "
            f"(SELECT case_id FROM {self.table} WHERE consumer = $1 AND event_id = $2) ORDER BY seq",
            self.consumer,
            head,
        )
        return [_parked(row) for row in rows]

    async def resolve(self, event_id: UUID, status: str, by: str) -> None:
        await self.pool.execute(
            f"UPDATE {self.table} SET status = $3, resolved_at = now(), resolved_by = $4 "
            "WHERE consumer = $1 AND event_id = $2",
            self.consumer,
            event_id,
            status,
            by,
        )

    async def make_head(self, event_id: UUID, reason: str | None = None) -> None:
        """This event now leads its case's queue; the later open ones wait behind it."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE {self.table} SET behind = NULL, reason = coalesce($3, reason) "
                "WHERE consumer = $1 AND event_id = $2 RETURNING case_id, seq",
                self.consumer,
                event_id,
                reason,
            )
            if row is None:
                return
            await conn.execute(
                f"UPDATE {self.table} SET behind = $2::uuid, reason = 'parked behind ' || $2::uuid::text "
                "WHERE consumer = $1 AND case_id = $3 AND status = 'parked' AND seq > $4",
                self.consumer,
                event_id,
                row["case_id"],
                row["seq"],
            )

    async def counts(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            f"SELECT status, count(*) AS n FROM {self.table} WHERE consumer = $1 GROUP BY status", self.consumer
        )
        return {"parked": 0, "retried": 0, "dropped": 0} | {row["status"]: int(row["n"]) for row in rows}


def _parked(row: asyncpg.Record) -> ParkedEvent:
    return ParkedEvent(
        consumer=row["consumer"],
        event_id=row["event_id"],
        case_id=row["case_id"],
        lscb=row["lscb"],
        event_type=row["event_type"],
        position_key=row["position_key"],
        position=int(row["position"]),
        reason=row["reason"],
        behind=row["behind"],
        status=row["status"],
        parked_at=row["parked_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        envelope=json.loads(row["envelope"]),
    )


@dataclass(frozen=True)
class Pending:
    """An event waiting for delivery, as its envelope document, with its stream position."""

    position_key: str
    position: int
    envelope: dict[str, Any]
    event: EventEnvelope | None = None
    """The envelope already parsed (`parse_event`), when the reader has it; else it is parsed on delivery."""


OnParked = Callable[[dict[str, Any], str], Awaitable[None]]
"""Told of each park before it is recorded (the Kafka path publishes to the topic's dead-letter topic)."""


@dataclass(frozen=True)
class RetryResult:
    retried: list[UUID]
    failed: UUID | None = None
    reason: str | None = None


class Parking:
    """Deliver events to one consumer, parking what can never be processed."""

    def __init__(
        self, name: str, consumer: ParkingConsumer, parked: ParkedEvents, *, attempts: int = 3, backoff: float = 0.1
    ) -> None:
        self.name = name
        self.consumer = consumer
        self.parked = parked
        self.attempts = attempts
        self.backoff = backoff

    async def deliver(
        self, position_key: str, position: int, envelope: dict[str, Any], on_parked: OnParked | None = None
    ) -> None:
        """Apply one event (given as its envelope document), or park it; transient failures are raised."""
        event_id, case_id = event_ids(envelope)
        known, head = await self.parked.check(event_id, case_id)
        if known:  # parked before (then retried or dropped, or redelivered since): never applied again here
            await self.consumer.skip(position_key, position)
            return
        if head is not None:
            await self._park(position_key, position, envelope, f"parked behind {head}", head, on_parked)
            return
        backoff = Backoff(first=self.backoff)
        for attempt in range(1, self.attempts + 1):
            try:
                delivered = Delivered(position_key, position, parse_event(envelope))
                await self.consumer.handle(delivered)
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                if attempt == self.attempts:
                    await self._park(position_key, position, envelope, describe(exc), None, on_parked)
                    return
                log.info("%s: %s failed (attempt %s of %s): %s", self.name, event_id, attempt, self.attempts, exc)
                await asyncio.sleep(backoff.next())

    async def deliver_many(self, items: Sequence[Pending], on_parked: OnParked | None = None) -> None:
        """Deliver events in order: in one transaction when the consumer can, else (or then) one at a time.

        The batch path is taken only when the consumer has `handle_batch`, none of the events was parked
        before and none of their cases has an open parked event. A transient failure is raised as from
        `deliver`; any other failure of the batch (nothing of it was applied) falls back to `deliver` on each
        event, so retries and parking name the exact event that fails.
        """
        handle_batch = getattr(self.consumer, "handle_batch", None)
        if handle_batch is not None and len(items) > 1:
            try:
                ids = [event_ids(item.envelope) for item in items]
                batch = [
                    Delivered(item.position_key, item.position, item.event or parse_event(item.envelope))
                    for item in items
                ]
            except Exception:  # an event that cannot be parsed: the one-at-a-time path parks or refuses it
                batch = []
            if batch and not await self.parked.involved([e for e, _ in ids], [c for _, c in ids]):
                try:
                    await handle_batch(batch)
                    return
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    log.info("%s: a batch of %s failed (%s); delivering one at a time", self.name, len(batch), exc)
        for item in items:
            await self.deliver(item.position_key, item.position, item.envelope, on_parked)

    async def _park(
        self,
        position_key: str,
        position: int,
        envelope: dict[str, Any],
        reason: str,
        behind: UUID | None,
        on_parked: OnParked | None,
    ) -> None:
        if on_parked is not None:
            await on_parked(envelope, reason)
        await self.parked.park(position_key, position, envelope, reason, behind)
        await self.consumer.skip(position_key, position)
        log.warning(
            "%s parked event %s (%s) of case %s, board %s, at %s@%s: %s",
            self.name,
            _clean(envelope.get("event_id")),
            _clean(envelope.get("event_type")),
            _clean(envelope.get("case_id")),
            _clean(envelope.get("lscb")),
            position_key,
            position,
            reason,
        )

    async def retry(self, event_id: UUID, by: str) -> RetryResult:
        """Run the handler again on a parked head and on the events parked behind it, in order.

        Each one that succeeds is marked retried; the first that fails becomes the head again, with its new
        reason, and the rest keep waiting behind it. A retried event is delivered under its own position
        key (`parked:<event id>`), so the consumer's own positions are untouched.
        """
        target = await self.parked.get(event_id)
        if target is None or target.status != "parked":
            raise LookupError(f"{self.name} has no parked event {event_id}")
        if target.behind is not None:
            raise LookupError(f"event {event_id} waits behind {target.behind}; retry that one")
        done: list[UUID] = []
        for item in await self.parked.queue(event_id):
            try:
                delivered = Delivered(f"parked:{item.event_id}", 1, parse_event(item.envelope))
                await self.consumer.handle(delivered)
            except Exception as exc:
                reason = describe(exc)
                await self.parked.make_head(item.event_id, reason)
                return RetryResult(done, item.event_id, reason)
            await self.parked.resolve(item.event_id, "retried", by)
            done.append(item.event_id)
        return RetryResult(done)

    async def drop(self, event_id: UUID, by: str) -> UUID | None:
        """Mark a parked event dropped (never applied); the next one of its case, if any, becomes the head."""
        target = await self.parked.get(event_id)
        if target is None or target.status != "parked":
            raise LookupError(f"{self.name} has no parked event {event_id}")
        await self.parked.resolve(event_id, "dropped", by)
        rest = await self.parked.queue(event_id)
        later = [item for item in rest if item.behind == event_id]
        if later:
            await self.parked.make_head(later[0].event_id, f"was parked behind {event_id} (dropped by {by})")
            return later[0].event_id
        return None


def event_ids(envelope: dict[str, Any]) -> tuple[UUID, UUID]:
    """(event id, case id) of an envelope document; `Unparkable` when it has no valid ones."""
    try:
        return UUID(str(envelope["event_id"])), UUID(str(envelope["case_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise Unparkable("the event has no valid event_id and case_id") from exc
