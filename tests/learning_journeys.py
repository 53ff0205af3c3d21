"""Two boards close reviews (a Targeted SCR and a MACR) and one records a forum and an audit, through HTTP
only: the shared scenario of the learning collation tests in both runtimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tests.polling import eventually
from tests.review_journeys import (
    Driver,
    Review,
    appoint_lead_reviewer,
    close,
    decide,
    hold_plan_stages,
    lead,
    open_case,
    publish,
    record_final_report,
    record_learning_summary,
    run_scr,
)

MACR_FACTS = {"facts__outcome": "harmed", "facts__working_together_concern": "yes"}
FORUM = {
    "reference": "BOL-FORUM-2015-01",
    "title": "Disguised compliance",
    "held_on": "2015-06-01",
    "agencies": ["health", "police"],
    "themes": [{"code": "family_professional_interaction"}],
    "what_was_learnt": "Practitioners accepted the parents' accounts of disguised compliance without challenge.",
    "key_multi_agency_recommendations": ["Joint training on disguised compliance."],
}
AUDIT = {
    "reference": "BOL-AUDIT-2015-02",
    "title": "Bruising in non-mobile babies",
    "completed_on": "2015-07-01",
    "cases_count": 12,
    "themes": [{"typology": "national-panel-practice-themes", "code": "babies"}],
    "findings": "Bruising in non-mobile babies was not always referred to children's social care.",
}


@dataclass
class Collated:
    scr: Review
    macr: Review
    forum: dict[str, Any]
    audit: dict[str, Any]


async def run_macr(d: Driver) -> Review:
    """A MACR commissioned by the Chair, run to its closure with an internal lead reviewer."""
    review = await open_case(d, **MACR_FACTS)
    view = await decide(d, review, "commission_macr", date(2015, 3, 18))
    internal = {"lscb": d.lscb, "organisation": "The council", "agency": "local_authority"}
    view = await appoint_lead_reviewer(d, review, date(2015, 3, 19), employer=internal)
    await hold_plan_stages(d, review, view, await lead(d, review))
    await record_final_report(d, review, date(2015, 8, 3))
    await record_learning_summary(d, review, "MACR (SILP)", date(2015, 8, 4))
    await publish(d, review, date(2015, 8, 10))
    await close(d, review, date(2015, 8, 12))
    return review


async def collate(bol: Driver, man: Driver) -> Collated:
    scr = await run_scr(bol, "targeted")
    macr = await run_macr(man)
    forum = await bol.post("/v1/learning/forums", FORUM | {"lscb": "BOL"}, await bol.bm())
    audit = await bol.post("/v1/learning/audits", AUDIT | {"lscb": "BOL"}, await bol.bm())
    admin = await bol.admin()

    async def all_four() -> dict[str, Any] | None:
        register = await bol.get("/v1/learning/register", admin)
        return register if register["total"] == 4 else None

    await eventually(all_four, what="four sources in the register", timeout=60)
    return Collated(scr, macr, forum, audit)
