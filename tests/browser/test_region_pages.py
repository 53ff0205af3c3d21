"""The region's pages in a real browser, on the embedded runtime served over HTTP: the pipeline and T1/T2
timeliness by board and learning by theme as inline SVG charts, each with its table, no case detail, axe-core
clean; and every page in a system font, with no font file requested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from lif.auth import Role
from tests.browser.test_web_pages import PEOPLE, Site, served_site
from tests.learning_journeys import FORUM
from tests.polling import eventually
from tests.samples import notification

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "region-pages-admin-token"
KEY = b"region-pages-pseudonym-key-01234567"
FONT_FILES = (".woff", ".woff2", ".ttf", ".otf", ".eot")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    people = [*PEOPLE, ("analyst", Role.REGIONAL_ANALYST, "region")]
    async with served_site(database_url, "region_pages", people, request.module.__name__) as served:
        yield served


async def decide(site: Site, case_id: str, decided_on: str) -> None:
    answer = await site.api.post(
        f"/v1/cases/{case_id}/decisions",
        json={"decision": "commission_macr", "decided_on": decided_on, "rationale": "A concise review will do."},
        headers=site.bearer("chair"),
    )
    assert answer.status_code == 201, answer.text


async def the_region_holds(site: Site, check: Any, what: str) -> dict[str, Any]:
    async def summary() -> dict[str, Any] | None:
        body: dict[str, Any] = (await site.api.get("/v1/region/summary", headers=site.bearer("analyst"))).json()
        return body if check(body) else None

    return await eventually(summary, what=what)


async def fonts_of(page: Any) -> set[str]:
    """The computed font-family of every element with text of its own on the page."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => getComputedStyle(e).fontFamily)"""
    )
    return set(found)


async def test_the_region_draws_pipeline_timeliness_and_learning_by_theme_without_case_details(site: Site) -> None:
    in_time, late = await site.new_case(), await site.new_case()
    wigan = await site.api.post(
        "/v1/incidents",
        json=notification(lscb="WGN", child__normally_resident_lscb="WGN"),
        headers=site.bearer("wigan_manager"),
    )
    assert wigan.status_code == 202, wigan.text
    await decide(site, in_time, "2015-03-18")  # T1 due 2015-04-10
    await decide(site, late, "2015-04-12")
    await the_region_holds(
        site,
        lambda s: (
            s["boards"].get("BOL", {}).get("deadlines", {}).get("chair_decision_due", {}).get("met_late") == 1
            and s["boards"]["BOL"]["deadlines"]["chair_decision_due"]["met_in_time"] == 1
        ),
        "T1 met in time and late in the region's figures",
    )
    forum = await site.api.post("/v1/learning/forums", json=FORUM | {"lscb": "BOL"}, headers=site.bearer("manager"))
    assert forum.status_code == 201, forum.text

    async def tracked() -> str | None:
        answer = await site.api.get("/v1/learning/recommendations", headers=site.bearer("manager"))
        found = answer.json()["recommendations"]
        return str(found[0]["recommendation_id"]) if found else None

    recommendation = await eventually(tracked, what="the forum's recommendation tracked")
    action = await site.api.post(
        f"/v1/learning/recommendations/{recommendation}/actions",
        json={"owning_agency": "health", "due": "2015-09-01", "description": "Run the joint training."},
        headers=site.bearer("manager"),
    )
    assert action.status_code == 201, action.text

    requested: list[str] = []
    analyst = await site.page_for("analyst")
    analyst.on("request", lambda request: requested.append(request.url))
    await analyst.goto(f"{site.base}/app/region")
    await site.checked(analyst, "region", screenshot=True)
    charts = analyst.locator("main svg[role=img]")
    assert await charts.count() == 3  # the pipeline, T1 and T2
    titles = [await charts.nth(i).locator("title").text_content() for i in range(3)]
    assert titles == [
        "Cases and reviews by board",
        "T1: the Chair's decision, by board",
        "T2: the National Panel notice, by board",
    ]
    for i in range(3):  # each chart is named and described, and a table with its figures follows it
        chart = charts.nth(i)
        assert await chart.get_attribute("aria-labelledby") and await chart.get_attribute("aria-describedby")
        assert await chart.locator("xpath=ancestor::figure/following-sibling::table[1]").count() == 1
    t1 = analyst.locator("table", has=analyst.locator("caption", has_text="T1: the Chair's decision"))
    assert await t1.locator("tbody tr", has=analyst.locator("th", has_text="BOL")).locator("td").all_inner_texts() == [
        "1",
        "1",
        "0",
    ]
    html = await analyst.content()
    assert in_time not in html and late not in html and "subj-" not in html  # no case detail
    assert "<script" not in html

    await analyst.goto(f"{site.base}/app/region/learning")
    await site.checked(analyst, "region-learning", screenshot=True)
    chart = analyst.locator("main svg[role=img]")
    assert await chart.count() == 1 and await chart.locator("title").text_content() == "Learning by theme"
    row = analyst.locator("table tbody tr").first
    assert await row.locator("th").inner_text() == "Family-professional interaction"
    assert await row.locator("td").all_inner_texts() == ["1", "1", "1", "0"]  # sources, made, overdue, evidenced

    # GOV.UK's own font is licensed for GOV.UK domains only: no page asks for a font file or names it.
    await analyst.goto(f"{site.base}/app/region")
    assert not [url for url in requested if url.lower().endswith(FONT_FILES)], requested
    assert any(url.endswith("/govuk-frontend.min.css") for url in requested)
    families = await fonts_of(analyst)
    assert families and not any("GDS Transport" in family for family in families), families
    assert all("arial" in family.lower() or family == "monospace" for family in families), families
    css = await analyst.request.get(f"{site.base}/app/static/govuk/govuk-frontend.min.css")
    assert css.ok and "GDS Transport" not in await css.text() and "@font-face" not in await css.text()
    font = await analyst.request.get(f"{site.base}/app/static/govuk/assets/fonts/light-94a07e06a1-v2.woff2")
    assert font.status == 404
    crest = await analyst.request.get(f"{site.base}/app/static/govuk/assets/images/govuk-crest.svg")
    assert crest.status == 404  # nor the crown and crest
    assert not [url for url in requested if "/static/govuk/assets/" in url], requested


async def test_the_business_manager_records_a_forum_and_an_audit_and_sees_overdue_actions(site: Site) -> None:
    manager = await site.page_for("manager")
    await manager.click("a.govuk-service-navigation__link:has-text('Learning')")
    await manager.wait_for_url("**/app/boards/BOL/learning")
    await site.checked(manager, "board-learning")
    await manager.click("a:has-text('Record a practitioner forum')")
    await manager.wait_for_url("**/app/boards/BOL/learning/forums")
    await site.checked(manager, "learning-forum")
    await manager.fill("#f-reference", "BOL-FORUM-2015-07")
    await manager.fill("#f-title", "Neglect and drift")
    await manager.click("button:has-text('Record the forum')")  # no date, theme, agency or learning yet
    summary = manager.locator(".govuk-error-summary")
    await summary.wait_for()
    links = await summary.locator("a").evaluate_all("(links) => links.map(a => a.getAttribute('href'))")
    assert links == ["#f-themes", "#f-held_on", "#f-agencies", "#f-what_was_learnt"], links  # the form's order
    assert "Select at least one theme" in await summary.inner_text()
    assert await manager.get_attribute("#f-reference", "value") == "BOL-FORUM-2015-07"  # what was typed stays
    await site.checked(manager, "learning-forum-error", screenshot=True)
    await manager.fill("#f-held_on", "2015-07-02")
    await manager.check("input[name=themes][value=human_judgement]")
    await manager.check("input[name=agencies][value=health]")
    await manager.check("input[name=agencies][value=police]")
    await manager.fill("#f-what_was_learnt", "Assessments drifted while the family's engagement fell away.")
    await manager.fill("#f-key_multi_agency_recommendations", "Escalate drift at the third missed visit.")
    await manager.click("button:has-text('Record the forum')")
    await manager.wait_for_url("**/app/boards/BOL/learning?done=forum")
    main = await manager.inner_text("main")
    assert "The practitioner forum was recorded." in main and "Escalate drift at the third missed visit." in main

    listed = await site.api.get("/v1/learning/recommendations", headers=site.bearer("manager"))
    recommendation = next(
        r["recommendation_id"] for r in listed.json()["recommendations"] if "third missed visit" in (r["text"] or "")
    )
    for due in ("2015-09-01", "2099-01-01"):
        action = await site.api.post(
            f"/v1/learning/recommendations/{recommendation}/actions",
            json={"owning_agency": "health", "due": due, "description": "Audit the escalations."},
            headers=site.bearer("manager"),
        )
        assert action.status_code == 201, action.text
    impact = await site.api.post(
        f"/v1/learning/recommendations/{recommendation}/impact-evidence",
        json={"audited_on": "2015-10-01", "result": "partly_evidenced", "finding": "Half the drift was escalated."},
        headers=site.bearer("manager"),
    )
    assert impact.status_code == 201, impact.text
    await manager.reload()
    card = manager.locator(".govuk-summary-card", has=manager.locator("dd", has_text="third missed visit"))
    actions = card.locator("table", has=manager.locator("caption", has_text="Actions")).locator("tbody tr")
    assert await actions.count() == 2
    first = ["Audit the escalations.", "Health", "2015-09-01", "Overdue"]
    assert await actions.first.locator("td").all_inner_texts() == first
    assert (await actions.nth(1).locator("td").all_inner_texts())[3] == "Open"
    evidence = card.locator("table", has=manager.locator("caption", has_text="Impact evidence")).locator("tbody tr")
    finding = ["2015-10-01", "Partly evidenced", "Half the drift was escalated."]
    assert await evidence.locator("td").all_inner_texts() == finding
    assert "1 overdue" in await card.locator(".govuk-summary-card__title-wrapper").inner_text()
    await site.checked(manager, "board-learning-overdue", screenshot=True)

    await manager.click("a:has-text('Record a multi-case audit')")
    await site.checked(manager, "learning-audit", screenshot=True)
    await manager.fill("#f-reference", "BOL-AUDIT-2015-08")
    await manager.fill("#f-title", "Bruising in non-mobile babies")
    await manager.check("input[name=themes][value=management_systems]")
    await manager.fill("#f-completed_on", "2015-08-03")
    await manager.fill("#f-cases_count", "12")
    await manager.fill("#f-findings", "Bruising was not always referred to children's social care.")
    await manager.fill("#f-key_single_agency_recommendations", "Health: refer every bruise in a non-mobile baby.")
    await manager.click("button:has-text('Record the audit')")
    await manager.wait_for_url("**/app/boards/BOL/learning?done=audit")
    assert "refer every bruise" in await manager.inner_text("main")
    register = await site.api.get("/v1/learning/register?lscb=BOL", headers=site.bearer("manager"))
    kinds = {s["reference"]: s["source_kind"] for s in register.json()["sources"]}
    assert kinds["BOL-FORUM-2015-07"] == "forum" and kinds["BOL-AUDIT-2015-08"] == "audit"

    # Once an admin erases the forum's texts, its recommendation, action and finding each say "erased".
    source = next(r["source_id"] for r in listed.json()["recommendations"] if r["recommendation_id"] == recommendation)
    erased = await site.api.post(f"/v1/learning/sources/{source}/erasure", headers=site.bearer("admin"))
    assert erased.status_code == 200, erased.text
    await manager.reload()
    card = manager.locator(".govuk-summary-card", has=manager.locator("dd", has_text="erased"))
    assert await card.count() == 1
    assert "third missed visit" not in await manager.inner_text("main")
    cells = await card.locator("tbody td").all_inner_texts()
    assert cells.count("erased") == 3, cells  # two actions' descriptions and the finding
    await site.checked(manager, "board-learning-erased", screenshot=True)
