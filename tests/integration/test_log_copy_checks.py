"""The rebuild's in-database copy takes an event only when its envelope is what `bulk_writer.stored_row` takes as
it is: any field of another JSON type, missing, or in another form leaves the whole page to the client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lif.db import connect
from projections.log_copy import ACCEPTED, copy_staged
from tests.databases import fresh_database

EVENT_TYPE, VERSION = ACCEPTED[0].split(":")
SCRATCH = "log_copy_checks"


def envelope(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "case_id": str(uuid.uuid4()),
        "lscb": "BLK",
        "event_type": EVENT_TYPE,
        "schema_version": int(VERSION),
        "occurred_at": "2026-11-30T09:15:00.123456Z",
        "recorded_at": "2026-11-30T09:15:01+00:00",
        "payload": {},
    }
    for name, value in changes.items():
        if value is MISSING:
            del event[name]
        else:
            event[name] = value
    return event


MISSING = object()
ODD_ENVELOPES = {
    "board a number": {"lscb": 123},
    "board in a list": {"lscb": ["BLK"]},
    "board missing": {"lscb": MISSING},
    "board in lower case": {"lscb": "blk"},
    "type a list": {"event_type": [EVENT_TYPE]},
    "version a string": {"schema_version": VERSION},
    "version a decimal": {"schema_version": float(VERSION) + 0.5},
    "version missing": {"schema_version": MISSING},
    "occurred_at a number": {"occurred_at": 20261130},
    "occurred_at without a zone": {"occurred_at": "2026-11-30T09:15:00"},
    "occurred_at with 7 decimals": {"occurred_at": "2026-11-30T09:15:00.1234567Z"},
    "occurred_at at hour 24": {"occurred_at": "2026-11-30T24:00:00Z"},
    "recorded_at an object": {"recorded_at": {"at": "2026-11-30T09:15:01Z"}},
    "recorded_at null": {"recorded_at": None},
    "event_id a number": {"event_id": 5},
    "event_id a number of 32 digits": {"event_id": 12345678123456781234567812345678},
    "case_id a number of 32 digits": {"case_id": 12345678123456781234567812345678},
    "case_id an object": {"case_id": {"id": str(uuid.uuid4())}},
    "case_id not a UUID": {"case_id": "case-1"},
    "a control character": {"payload": {"note": "a\x07b"}},
}


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> Iterator[str]:
    url = asyncio.run(fresh_database(database_url, "logcopy", migrated=False))
    yield url


async def stored(url: str, event: dict[str, Any]) -> int | None:
    conn = await connect(url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE; CREATE SCHEMA {SCRATCH}")
        await conn.execute(
            f"CREATE TABLE {SCRATCH}.case_events (event_id uuid, case_id uuid, lscb text, event_type text, "
            "occurred_at timestamptz, recorded_at timestamptz, document jsonb, arrival bigserial)"
        )
        async with conn.transaction():
            count = await copy_staged(conn, SCRATCH, [("topic", 1, json.dumps(event).encode())], [])
            rows = await conn.fetchval(f"SELECT count(*) FROM {SCRATCH}.case_events")
        assert rows == (count or 0)  # a page left to the client stores nothing here
        return count
    finally:
        await conn.close()


async def test_an_envelope_as_the_contract_writes_it_is_copied(scratch_url: str) -> None:
    assert await stored(scratch_url, envelope()) == 1


@pytest.mark.parametrize("changes", ODD_ENVELOPES.values(), ids=ODD_ENVELOPES.keys())
async def test_an_envelope_with_any_field_odd_is_left_to_the_client(scratch_url: str, changes: dict[str, Any]) -> None:
    assert await stored(scratch_url, envelope(**changes)) is None
