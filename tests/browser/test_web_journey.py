"""One case from the incident's arrival to a published review, through the board's pages alone.

The integrating system posts the incident (the notification); from then on every step is a page: the
business manager finds the case on "what is due", refers it and registers a lead reviewer; the Chair
initiates an SCR, appoints the lead reviewer and sends the National Panel notice; the business manager
adds and removes members, links a criminal investigation with a publication hold on it, moves family
involvement while the trial runs and runs every other stage (scheduled, held, outcome); the lead reviewer
enters and corrects a chronology entry (the same form sent twice records one entry) and shares the
findings; the business manager records the Case Group's response; the lead reviewer records the final
report and the Learning Summary with every Appendix B field; the investigation ends, the Chair lifts the
hold, family involvement is held, the Chair publishes and the business manager closes. The case page and
the review page then show the publication. axe-core checks every page visited; the new pages are
screenshot to test-artefacts/web/. The API is read only to choose dates and to confirm; tokens are made
as an admin makes them (`lif tokens create`).
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest

from lif.auth import Role
from tests.browser.harness import ARTEFACTS
from tests.browser.test_web_pages import Site, site, tab_to
from tests.polling import eventually
from tests.samples import notification

__all__ = ["site"]  # the module's fixture: the embedded runtime served over HTTP, and a browser

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PRE_DECISION_DAYS = {
    "initial_meeting": "2015-03-11",
    "spe_chronologies": "2015-03-13",
    "planning_meeting": "2015-03-16",
}


class Walk:
    """One person's browser on the review, each page checked by axe-core as it is reached."""

    def __init__(self, site: Site, page: Any, review_id: str) -> None:
        self.site, self.page, self.review_id = site, page, review_id

    @property
    def review(self) -> str:
        return f"{self.site.base}/app/reviews/{self.review_id}"

    async def open_review(self) -> None:
        if not self.page.url.split("?")[0].endswith(self.review_id):
            await self.page.goto(self.review)
        await self.site.checked(self.page, "review-page")

    async def follow(self, link: str, name: str, screenshot: bool = False) -> None:
        """From the review page, the link `link` (a selector) to a form page."""
        await self.open_review()
        await self.page.click(link)
        await self.page.wait_for_load_state()
        await self.site.checked(self.page, name, screenshot)

    async def submit(self, button: str, done: str) -> None:
        await self.page.click(f"button:has-text('{button}')")
        await self.page.wait_for_url(f"**/reviews/{self.review_id}?done={done}")
        await self.site.checked(self.page, f"review-{done}")

    async def stage(self, stage_id: str, amount: int, day: str, *, schedule: bool = True) -> None:
        """A stage scheduled (unless moved out of the way), held and its outcome recorded, each from the
        stage's page reached by its task-list link."""
        link = f".govuk-task-list__link[href$='/stages/{stage_id}']"
        if schedule:
            await self.follow(link, f"stage-{stage_id}")
            await self.page.fill("#f-scheduled_for", day)
            await self.page.fill("#f-amount", str(amount))
            await self.page.check("#f-unit")
            await self.submit("Schedule", "scheduled")
        await self.follow(link, f"stage-{stage_id}-held")
        await self.page.fill("#f-held_on", day)
        await self.submit("Record as held", "held")
        await self.follow(link, f"stage-{stage_id}-outcome")
        await self.page.check("input[name=result][value=completed_with_actions]")
        for agency in ("health", "local_authority", "police"):
            await self.page.check(f"input[name=agencies_present][value={agency}]")
        await self.page.fill("#f-actions_agreed", "2")
        await self.page.fill("#f-note", f"Notes of {stage_id}")
        await self.submit("Record the outcome", "outcome")
        assert "Completed" in await self.page.inner_text(f"#stage-{stage_id}-status")


@pytest.mark.timeout(900)
async def test_a_case_from_the_incident_to_the_published_review_through_the_pages(site: Site) -> None:
    store = site.system.authenticator.store
    site.tokens["integration"], _ = await store.create(Role.INTEGRATION, "BOL", "bolton-cms")
    arrived = await site.api.post("/v1/incidents", json=notification(), headers=site.bearer("integration"))
    assert arrived.status_code == 202, arrived.text
    case_id = arrived.json()["case_id"]
    tag = case_id[:6]

    async def recommended() -> bool:
        case = await site.api.get(f"/v1/cases/{case_id}", headers=site.bearer("manager"))
        return case.status_code == 200 and case.json().get("recommendation") is not None

    await eventually(recommended, what="the recommendation of the new case")

    # The business manager finds it on what is due and refers it to the SCR panel.
    manager = await site.page_for("manager")
    await manager.goto(f"{site.base}/app/boards/BOL/due")
    await site.checked(manager, "journey-what-is-due")
    await manager.click(f"a[href='/app/cases/{case_id}']")
    await manager.wait_for_url(f"**/app/cases/{case_id}")
    await site.checked(manager, "journey-case")
    await manager.click("a:has-text('Refer to the SCR panel')")
    await site.checked(manager, "journey-refer")
    await manager.fill("#f-reason", "Agencies did not share what they knew.")
    await manager.click("button:has-text('Refer the case')")
    await manager.wait_for_url(f"**/cases/{case_id}?done=referred")
    await site.checked(manager, "journey-case-referred")

    # ... and registers the lead reviewer in the region's pool (their LIF account is then made for them).
    await manager.click("nav a:has-text('Lead reviewers')")
    await manager.wait_for_url("**/app/boards/BOL/reviewers")
    await site.checked(manager, "reviewers", screenshot=True)
    await manager.fill("#f-name", f"Lee Lead {tag}")
    await manager.fill("#f-employer-organisation", "Independent Reviews Ltd")
    await manager.fill("#f-affiliations", "MAN, Manchester City Council")
    await manager.click("button:has-text('Register the reviewer')")
    await manager.wait_for_url("**/app/boards/BOL/reviewers?done=registered")
    await site.checked(manager, "reviewers-registered")
    row = await manager.inner_text(f"tbody tr:has-text('Lee Lead {tag}')")
    found = re.search(r"rev-[0-9a-f]{10}", row)
    assert found is not None, row
    reviewer_id = found.group(0)
    site.tokens["lead"], _ = await store.create(Role.REVIEWER, "BOL", reviewer_id)

    # The Chair initiates an SCR, appoints the lead reviewer and sends the National Panel notice.
    chair = await site.page_for("chair")
    await chair.goto(f"{site.base}/app/cases/{case_id}")
    await chair.click("a:has-text('Record the decision')")
    await site.checked(chair, "journey-decide")
    await chair.check("input[name=decision][value=initiate_scr]")
    await chair.fill("#f-decided_on", "2015-03-18")
    await chair.check("input[name=methodology][value=intensive]")
    await chair.check("input[name=criteria_held][value=D1]")
    await chair.click("button:has-text('Record the decision')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=decided")
    await site.checked(chair, "journey-case-decided")
    await chair.click("a:has-text('Appoint a lead reviewer')")
    await site.checked(chair, "journey-appoint")
    await chair.check(f"input[name=reviewer_id][value={reviewer_id}]")
    await chair.fill("#f-appointed_on", "2015-03-19")
    await chair.click("button:has-text('Appoint')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=appointed")
    await chair.click("button:has-text('Prepare the National Panel notice')")
    await chair.wait_for_url(re.compile(r".*/notices/[0-9a-f-]{36}$"))
    await site.checked(chair, "journey-notice")
    await chair.fill("#f-sent_on", "2015-03-20")
    await chair.click("button:has-text('Record as sent')")
    await chair.wait_for_url(f"**/cases/{case_id}?done=sent")
    assert "Sent 2015-03-20" in await chair.inner_text("main")

    # The business manager opens the review from the case page.
    await manager.goto(f"{site.base}/app/cases/{case_id}")
    await manager.click("a:has-text('The review (')")
    await manager.wait_for_url(re.compile(r".*/app/reviews/[0-9a-f-]{36}$"))
    review_id = manager.url.rsplit("/", 1)[1]
    bm = Walk(site, manager, review_id)
    view = (await site.api.get(f"/v1/reviews/{review_id}", headers=site.bearer("manager"))).json()
    assert view["status"] == "in_review" and view["review_kind"] == "scr", view

    # Members: agency author and practitioner added; one added in error removed.
    for member_id, group, role, agency in [
        (f"police-{tag}", "review_group", "agency_author", "police"),
        (f"practitioner-{tag}", "case_group", "practitioner", "health"),
        (f"mistake-{tag}", "review_group", "agency_author", "education"),
    ]:
        await bm.follow("a:has-text('Add a member')", "member")
        await manager.check(f"input[name=group][value={group}]")
        await manager.fill("#f-member_id", member_id)
        await manager.select_option("#f-role", role)
        await manager.select_option("#f-agency", agency)
        await bm.submit("Add the member", "member")
    await bm.follow(f"a[href$='/members/review_group/mistake-{tag}/remove']", "member-remove", screenshot=True)
    await manager.check("input[name=reason][value=added_in_error]")
    await bm.submit("Remove the member", "removed")
    assert f"mistake-{tag}" not in await manager.inner_text("main")

    # A criminal investigation, linked with the keyboard alone; publication held on it; family
    # involvement moved while the trial runs.
    await bm.follow("a:has-text('Link a parallel process')", "parallel-process", screenshot=True)
    await tab_to(manager, "#f-kind")  # a radio group is one Tab stop; the arrows choose within it
    await manager.keyboard.press("ArrowDown")
    await manager.keyboard.press("ArrowDown")
    assert await manager.is_checked("input[name=kind][value=criminal_investigation]")
    await tab_to(manager, "#f-reference")
    await manager.keyboard.type(f"OP-{tag}")
    await tab_to(manager, "#f-started_on")
    await manager.keyboard.type("2015-03-20")
    await tab_to(manager, "button:has-text('Link the process')")
    await manager.keyboard.press("Enter")
    await manager.wait_for_url(f"**/reviews/{review_id}?done=linked")
    await site.checked(manager, "review-linked")
    assert "Criminal investigation, started 2015-03-20" in await manager.inner_text("main")
    await bm.follow("a:has-text('Set a publication hold')", "hold", screenshot=True)
    await manager.check("input[name=reason][value=criminal_trial]")
    await manager.select_option("#f-linked_process", index=1)
    await manager.fill("#f-set_on", "2015-03-20")
    await bm.submit("Set the hold", "hold")
    await bm.follow(".govuk-task-list__link[href$='/stages/family_involvement']", "stage-move", screenshot=True)
    await manager.check("input[name=reason][value=criminal_proceedings]")
    await manager.fill("#f-note", "The family is seen after the trial.")
    await bm.submit("Move the stage", "moved")

    # Every other stage: the three before the decision, then the plan's, each on its own date.
    view = (await site.api.get(f"/v1/reviews/{review_id}", headers=site.bearer("manager"))).json()
    stages = {s["stage_id"]: s for s in view["stages"] if s["step"] == "stage"}

    def amount(stage: dict[str, Any]) -> int:
        return int(stage["duration"]["min_half_days"]) if stage["duration"] else 1

    for stage_id in view["open_pre_decision_stages"]:
        await bm.stage(stage_id, amount(stages[stage_id]), PRE_DECISION_DAYS[stage_id])
    planned = [s for s in stages.values() if s["plan_id"] == view["plan_id"] and s["stage_id"] != "family_involvement"]
    for stage in planned:
        await bm.stage(stage["stage_id"], amount(stage), stage["due"])
    await manager.screenshot(path=str(ARTEFACTS / "journey-review-stages-held.png"), full_page=True)

    # The lead reviewer: a chronology entry, corrected; the findings shared.
    lead = Walk(site, await site.page_for("lead"), review_id)
    await lead.follow("a:has-text('Add a chronology entry')", "journey-chronology-entry")
    await lead.page.select_option("#f-agency", "police")
    await lead.page.fill("#f-event_date", "2015-01-05")
    await lead.page.fill("#f-description", "Strategy discussion held after the first injury")
    await lead.page.fill("#f-risk", "Risk to the child seen, not shared")
    await lead.page.check("input[name=significance][value=statutory_event]")
    await lead.page.check("input[name=learning_flags][value=significant]")
    sent = await lead.page.evaluate("new URLSearchParams(new FormData(document.querySelector('main form'))).toString()")
    await lead.submit("Add the entry", "entry")
    # The same form sent again (a double click, a retry): the same command, recorded once.
    again = await lead.page.request.post(
        f"{lead.review}/chronology", data=sent, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert again.ok and again.url.endswith("?done=entry")
    timeline = await site.api.get(f"/v1/reviews/{review_id}/chronologies", headers=site.bearer("manager"))
    assert len(timeline.json()) == 1
    await lead.follow("a:has-text('Correct')", "chronology-correction", screenshot=True)
    assert await lead.page.input_value("#f-description") == "Strategy discussion held after the first injury"
    await lead.page.fill("#f-event_date", "2015-01-04")
    await lead.page.fill("#f-reason", "Date taken from the minutes")
    await lead.submit("Record the correction", "corrected")
    assert "2015-01-04" in await lead.page.inner_text("main")
    await lead.follow("a:has-text('share the findings')", "journey-findings")
    await lead.page.fill("#f-findings", "Draft findings: assessment drift.")
    await lead.page.fill("#f-shared_on", "2015-08-20")
    await lead.submit("Share the findings", "findings")

    # The business manager records the Case Group member's response.
    await bm.follow("a:has-text('Consultation with the Case Group')", "consultation", screenshot=True)
    assert await manager.input_value("#f-findings_version") == "1"
    await manager.check(f"input[name=member_id][value=practitioner-{tag}]")
    await manager.check("input[name=response][value=agrees_with_corrections]")
    await manager.fill("#f-responded_on", "2015-08-27")
    await manager.fill("#f-comments", "Broadly right.")
    await manager.fill("#f-corrections", "The visit was on the 6th\nThe GP was not told")
    await bm.submit("Record the response", "responded")
    await manager.goto(f"{bm.review}/consultation")
    await site.checked(manager, "consultation-responded")
    assert "agrees with corrections" in (await manager.inner_text("tbody")).lower()

    # The lead reviewer: the final report and the Learning Summary with every Appendix B field.
    await lead.follow("a:has-text('record the final report')", "journey-final-report")
    await lead.page.fill("#f-report", "Final report text.")
    await lead.page.fill("#f-received_on", "2015-09-01")
    await lead.submit("Record the report", "report")
    await lead.follow("a:has-text('record the Learning Summary')", "journey-learning-summary")
    reference = f"BOL-{tag}"
    for field, value in {
        "date_completed": "2015-09-02",
        "type_of_review-methodology": "Intensive SCR",
        "type_of_review-chairing_and_authoring": "Independent lead reviewer; Review Group chaired by the board",
        "type_of_review-how_selected": "Threshold recommendation; the planning meeting advised the methodology",
        "incident_month": "2015-03",
        "review_reference_code": reference,
        "learning_about_the_case-themes": "human_judgement, multi_agency_incidents_and_crises",
        "learning_about_the_case-concerns": "Risk seen by one agency was not shared.",
        "learning_about_the_case-good_practice": "Prompt escalation by the GP.",
        "learning_about_the_review_method": "The SPE forum brought the practitioners together well.",
        "key_single_agency_recommendations": "Police: invite health to strategy discussions.",
        "key_multi_agency_recommendations": "Joint supervision of neglect cases.",
        "how_changes_will_be_made": "The learning subgroup owns the action plan.",
        "how_impact_will_be_audited": "A multi-agency case audit in 12 months.",
        "other_comments": "None.",
    }.items():
        await lead.page.fill(f"#f-{field}", value)
    await lead.submit("Record the Learning Summary", "summary")
    assert reference in await lead.page.inner_text("main")

    # The investigation ends; the Chair lifts the hold; family involvement is held.
    await bm.follow("a:has-text('Criminal investigation')", "parallel-process-update", screenshot=True)
    await manager.check("input[name=status][value=concluded]")
    await manager.fill("#f-on", "2015-09-10")
    await bm.submit("Record the status", "process")
    chair_walk = Walk(site, chair, review_id)
    await chair_walk.open_review()
    hold_field = chair.locator("input[id^='f-lifted_on-']")
    await hold_field.fill("2015-09-10")
    await chair.click("button:has-text('Lift the hold')")
    await chair.wait_for_url(f"**/reviews/{review_id}?done=lifted")
    await site.checked(chair, "review-lifted")
    await bm.stage("family_involvement", amount(stages["family_involvement"]), "2015-09-11", schedule=False)

    # The Chair publishes; the business manager closes.
    await chair_walk.follow("a:has-text('Publish the review')", "journey-publish")
    await chair.fill("#f-published_on", "2015-09-14")
    await chair_walk.submit("Publish", "published")
    await bm.follow("a:has-text('Close the review')", "journey-close")
    await manager.fill("#f-closed_on", "2015-09-16")
    await bm.submit("Close the review", "closed")
    await site.checked(manager, "review-published", screenshot=True)
    assert "2015-09-14" in await manager.inner_text("main")

    # The case page shows the publication: the page came after the read model had the closure.
    await manager.goto(f"{site.base}/app/cases/{case_id}")
    await site.checked(manager, "case-published", screenshot=True)
    review_section = await manager.inner_text("main")
    assert "Published on" in review_section and "2015-09-14" in review_section
    assert "2015-09-16" in review_section
    published = (await site.api.get(f"/v1/reviews/{review_id}", headers=site.bearer("manager"))).json()
    assert published["completion"]["published_on"] == "2015-09-14"
    assert published["completion"]["closed_on"] == "2015-09-16"
    assert date.fromisoformat(published["completion"]["available_until"]) >= date(2016, 9, 14)  # T7


async def test_the_business_manager_records_a_notification_through_its_page(site: Site) -> None:
    manager = await site.page_for("manager")
    await manager.goto(f"{site.base}/app/boards/BOL/due")
    await manager.click("a:has-text('Record a notification')")
    await manager.wait_for_url("**/app/boards/BOL/notifications")
    await site.checked(manager, "notification", screenshot=True)
    reference = f"PAGE-{uuid.uuid4().hex[:12]}"
    await manager.fill("#f-source-reference", reference)
    await manager.select_option("#f-notifying_agency", "police")
    await manager.fill("#f-child-subject_ref", "subj-page")
    await manager.fill("#f-child-age_years", "6")
    await manager.fill("#f-incident_date", "2015-03-12")
    await manager.fill("#f-notified_date", "2015-03-10")  # before the incident: the API refuses it
    await manager.fill("#f-summary", "Child found alone at home.")
    await manager.check("input[name='facts.abuse_or_neglect'][value=suspected]")
    await manager.check("input[name='facts.outcome'][value=seriously_harmed]")
    await manager.check("input[name='facts.working_together_concern'][value=unclear]")
    await manager.click("button:has-text('Record the notification')")
    summary = manager.locator(".govuk-error-summary")
    await summary.wait_for()
    assert await manager.locator("#f-notified_date-error").count() == 1
    await site.checked(manager, "notification-error", screenshot=True)
    await manager.click(".govuk-error-summary a")
    assert await manager.evaluate("document.activeElement.id") == "f-notified_date"
    await manager.fill("#f-notified_date", "2015-03-13")
    await manager.click("button:has-text('Record the notification')")
    await manager.wait_for_url(re.compile(r".*/app/cases/[0-9a-f-]{36}\?done=notified$"))
    main = await manager.inner_text("main")
    assert "The notification was recorded" in main and "Serious Case Review" in main
    await site.checked(manager, "case-notified")
