"""The region's pages in a real browser, on the embedded runtime served over HTTP: the pipeline and T1/T2
timeliness by board and learning by theme as inline SVG charts, each with its table, no case detail, axe-core
clean; and every page in a system font, with no font file requested.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from lif.auth import Role
from lif.runtime.embedded import build_embedded
from tests.browser.harness import CHROMIUM_ARGS, Accessibility, chromium
from tests.browser.test_web_pages import Site, free_port
from tests.databases import fresh_database
from tests.learning_journeys import FORUM
from tests.polling import eventually
from tests.samples import notification

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "region-pages-admin-token"
KEY = b"region-pages-pseudonym-key-01234567"
FONT_FILES = (".woff", ".woff2", ".ttf", ".otf", ".eot")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(database_url: str) -> AsyncIterator[Site]:
    url = await fresh_database(database_url, "region_pages")
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()
    store = system.authenticator.store
    tokens = {"admin": ADMIN}
    for who, role, scope in [
        ("manager", Role.BUSINESS_MANAGER, "BOL"),
        ("chair", Role.CHAIR, "BOL"),
        ("wigan_manager", Role.BUSINESS_MANAGER, "WGN"),
        ("analyst", Role.REGIONAL_ANALYST, "region"),
    ]:
        tokens[who], _ = await store.create(role, scope, who)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(system.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="the web server")
    axe = Accessibility()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as api,
        playwright_api.async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield Site(f"http://127.0.0.1:{port}", system, api, tokens, browser, axe, url)
        finally:
            await browser.close()
            print("axe-core violations per page:", axe.report())
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            await system.stop()


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
