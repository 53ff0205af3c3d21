"""One report document, however it is served: a board's annual report or the region's learning digest.

The figures come from the read model (`projections.reports.figures`), the learning from the learning
service (`projections.reports.inputs`). JSON, CSV, HTML and PDF are all made from the document built here,
so they cannot disagree.

The regional digest carries no case identifier: its figures are counts, and its learning names no source,
recommendation, case or review id, and no review's title (a review's title may hold its reference code);
forums and audits keep theirs, which name a theme.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from lif.boards import get_board
from projections.reports.figures import figures_by_board, total_figures
from projections.reports.inputs import LearningInputs, LearningSource, ReportInputs, Theme
from projections.reports.periods import Period, reporting_year
from projections.reports.settings import current_setting

ANNUAL_REPORT = "annual_report"
REGIONAL_DIGEST = "regional_learning_digest"


async def annual_report(
    pool: asyncpg.Pool, inputs: ReportInputs | None, lscb: str, year: int, today: date
) -> dict[str, Any]:
    """Board `lscb`'s report for the reporting year that starts in `year` (under its current setting)."""
    setting = await current_setting(pool, lscb)
    period = reporting_year(year, setting.start_month)
    figures = (await figures_by_board(pool, period, today, lscb)).get(lscb) or total_figures({})
    learning = None if inputs is None else await inputs(lscb, period.start, period.end)
    board = get_board(lscb)
    return {
        "report": ANNUAL_REPORT,
        "lscb": lscb,
        "board_name": board.name if board else lscb,
        "reporting_year": {**period.as_json(), "year": year, "start_month": setting.start_month,
                           "setting_version": setting.version},
        "as_of": period.as_of(today).isoformat(),
        "generated_on": today.isoformat(),
        "figures": figures,
        "learning": None if learning is None else learning_section(learning, regional=False),
    }


async def regional_digest(
    pool: asyncpg.Pool, inputs: ReportInputs | None, period: Period, today: date
) -> dict[str, Any]:
    """The Business Managers Group's digest over any period: every board's figures and the region's learning."""
    boards = await figures_by_board(pool, period, today)
    learning = None if inputs is None else await inputs(None, period.start, period.end)
    return {
        "report": REGIONAL_DIGEST,
        "period": period.as_json(),
        "as_of": period.as_of(today).isoformat(),
        "generated_on": today.isoformat(),
        "figures": total_figures(boards),
        "boards": boards,
        "learning": None if learning is None else learning_section(learning, regional=True),
    }


def summarised(source: LearningSource) -> bool:
    """The annual report summarises the findings of every source but an SCR (an SCR publishes its own report)."""
    return source.review_type != "scr"


def learning_section(inputs: LearningInputs, *, regional: bool) -> dict[str, Any]:
    """Sources by kind, the findings of the non-SCR ones, themes held, and recommendations to impact."""
    by_kind: dict[str, int] = {}
    themes: dict[str, int] = {}
    for source in inputs.sources:
        kind = source.source_kind if source.review_type is None else f"{source.source_kind}:{source.review_type}"
        by_kind[kind] = by_kind.get(kind, 0) + 1
        for theme in source.themes:
            themes[_theme_key(theme)] = themes.get(_theme_key(theme), 0) + 1
    findings = [_finding(source, regional) for source in sorted(inputs.sources, key=lambda s: (s.on, s.lscb))
                if summarised(source)]
    return {
        "sources": len(inputs.sources),
        "sources_by_kind": dict(sorted(by_kind.items())),
        "themes": dict(sorted(themes.items(), key=lambda item: (-item[1], item[0]))),
        "findings": findings,
        "recommendations": _recommendations(inputs, regional),
    }


def _theme_key(theme: Theme) -> str:
    """A theme as the report keys it: `typology/version:code` (a bare code could be either typology's)."""
    return f"{theme.typology}/{theme.version}:{theme.code}"


def _finding(source: LearningSource, regional: bool) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "source_kind": source.source_kind,
        "review_type": source.review_type,
        "lscb": source.lscb,
        "themes": [_theme_key(theme) for theme in source.themes],
        "findings": source.findings,
    }
    if regional:
        finding["month"] = source.on.isoformat()[:7]
        finding["title"] = source.title if source.source_kind in ("forum", "audit") else None
    else:
        finding["source_id"] = source.source_id
        finding["on"] = source.on.isoformat()
        finding["title"] = source.title
    return finding


def _recommendations(inputs: LearningInputs, regional: bool) -> dict[str, Any]:
    recommendations = inputs.recommendations
    by_theme: dict[str, dict[str, int]] = {}
    for rec in recommendations:
        for key in [_theme_key(theme) for theme in rec.themes] or ["untagged"]:
            counts = by_theme.setdefault(key, {"made": 0, "actions_overdue": 0, "impact_evidenced": 0})
            counts["made"] += 1
            counts["actions_overdue"] += rec.actions.overdue
            counts["impact_evidenced"] += rec.impact_evidenced
    section: dict[str, Any] = {
        "total": len(recommendations),
        "single_agency": sum(r.scope == "single_agency" for r in recommendations),
        "multi_agency": sum(r.scope == "multi_agency" for r in recommendations),
        "impact_evidenced": sum(r.impact_evidenced for r in recommendations),
        "actions": {
            "total": sum(r.actions.total for r in recommendations),
            "done": sum(r.actions.done for r in recommendations),
            "overdue": sum(r.actions.overdue for r in recommendations),
        },
        "by_theme": dict(sorted(by_theme.items())),
    }
    if not regional:
        section["items"] = [
            {
                "recommendation_id": r.recommendation_id,
                "source_id": r.source_id,
                "scope": r.scope,
                "agency": r.agency,
                "text": r.text,
                "themes": [_theme_key(theme) for theme in r.themes],
                "actions": r.actions.model_dump(),
                "impact_evidenced": r.impact_evidenced,
            }
            for r in recommendations
        ]
    return section
