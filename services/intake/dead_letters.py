"""The original bytes of incident notifications intake could not accept, outside Kafka, where erasure
reaches them.

A notification holds a child's details (the summary above all). Its dead letter on `lif.incidents.v1.dlq`
keeps only what an operator needs to act (reason, field errors, source system, a keyed hash of the source
reference, the size) and names the row here (`lif-dlq-original-id`) that holds what came, so the message
can be repaired or replayed, and erased like every other free text of intake's erasable store.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from psycopg_pool import ConnectionPool


@dataclass(frozen=True)
class DeadLetterOriginal:
    original_id: UUID
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes | None
    was_null: bool
    erased: bool


class DeadLetterStore:
    """One row per dead-lettered message, by its position: a redelivery keeps the same row and id.

    The table is made by intake's migrations (0004_dead_letter_originals.sql)."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.schema = schema
        self.table = f'"{schema}".dead_letter_originals'
        self.pool = ConnectionPool(database_url, min_size=1, max_size=2, open=True)

    @staticmethod
    def id_for(topic: str, partition: int, offset: int) -> UUID:
        return uuid5(NAMESPACE_URL, f"lif-dead-letter:{topic}:{partition}:{offset}")

    def keep(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str
    ) -> UUID:
        """Store what came (idempotent by position); returns the id the dead letter names."""
        original_id = self.id_for(topic, partition, offset)
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {self.table} (id, source_topic, source_partition, source_offset, key, value, was_null, "
                "reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (original_id, topic, partition, offset, key, value, value is None, reason),
            )
        return original_id

    def get(self, original_id: UUID) -> DeadLetterOriginal | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT source_topic, source_partition, source_offset, key, value, was_null, erased_at "
                f"FROM {self.table} WHERE id = %s",
                (original_id,),
            ).fetchone()
        if row is None:
            return None
        topic, partition, offset, key, value, was_null, erased_at = row
        return DeadLetterOriginal(
            original_id,
            topic,
            partition,
            offset,
            None if key is None else bytes(key),
            None if value is None else bytes(value),
            was_null,
            erased_at is not None,
        )

    def erase(self, original_id: UUID) -> bool:
        """Erase the original (key and value); the row stays to say it was erased."""
        with self.pool.connection() as conn:
            cursor = conn.execute(
                f"UPDATE {self.table} SET key = NULL, value = NULL, erased_at = now() "
                "WHERE id = %s AND erased_at IS NULL",
                (original_id,),
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        self.pool.close()
