"""The case page's other command forms in a real browser: peer challenge or a National Panel consultation
and learning themes on a case below the statutory test, the 2018 regime's Panel notification and rapid
review on a serious child safeguarding case. Each form is offered only where it applies, is walked once
with an error (shown in the GOV.UK error summary, tied to its field) and once to success, and axe-core
finds no violations on any page. A form the case's state does not allow is refused by the API with its
reason; another board's manager gets the one "not found" page. Screenshots go to test-artefacts/web/.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.test_web_pages import Site, site

__all__ = ["site"]  # the module's fixture: the embedded runtime served over HTTP, and a browser

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
FUTURE = "2099-01-01"


async def buttons(page: Any) -> list[str]:
    return [text.strip() for text in await page.locator(".govuk-button-group .govuk-button").all_inner_texts()]


async def error_shown(site: Site, page: Any, field: str, name: str, says: str) -> None:
    """The error summary names the field's problem and links to it; the field carries its message."""
    summary = page.locator(".govuk-error-summary")
    await summary.wait_for()
    assert says in (await summary.inner_text()), await summary.inner_text()
    assert await summary.locator(f"a[href='#f-{field}']").count() == 1
    assert await page.locator(f"#f-{field}-error").count() == 1
    await site.checked(page, name, screenshot=True)


async def test_peer_challenge_and_learning_themes_on_a_case_below_the_statutory_test(site: Site) -> None:
    case_id = await site.new_case(facts__working_together_concern="no")  # A4 fails: no statutory SCR
    manager = await site.page_for("manager")
    await manager.goto(f"{site.base}/app/cases/{case_id}")
    await site.checked(manager, "forms-case-below-test")
    offered = await buttons(manager)
    assert "Record peer challenge or a consultation" in offered and "Tag learning themes" in offered
    assert "Record the Panel notification" not in offered and "Record the rapid review" not in offered

    await manager.click("a:has-text('Record peer challenge or a consultation')")
    await manager.wait_for_url(f"**/cases/{case_id}/discretionary-input")
    await site.checked(manager, "discretionary", screenshot=True)
    await manager.check("input[name=kind][value=peer_challenge]")
    await manager.check("input[name=supports_scr][value=yes]")
    await manager.fill("#f-held_on", FUTURE)  # the API refuses a date to come, naming the field
    await manager.fill("#f-note", "The neighbouring board's challenge advised an SCR.")
    await manager.click("button:has-text('Record it')")
    await error_shown(site, manager, "held_on", "discretionary-error", "is in the future")
    assert await manager.is_checked("input[name=supports_scr][value=yes]")  # what was chosen stays
    await manager.fill("#f-held_on", "2015-03-16")
    await manager.click("button:has-text('Record it')")
    await manager.wait_for_url(f"**/cases/{case_id}?done=consulted")
    row = manager.locator("table", has=manager.locator("th", has_text="Advised a Serious Case Review"))
    assert await row.locator("tbody td").all_inner_texts() == ["Peer challenge", "2015-03-16", "Yes"]
    await site.checked(manager, "case-consulted")

    await manager.click("a:has-text('Tag learning themes')")
    await manager.wait_for_url(f"**/cases/{case_id}/learning-themes")
    await site.checked(manager, "learning-themes", screenshot=True)
    await manager.click("button:has-text('Record the themes')")  # none chosen
    await error_shown(site, manager, "themes", "learning-themes-error", "Select at least one theme")
    theme = manager.locator("input[name=themes][value=human_judgement]")
    label = (await theme.evaluate("(input) => input.labels[0].textContent")).strip()
    await theme.check()
    await manager.click("button:has-text('Record the themes')")
    await manager.wait_for_url(f"**/cases/{case_id}?done=themes")
    assert await manager.locator("#learning-themes li").all_inner_texts() == [label]
    case = (await site.api.get(f"/v1/cases/{case_id}", headers=site.bearer("manager"))).json()
    assert case["learning_themes"]["themes"] == ["human_judgement"]  # the page came once the read model had it
    await site.checked(manager, "case-themes", screenshot=True)
    await manager.click("a:has-text('Tag learning themes')")  # the form starts from the themes tagged
    assert await manager.is_checked("input[name=themes][value=human_judgement]")

    # The Chair may record peer challenge too, but not tag themes; a statutory case is offered neither.
    chair = await site.page_for("chair")
    await chair.goto(f"{site.base}/app/cases/{case_id}")
    offered = await buttons(chair)
    assert "Record peer challenge or a consultation" in offered and "Tag learning themes" not in offered
    statutory = await site.new_case()
    await manager.goto(f"{site.base}/app/cases/{statutory}")
    assert "Record peer challenge or a consultation" not in await buttons(manager)

    # Another board's manager: the one "not found" page, for the form of a real case and of no case.
    wigan = await site.page_for("wigan_manager")
    real = await wigan.goto(f"{site.base}/app/cases/{case_id}/discretionary-input")
    real_text = await wigan.inner_text("main")
    random = await wigan.goto(f"{site.base}/app/cases/{uuid.uuid4()}/learning-themes")
    assert real.status == random.status == 404 and real_text == await wigan.inner_text("main")
    await site.checked(wigan, "forms-not-found")


async def test_the_2018_regimes_panel_notification_and_rapid_review(site: Site) -> None:
    serious = await site.new_case(incident_date="2018-07-02", notified_date="2018-07-03")  # cspr-2018
    chair = await site.page_for("chair")
    await chair.goto(f"{site.base}/app/cases/{serious}")
    await site.checked(chair, "forms-case-2018", screenshot=True)
    offered = await buttons(chair)
    assert "Record the Panel notification" in offered and "Record the rapid review" in offered

    await chair.click("a:has-text('Record the Panel notification')")
    await chair.wait_for_url(f"**/cases/{serious}/panel-notification")
    await site.checked(chair, "panel-notification", screenshot=True)
    await chair.fill("#f-notified_on", FUTURE)
    await chair.click("button:has-text('Record the notification')")
    await error_shown(site, chair, "notified_on", "panel-notification-error", "is in the future")
    await chair.fill("#f-notified_on", "2018-07-06")
    await chair.click("button:has-text('Record the notification')")
    await chair.wait_for_url(f"**/cases/{serious}?done=panel_notified")
    met = chair.locator("tbody tr", has=chair.locator("td", has_text="panel notification due"))
    assert (await met.locator("td").all_inner_texts())[2:] == ["2018-07-06", "Met"]
    assert "Record the Panel notification" not in await buttons(chair)  # met: no longer offered
    await site.checked(chair, "case-panel-notified")

    manager = await site.page_for("manager")
    await manager.goto(f"{site.base}/app/cases/{serious}")
    await manager.click("a:has-text('Record the rapid review')")
    await manager.wait_for_url(f"**/cases/{serious}/rapid-review")
    await site.checked(manager, "rapid-review", screenshot=True)
    await manager.fill("#f-held_on", FUTURE)
    await manager.click("button:has-text('Record as held')")
    await error_shown(site, manager, "held_on", "rapid-review-error", "is in the future")
    await manager.fill("#f-held_on", "2018-07-20")
    await manager.click("button:has-text('Record as held')")
    await manager.wait_for_url(f"**/cases/{serious}?done=rapid_review")
    held = manager.locator("tbody tr", has=manager.locator("td", has_text="rapid review due"))
    assert (await held.locator("td").all_inner_texts())[2:] == ["2018-07-20", "Met"]
    await site.checked(manager, "case-rapid-review-held")

    # A case of the 2015 regime has neither deadline: not offered, and the API refuses it, saying why.
    earlier = await site.new_case()
    await manager.goto(f"{site.base}/app/cases/{earlier}")
    assert "Record the rapid review" not in await buttons(manager)
    await manager.goto(f"{site.base}/app/cases/{earlier}/rapid-review")
    await manager.click("button:has-text('Record as held')")
    await manager.wait_for_load_state()
    assert "has no rapid_review_due" in await manager.inner_text("main")
    await site.checked(manager, "rapid-review-refused")
