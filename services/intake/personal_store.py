"""The erasable store: free text about people, per board, outside the immutable log.

Events reference a row by id; erasing the row (later: per-subject erasure) never rewrites history.
"""

from __future__ import annotations

from uuid import UUID

from psycopg_pool import ConnectionPool


class PersonalDetailsStore:
    def __init__(self, database_url: str, schema: str = "lif_intake_personal") -> None:
        self.schema = schema
        self.pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True)
        self.table = f'"{schema}".details'

    def setup(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "id uuid PRIMARY KEY, lscb text NOT NULL, case_id uuid NOT NULL, kind text NOT NULL, "
                "body text, created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz)"
            )

    def put(self, detail_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> None:
        """Idempotent: the same id is written once."""
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {self.table} (id, lscb, case_id, kind, body) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (detail_id, lscb, case_id, kind, body),
            )

    def get(self, detail_id: UUID, lscb: str) -> str | None:
        """The text, if it exists for that board and has not been erased."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT body FROM {self.table} WHERE id = %s AND lscb = %s AND erased_at IS NULL",
                (detail_id, lscb),
            ).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.pool.close()
