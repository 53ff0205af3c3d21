"""Themes of learning already identified across the region (rule E2's memory): closed reviews, forums,
audits and reviews that closed before LIF.

Learning collation feeds it: each of its `SourceRecorded` events (over Kafka, or followed in-process in
the embedded runtime) adds the source's themes as tagged, each with its typology and version. The older
hand-fed command stays for reviews recorded here directly. A case's theme matches a held theme of the same
typology and code, or one that a crosswalk maps it to (`lif/config/crosswalks/`), so a case tagged in one
typology finds learning tagged in another. A match is recorded in the recommendation it produced, so the
register itself can change freely.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool

from events.learning import SourceRecorded
from lif.crosswalk import mapped_codes
from lif.learning_view import described, sees_in_full
from lif.typology import TypologyError, TypologyNotFound, load_typology


@dataclass(frozen=True)
class HeldTheme:
    typology: str
    version: str
    code: str

    def as_json(self) -> dict[str, str]:
        return {"typology": self.typology, "version": self.version, "code": self.code}


@dataclass(frozen=True)
class ClosedReview:
    review_ref: str
    lscb: str
    themes: tuple[HeldTheme, ...]
    closed_on: date
    source_kind: str = "review"
    review_type: str | None = None

    def name_for(self, reader_board: str | None) -> str:
        """Its reference code for a reader of its own board; for anyone else, board, kind and month."""
        if sees_in_full(reader_board, self.lscb):
            return self.review_ref
        return described(self.lscb, self.source_kind, self.review_type, self.closed_on)

    def view_for(self, reader_board: str | None) -> dict[str, Any]:
        """How `GET /v1/learning/closed-reviews` shows it to a reader of `reader_board` (None: the region)."""
        found: dict[str, Any] = {
            "lscb": self.lscb,
            "name": self.name_for(reader_board),
            "source_kind": self.source_kind,
            "review_type": self.review_type,
            "themes": [t.as_json() for t in self.themes],
            "closed_on": self.closed_on.isoformat(),
        }
        if sees_in_full(reader_board, self.lscb):
            found["review_ref"] = self.review_ref
        return found


@dataclass(frozen=True)
class RepeatMatch:
    """Every theme of the case was found in these earlier reviews (own board first), each named as a reader
    of the case's board may see it (own board's reference codes; another board's described)."""

    themes: tuple[str, ...]
    earlier_reviews: tuple[str, ...]


def _own_themes(themes: list[dict[str, str]]) -> tuple[HeldTheme, ...]:
    """The held themes whose typology version holds their code (rows recorded before tags were kept mixed in
    crosswalked codes under the source's typology; matching applies the crosswalks itself)."""
    kept = []
    for t in themes:
        try:
            known = t["code"] in load_typology(f"{t['typology']}/{t['version']}").themes
        except (TypologyError, TypologyNotFound):
            known = True  # a typology no longer configured: keep what was recorded
        if known:
            kept.append(HeldTheme(t["typology"], t["version"], t["code"]))
    return tuple(dict.fromkeys(kept))


def equivalents(typology: str, code: str) -> set[tuple[str, str]]:
    """(typology, code) pairs that name the same learning: the code itself and what the crosswalks map it to."""
    return {(typology, code), *((t, c) for t, c, _ in mapped_codes(typology, code))}


class LearningRegister:
    def __init__(self, database_url: str, schema: str) -> None:
        self.schema = schema
        self.table = f'"{schema}".closed_reviews'
        self.pool = ConnectionPool(database_url, min_size=1, max_size=2, open=True)

    def record(self, review: ClosedReview) -> bool:
        """Add a closed review's themes; False when that reference is already recorded (nothing changes)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {self.table} (review_ref, lscb, tags, closed_on, source_kind, review_type) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (review_ref) DO NOTHING RETURNING review_ref",
                (
                    review.review_ref,
                    review.lscb,
                    json.dumps([t.as_json() for t in review.themes]),
                    review.closed_on,
                    review.source_kind,
                    review.review_type,
                ),
            ).fetchone()
        return row is not None

    def record_source(self, event: SourceRecorded) -> bool:
        """A source of learning held by the region, with its themes as tagged, once."""
        p = event.payload
        reviews = ("review", "legacy_review")
        reference = p.reference if p.source_kind in reviews else f"{event.lscb} {p.source_kind} {p.reference}"
        themes = tuple(dict.fromkeys(HeldTheme(t.typology, t.version, t.code) for t in p.themes))
        return self.record(ClosedReview(reference, event.lscb, themes, p.on, p.source_kind, p.review_type))

    def list(self, lscb: str | None = None) -> list[ClosedReview]:
        query = f"SELECT review_ref, lscb, tags, closed_on, source_kind, review_type FROM {self.table}"
        params: tuple[str, ...] = ()
        if lscb is not None:
            query += " WHERE lscb = %s"
            params = (lscb,)
        with self.pool.connection() as conn:
            rows = conn.execute(query + " ORDER BY closed_on, review_ref", params).fetchall()
        return [ClosedReview(r[0], r[1], _own_themes(r[2]), r[3], r[4], r[5]) for r in rows]

    def repeat_of(self, lscb: str, typology: str, themes: Sequence[str]) -> RepeatMatch | None:
        """The match when every theme (codes of `typology`) is already held, directly or through a crosswalk,
        by a closed review of the board or the region, else None."""
        wanted = {code: equivalents(typology, code) for code in dict.fromkeys(themes)}
        if not wanted:
            return None
        holding: list[ClosedReview] = []
        found: set[str] = set()
        for review in self.list():
            held = {(t.typology, t.code) for t in review.themes}
            matched = {code for code, names in wanted.items() if names & held}
            if matched:
                holding.append(review)
                found |= matched
        if found != set(wanted):
            return None
        holding.sort(key=lambda r: (r.lscb != lscb, r.closed_on, r.review_ref))
        names = tuple(dict.fromkeys(r.name_for(lscb) for r in holding))
        return RepeatMatch(tuple(sorted(wanted)), names)

    def close(self) -> None:
        self.pool.close()
