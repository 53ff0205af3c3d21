"""Rebuild the read model from scratch: from Kafka's retained topics, or from the services' own logs.

Either way every event goes through the same projector, and the same parking, as live delivery (in
batches, as live delivery does), so a rebuilt view equals the live one and a poison event is parked again
instead of stopping the rebuild (the projections' parked events are emptied with the read model: a rebuild
starts from nothing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from eventsourcing.application import Application

from lif.delivery.kafka import InvalidMessage, parse_envelope_document
from lif.delivery.log import log_head, read_log
from lif.delivery.parking import ParkedEvents, Parking, Pending, Unparkable, event_ids
from lif.infra.topics import partitions_of
from lif.progress import ProgressBar
from projections import schema
from projections.projector import CaseProjector

log = logging.getLogger(__name__)
LOG_BATCH = 1000


async def _reset(projector: CaseProjector) -> Parking:
    """Empty the read model and the projections' parked events; the parking every replayed event goes through."""
    await schema.reset(projector.pool)
    parked = ParkedEvents(projector.pool, schema.SCHEMA, "projections")
    await projector.pool.execute(f"TRUNCATE {parked.table}")
    return Parking("projections", projector, parked)


async def rebuild_from_logs(
    projector: CaseProjector, logs: Sequence[tuple[str, Application]], *, progress: bool = True
) -> int:
    """Reset, then apply every event of each named log (embedded runtime)."""
    parking = await _reset(projector)
    heads = [await asyncio.to_thread(log_head, app) for _, app in logs]
    bar = ProgressBar(sum(heads), "rebuilding projections", unit="log positions") if progress else None
    applied = 0
    for (name, app), head in zip(logs, heads, strict=True):
        after = 0
        while after < head:
            batch = await asyncio.to_thread(read_log, app, after, LOG_BATCH)
            # internal notifications (tracking, watches) are not events: a batch of only those is empty, and
            # every id up to after + LOG_BATCH was among the rows read, so the scan moves past them
            reached = batch[-1].notification_id if batch else min(after + LOG_BATCH, head)
            await parking.deliver_many([Pending(f"log:{name}", item.notification_id, item.envelope) for item in batch])
            applied += len(batch)
            if bar:
                bar.advance(reached - after)
            after = reached
    if bar:
        bar.finish()
    return applied


async def rebuild_from_kafka(
    projector: CaseProjector, bootstrap: str, topic_names: Sequence[str], *, progress: bool = True
) -> int:
    """Reset, then apply every retained event of the topics up to their end as of now (distributed)."""
    parking = await _reset(projector)
    existing = await partitions_of(bootstrap, topic_names)
    missing = [topic for topic in topic_names if topic not in existing]
    if missing:
        raise ValueError(f"cannot rebuild: topic(s) {', '.join(missing)} do not exist on {bootstrap}")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in topic_names for p in existing[topic]]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > begin[tp]}
        total = sum(end[tp] - begin[tp] for tp in partitions)
        bar = ProgressBar(total, "rebuilding projections", unit="offsets") if progress else None
        read = dict(begin)  # the bar counts offsets read, skipped records and gaps included, so it ends at 100%
        applied = 0
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                pending: list[Pending] = []
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    try:
                        envelope = parse_envelope_document(record.value or b"")
                        event_ids(envelope)
                    except (InvalidMessage, Unparkable) as failure:  # the live consumers dead-lettered it too
                        log.warning("rebuild skipped %s:%s@%s: %s", tp.topic, tp.partition, record.offset, failure)
                        continue
                    pending.append(Pending(f"kafka:{tp.topic}:{tp.partition}", record.offset + 1, envelope))
                await parking.deliver_many(pending)
                applied += len(pending)
                if records and bar:
                    last = min(records[-1].offset + 1, end[tp])
                    bar.advance(max(0, last - read[tp]))
                    read[tp] = max(read[tp], last)
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
                    if bar:
                        bar.advance(end[tp] - read[tp])
                    read[tp] = end[tp]
        if bar:
            bar.finish()
        return applied
    finally:
        await consumer.stop()
