"""Rebuild the read model from scratch: from Kafka's retained topics, or from the services' own logs.

Either way every event goes through the same projector as live delivery, so a rebuilt view equals the
live one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from eventsourcing.application import Application

from events.registry import parse_event
from lif.delivery.delivered import Delivered
from lif.delivery.kafka import InvalidMessage, parse_contract_event
from lif.delivery.log import log_head, read_log
from lif.infra.topics import partitions_of
from lif.progress import ProgressBar
from projections import schema
from projections.projector import CaseProjector

log = logging.getLogger(__name__)
LOG_BATCH = 1000


async def rebuild_from_logs(
    projector: CaseProjector, logs: Sequence[tuple[str, Application]], *, progress: bool = True
) -> int:
    """Reset, then apply every event of each named log (embedded runtime)."""
    await schema.reset(projector.pool)
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
            for item in batch:
                await projector.handle(Delivered(f"log:{name}", item.notification_id, parse_event(item.envelope)))
                applied += 1
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
    await schema.reset(projector.pool)
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
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    if bar:
                        bar.advance(record.offset + 1 - read[tp])
                    read[tp] = record.offset + 1
                    try:
                        event = parse_contract_event(record.value or b"")
                    except InvalidMessage as failure:  # the live consumers dead-lettered it too
                        log.warning("rebuild skipped %s:%s@%s: %s", tp.topic, tp.partition, record.offset, failure)
                        continue
                    await projector.handle(Delivered(f"kafka:{tp.topic}:{tp.partition}", record.offset + 1, event))
                    applied += 1
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
