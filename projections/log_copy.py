"""Copy a range of a service's log into a rebuild's `case_events` without the rows leaving PostgreSQL.

The bulk load's Python path reads each notification's state, parses it, checks the envelope's fields
(`bulk_writer.stored_row`) and COPYs the row back: most of a rebuild's time, spent moving bytes through the
client. Where the read model shares its database with the logs (the embedded runtime), the same checks run
as SQL over a range of notification ids and one `INSERT ... SELECT` stores the range's events in log order.

The SQL checks are never looser than `stored_row`'s: a range holding anything they do not take as it is
(another schema version, an odd time, a control character, a case with a parked event, a state PostgreSQL
cannot read as JSON) stores nothing here and is left to the Python path, which converts or parks it as
before. Ids are not compared with what earlier ranges stored: a service's log records an event once, and
`keep_first_copies` keeps the first copy of any event id when the key cannot be built.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from events.registry import EVENT_MODELS, UPCASTERS
from lif.delivery.failures import is_transient
from lif.delivery.log import DATABASE_IDENTITY

log = logging.getLogger(__name__)
ACCEPTED = sorted(f"{t}:{v}" for t, v in EVENT_MODELS if (t, v) not in UPCASTERS)
"""`event_type:schema_version` of the events stored as they are (the newest model's, no upcaster)."""
WORK_MEM = "256MB"
_LSCB = r"^[A-Z]{3}$"
_INSTANT = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""A time as the contract's models write it, in the range Python's `datetime.fromisoformat` reads."""
_CONTROL = r"\\u00|\\[bf]|[\u007f-\u009f]"
"""`bulk_writer._CONTROL`, over the whole state as stored: JSON escapes a control character as orjson does (as
`\\u00XX`, `\\b` or `\\f`, or DEL and C1 as they are), whether it escapes other characters or not, so a state
without a match holds none in its envelope."""

_CHECKED = """
    SELECT notification_id, e, coalesce(
        jsonb_typeof(e->'event_type') = 'string' AND jsonb_typeof(e->'schema_version') = 'number'
        AND (e->>'event_type') || ':' || (e->'schema_version')::text = ANY($3::text[])
        AND jsonb_typeof(e->'lscb') = 'string' AND (e->>'lscb') ~ $4
        AND jsonb_typeof(e->'occurred_at') = 'string' AND (e->>'occurred_at') ~ $5
        AND jsonb_typeof(e->'recorded_at') = 'string' AND (e->>'recorded_at') ~ $5
        AND jsonb_typeof(e->'event_id') = 'string' AND jsonb_typeof(e->'case_id') = 'string'
        AND (e->>'case_id')::uuid <> ALL($7::uuid[])
        AND NOT (state ~ $6), false) AS ok
    FROM (
        SELECT notification_id, state, state::jsonb{envelope} AS e
        FROM (
            SELECT notification_id, convert_from(state, 'UTF8') AS state FROM {table}
            WHERE notification_id > $1 AND notification_id <= $2{events_only}
            OFFSET 0
        ) AS text_states
        OFFSET 0
    ) AS logged
"""
_COPY = """
WITH checked AS MATERIALIZED ({checked}{objects_only}
), refused AS (
    SELECT count(*) AS n FROM checked WHERE NOT ok
), stored AS (
    INSERT INTO {schema}.case_events (event_id, case_id, lscb, event_type, occurred_at, recorded_at, document, arrival)
    SELECT (e->>'event_id')::uuid, (e->>'case_id')::uuid, e->>'lscb', e->>'event_type',
           (e->>'occurred_at')::timestamptz, (e->>'recorded_at')::timestamptz, e,
           coalesce($8::bigint + notification_id, nextval(pg_get_serial_sequence('{schema}.case_events', 'arrival')))
    FROM checked WHERE (SELECT n FROM refused) = 0 ORDER BY notification_id
    RETURNING 1
)
SELECT (SELECT n FROM refused) AS refused, (SELECT count(*) FROM stored) AS stored
"""
"""A log's state holds the event under `envelope` (`"envelope"` is the bytes `656e76656c6f7065` between quotes,
`22`: states without it are not events, nor is one whose `envelope` is not an object); a staged record is the
event, and one that is not an object is refused, for the client to skip it with a warning. `OFFSET 0` keeps each
state decoded and parsed once (a subquery pulled up would parse it again for every reference to `e`). An id that
is not a UUID fails its cast, which leaves the range to the Python path, as any statement error does."""
_LOGGED = _COPY.format(
    checked=_CHECKED.format(
        envelope=" -> 'envelope'", table="{table}",
        events_only="\n            AND position('\\x22656e76656c6f706522'::bytea IN state) > 0",
    ),
    objects_only="    WHERE jsonb_typeof(e) = 'object'", schema="{schema}",
)
STAGING = "lif_rebuild_staged"
"""The session's table of records staged for `copy_staged` (temporary, emptied at each commit)."""
_STAGED = _COPY.format(
    checked=_CHECKED.format(envelope="", table=STAGING, events_only=""), objects_only="", schema="{schema}"
)


@dataclass(frozen=True)
class LogRange:
    """Notifications `after < id <= upto` of the log table `table`, read as the position key `key`."""

    key: str
    table: str
    after: int
    upto: int
    as_session: bool = False
    """Read the log as the connection's session user (an administrator's, acting as the read model's owner)."""


class _Refused(Exception):
    """The range holds something only the Python path may take: store nothing of it here."""


async def copy_range(
    conn: Any, schema: str, span: LogRange, heads: Collection[UUID], arrival_base: int | None = None
) -> int | None:
    """Store the range's events in `schema.case_events` in the caller's transaction; how many, or None when the
    range is left to the Python path (then nothing of it is stored). Each event's `arrival` is `arrival_base`
    plus its notification id, or the next of the column's sequence, in log order, without one."""
    statement = _LOGGED.format(table=span.table, schema=schema)
    setup = ["SET LOCAL ROLE NONE"] if span.as_session else []
    args = (span.after, span.upto, heads, arrival_base)
    return await _checked_copy(conn, statement, setup, args, f"{span.key} after {span.after}")


async def copy_staged(
    conn: Any, schema: str, records: Sequence[tuple[str, int, bytes]], heads: Collection[UUID]
) -> int | None:
    """Store the events of these records (each value an event's JSON) in `schema.case_events` in the caller's
    transaction, in their order, staged in a temporary table first; how many, or None as `copy_range`."""
    if not records:
        return 0
    await conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (notification_id bigint, state bytea) ON COMMIT DELETE ROWS"
    )

    async def stage() -> None:
        await conn.execute(f"TRUNCATE {STAGING}")
        await conn.copy_records_to_table(
            STAGING, records=[(index, value) for index, (_, _, value) in enumerate(records, start=1)]
        )

    where = f"{records[0][0]}@{records[0][1] - 1} and on"
    return await _checked_copy(conn, _STAGED.format(schema=schema), [stage], (0, len(records), heads, None), where)


async def _checked_copy(
    conn: Any, statement: str, setup: Sequence[Any], args: tuple[Any, ...], where: str
) -> int | None:
    """Run the copy in a savepoint after its `setup` (statements, or coroutine functions); the count, or None."""
    try:
        async with conn.transaction():  # a savepoint: a statement that fails leaves the caller's transaction
            await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")  # the checked range held in memory
            for step in setup:
                await (conn.execute(step) if isinstance(step, str) else step())
            after, upto, heads, arrival_base = args
            row = await conn.fetchrow(
                statement, after, upto, ACCEPTED, _LSCB, _INSTANT, _CONTROL, list(heads), arrival_base
            )
            if row["refused"]:
                raise _Refused
            return int(row["stored"])
    except _Refused:
        log.info("%s: an event needs the client's checks", where)
        return None
    except asyncpg.PostgresError as exc:
        if is_transient(exc):
            raise
        log.info("%s: left to the client (%s)", where, exc)
        return None


async def readable_as(conn: Any, tables: Collection[str], schema: str) -> str | None:
    """Who on `conn` may read every table (quoted `"schema"."table"` names) and write `schema.case_events`:
    "current" (its role), "session" (the user it logged in as, with `SET LOCAL ROLE NONE`), or None.

    The tables are looked up in the catalogue, not by name, so a schema the role may not use answers False
    instead of failing the statement."""
    wanted = [*((t, "SELECT") for t in tables), (f'"{schema}"."case_events"', "INSERT")]
    for who, user in (("current", "current_user"), ("session", "session_user")):
        allowed = await conn.fetchval(
            f"SELECT bool_and(coalesce(has_schema_privilege({user}, n.oid, 'USAGE') "
            f"AND has_table_privilege({user}, c.oid, w.privilege), false)) "
            "FROM unnest($1::text[], $2::text[]) AS w(name, privilege) "
            "LEFT JOIN pg_namespace n ON n.nspname = (parse_ident(w.name))[1] "
            "LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = (parse_ident(w.name))[2]",
            [name for name, _ in wanted], [privilege for _, privilege in wanted],
        )
        if allowed:
            return who
    return None


async def database_identity(conn: Any) -> tuple[str, str]:
    """`DATABASE_IDENTITY` on an asyncpg connection."""
    row = await conn.fetchrow(DATABASE_IDENTITY)
    return str(row[0]), str(row[1])


async def keep_first_copies(conn: Any, schema: str) -> None:
    """Keep the first copy of each event id in `schema.case_events` (a scan of the whole table: run it only
    when its key cannot be built)."""
    await conn.execute(
        f"DELETE FROM {schema}.case_events c USING (SELECT event_id, min(arrival) AS first FROM {schema}.case_events "
        "GROUP BY event_id HAVING count(*) > 1) d WHERE c.event_id = d.event_id AND c.arrival > d.first"
    )


async def drop_parked_copies(conn: Any, schema: str, consumer: str) -> None:
    """Remove from `schema.case_events` (by its key) any copy of an event that was parked."""
    await conn.execute(
        f"DELETE FROM {schema}.case_events WHERE event_id = ANY(ARRAY("
        f"SELECT event_id FROM {schema}.parked_events WHERE consumer = $1))",
        consumer,
    )
