"""Migrations that rebuild rows recorded before them: applied step by step to an empty database, with a row
of the earlier shape in place before the step that changes it."""

from __future__ import annotations

import json

import asyncpg
import pytest

from lif.migrations.runner import MigrationSet
from lif.migrations.sets import DECISIONING, LEARNING
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]


async def apply_until(conn: asyncpg.Connection, migrations: MigrationSet, before: str) -> str:
    """Apply the set's steps up to `before` (not included); the SQL of `before`."""
    for migration in migrations.migrations:
        if migration.label == before:
            return migration.sql
        await conn.execute(migration.sql)
    raise AssertionError(f"no step {before}")


async def test_an_indexed_source_keeps_its_title_and_findings_once(database_url: str) -> None:
    url = await fresh_database(database_url, "learning_body_once", migrated=False)
    conn = await asyncpg.connect(url)
    try:
        step = await apply_until(conn, LEARNING, "0006_search_body_once")
        insert = (
            'INSERT INTO "lif_learning_personal".sources (source_id, lscb, source_kind, on_date, reference, themes, '
            "tags, mapped_tags, title, findings, body) VALUES (gen_random_uuid(), 'BOL', 'forum', '2015-06-01', $1, "
            "'{}', '[]', '[]', 'Disguised compliance', $2, $3)"
        )
        await conn.execute(insert, "F-1", "Not challenged.", "Disguised compliance\nNot challenged.\nJoint training.")
        await conn.execute(insert, "F-2", "Not challenged.", "Disguised compliance\nNot challenged.")
        await conn.execute(insert, "F-3", "Not challenged.", "Joint training.")
        await conn.execute(step)
        rows = await conn.fetch(
            'SELECT reference, body, length(search) AS lexemes FROM "lif_learning_personal".sources ORDER BY reference'
        )
        assert [(r["reference"], r["body"]) for r in rows] == [
            ("F-1", "Joint training."),
            ("F-2", ""),
            ("F-3", "Joint training."),
        ]
        ranked = await conn.fetch(
            "SELECT reference, ts_rank_cd(search, websearch_to_tsquery('english', 'disguised')) AS rank "
            'FROM "lif_learning_personal".sources ORDER BY reference'
        )
        assert ranked[0]["rank"] == ranked[1]["rank"] == ranked[2]["rank"]  # the title counts once in each
    finally:
        await conn.close()


async def test_held_themes_get_their_typology_and_the_kind_of_source(database_url: str) -> None:
    url = await fresh_database(database_url, "closed_review_tags", migrated=False)
    conn = await asyncpg.connect(url)
    try:
        step = await apply_until(conn, DECISIONING, "0007_closed_review_tags")
        await conn.execute(
            "INSERT INTO lif_decisioning_registry.closed_reviews (review_ref, lscb, themes, typology, closed_on) "
            "VALUES ('BOL-MACR-2015-01', 'BOL', '{human_judgement,babies}', 'scie-learning-together/1', "
            "'2015-08-12'), ('BOL audit A-1', 'BOL', '{babies}', 'national-panel-practice-themes/1', '2015-07-01')"
        )
        await conn.execute(step)
        rows = await conn.fetch(
            "SELECT review_ref, tags::text, source_kind FROM lif_decisioning_registry.closed_reviews ORDER BY 1"
        )
        assert [(r["review_ref"], r["source_kind"]) for r in rows] == [
            ("BOL audit A-1", "audit"),
            ("BOL-MACR-2015-01", "review"),
        ]
        assert json.loads(rows[1]["tags"])[0] == {
            "typology": "scie-learning-together",
            "version": "1",
            "code": "human_judgement",
        }
    finally:
        await conn.close()
