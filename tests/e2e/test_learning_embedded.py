"""Learning collation end to end on the embedded runtime: two boards' closed reviews, a forum and an audit in
the regional register (without case identifiers for anyone but the owning board), searched by words and by
a crosswalked code, feeding repeat learning (rule E2) with nothing registered by hand, and a recommendation
tracked to its overdue action. Everything through HTTP, except the in-process report inputs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from lif.auth import Role
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from services.learning.report_inputs import report_input_reads
from services.orchestration.summary_reads import learning_summary_reads
from tests.databases import fresh_database
from tests.learning_journeys import MACR_FACTS, Collated, collate
from tests.polling import eventually
from tests.review_journeys import Driver, open_case

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "learning-embedded-test-admin-token"
KEY = b"learning-embedded-test-pseudonym-key-01"


@dataclass
class Clock:
    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day

    def advance_to(self, day: date) -> None:
        self.day = max(self.day, day)


@dataclass
class Region:
    bol: Driver
    man: Driver
    wgn: Driver
    system: EmbeddedSystem
    clock: Clock


@pytest.fixture
async def region(database_url: str) -> AsyncIterator[Region]:
    clock = Clock()
    url = await fresh_database(database_url, "learning_embedded")
    system = await build_embedded(url, KEY, ADMIN, today=clock)
    await system.start()

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await system.authenticator.store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        drivers = [Driver(client, tokens, lscb=b, advance_to=clock.advance_to) for b in ("BOL", "MAN", "WGN")]
        yield Region(*drivers, system, clock)
    await system.stop()


def ids_in(document: Any) -> str:
    return json.dumps(document)


async def check_register(r: Region, c: Collated) -> None:
    """The region sees all four without case ids; a board sees its own in full and no other board's ids."""
    region = await r.bol.get("/v1/learning/register", await r.bol.as_(Role.REGIONAL_ANALYST))
    assert region["total"] == 4
    kinds = sorted((s["lscb"], s["source_kind"], s["review_type"]) for s in region["sources"])
    assert kinds == [
        ("BOL", "audit", None),
        ("BOL", "forum", None),
        ("BOL", "review", "scr"),
        ("MAN", "review", "macr"),
    ]
    text = ids_in(region)
    for review in (c.scr, c.macr):
        assert review.case_id not in text and review.review_id not in text and review.reference_code not in text
    assert all("case_id" not in s and "review_id" not in s for s in region["sources"])
    macr = next(s for s in region["sources"] if s["lscb"] == "MAN")
    assert (macr["incident_month"], macr["board"], macr["title"]) == ("2015-03", "Manchester", "MACR (SILP)")

    own = await r.bol.get("/v1/learning/register", await r.bol.bm())
    bol_scr = next(s for s in own["sources"] if s["source_kind"] == "review" and s["lscb"] == "BOL")
    assert (bol_scr["case_id"], bol_scr["review_id"]) == (c.scr.case_id, c.scr.review_id)
    assert bol_scr["learning"]["summary"]["review_reference_code"] == c.scr.reference_code
    assert c.macr.case_id not in ids_in(own) and c.macr.review_id not in ids_in(own)

    analyst_view = await r.man.get("/v1/learning/register", await r.man.as_(Role.AUDITOR))
    assert c.scr.case_id not in ids_in(analyst_view) and c.scr.review_id not in ids_in(analyst_view)
    assert c.scr.reference_code not in ids_in(analyst_view)
    await r.bol.get("/v1/learning/register", await r.bol.as_(Role.INTEGRATION), status=403)


async def check_search(r: Region, c: Collated) -> None:
    analyst = await r.bol.as_(Role.REGIONAL_ANALYST)
    found = await r.bol.get("/v1/learning/search?q=disguised+compliance", analyst)
    assert found["total"] == 1 and found["sources"][0]["source_kind"] == "forum"
    assert "<mark>" in found["sources"][0]["snippet"]
    # Each text is quoted once: the findings are not repeated from the indexed body.
    once = await r.bol.get("/v1/learning/search?q=practitioners+accepted", analyst)
    assert once["sources"][0]["snippet"].count("<mark>Practitioners</mark> <mark>accepted</mark>") == 1
    ranked = await r.bol.get("/v1/learning/search?q=babies+OR+shared", analyst)
    assert ranked["sources"][0]["source_kind"] == "audit"  # "babies" in the title and findings
    assert {s["source_kind"] for s in ranked["sources"]} == {"audit", "review"}
    ranks = [s["rank"] for s in ranked["sources"]]
    assert ranks == sorted(ranks, reverse=True)
    # A National Panel code finds learning tagged in SCIE through the crosswalk, and says so.
    panel = await r.bol.get("/v1/learning/search?typology=national-panel-practice-themes&code=whole_family", analyst)
    assert [(s["source_kind"], s["matched_by"]["how"]) for s in panel["sources"]] == [("forum", "crosswalk")]
    assert panel["sources"][0]["matched_by"]["themes"] == ["scie-learning-together:family_professional_interaction"]
    babies = await r.bol.get("/v1/learning/search?typology=national-panel-practice-themes&code=babies", analyst)
    how = sorted((s["source_kind"], s["matched_by"]["how"]) for s in babies["sources"])
    assert how == [("audit", "direct"), ("review", "crosswalk"), ("review", "crosswalk")]
    words_and_code = await r.bol.get(
        "/v1/learning/search?q=shared&typology=national-panel-practice-themes&code=babies&review_type=macr", analyst
    )
    assert [s["lscb"] for s in words_and_code["sources"]] == ["MAN"]
    refused = await r.bol.client.get("/v1/learning/search?typology=scie-learning-together&code=nope", headers=analyst)
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "code"


async def check_repeat_learning(r: Region, c: Collated) -> None:
    """A third board's MACR candidate whose themes the region holds: embedding review, no hand registration."""
    case = await open_case(r.wgn, **MACR_FACTS)
    assert case.recommendation["review_type"] == "multi_agency_concise_review"
    tagged = await r.wgn.post(
        f"/v1/cases/{case.case_id}/learning-themes", {"themes": ["human_judgement"]}, await r.wgn.bm()
    )
    recommended = [e for e in tagged["events"] if e["event_type"] == "decisioning.recommendation_recorded"]
    assert len(recommended) == 1, tagged
    recommendation = recommended[0]["payload"]["recommendation"]
    assert recommendation["review_type"] == "embedding_review"
    # Both closed reviews hold human_judgement; the audit holds it through the crosswalk (babies). They are
    # other boards' sources: named by board, kind and month, never by their reference codes.
    earlier = recommendation["repeat_learning"]["earlier_reviews"]
    assert sorted(earlier) == [
        "Bolton's SCR closed 2015-09",
        "Bolton's multi-case audit completed 2015-07",
        "Manchester's MACR closed 2015-08",
    ]
    codes = (c.scr.reference_code, c.macr.reference_code, "BOL-AUDIT-2015-02")
    assert "Manchester's MACR closed 2015-08" in " ".join(recommendation["reasons"])
    closed = await r.wgn.get("/v1/learning/closed-reviews", await r.wgn.bm())
    assert {rv["lscb"] for rv in closed["reviews"]} == {"BOL", "MAN"}
    # Each held theme keeps its own typology: the audit's National Panel code is not listed as SCIE's.
    held = {(t["typology"], t["code"]) for rv in closed["reviews"] for t in rv["themes"]}
    assert ("national-panel-practice-themes", "babies") in held
    assert ("scie-learning-together", "babies") not in held
    assert ("scie-learning-together", "human_judgement") in held
    seen = {
        "closed reviews": closed,
        "case": await r.wgn.get(f"/v1/cases/{case.case_id}", await r.wgn.bm()),
        "audit": await r.wgn.get(f"/v1/cases/{case.case_id}/decisions", await r.wgn.as_(Role.AUDITOR)),
        "register": await r.wgn.get("/v1/learning/register", await r.wgn.bm()),
    }
    for view, answer in seen.items():
        for code in codes:
            assert code not in ids_in(answer), (view, code)
    # Bolton's business manager sees its own reviews' codes in the same list.
    own = await r.bol.get("/v1/learning/closed-reviews", await r.bol.bm())
    assert {rv.get("review_ref") for rv in own["reviews"] if rv["lscb"] == "BOL"} >= {c.scr.reference_code}
    assert all("review_ref" not in rv for rv in own["reviews"] if rv["lscb"] == "MAN")


async def check_recommendations(r: Region, c: Collated) -> None:
    bm = await r.bol.bm()
    listed = await r.bol.get("/v1/learning/recommendations?lscb=BOL", bm)
    police = next(x for x in listed["recommendations"] if x["agency"] == "police")
    assert police["scope"] == "single_agency" and police["actions"] == {"total": 0, "done": 0, "overdue": 0}
    base = f"/v1/learning/recommendations/{police['recommendation_id']}"
    body = {"owning_agency": "police", "due": "2015-10-01", "description": "Invite health to strategy discussions."}
    action = await r.bol.post(f"{base}/actions", body, bm)
    assert action["events"][0]["event_type"] == "learning.action_due_set"
    r.clock.advance_to(date(2015, 10, 5))
    await r.system.catch_up()

    async def overdue() -> dict[str, Any] | None:
        figures = await r.bol.get("/v1/learning/themes", await r.bol.as_(Role.REGIONAL_ANALYST))
        judgement = [t for t in figures["themes"] if t["code"] == "human_judgement"]
        return judgement[0] if judgement and judgement[0]["actions_overdue"] == 1 else None

    theme = await eventually(overdue, what="the overdue action in the figures")
    assert theme["recommendations_made"] == 4 and theme["sources"] == 2 and theme["impact_evidenced"] == 0
    await r.man.post(f"{base}/actions", body, await r.man.bm(), status=404)  # another board's: not found

    # What the business manager wrote is read back: the text, each action's description, each finding.
    finding = {"audited_on": "2015-10-05", "result": "evidenced", "finding": "Health attended 9 of 10 discussions."}
    await r.bol.post(f"{base}/impact-evidence", finding, bm)
    detail = await r.bol.get(base, await r.bol.as_(Role.AUDITOR))
    assert detail["text"] == police["text"] and detail["text_erased"] is False
    assert [(a["description"], a["description_erased"]) for a in detail["actions"]] == [(body["description"], False)]
    assert [(e["finding"], e["finding_erased"]) for e in detail["impact_evidence"]] == [(finding["finding"], False)]
    await r.bol.post(f"/v1/learning/sources/{police['source_id']}/erasure", {}, await r.bol.admin(), status=200)
    erased = await r.bol.get(base, bm)
    assert (erased["text"], erased["text_erased"]) == (None, True)
    assert [(a["description"], a["description_erased"]) for a in erased["actions"]] == [(None, True)]
    assert [(e["finding"], e["finding_erased"]) for e in erased["impact_evidence"]] == [(None, True)]


async def test_learning_is_collated_searched_and_feeds_repeat_learning(region: Region) -> None:
    collated = await collate(region.bol, region.man)
    await region.system.catch_up()
    reads = learning_summary_reads(region.system.review_texts, collated.scr.case_id)  # type: ignore[arg-type]
    assert [(x["reader"], x["found"]) for x in reads] == [("learning", True)]
    await check_register(region, collated)
    await check_search(region, collated)
    await check_repeat_learning(region, collated)
    await check_recommendations(region, collated)

    inputs = region.system.learning_report_inputs("reporting", region.clock)
    board = await inputs("BOL", date(2015, 4, 1), date(2016, 3, 31))
    assert sorted(s["source_kind"] for s in board["sources"]) == ["audit", "forum", "review"]
    whole = await inputs(None, date(2015, 4, 1), date(2016, 3, 31))
    assert len(whole["sources"]) == 4 and collated.scr.case_id not in json.dumps(whole)
    assert {(x["reader"], x["scope"]) for x in await report_input_reads(region.system.projector.pool)} == {
        ("reporting", "BOL"),
        ("reporting", "region"),
    }

    # The board's annual report takes its learning from the learning service, in-process.
    report = await region.bol.get("/v1/lscbs/BOL/annual-report?year=2015", await region.bol.bm())
    assert report["learning"]["sources"] == 3, report["learning"]

    # An erased text leaves the index.
    forum_id = collated.forum["events"][0]["payload"]["source_id"]
    await region.bol.post(f"/v1/learning/sources/{forum_id}/erasure", {}, await region.bol.admin(), status=200)
    gone = await region.bol.get("/v1/learning/search?q=disguised+compliance", await region.bol.admin())
    assert gone["total"] == 0
