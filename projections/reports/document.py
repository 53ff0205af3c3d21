"""A report as a document a board can file: self-contained HTML (inline CSS and SVG charts), and its PDF.

The HTML has no script and fetches nothing, so it opens the same offline, under LIF's strict
Content-Security-Policy, and in WeasyPrint (`lif.pdf.render_pdf`), which makes the PDF from it. Texts from
the learning service are escaped by the template (Jinja's autoescape).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from lif.charts import bar_chart, stacked_bar_chart
from lif.learning_view import kind_label
from lif.pdf import render_pdf
from lif.typology import TypologyError, TypologyNotFound, available_typologies, load_typology
from projections.reports.assemble import ANNUAL_REPORT

FINDINGS_SHOWN = 1200
"""Characters of a source's findings the document shows (the JSON holds them whole)."""

REVIEW_TYPES = {
    "serious_case_review": "Serious Case Review",
    "multi_agency_concise_review": "Multi-agency concise review",
    "individual_agency_review": "Individual agency review",
    "multi_professional_forum": "Multi-professional forum",
    "embedding_review": "Embedding review",
    "no_review": "No review",
    "rapid_review": "Rapid review",
    "pending": "Not yet recommended",
}
DECISIONS = {
    "initiate_scr": "Initiate an SCR",
    "commission_macr": "Commission a MACR",
    "request_iar": "Request an IAR",
    "propose_forum": "Propose a forum",
    "embedding_review": "Embedding review",
    "no_review": "No review",
}

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def theme_label(theme: str) -> str:
    """A theme as its typology labels it ("Human judgement"): from a `typology/version:code` key, or from a
    bare code, the label of the newest typology version that holds it; the code itself when none does."""
    ref, colon, code = theme.rpartition(":")
    refs = [ref] if colon else [f"{name}/{versions[-1]}" for name, versions in available_typologies().items()]
    for candidate in refs:
        try:
            label = load_typology(candidate).themes.get(code)
        except (TypologyError, TypologyNotFound):
            label = None
        if label:
            return label
    return code.replace("_", " ")


def source_kind_label(kind: str) -> str:
    """A key of `sources_by_kind` (`review:macr`, `forum`, `legacy_review:macr`) as a reader names it."""
    source_kind, _, review_type = kind.partition(":")
    label = kind_label(source_kind, review_type or None)
    label = label[0].upper() + label[1:]
    return f"{label} (closed before LIF)" if source_kind == "legacy_review" else label


_ENV.filters["theme_label"] = theme_label


def _shorten(text: str) -> str:
    return text if len(text) <= FINDINGS_SHOWN else text[: FINDINGS_SHOWN - 1].rstrip() + "…"


def charts(report: dict[str, Any]) -> list[Markup]:
    """Where a reader would rather look than read: decisions by type, and T1/T2 in time or late."""
    figures = report["figures"]
    found: list[Markup] = []
    if report["report"] != ANNUAL_REPORT and report["boards"]:
        found.append(
            Markup(  # noqa: S704  # the SVG is built from escaped text only
                bar_chart(
                    "Notifications received by board",
                    [(code, board["notifications_received"]) for code, board in report["boards"].items()],
                )
            )
        )
    decisions = figures["chair_decisions"]["by_type"]
    if decisions:
        found.append(
            Markup(  # noqa: S704
                bar_chart("Chair's decisions by type", [(DECISIONS.get(k, k), v) for k, v in sorted(decisions.items())])
            )
        )
    timeliness = figures["timeliness"]
    found.append(
        Markup(  # noqa: S704
            stacked_bar_chart(
                "Timeliness of T1 and T2",
                [
                    (f"{rule} ({'Chair decision' if rule == 'T1' else 'Panel notice'})",
                     [t["met_in_time"], t["met_late"], t["unmet_overdue"]])
                    for rule, t in timeliness.items()
                ],
                legend=("met in time", "met late", "unmet, overdue"),
            )
        )
    )
    return found


def render_html(report: dict[str, Any]) -> str:
    template = _ENV.get_template("report.html")
    return template.render(
        report=report,
        annual=report["report"] == ANNUAL_REPORT,
        figures=report["figures"],
        learning=report["learning"],
        charts=charts(report),
        review_types=REVIEW_TYPES,
        decisions=DECISIONS,
        shorten=_shorten,
        theme_label=theme_label,
        source_kind_label=source_kind_label,
    )


async def render_report_pdf(report: dict[str, Any]) -> bytes:
    """The PDF of the report's HTML (WeasyPrint works in a worker thread: it takes a while and blocks)."""
    return await asyncio.to_thread(render_pdf, render_html(report))
