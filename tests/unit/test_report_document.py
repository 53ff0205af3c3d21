"""A report's forms: the learning section from the learning service's inputs, CSV, HTML with SVG charts, and
the client of the learning service's internal route. The learning service is the documented test double
(`tests/report_inputs.py`) here; the integration test drives the real read model."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any

import httpx
import pytest

from lif.charts import bar_chart
from projections.reports.assemble import REGIONAL_DIGEST, learning_section
from projections.reports.csv_export import COLUMNS, report_csv
from projections.reports.document import render_html
from projections.reports.figures import empty_figures, total_figures
from projections.reports.inputs import HttpReportInputs, InProcessReportInputs, LearningUnavailableError
from tests.report_inputs import StaticReportInputs, recommendation, source

SOURCES = [
    source("review", "rev-scr-1", "BOL", "2015-09-16", review_type="scr", title="BOL-SCR-2015-07"),
    source("review", "rev-macr-1", "BOL", "2015-10-02", review_type="macr", title="BOL-MACR-2015-02",
           themes=["management_systems"], findings="Supervision <b>drifted</b> & nobody noticed."),
    source("forum", "forum-1", "MAN", "2015-11-05", title="Neglect forum", findings="Practitioners shared."),
    source("audit", "audit-1", "BOL", "2016-02-01", title="Neglect audit", findings="Ten cases audited."),
]
RECOMMENDATIONS = [
    recommendation("rec-1", "rev-macr-1", total=3, done=1, overdue=1, impact=False),
    recommendation("rec-2", "audit-1", total=2, done=2, overdue=0, impact=True, scope="single_agency"),
    recommendation("rec-3", "rev-scr-1", total=1, done=0, overdue=1, impact=False, themes=("management_systems",)),
]


def figures(**counts: int) -> dict[str, Any]:
    made = empty_figures()
    made["notifications_received"] = counts.get("notifications", 3)
    made["recommendations_by_type"] = {"serious_case_review": 1, "multi_agency_concise_review": 2}
    made["chair_decisions"].update(total=2, by_type={"initiate_scr": 1, "commission_macr": 1})
    made["scrs"].update(initiated=1, published=1)
    made["timeliness"]["T2"].update(met_in_time=1, met_late=1)
    return made


async def learning(lscb: str | None, *, regional: bool) -> dict[str, Any]:
    inputs = StaticReportInputs(SOURCES, RECOMMENDATIONS)
    return learning_section(await inputs(lscb, date(2015, 4, 1), date(2016, 3, 31)), regional=regional)


def annual(learning_part: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "report": "annual_report",
        "lscb": "BOL",
        "board_name": "Bolton",
        "reporting_year": {"from": "2015-04-01", "to": "2016-03-31", "label": "2015-16", "year": 2015},
        "as_of": "2016-03-31",
        "generated_on": "2016-05-01",
        "figures": figures(),
        "learning": learning_part,
    }


async def test_a_board_report_summarises_every_source_but_its_scrs_and_tracks_recommendations() -> None:
    section = await learning("BOL", regional=False)
    assert section["sources"] == 3
    assert section["sources_by_kind"] == {"audit": 1, "review:macr": 1, "review:scr": 1}
    assert [f["source_id"] for f in section["findings"]] == ["rev-macr-1", "audit-1"]  # no SCR: it has its own report
    recs = section["recommendations"]
    assert (recs["total"], recs["single_agency"], recs["multi_agency"], recs["impact_evidenced"]) == (3, 1, 2, 1)
    assert recs["actions"] == {"total": 6, "done": 3, "overdue": 2}
    judgement = {"made": 2, "actions_overdue": 1, "impact_evidenced": 1}
    assert recs["by_theme"]["scie-learning-together/1:human_judgement"] == judgement  # each code with its typology
    assert [item["recommendation_id"] for item in recs["items"]] == ["rec-1", "rec-2", "rec-3"]


async def test_the_regional_learning_names_no_source_recommendation_or_review() -> None:
    section = await learning(None, regional=True)
    text = json.dumps(section)
    for identifier in ("rev-scr-1", "rev-macr-1", "forum-1", "audit-1", "rec-1", "rec-2", "BOL-MACR-2015-02"):
        assert identifier not in text
    assert [(f["source_kind"], f["lscb"], f["month"], f["title"]) for f in section["findings"]] == [
        ("review", "BOL", "2015-10", None),
        ("forum", "MAN", "2015-11", "Neglect forum"),
        ("audit", "BOL", "2016-02", "Neglect audit"),
    ]
    assert "items" not in section["recommendations"]


async def test_the_csv_parses_and_carries_every_figure() -> None:
    report = annual(await learning("BOL", regional=False))
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert tuple(rows[0]) == COLUMNS
    values = {row["figure"]: int(row["value"]) for row in rows}
    assert {row["lscb"] for row in rows} == {"BOL"} and {row["from"] for row in rows} == {"2015-04-01"}
    assert values["notifications_received"] == 3
    assert values["chair_decisions.by_type.initiate_scr"] == 1
    assert values["timeliness.T2.met_late"] == 1
    assert values["learning.recommendations.actions.overdue"] == 2
    assert not any(figure.startswith("learning.findings") for figure in values)


def test_the_digest_csv_has_the_region_then_each_board() -> None:
    boards = {"BOL": figures(notifications=3), "MAN": figures(notifications=4)}
    digest = {"report": REGIONAL_DIGEST, "period": {"from": "2015-01-01", "to": "2015-12-31"},
              "figures": total_figures(boards), "boards": boards, "learning": None}
    rows = list(csv.DictReader(io.StringIO(report_csv(digest))))
    received = {row["lscb"]: int(row["value"]) for row in rows if row["figure"] == "notifications_received"}
    assert received == {"region": 7, "BOL": 3, "MAN": 4}


async def test_the_html_escapes_learning_texts_and_draws_charts_without_style_or_script() -> None:
    page = render_html(annual(await learning("BOL", regional=False)))
    assert "Supervision &lt;b&gt;drifted&lt;/b&gt; &amp; nobody noticed." in page
    assert page.count("<svg") == 2 and "<script" not in page
    assert not re.search(r"<(svg|rect|text)[^>]*\sstyle=", page)  # the CSP allows no inline style attribute
    assert "SCRs published" in page and "2015-16" in page


async def test_the_html_names_themes_and_kinds_by_their_labels_and_keeps_tables_whole() -> None:
    """Typology labels, not keys; `MACR`, not `review macr`; each recommendation's text; no table split."""
    section = await learning("BOL", regional=False)
    assert section["recommendations"]["items"][0]["text"] == "Recommendation rec-1: train every agency."
    page = render_html(annual(section))
    assert "scie-learning-together/1:" not in page and ">human_judgement<" not in page
    assert "<td>Human judgement and reasoning</td>" in page and "Themes: Management systems" in page
    assert "<td>MACR</td>" in page and "review macr" not in page and "<td>Multi-case audit</td>" in page
    assert "Recommendation rec-1: train every agency." in page
    assert re.search(r"table, section[^{]*\{ break-inside: avoid; \}", page)


def test_a_report_without_the_learning_service_says_so() -> None:
    assert "learning collation service is not connected" in render_html(annual(None))


def test_a_bar_chart_scales_to_the_largest_value_and_writes_each_number() -> None:
    svg = bar_chart("Decisions", [("MACR <x>", 2), ("SCR", 4), ("None", 0)])
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths == [150, 300]  # nothing drawn for a zero
    assert "MACR &lt;x&gt;" in svg and ">4</text>" in svg and ">0</text>" in svg


async def test_the_client_asks_the_internal_route_with_the_service_credential() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"sources": SOURCES[:1], "recommendations": RECOMMENDATIONS[2:], "more": 1})

    client = HttpReportInputs("http://learning:8000/", "projections.secret", transport=httpx.MockTransport(answer))
    got = await client("BOL", date(2015, 4, 1), date(2016, 3, 31))
    await client(None, date(2015, 1, 1), date(2015, 12, 31))
    await client.close()
    assert [s.source_id for s in got.sources] == ["rev-scr-1"] and got.recommendations[0].actions.overdue == 1
    assert [(r.url.path, dict(r.url.params)) for r in seen] == [
        ("/internal/v1/learning/BOL/report-inputs", {"from": "2015-04-01", "to": "2016-03-31"}),
        ("/internal/v1/learning/region/report-inputs", {"from": "2015-01-01", "to": "2015-12-31"}),
    ]
    assert {r.headers["authorization"] for r in seen} == {"Bearer projections.secret"}


@pytest.mark.parametrize(
    "response",
    [httpx.Response(403, json={"detail": "no"}), httpx.Response(200, text="not json"),
     httpx.Response(200, json={"sources": [{"source_kind": "rumour"}]})],
)
async def test_a_refusal_or_a_bad_answer_is_unavailable_not_an_empty_report(response: httpx.Response) -> None:
    client = HttpReportInputs("http://learning:8000", "t", transport=httpx.MockTransport(lambda request: response))
    with pytest.raises(LearningUnavailableError):
        await client("BOL", date(2015, 4, 1), date(2016, 3, 31))
    await client.close()


async def test_the_learning_services_own_function_answers_in_process() -> None:
    asked: list[tuple[str | None, date, date]] = []

    def report_inputs(lscb: str | None, start: date, end: date) -> dict[str, Any]:
        asked.append((lscb, start, end))
        return {"sources": SOURCES[1:2], "recommendations": []}

    got = await InProcessReportInputs(report_inputs)("BOL", date(2015, 4, 1), date(2016, 3, 31))
    assert [s.source_id for s in got.sources] == ["rev-macr-1"]
    assert asked == [("BOL", date(2015, 4, 1), date(2016, 3, 31))]
    broken = InProcessReportInputs(lambda lscb, start, end: {"sources": "none"})
    with pytest.raises(LearningUnavailableError):
        await broken(None, date(2015, 1, 1), date(2015, 2, 1))


async def test_a_source_whose_texts_were_erased_is_counted_and_shown_as_erased() -> None:
    erased = source("forum", "forum-2", "BOL", "2015-12-01") | {"title": None, "findings": None}
    inputs = StaticReportInputs([*SOURCES, erased], RECOMMENDATIONS)
    section = learning_section(await inputs("BOL", date(2015, 4, 1), date(2016, 3, 31)), regional=False)
    assert section["sources"] == 4
    assert "[the source&#39;s texts have been erased]" in render_html(annual(section))
