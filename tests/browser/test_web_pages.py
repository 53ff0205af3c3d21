"""The board's web pages in a real browser, on the embedded runtime served over HTTP.

A business manager signs in with the keyboard, finds a new case on "what is due" and refers it; the Chair
decides with a departure and sees the error summary until a rationale is given, appoints a lead reviewer
and sends the National Panel notice; the lead reviewer sees only their own review; another board's manager
gets the same "not found" page for a real case and a random id; a POST without the CSRF token is refused
and changes nothing. axe-core checks every page visited (WCAG 2.2 A and AA): no violations. Screenshots
of the main pages go to test-artefacts/web/.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from lif.auth import Role
from lif.clock import today_london
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.browser.harness import CHROMIUM_ARGS, Accessibility, chromium
from tests.databases import fresh_database
from tests.polling import eventually
from tests.samples import notification

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "web-test-admin-token"
KEY = b"web-test-pseudonym-key-0123456789"


@dataclass
class Site:
    base: str
    system: EmbeddedSystem
    api: httpx.AsyncClient
    tokens: dict[str, str]
    browser: Any
    axe: Accessibility
    database_url: str

    async def new_case(self, **changes: Any) -> str:
        response = await self.api.post(
            "/v1/incidents", json=notification(**changes), headers=self.bearer("manager")
        )
        assert response.status_code == 202, response.text
        case_id: str = response.json()["case_id"]

        async def recommended() -> bool:
            case = await self.api.get(f"/v1/cases/{case_id}", headers=self.bearer("manager"))
            return case.json().get("recommendation") is not None

        await eventually(recommended, what=f"recommendation of {case_id}")
        return case_id

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def page_for(self, who: str, *, keyboard: bool = False) -> Any:
        """A browser context of its own (its own cookies) signed in as `who` through the sign-in page."""
        context = await self.browser.new_context(viewport={"width": 1200, "height": 900})
        page = await context.new_page()
        await page.goto(f"{self.base}/app")
        assert page.url.endswith("/app/sign-in")
        await self.checked(page, "sign-in", screenshot=who == "manager")
        if keyboard:
            await tab_to(page, "#f-token")
            await page.keyboard.type(self.tokens[who])
            await page.keyboard.press("Enter")
        else:
            await page.fill("#f-token", self.tokens[who])
            await page.click("button:has-text('Sign in')")
        await page.wait_for_url(f"{self.base}/app")
        return page

    async def checked(self, page: Any, name: str, screenshot: bool = False) -> None:
        violations = await self.axe.check(page, name, screenshot)
        assert violations == [], f"axe-core on {name}: {violations}"


async def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Move the focus with Tab alone until `selector` has it (a keyboard-only user's way)."""
    target = page.locator(selector).first
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("(element) => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PEOPLE: list[tuple[str, Role, str]] = [
    ("manager", Role.BUSINESS_MANAGER, "BOL"),
    ("chair", Role.CHAIR, "BOL"),
    ("wigan_manager", Role.BUSINESS_MANAGER, "WGN"),
]


@contextlib.asynccontextmanager
async def served_site(
    database_url: str, database: str, people: list[tuple[str, Role, str]], module: str
) -> AsyncIterator[Site]:
    """The embedded runtime on a fresh database, served over HTTP, with a token per person and a browser."""
    url = await fresh_database(database_url, database)
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()
    store = system.authenticator.store
    tokens = {"admin": ADMIN}
    for who, role, scope in people:
        tokens[who], _ = await store.create(role, scope, who)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(system.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="the web server")
    axe = Accessibility(module.rsplit(".", 1)[-1])
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    async with served_site(database_url, "web", PEOPLE, request.module.__name__) as served:
        yield served


async def test_a_case_from_what_is_due_to_the_national_panel_notice(site: Site) -> None:
    case_id = await site.new_case()
    other_case = await site.new_case()
    reviewer = await site.api.post(
        "/v1/reviewers", json={"name": "Sam Reviewer", "employer": {"organisation": "Independent Reviews Ltd"}},
        headers=site.bearer("manager"),
    )
    reviewer_id = reviewer.json()["reviewer_id"]
    site.tokens["reviewer"], _ = await site.system.authenticator.store.create(Role.REVIEWER, "BOL", reviewer_id)

    # The business manager, with the keyboard alone: sign in, what is due, the case, refer it.
    manager = await site.page_for("manager", keyboard=True)
    await site.checked(manager, "home")
    await manager.goto(f"{site.base}/app/boards/BOL/due")
    await site.checked(manager, "what-is-due", screenshot=True)
    await tab_to(manager, f"a[href='/app/cases/{case_id}']")
    await manager.keyboard.press("Enter")
    await manager.wait_for_url(f"**/app/cases/{case_id}")
    await site.checked(manager, "case", screenshot=True)
    await tab_to(manager, "a:has-text('Refer to the SCR panel')")
    await manager.keyboard.press("Enter")
    await manager.wait_for_url(f"**/cases/{case_id}/refer")
    await site.checked(manager, "refer")
    await tab_to(manager, "#f-reason")
    await manager.keyboard.type("The panel should consider an SCR.")
    await tab_to(manager, "button:has-text('Refer the case')")
    await manager.keyboard.press("Enter")
    await manager.wait_for_url(f"**/cases/{case_id}?done=referred")
    assert "The case was referred to the SCR panel." in await manager.inner_text("main")
    referred = (await site.api.get(f"/v1/cases/{case_id}", headers=site.bearer("manager"))).json()
    assert referred["referred_on"] is not None  # the page showed it only once the read model had it
    await site.checked(manager, "case-referred")
    await manager.goto(f"{site.base}/app/boards/BOL/cases?q={case_id[:8]}")
    await site.checked(manager, "register", screenshot=True)
    assert await manager.locator("tbody tr").count() == 1

    # The Chair departs from the SCR recommendation: refused until a rationale is given.
    chair = await site.page_for("chair")
    await chair.goto(f"{site.base}/app/cases/{case_id}/decide")
    await site.checked(chair, "decide")
    await chair.check("input[name=decision][value=commission_macr]")
    await chair.fill("#f-decided_on", "2015-03-18")
    await chair.click("button:has-text('Record the decision')")
    summary = chair.locator(".govuk-error-summary")
    await summary.wait_for()
    assert "rationale" in (await summary.inner_text()).lower()
    assert await chair.locator("#f-rationale-error").count() == 1
    assert await chair.get_attribute("#f-rationale", "aria-describedby") is not None
    await site.checked(chair, "decide-error", screenshot=True)
    await chair.click(".govuk-error-summary a")  # the summary's link takes the focus to the field
    assert await chair.evaluate("document.activeElement.id") == "f-rationale"
    await chair.fill("#f-rationale", "The planning meeting advised a concise review.")
    await chair.click("button:has-text('Record the decision')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=decided")
    main = await chair.inner_text("main")
    assert "Commission a multi-agency concise review" in main
    await site.checked(chair, "case-decided", screenshot=True)

    # Appoint the lead reviewer, then prepare, preview and send the notice.
    await chair.click("a:has-text('Appoint a lead reviewer')")
    await site.checked(chair, "appoint")
    await chair.check(f"input[name=reviewer_id][value={reviewer_id}]")
    await chair.click("button:has-text('Appoint')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=appointed")
    assert reviewer_id in await chair.inner_text("main")
    await chair.click("button:has-text('Prepare the National Panel notice')")
    await chair.wait_for_url(re.compile(r".*/notices/[0-9a-f-]{36}$"))
    await site.checked(chair, "notice", screenshot=True)
    assert "Not sent" in await chair.inner_text("main")
    await chair.fill("#f-sent_on", "2015-03-20")
    await chair.click("button:has-text('Record as sent')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=sent")
    assert "Sent 2015-03-20" in await chair.inner_text("main")
    await chair.goto(f"{site.base}/app/cases/{case_id}/history")
    await site.checked(chair, "history", screenshot=True)

    # The lead reviewer sees only their review; the board sees both.
    board = (await site.api.get("/v1/lscbs/BOL/reviews", headers=site.bearer("manager"))).json()["reviews"]
    assert len(board) >= 2
    reviewer_page = await site.page_for("reviewer")
    await reviewer_page.goto(f"{site.base}/app/boards/BOL/reviews")
    await site.checked(reviewer_page, "my-reviews")
    links = await reviewer_page.locator("tbody a").all_inner_texts()
    mine = (await site.api.get(f"/v1/cases/{case_id}/review", headers=site.bearer("manager"))).json()["review_id"]
    assert len(links) == 1 and mine[:8] in links[0]
    await reviewer_page.click("tbody a")
    await site.checked(reviewer_page, "review", screenshot=True)
    assert "Stage plan" in await reviewer_page.inner_text("main")
    other_review = next(r["review_id"] for r in board if r["case_id"] == other_case)
    await reviewer_page.goto(f"{site.base}/app/reviews/{other_review}")
    assert "Page not found" in await reviewer_page.inner_text("main")

    # Another board's manager: the same page for a real case and for an id that never existed.
    wigan = await site.page_for("wigan_manager")
    real = await wigan.goto(f"{site.base}/app/cases/{case_id}")
    real_text = await wigan.inner_text("main")
    await site.checked(wigan, "not-found", screenshot=True)
    random = await wigan.goto(f"{site.base}/app/cases/{uuid.uuid4()}")
    assert real.status == random.status == 404
    assert real_text == await wigan.inner_text("main")


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    case_id = await site.new_case()
    manager = await site.page_for("manager")
    refused = await manager.request.post(
        f"{site.base}/app/cases/{case_id}/refer", form={"reason": "forged", "idempotency_key": uuid.uuid4().hex}
    )
    assert refused.status == 403
    assert "This form has expired" in await refused.text()
    case = (await site.api.get(f"/v1/cases/{case_id}", headers=site.bearer("manager"))).json()
    assert case["referred_on"] is None


async def test_signing_out_ends_the_session(site: Site) -> None:
    manager = await site.page_for("manager")
    cookies = await manager.context.cookies()
    session = next(c for c in cookies if c["name"] == "lif_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    await manager.click("button:has-text('Sign out')")
    await manager.wait_for_url("**/app/signed-out")
    await site.checked(manager, "signed-out")
    # The old cookie, replayed, no longer opens anything.
    async with httpx.AsyncClient(base_url=site.base, cookies={"lif_session": session["value"]}) as client:
        answer = await client.get("/app/boards/BOL/cases")
    assert answer.status_code == 303 and answer.headers["location"].endswith("/app/sign-in")


async def test_a_sign_in_link_from_lif_tokens_create_signs_in_once(site: Site) -> None:
    lif = Path(sys.executable).parent / "lif"
    env = {**os.environ, "DATABASE_URL": site.database_url, "LIF_PUBLIC_URL": site.base}
    created = await asyncio.to_thread(
        subprocess.run,
        [str(lif), "tokens", "create", "--role", "chair", "--scope", "BOL", "--name", "link-chair", "--web"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert created.returncode == 0, created.stderr
    token, link = created.stdout.split()
    assert token.startswith("lif_") and link.startswith(f"{site.base}/app/sign-in/link?code=")
    assert token not in link
    context = await site.browser.new_context()
    page = await context.new_page()
    await page.goto(link)
    await site.checked(page, "sign-in-link")
    await page.click("button:has-text('Continue')")
    await page.wait_for_url(f"{site.base}/app")
    assert "link-chair" in await page.inner_text(".lif-account")
    # The same link again, in another browser: used up.
    other = await (await site.browser.new_context()).new_page()
    await other.goto(link)
    await other.click("button:has-text('Continue')")
    assert "expired or was used already" in await other.inner_text("main")
    await site.checked(other, "sign-in-link-used")


async def test_the_business_manager_works_the_review_through_its_pages(site: Site) -> None:
    case_id = await site.new_case()

    async def opened() -> str | None:
        review = await site.api.get(f"/v1/cases/{case_id}/review", headers=site.bearer("manager"))
        return review.json()["review_id"] if review.status_code == 200 else None

    review_id = await eventually(opened, what="the review of a case considered for an SCR")
    manager = await site.page_for("manager")
    await manager.goto(f"{site.base}/app/reviews/{review_id}")
    assert await manager.locator(".govuk-task-list__item").count() == 3
    await manager.click(".govuk-task-list__link >> nth=0")
    await manager.wait_for_url(f"**/reviews/{review_id}/stages/initial_meeting")
    await site.checked(manager, "stage", screenshot=True)
    await manager.fill("#f-held_on", "2999-01-01")  # in the future: the API refuses it, the page says why
    await manager.click("button:has-text('Record as held')")
    await manager.locator(".govuk-error-summary").wait_for()
    await site.checked(manager, "stage-error")
    await manager.fill("#f-held_on", today_london().isoformat())
    await manager.click("button:has-text('Record as held')")
    await manager.wait_for_url(f"**/reviews/{review_id}?done=held")
    status = await manager.inner_text("#stage-initial_meeting-status")
    assert "Completed" in status
    await site.checked(manager, "review-stage-held")
    await manager.click("a:has-text('Add a member')")
    await site.checked(manager, "member")
    await manager.goto(f"{site.base}/app/reviews/{review_id}/learning-summary")
    await site.checked(manager, "learning-summary", screenshot=True)
    for field in ("f-date_completed", "f-type_of_review-methodology", "f-incident_month", "f-review_reference_code",
                  "f-learning_about_the_case-themes", "f-how_impact_will_be_audited", "f-other_comments"):
        assert await manager.locator(f"label[for={field}]").count() == 1, field
