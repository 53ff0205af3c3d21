"""Where a rebuild reads the events: the services' own logs (embedded) or Kafka's retained topics (distributed).

Both give pages of events with their stream positions, in the position keys the live projector records
(`log:<service>` with notification ids, `kafka:<topic>:<partition>` with the next offset), from any
positions up to given ones, so a rebuild can stop anywhere and go on from what it recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from eventsourcing.application import Application

from lif.delivery.kafka import InvalidMessage
from lif.delivery.log import log_database, log_head, log_table, read_log_page
from lif.delivery.parking import Pending
from lif.infra.topics import partitions_of
from projections.log_copy import LogRange, database_identity, readable_as

log = logging.getLogger(__name__)
LOG_PAGE = 20000
"""Notifications read per page of a log (one SELECT)."""
KAFKA_PAGE = 20000
"""Records taken per fetch from the topics."""
PREFETCH = 2
"""Pages a source reads ahead while the rebuild writes the one before (`prefetched`)."""


@dataclass
class Page:
    """Events read, and how far each stream has been read (gaps and non-events included)."""

    items: list[Pending] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)
    in_database: LogRange | None = None
    """A range the writer may copy inside the database instead (`projections.log_copy`); `read` gives its items."""
    staged: list[tuple[str, int, bytes]] | None = None
    """Records as they came (position key, position, value), for the writer to stage and copy inside the database
    (`projections.log_copy.copy_staged`); `read` gives their items."""
    read: Callable[[], Awaitable[Page]] | None = None


class RebuildSource(Protocol):
    name: str

    async def heads(self) -> dict[str, int]:
        """Each stream's position as of now: where a rebuild reading up to now stops."""
        ...

    def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        """Pages of the events after `start` up to `until`, per stream (a stream absent from `start` from 0)."""
        ...


class LogSource:
    """The services' notification logs, read in pages of `LOG_PAGE` notifications."""

    name = "logs"

    def __init__(self, logs: Sequence[tuple[str, Application]]) -> None:
        self.logs = {f"log:{name}": app for name, app in logs}
        self.in_database: dict[str, str] = {}
        """Position key -> log table, for the logs whose pages are ranges to copy inside the database."""
        self.as_session = False
        """Whether those copies read the logs as the connection's session user (`log_copy.readable_as`)."""

    async def heads(self) -> dict[str, int]:
        return {key: await asyncio.to_thread(log_head, app) for key, app in self.logs.items()}

    async def share_database(self, conn: Any, schema: str) -> bool:
        """Make the pages ranges to copy inside the database when `conn` is on the logs' database and may read
        them into `schema` (until `keep_out`); False (and pages of events) otherwise."""
        tables = {key: table for key, app in self.logs.items() if (table := log_table(app)) is not None}
        if not tables:
            return False
        ours = await database_identity(conn)
        for key in tables:
            if await asyncio.to_thread(log_database, self.logs[key]) != ours:
                return False
        who = await readable_as(conn, list(tables.values()), schema)
        if who is None:
            return False
        self.in_database, self.as_session = tables, who == "session"
        return True

    def keep_out(self) -> None:
        """Give pages of events again (the catch-up validates each one in full)."""
        self.in_database = {}

    async def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        for key in self.logs:
            after, head = start.get(key, 0), until.get(key, 0)
            while after < head:
                upto = min(head, after + LOG_PAGE)
                table = self.in_database.get(key)
                if table is not None:
                    span = LogRange(key, table, after, upto, self.as_session)
                    yield Page([], {key: upto}, in_database=span, read=self._reader(key, after, upto))
                    after = upto
                    continue
                page = await self._read(key, after, upto)
                yield page
                after = page.reached[key]

    def _reader(self, key: str, after: int, upto: int) -> Callable[[], Awaitable[Page]]:
        async def read() -> Page:
            page = await self._read(key, after, upto)
            while page.reached[key] < upto:  # a range is one page: read on to its end
                more = await self._read(key, page.reached[key], upto)
                page.items.extend(more.items)
                page.reached = more.reached
            return page

        return read

    async def _read(self, key: str, after: int, head: int) -> Page:
        """The events of the notifications after `after`, at most `LOG_PAGE` of them and none past `head`."""
        events, last = await asyncio.to_thread(read_log_page, self.logs[key], after, min(LOG_PAGE, head - after))
        reached = head if last <= after else min(last, head)  # none left: a gap up to the head
        items = [Pending(key, e.notification_id, e.envelope) for e in events if e.notification_id <= head]
        return Page(items, {key: reached})


class KafkaSource:
    """The retained topics, every partition assigned, read from recorded offsets with one consumer."""

    name = "kafka"

    def __init__(self, bootstrap: str, topic_names: Sequence[str]) -> None:
        self.bootstrap = bootstrap
        self.topic_names = list(topic_names)
        self.consumer: AIOKafkaConsumer | None = None
        self.partitions: list[TopicPartition] = []
        self.staged = False
        """Whether pages give their records as they came, for the writer to check and copy inside the database."""

    async def start(self) -> None:
        existing = await partitions_of(self.bootstrap, self.topic_names)
        missing = [topic for topic in self.topic_names if topic not in existing]
        if missing:
            raise ValueError(f"cannot rebuild: topic(s) {', '.join(missing)} do not exist on {self.bootstrap}")
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        await self.consumer.start()
        self.partitions = [TopicPartition(t, p) for t in self.topic_names for p in existing[t]]
        self.consumer.assign(self.partitions)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()

    @staticmethod
    def key(tp: TopicPartition) -> str:
        return f"kafka:{tp.topic}:{tp.partition}"

    async def heads(self) -> dict[str, int]:
        assert self.consumer is not None
        end = await self.consumer.end_offsets(self.partitions)
        return {self.key(tp): end[tp] for tp in self.partitions}

    async def pages(self, start: dict[str, int], until: dict[str, int]) -> AsyncIterator[Page]:
        consumer = self.consumer
        assert consumer is not None
        begin = await consumer.beginning_offsets(self.partitions)
        remaining: set[TopicPartition] = set()
        for tp in self.partitions:
            position = max(start.get(self.key(tp), 0), begin[tp])
            if position < until.get(self.key(tp), 0):
                consumer.seek(tp, position)
                remaining.add(tp)
            elif start.get(self.key(tp), 0) < until.get(self.key(tp), 0):
                yield Page([], {self.key(tp): until[self.key(tp)]})  # nothing retained before the end
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=KAFKA_PAGE)
            page = Page()
            raw: list[tuple[str, int, bytes]] = []
            for tp, records in batches.items():
                key, end = self.key(tp), until[self.key(tp)]
                raw += [(key, r.offset + 1, r.value or b"") for r in records if r.offset < end]
                if records:
                    page.reached[key] = min(records[-1].offset + 1, end)
            if self.staged:
                page.staged = raw
                page.read = _parser(raw, page.reached)
            else:
                page.items = _parsed(raw)
            for tp in list(remaining):
                if await consumer.position(tp) >= until[self.key(tp)]:
                    remaining.discard(tp)
                    page.reached[self.key(tp)] = until[self.key(tp)]
            if page.reached:
                yield page


def _parsed(records: Sequence[tuple[str, int, bytes]]) -> list[Pending]:
    """The records' events; one that is not a JSON object is skipped, as the live consumers dead-lettered it."""
    items = []
    for key, position, value in records:
        try:
            items.append(Pending(key, position, _envelope_document(value)))
        except InvalidMessage as failure:
            log.warning("rebuild skipped %s@%s: %s", key, position - 1, failure)
    return items


def _parser(records: list[tuple[str, int, bytes]], reached: dict[str, int]) -> Callable[[], Awaitable[Page]]:
    async def read() -> Page:
        return Page(_parsed(records), reached)

    return read


def _envelope_document(body: bytes) -> dict[str, Any]:
    """The event as a JSON object, as `lif.delivery.kafka.parse_envelope_document` reads it (with orjson)."""
    try:
        document = orjson.loads(body)
    except ValueError as exc:
        raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidMessage("an event must be a JSON object")
    return document


async def prefetched(pages: AsyncIterator[Page], depth: int = PREFETCH) -> AsyncIterator[Page]:
    """The same pages, read up to `depth` ahead in a task of their own (a failure comes after the pages before it)."""
    queue: asyncio.Queue[tuple[Page | None, BaseException | None]] = asyncio.Queue(depth)

    async def read() -> None:
        try:
            async for page in pages:
                await queue.put((page, None))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed on to the reader of the pages
            await queue.put((None, exc))
        else:
            await queue.put((None, None))

    reader = asyncio.create_task(read())
    try:
        while True:
            page, failure = await queue.get()
            if failure is not None:
                raise failure
            if page is None:
                return
            yield page
    finally:
        if not reader.done():
            reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
