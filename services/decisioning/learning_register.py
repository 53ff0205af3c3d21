"""Themes of learning already identified across the region (rule E2's memory): closed reviews, forums,
audits and reviews that closed before LIF.

Learning collation feeds it: each of its `SourceRecorded` events (over Kafka, or followed in-process in
the embedded runtime) adds the source's themes, with the codes the crosswalk maps them to, so a case
tagged in one typology finds learning tagged in another. The older hand-fed command stays for reviews
recorded here directly. A match is recorded in the recommendation it produced, so the register itself can
change freely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from psycopg_pool import ConnectionPool

from events.learning import SourceRecorded


@dataclass(frozen=True)
class ClosedReview:
    review_ref: str
    lscb: str
    themes: tuple[str, ...]
    typology: str
    closed_on: date


@dataclass(frozen=True)
class RepeatMatch:
    """Every theme of the case was found in these earlier reviews (own board first)."""

    themes: tuple[str, ...]
    earlier_reviews: tuple[str, ...]


class LearningRegister:
    def __init__(self, database_url: str, schema: str) -> None:
        self.schema = schema
        self.table = f'"{schema}".closed_reviews'
        self.pool = ConnectionPool(database_url, min_size=1, max_size=2, open=True)

    def record(self, review: ClosedReview) -> bool:
        """Add a closed review's themes; False when that reference is already recorded (nothing changes)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {self.table} (review_ref, lscb, themes, typology, closed_on) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (review_ref) DO NOTHING RETURNING review_ref",
                (review.review_ref, review.lscb, list(review.themes), review.typology, review.closed_on),
            ).fetchone()
        return row is not None

    def record_source(self, event: SourceRecorded) -> bool:
        """A source of learning held by the region; its themes and their crosswalked codes, once."""
        p = event.payload
        reviews = ("review", "legacy_review")
        reference = p.reference if p.source_kind in reviews else f"{event.lscb} {p.source_kind} {p.reference}"
        codes = tuple(dict.fromkeys(t.code for t in [*p.themes, *p.mapped_themes]))
        primary = p.themes[0]
        return self.record(
            ClosedReview(reference, event.lscb, codes, f"{primary.typology}/{primary.version}", p.on)
        )

    def list(self, lscb: str | None = None) -> list[ClosedReview]:
        query = f"SELECT review_ref, lscb, themes, typology, closed_on FROM {self.table}"
        params: tuple[str, ...] = ()
        if lscb is not None:
            query += " WHERE lscb = %s"
            params = (lscb,)
        with self.pool.connection() as conn:
            rows = conn.execute(query + " ORDER BY closed_on, review_ref", params).fetchall()
        return [ClosedReview(r[0], r[1], tuple(r[2]), r[3], r[4]) for r in rows]

    def repeat_of(self, lscb: str, themes: Sequence[str]) -> RepeatMatch | None:
        """The match when every theme is already in a closed review of the board or the region, else None."""
        wanted = set(themes)
        if not wanted:
            return None
        holding = [r for r in self.list() if wanted & set(r.themes)]
        found = set().union(*(set(r.themes) for r in holding)) if holding else set()
        if not wanted <= found:
            return None
        holding.sort(key=lambda r: (r.lscb != lscb, r.closed_on, r.review_ref))
        return RepeatMatch(tuple(sorted(wanted)), tuple(r.review_ref for r in holding))

    def close(self) -> None:
        self.pool.close()
