"""The annual report and the regional digest on the embedded runtime, checked against the event logs.

Cases are driven through HTTP only (tests/review_journeys.py) on real PostgreSQL: an SCR from notification to
publication and closure, notifications either side of a reporting year's start, a MACR commissioned and left
to fall behind its plan, a Chair's decision after T1 whose Panel notice went after T2, and another board's
MACR candidate. The report's figures are then compared with counts made here, independently, from the
services' own event stores; the CSV parses to the same numbers and the PDF's text (pdftotext) holds them.
The board also records a forum, an audit and a MACR that closed before LIF, with recommendations whose
actions are done, overdue and not yet due: the PDF holds each one's findings and the recommendations' figures.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lif.auth import Role
from lif.composition import open_logs
from lif.delivery.log import log_head, read_log_page
from lif.infra.debian_packages import ensure_binary
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from projections.reports.periods import Period, business_date, reporting_year
from tests.databases import fresh_database
from tests.polling import eventually
from tests.review_journeys import Driver, Review, decide, open_case, run_scr

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "annual-report-test-admin-token"
KEY = b"annual-report-test-pseudonym-key-0123"
MACR_FACTS = {"facts__outcome": "harmed", "facts__working_together_concern": "yes"}
QUIET_FACTS = {
    "facts__abuse_or_neglect": "not_suspected",
    "facts__outcome": "not_harmed",
    "facts__working_together_concern": "no",
}
T1, T2 = "chair_decision_due", "panel_notice_due"


@dataclass
class Clock:
    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day

    def advance_to(self, day: date) -> None:
        self.day = max(self.day, day)


@dataclass
class World:
    bol: Driver
    man: Driver
    system: EmbeddedSystem
    clock: Clock
    url: str
    cases: list[Review]


@pytest.fixture
async def bare(database_url: str) -> AsyncIterator[World]:
    """The embedded runtime on a fresh database, with a driver for Bolton and one for Manchester."""
    clock = Clock()
    url = await fresh_database(database_url, "annual_report")
    system = await build_embedded(url, KEY, ADMIN, today=clock)
    await system.start()

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await system.authenticator.store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        bol = Driver(client, tokens, advance_to=clock.advance_to)
        man = Driver(client, tokens, lscb="MAN", advance_to=clock.advance_to)
        yield World(bol, man, system, clock, url, [])
    await system.stop()


@pytest.fixture
async def world(bare: World) -> World:
    """`bare` after two boards' year of work."""
    bare.cases = await drive(bare.bol, bare.man, bare.clock)
    return bare


async def drive(bol: Driver, man: Driver, clock: Clock) -> list[Review]:
    """The year's work of two boards (see the module docstring)."""
    scr = await run_scr(bol, "targeted")  # notified 2015-03-10, decided 2015-03-18, published 2015-09-14
    before = await open_case(bol, incident_date="2015-03-30", notified_date="2015-03-31", **QUIET_FACTS)
    after = await open_case(bol, incident_date="2015-03-30", notified_date="2015-04-01", **QUIET_FACTS)
    macr = await open_case(bol, incident_date="2015-09-20", notified_date="2015-10-01", **MACR_FACTS)
    await decide(bol, macr, "commission_macr", date(2015, 10, 5))
    late = await open_case(bol, incident_date="2016-01-02", notified_date="2016-01-10")  # an SCR recommended
    clock.advance_to(date(2016, 2, 20))  # T1 was due 2016-02-10
    rationale = "The planning meeting found the concern limited; no review is needed."
    decided = {"decision": "no_review", "decided_on": "2016-02-20", "rationale": rationale}
    await bol.post(f"/v1/cases/{late.case_id}/decisions", decided, await bol.chair())
    notice = (await bol.post(f"/v1/cases/{late.case_id}/panel-notices", {}, await bol.chair()))["events"][0]
    clock.advance_to(date(2016, 3, 20))  # T2 was due 2016-03-05
    sent = f"/v1/cases/{late.case_id}/panel-notices/{notice['payload']['notice_id']}/sent"
    await bol.post(sent, {"sent_on": "2016-03-20"}, await bol.bm())
    home = {"child__normally_resident_lscb": "MAN"}
    other = await open_case(man, incident_date="2015-05-20", notified_date="2015-06-01", **home, **MACR_FACTS)
    return [scr, before, after, macr, late, other]


# The board's other sources of learning in 2015-16 (rules.md section 6: their findings are summarised in its
# annual report), each with a finding the PDF must hold word for word.
FORUM = {
    "reference": "BOL-FORUM-2015-03",
    "title": "Disguised compliance forum",
    "held_on": "2015-06-01",
    "agencies": ["health", "police"],
    "themes": [{"code": "family_professional_interaction"}],
    "what_was_learnt": "Practitioners accepted the parents' accounts without challenge.",
    "key_multi_agency_recommendations": ["Joint training on disguised compliance."],
}
AUDIT = {
    "reference": "BOL-AUDIT-2015-04",
    "title": "Neglect audit",
    "completed_on": "2015-07-01",
    "cases_count": 12,
    "themes": [{"code": "management_systems"}],
    "findings": "Supervision records rarely named the drift in the plans.",
    "key_single_agency_recommendations": ["Health: audit supervision files."],
}
LEGACY = {
    "reference": "BOL-MACR-2014-09",
    "title": "MACR Child K",
    "review_type": "macr",
    "closed_on": "2015-05-15",
    "incident_month": "2014-09",
    "themes": [{"code": "human_judgement"}],
    "learning_about_the_case": "Assessments stopped at the first explanation offered.",
    "key_multi_agency_recommendations": ["Refresh the escalation protocol."],
}
FINDINGS = {
    "forum": FORUM["what_was_learnt"],
    "audit": AUDIT["findings"],
    "legacy_review": LEGACY["learning_about_the_case"],
}


async def record_other_learning(d: Driver) -> dict[str, int]:
    """The forum, the audit and the legacy MACR, and actions on their recommendations: one done, one overdue
    on the report's day (2016-03-20), one not due yet. Answers the actions' figures expected."""
    bm = await d.bm()
    sources = set()
    for path, body in (("forums", FORUM), ("audits", AUDIT), ("legacy-reviews", LEGACY)):
        recorded = await d.post(f"/v1/learning/{path}", {"lscb": d.lscb} | body, bm)
        sources.add(recorded["events"][0]["payload"]["source_id"])

    async def tracked() -> list[str] | None:
        listed = (await d.get("/v1/learning/recommendations?lscb=BOL", bm))["recommendations"]
        found = sorted(r["recommendation_id"] for r in listed if r["source_id"] in sources)
        return found if len(found) == 3 else None

    recs = await eventually(tracked, what="the three sources' recommendations tracked")
    actions = []
    for rec, due in zip(recs, ("2015-09-01", "2015-10-01", "2016-06-01"), strict=True):
        body = {"owning_agency": "health", "due": due, "description": "Act on the recommendation."}
        actions.append((rec, (await d.post(f"/v1/learning/recommendations/{rec}/actions", body, bm))["events"][0]))
    rec, done = actions[0]
    path = f"/v1/learning/recommendations/{rec}/actions/{done['payload']['action_id']}"
    await d.post(path, {"status": "done", "on": "2015-08-20"}, bm)
    return {"total": 3, "done": 1, "overdue": 1}


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- counts made from the services' event stores, not from the read model ---------------------------------------


def logged_events(url: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for _, app in open_logs(url):
        try:
            after, head = 0, log_head(app)
            while after < head:
                page, after = read_log_page(app, after, 500)
                events.extend(item.envelope for item in page)
        finally:
            app.close()
    return events


def day(value: str) -> date:
    return date.fromisoformat(value[:10])


def classify(counts: dict[str, int], due: date, met: date | None, period: Period, as_of: date) -> None:
    if met is not None and period.holds(met):
        counts["met_in_time" if met <= due else "met_late"] += 1
    if period.holds(due) and due < as_of and (met is None or met > as_of):
        counts["unmet_overdue"] += 1


def count_from_logs(events: list[dict[str, Any]], lscb: str, period: Period, as_of: date) -> dict[str, Any]:
    """The report's figures, counted from the logs by the rules of rules.md sections 2 and 8."""
    mine = sorted((e for e in events if e["lscb"] == lscb), key=lambda e: e["recorded_at"])
    of = {kind: [e for e in mine if e["event_type"] == kind] for kind in {e["event_type"] for e in mine}}

    def kind(name: str) -> list[dict[str, Any]]:
        return of.get(name, [])

    received = kind("intake.incident_received")
    notified = {e["case_id"] for e in received if period.holds(day(e["payload"]["notified_date"]))}
    latest = {e["case_id"]: e["payload"]["recommendation"] for e in kind("decisioning.recommendation_recorded")}
    by_type: dict[str, int] = {}
    for case_id in notified:
        review_type = latest[case_id]["review_type"]
        by_type[review_type] = by_type.get(review_type, 0) + 1
    decisions = kind("decisioning.chair_decision_recorded")
    in_period = [d for d in decisions if period.holds(day(d["payload"]["decided_on"]))]
    decision_types: dict[str, int] = {}
    for d in in_period:
        decision_types[d["payload"]["decision"]] = decision_types.get(d["payload"]["decision"], 0) + 1
    plans = kind("orchestration.review_plan_started")
    scr_cases = {e["case_id"] for e in plans if e["payload"]["review_kind"] == "scr"}
    timeliness = {rule: {"met_in_time": 0, "met_late": 0, "unmet_overdue": 0} for rule in ("T1", "T2")}
    for case_id, recommendation in latest.items():
        if T1 in recommendation["deadlines"]:
            first = next((d for d in decisions if d["case_id"] == case_id), None)
            met = None if first is None else day(first["payload"]["decided_on"])
            classify(timeliness["T1"], day(recommendation["deadlines"][T1]), met, period, as_of)
    prepared = kind("decisioning.panel_notice_prepared")
    notices = {e["payload"]["notice_id"]: e["payload"]["decision_event_id"] for e in prepared}
    sent: dict[str, date] = {}
    for e in kind("decisioning.panel_notice_sent"):
        decision_id = notices[e["payload"]["notice_id"]]
        sent[decision_id] = min(sent.get(decision_id, date.max), day(e["payload"]["sent_on"]))
    for d in decisions:
        if T2 in d["payload"]["deadlines"]:
            classify(timeliness["T2"], day(d["payload"]["deadlines"][T2]), sent.get(d["event_id"]), period, as_of)
    return {
        "notifications_received": len(notified),
        "recommendations_by_type": by_type,
        "chair_decisions": {"total": len(in_period), "by_type": decision_types},
        "scrs": {
            "initiated": decision_types.get("initiate_scr", 0),
            "published": sum(
                1 for e in kind("orchestration.review_published")
                if e["case_id"] in scr_cases and period.holds(day(e["payload"]["published_on"]))
            ),
        },
        "timeliness": timeliness,
        "reviews": reviews_at(mine, period, as_of),
    }


def reviews_at(events: list[dict[str, Any]], period: Period, as_of: date) -> dict[str, int]:
    """Reviews opened by `as_of` and neither closed nor stopped by then; their current plan's stages past due
    and not held (nor moved) by then; reviews closed in the period."""
    in_progress = overdue = closed = 0
    for case_id in {e["case_id"] for e in events if e["event_type"] == "orchestration.review_process_opened"}:
        case = [e for e in events if e["case_id"] == case_id and e["event_type"].startswith("orchestration.")]
        dated = [e for e in case if day_of(e) <= as_of]
        closed += sum(1 for e in case if e["event_type"] == "orchestration.review_closed"
                      and period.holds(day(e["payload"]["closed_on"])))
        ends = ("orchestration.review_closed", "orchestration.review_not_initiated")
        ended = any(e["event_type"] in ends for e in dated)
        plans = [e for e in dated if e["event_type"] == "orchestration.review_plan_started"]
        if ended or not plans:
            continue
        in_progress += 1
        held = {e["payload"]["stage_id"] for e in dated if e["event_type"] == "orchestration.stage_held"}
        moves = [e for e in dated if e["event_type"] == "orchestration.stage_moved"]
        moved = {e["payload"]["stage_id"]: e["payload"]["new_due"] for e in moves}
        for stage in plans[-1]["payload"]["stages"]:
            due = moved.get(stage["stage_id"], stage["due"])
            if due is not None and day(due) < as_of and stage["stage_id"] not in held:
                overdue += 1
    return {"in_progress": in_progress, "overdue_stages": overdue, "closed": closed}


def day_of(event: dict[str, Any]) -> date:
    """An event's business date (Europe/London) from its `occurred_at`."""
    return business_date(datetime.fromisoformat(event["occurred_at"]))


def compared(figures: dict[str, Any]) -> dict[str, Any]:
    """The report's figures that the log counts cover."""
    return {
        "notifications_received": figures["notifications_received"],
        "recommendations_by_type": figures["recommendations_by_type"],
        "chair_decisions": {k: figures["chair_decisions"][k] for k in ("total", "by_type")},
        "scrs": figures["scrs"],
        "timeliness": {
            rule: {k: v for k, v in t.items() if k != "deadline"} for rule, t in figures["timeliness"].items()
        },
        "reviews": {k: figures["reviews"][k] for k in ("in_progress", "overdue_stages", "closed")},
    }


# --- the tests ---------------------------------------------------------------------------------------------------


async def report(d: Driver, path: str, headers: dict[str, str], status: int = 200) -> httpx.Response:
    response = await d.client.get(path, headers=headers)
    assert response.status_code == status, f"GET {path} -> {response.status_code}: {response.text}"
    return response


def pdf_text(document: bytes, tmp_path: Path) -> str:
    pdftotext = ensure_binary("pdftotext", ["poppler-utils"])
    path = tmp_path / "report.pdf"
    path.write_bytes(document)
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_figure(text: str, label: str) -> int:
    found = re.search(rf"^\s*{re.escape(label)}\s+(\d+)\s*$", text, re.MULTILINE)
    assert found, f"{label!r} is not in the PDF's text:\n{text}"
    return int(found.group(1))


async def test_the_annual_report_counts_what_the_logs_hold_in_each_reporting_year(world: World, tmp_path: Path) -> None:
    d = world.bol
    actions = await record_other_learning(d)
    await world.system.catch_up()
    await world.system.catch_up()
    events = await asyncio.to_thread(logged_events, world.url)
    bm = await d.bm()
    today = world.clock.day

    for year, period in ((2014, reporting_year(2014)), (2015, reporting_year(2015))):
        got = (await report(d, f"/v1/lscbs/BOL/annual-report?year={year}", bm)).json()
        shown = got["reporting_year"]
        assert (shown["from"], shown["to"]) == (period.start.isoformat(), period.end.isoformat())
        assert compared(got["figures"]) == count_from_logs(events, "BOL", period, period.as_of(today)), year
        assert got["learning"] is not None and got["learning"]["sources"] >= 0  # the embedded runtime connects learning
    # What the journeys made, in the year each belongs to: the boundaries hold.
    y2014 = (await report(d, "/v1/lscbs/BOL/annual-report?year=2014", bm)).json()["figures"]
    y2015 = (await report(d, "/v1/lscbs/BOL/annual-report?year=2015", bm)).json()["figures"]
    assert (y2014["notifications_received"], y2015["notifications_received"]) == (2, 3)  # 31 March / 1 April
    assert (y2014["scrs"], y2015["scrs"]) == ({"initiated": 1, "published": 0}, {"initiated": 0, "published": 1})
    assert y2015["timeliness"]["T1"]["met_late"] == 1 and y2015["timeliness"]["T2"]["met_late"] == 1
    assert y2014["timeliness"]["T1"]["met_in_time"] == 1 and y2015["timeliness"]["T2"]["unmet_overdue"] == 1
    assert y2015["reviews"]["in_progress"] == 1 and y2015["reviews"]["overdue_stages"] > 0  # the MACR fell behind
    assert y2015["chair_decisions"]["by_type"] == {"commission_macr": 1, "no_review": 1}

    # CSV: the same numbers; PDF: its text holds them.
    as_csv = await report(d, "/v1/lscbs/BOL/annual-report?year=2015&format=csv", bm)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    values = {row["figure"]: int(row["value"]) for row in rows}
    assert values["notifications_received"] == 3 and values["timeliness.T2.met_late"] == 1
    assert values["reviews.overdue_stages"] == y2015["reviews"]["overdue_stages"]
    pdf = await report(d, "/v1/lscbs/BOL/annual-report?year=2015&format=pdf", await d.chair())
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = await asyncio.to_thread(pdf_text, pdf.content, tmp_path)
    assert "Bolton" in text and "2015-16" in text
    assert pdf_figure(text, "Notifications received") == y2015["notifications_received"]
    assert pdf_figure(text, "SCRs published") == y2015["scrs"]["published"]
    assert pdf_figure(text, "Chair's decisions") == y2015["chair_decisions"]["total"]
    assert pdf_figure(text, "Overdue stages") == y2015["reviews"]["overdue_stages"]
    for rule, label in (("T1", "T1 Chair's decision"), ("T2", "T2 Panel notice")):
        row = re.search(rf"^\s*{label}\s+(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.MULTILINE)
        assert row, f"{label!r} is not a row of the PDF's text:\n{text}"
        timeliness = y2015["timeliness"][rule]
        expected = (timeliness["met_in_time"], timeliness["met_late"], timeliness["unmet_overdue"])
        assert tuple(map(int, row.groups())) == expected
    # The learning: every non-SCR review's, forum's and audit's findings, and the recommendations' figures.
    learning = (await report(d, "/v1/lscbs/BOL/annual-report?year=2015", bm)).json()["learning"]
    assert {f["source_kind"]: f["findings"] for f in learning["findings"]} == FINDINGS
    assert learning["recommendations"]["actions"] == actions
    flat = one_line(text)
    for finding in learning["findings"]:
        assert one_line(finding["findings"]) in flat, f"{finding['source_kind']}'s findings are not in the PDF"
        assert one_line(finding["title"]) in flat
    assert "Findings of non-SCR reviews, forums and audits" in flat
    assert "Legacy review (MACR)" in flat and "Forum, BOL, 2015-06-01" in flat and "Audit, BOL, 2015-07-01" in flat
    recommendations = learning["recommendations"]
    assert pdf_figure(text, "Recommendations") == recommendations["total"] >= 3
    assert pdf_figure(text, "Single-agency") == recommendations["single_agency"]
    assert pdf_figure(text, "Multi-agency") == recommendations["multi_agency"]
    assert pdf_figure(text, "Actions") == actions["total"]
    assert pdf_figure(text, "Actions done") == actions["done"]
    assert pdf_figure(text, "Actions overdue") == actions["overdue"]
    assert pdf_figure(text, "Impact evidenced") == recommendations["impact_evidenced"]
    # Themes and kinds by their labels, not their keys; each recommendation's text as written.
    assert "scie-learning-together/1:" not in text and "human_judgement" not in text and "review macr" not in text
    assert "Human judgement and reasoning" in flat and "Legacy review (MACR)" in flat
    assert all(item["text"] for item in recommendations["items"])
    for item in recommendations["items"]:
        assert one_line(item["text"]) in flat, f"{item['text']!r} is not in the PDF"
    # No table is split by a page break: the themes table is on one page with its heading.
    themes_page = next(page for page in text.split("\f") if re.search(r"^Themes$", page, re.MULTILINE))
    assert "Human judgement and reasoning" in themes_page
    html = await report(d, "/v1/lscbs/BOL/annual-report?year=2015&format=html", bm)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text

    # The board moves its year to January: the same logs, counted over the calendar year.
    assert (await d.client.put("/v1/lscbs/BOL/reporting-year", json={"start_month": 1}, headers=bm)).status_code == 200
    calendar = (await report(d, "/v1/lscbs/BOL/annual-report?year=2015", await d.admin())).json()
    assert calendar["reporting_year"] | {"setting_version": 1} == {
        "from": "2015-01-01", "to": "2015-12-31", "label": "2015", "year": 2015, "start_month": 1, "setting_version": 1
    }
    assert compared(calendar["figures"]) == count_from_logs(events, "BOL", reporting_year(2015, 1), date(2015, 12, 31))

    # The region's digest: every board, no case or review identifier in any form.
    analyst = await d.as_(Role.REGIONAL_ANALYST)
    digest_path = "/v1/region/learning-digest?from=2015-01-01&to=2016-03-31"
    digest = (await report(d, digest_path, analyst)).json()
    assert set(digest["boards"]) == {"BOL", "MAN"} and digest["boards"]["MAN"]["notifications_received"] == 1
    whole = Period(date(2015, 1, 1), date(2016, 3, 31), "")
    assert compared(digest["boards"]["MAN"]) == count_from_logs(events, "MAN", whole, whole.as_of(today))
    boards = digest["boards"].values()
    assert digest["figures"]["notifications_received"] == sum(b["notifications_received"] for b in boards)
    identifiers = {review.case_id for review in world.cases} | {r.review_id for r in world.cases if r.review_id}
    identifiers |= {e["event_id"] for e in events}
    for form in ("json", "csv", "html"):
        body = (await report(d, f"{digest_path}&format={form}", analyst)).text
        leaked = [i for i in identifiers if i in body]
        assert leaked == [], f"the {form} digest names {leaked}"
    digest_pdf = await report(d, f"{digest_path}&format=pdf", analyst)
    digest_text = await asyncio.to_thread(pdf_text, digest_pdf.content, tmp_path)
    assert pdf_figure(digest_text, "Notifications received") == digest["figures"]["notifications_received"]
    assert not [i for i in identifiers if i in digest_text]


async def test_who_may_read_and_set_what_and_bad_parameters(bare: World) -> None:
    d, man = bare.bol, bare.man
    path = "/v1/lscbs/BOL/annual-report?year=2015"
    for role in (Role.INTEGRATION, Role.REVIEWER):
        assert (await d.client.get(path, headers=await d.as_(role))).status_code == 403
    assert (await d.client.get(path, headers=await d.as_(Role.REGIONAL_ANALYST))).status_code == 403
    nothing = await d.client.get("/v1/lscbs/XXX/annual-report?year=2015", headers=await d.admin())
    other_board = await d.client.get(path, headers=await man.chair())
    assert other_board.status_code == nothing.status_code == 404 and other_board.content == nothing.content
    assert (await d.client.get(path, headers=await d.as_(Role.AUDITOR, scope="region"))).status_code == 200
    digest = "/v1/region/learning-digest?from=2015-01-01&to=2015-12-31"
    assert (await d.client.get(digest, headers=await d.bm())).status_code == 403

    for query, field in (("year=1800", "year"), ("year=twenty", "year"), ("year=2015&format=doc", "format")):
        refused = await d.client.get(f"/v1/lscbs/BOL/annual-report?{query}", headers=await d.bm())
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["detail"]] == [field], query
    for query, field in (("from=2015-1-1&to=2015-12-31", "from"), ("from=2015-12-31&to=2015-01-01", "to"),
                         ("to=2015-12-31", "from"), ("from=2000-01-01&to=2015-12-31", "to")):
        refused = await d.client.get(f"/v1/region/learning-digest?{query}", headers=await d.admin())
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["detail"]] == [field], query

    setting = "/v1/lscbs/BOL/reporting-year"
    assert (await d.get(setting, await d.chair()))["start_month"] == 4  # the default, never set
    for body in ({"start_month": 13}, {"start_month": "1"}, {"start_month": 1, "day": 1}, {}):
        refused = await d.client.put(setting, json=body, headers=await d.bm())
        assert refused.status_code == 422, body
    assert (await d.client.put(setting, json={"start_month": 9}, headers=await d.chair())).status_code == 403
    elsewhere = await d.client.put(setting, json={"start_month": 9}, headers=await man.bm())
    assert elsewhere.status_code == 404 and elsewhere.content == nothing.content
    assert (await d.get(setting, await d.bm()))["version"] == 0  # nothing refused was recorded
    first = await d.client.put(setting, json={"start_month": 9}, headers=await d.bm())
    again = await d.client.put(setting, json={"start_month": 9}, headers=await d.admin())
    assert first.json()["version"] == again.json()["version"] == 1
    assert first.json()["runs"] == "1 September to the end of August"
    shown = await d.get(setting, await d.as_(Role.AUDITOR))
    assert [(v["version"], v["start_month"], v["set_by"]) for v in shown["history"]] == [(1, 9, "business_manager-BOL")]
    current = (await report(d, "/v1/lscbs/BOL/annual-report", await d.bm())).json()["reporting_year"]
    assert (current["from"], current["start_month"]) == ("2014-09-01", 9)  # the year running on 2015-03-20
    assert current["setting_version"] == 1
