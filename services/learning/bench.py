"""A register of many sources in bulk, and the time the search takes on it (the search-at-scale test).

The sources are made in SQL (generate_series): a title of two practice words, findings of about 40 words
and a body of about 80, one word in five (findings) or ten (body) drawn from a vocabulary of practice
words, the others from 20,000 filler words with a skewed (Zipf-like) frequency, as free text is; the themes of
both typologies, a dozen boards, every kind and review type, over ten years. Each query is then timed as
the search route runs it (`services.learning.queries`), warm, median of several runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import date
from typing import Any

import asyncpg

from services.learning import queries
from services.learning.queries import Filters
from services.learning.register import PERSONAL

WORDS = (
    "neglect assessment supervision escalation referral strategy discussion health visitor school attendance "
    "domestic abuse police social care disguised compliance bruising non-mobile baby mental health parenting "
    "capacity housing drift challenge curiosity voice child lived experience chronology information sharing "
    "threshold thresholds plan review conference core group contact midwife hospital emergency department "
    "exploitation missing episodes substance misuse alcohol father partner grandparent carer disability"
).split()
THEMES = (
    "scie-learning-together:human_judgement",
    "scie-learning-together:management_systems",
    "scie-learning-together:family_professional_interaction",
    "scie-learning-together:multi_agency_incidents_and_crises",
    "scie-learning-together:multi_agency_longer_term_work",
    "national-panel-practice-themes:babies",
    "national-panel-practice-themes:domestic_abuse",
    "national-panel-practice-themes:whole_family",
)
BOARDS = ("BOL", "MAN", "WGN", "SAL", "STO", "TRA", "OLD", "RCH", "BUR", "BWD", "BPL", "LAN")

_FILL = f"""
INSERT INTO {PERSONAL}.sources (source_id, lscb, source_kind, review_type, on_date, incident_month, reference,
    themes, tags, mapped_tags, document, title, findings, body)
SELECT gen_random_uuid(), b.boards[1 + n % array_length(b.boards, 1)],
       (ARRAY['review', 'forum', 'audit', 'legacy_review'])[1 + n % 4],
       CASE WHEN n % 4 IN (0, 3) THEN (ARRAY['scr', 'macr', 'iar'])[1 + n % 3] END,
       DATE '2014-01-01' + (n % 3650), NULL, 'BENCH-' || n,
       ARRAY[t.themes[1 + n % array_length(t.themes, 1)], t.themes[1 + (n / 7) % array_length(t.themes, 1)]],
       '[]'::jsonb, '[]'::jsonb, NULL,
       w.words[1 + n % array_length(w.words, 1)] || ' ' || w.words[1 + (n / 3) % array_length(w.words, 1)],
       (SELECT string_agg(CASE WHEN k % 5 = 0
                               THEN ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int]
                               ELSE 'w' || floor(power(random(), 2) * 20000)::int END, ' ')
          FROM generate_series(1, 40 + n.n % 2) k),
       (SELECT string_agg(CASE WHEN k % 10 = 0
                               THEN ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int]
                               ELSE 'w' || floor(power(random(), 2) * 20000)::int END, ' ')
          FROM generate_series(1, 80 + n.n % 2) k)
  FROM generate_series($1::int, $2::int) n(n),
       (SELECT $3::text[] AS words) w, (SELECT $4::text[] AS themes) t, (SELECT $5::text[] AS boards) b
"""


async def fill(pool: asyncpg.Pool, count: int, batch: int = 10_000) -> None:
    """Add `count` synthetic sources to the register (benchmarks only: never on a board's database).

    The batches go on every connection of `pool` at once: making each row's search vector is CPU in the
    server, so this is as many cores as the pool has connections."""
    batches = asyncio.Queue[int]()
    for start in range(0, count, batch):
        batches.put_nowait(start)

    async def worker() -> None:
        while not batches.empty():
            start = batches.get_nowait()
            await pool.execute(_FILL, start, min(count, start + batch) - 1, list(WORDS), list(THEMES), list(BOARDS))

    await asyncio.gather(*(worker() for _ in range(max(1, pool.get_max_size()))))
    await pool.execute(f"ANALYZE {PERSONAL}.sources")


SEARCHES: tuple[tuple[str, str | None, Filters], ...] = (
    ("two words", "disguised compliance", Filters()),
    ("a common word", "neglect", Filters()),
    ("words or words", "bruising OR exploitation", Filters()),
    ("a phrase", '"neglect neglect"', Filters()),
    ("words and a board", "supervision", Filters(lscb="BOL")),
    ("words, a crosswalked code, a period", "baby", Filters(typology="national-panel-practice-themes",
                                                             code="babies", period_from=date(2018, 4, 1),
                                                             period_to=date(2019, 3, 31))),
    ("a code alone, page 1", None, Filters(typology="scie-learning-together", code="human_judgement")),
    ("words, review type, deep page", "health visitor", Filters(review_type="macr")),
)


async def time_searches(pool: asyncpg.Pool, runs: int = 5) -> list[dict[str, Any]]:
    """Each search's median time (ms) over `runs` warm runs, with its total hits."""
    results = []
    for name, words, filters in SEARCHES:
        offset = 200 if "deep page" in name else 0
        answer = await queries.search(pool, None, words, filters, 20, offset)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            await queries.search(pool, None, words, filters, 20, offset)
            timings.append((time.perf_counter() - started) * 1000)
        results.append({"search": name, "total": answer["total"], "median_ms": round(statistics.median(timings), 1)})
    return results
