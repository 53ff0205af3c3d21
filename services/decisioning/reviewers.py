"""The lead reviewer registry: who may lead a review, who employs them and what they are affiliated with.

Reviewers are professionals, and their names are personal data. They therefore live in this mutable table
(one per deployment, in its own schema) and never in events, which carry the reviewer id only. The
statutory independence check (rules.md section 3 and glossary: a statutory SCR's lead reviewer is fully
independent of every agency of the LSCB) is a pure function over a registry entry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.envelope import LSCB_PATTERN
from events.fields import MAX_ITEMS, Line
from events.incidents import NotifyingAgency
from lif.boards import get_board
from lif.idempotency import Idempotency, repeat_of

_SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
REVIEWER_ID_PATTERN = r"^rev-[0-9a-f]{10}$"


class Affiliation(BaseModel):
    """An organisation a reviewer works for or is affiliated with.

    `lscb` is the North West board the organisation is an agency of, or None for one outside the
    region's boards (a national body, an independent consultancy). Unknown board codes are refused: a
    mistyped code would otherwise hide a conflict from the independence check.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lscb: str | None = Field(default=None, pattern=LSCB_PATTERN, description="Board the organisation serves")
    organisation: Line = Field(min_length=1, max_length=200)
    agency: NotifyingAgency | None = Field(default=None, description="The kind of agency (rules.md section 1)")

    @field_validator("lscb")
    @classmethod
    def _known_board(cls, value: str | None) -> str | None:
        if value is not None and get_board(value) is None:
            raise ValueError(f"unknown board {value!r}; use null for an organisation outside the region's boards")
        return value

    @field_validator("organisation")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("organisation must not be blank")
        return value.strip()


class NewReviewer(BaseModel):
    """A reviewer as submitted to the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Line = Field(min_length=1, max_length=200, description="The reviewer's name (personal data)")
    employer: Affiliation
    affiliations: list[Affiliation] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Other organisations the reviewer is affiliated with"
    )

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


class Reviewer(NewReviewer):
    """A registered reviewer; events refer to them by `reviewer_id` only."""

    reviewer_id: str = Field(pattern=REVIEWER_ID_PATTERN)
    created_at: datetime


def independence_conflicts(reviewer: NewReviewer, lscb: str) -> list[str]:
    """One plain sentence per tie between the reviewer and an agency of board `lscb`; empty: independent.

    The statutory SCR rule (rules.md section 3): the lead reviewer is fully independent of all agencies
    of the LSCB, so the employer and every affiliation count.
    """
    board = get_board(lscb)
    board_text = f"the {board.name} LSCB ({lscb})" if board is not None else f"the LSCB {lscb}"
    conflicts: list[str] = []
    if reviewer.employer.lscb == lscb:
        conflicts.append(f"Employed by {reviewer.employer.organisation}, an agency of {board_text}.")
    for affiliation in reviewer.affiliations:
        if affiliation.lscb == lscb:
            conflicts.append(f"Affiliated with {affiliation.organisation}, an agency of {board_text}.")
    return conflicts


def new_reviewer_id() -> str:
    return "rev-" + secrets.token_hex(5)


def keyed_reviewer_id(key: Idempotency) -> str:
    """The id a registration with an Idempotency-Key gets: from the key (scoped to the caller's board)."""
    return "rev-" + hashlib.sha256(key.key.encode()).hexdigest()[:10]


class ReviewerRegistry:
    """Reviewers in table `<schema>.reviewers` (blocking psycopg, as the decisioning application is).

    The table is made by decisioning's migrations.
    """

    def __init__(self, database_url: str, schema: str) -> None:
        if not _SCHEMA_PATTERN.match(schema):
            # The schema name is put into SQL text, so it must be a plain identifier.
            raise ValueError(f"invalid schema name {schema!r}: use lowercase letters, digits and _")
        self.schema = schema
        self.table = f"{schema}.reviewers"
        self.pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True)

    def add(self, reviewer: NewReviewer, key: Idempotency | None = None) -> tuple[Reviewer, bool]:
        """Register `reviewer` and return the stored entry, and whether it is new. With an Idempotency-Key
        the id comes from the key and the request's hash is kept with the entry: the same request again
        finds the first entry, another request under the key raises `KeyReused`."""
        reviewer_id = keyed_reviewer_id(key) if key is not None else new_reviewer_id()
        with self.pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {self.table} (reviewer_id, name, employer, affiliations, request_hash) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (reviewer_id) DO NOTHING "
                "RETURNING reviewer_id, name, employer, affiliations, created_at",
                (
                    reviewer_id,
                    reviewer.name,
                    Jsonb(reviewer.employer.model_dump(mode="json")),
                    Jsonb([a.model_dump(mode="json") for a in reviewer.affiliations]),
                    None if key is None else key.request_hash,
                ),
            ).fetchone()
            if row is not None:
                return _reviewer(row), True
            noted = conn.execute(
                f"SELECT request_hash, reviewer_id, name, employer, affiliations, created_at FROM {self.table} "
                "WHERE reviewer_id = %s",
                (reviewer_id,),
            ).fetchone()
        assert noted is not None and key is not None  # only a keyed id can be taken already
        first = repeat_of((noted[0] or key.request_hash, _reviewer(noted[1:])), key)
        assert first is not None
        return first, False

    def get(self, reviewer_id: str) -> Reviewer | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT reviewer_id, name, employer, affiliations, created_at FROM {self.table} "
                "WHERE reviewer_id = %s",
                (reviewer_id,),
            ).fetchone()
        return None if row is None else _reviewer(row)

    def list(self, *, limit: int | None = None, offset: int = 0) -> list[Reviewer]:
        """Reviewers oldest first, `limit` of them (all when None) after skipping `offset`."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT reviewer_id, name, employer, affiliations, created_at FROM {self.table} "
                "ORDER BY created_at, reviewer_id LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [_reviewer(row) for row in rows]

    def count(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        self.pool.close()


def _reviewer(row: tuple[Any, ...]) -> Reviewer:
    reviewer_id, name, employer, affiliations, created_at = row
    return Reviewer(
        reviewer_id=reviewer_id, name=name, employer=employer, affiliations=affiliations, created_at=created_at
    )
