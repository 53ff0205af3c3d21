"""A test double of the learning service's report inputs, for unit tests of the reports only.

It answers the document `GET /internal/v1/learning/{lscb}/report-inputs` answers (see
`projections.reports.inputs`), from fixed sources and recommendations, filtered by board and period as the
learning service filters them, and records each request so a test can check what was asked. Integration and
end-to-end tests use the learning service itself (its in-process function or its internal route), never this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from projections.reports.inputs import LearningInputs

SCIE = {"typology": "scie-learning-together", "version": "1"}


def source(
    kind: str, source_id: str, lscb: str, on: str, *, review_type: str | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "source_kind": kind,
        "source_id": source_id,
        "review_type": review_type,
        "on": on,
        "lscb": lscb,
        "title": more.get("title", f"{kind} {source_id}"),
        "themes": [{**SCIE, "code": code} for code in more.get("themes", ["human_judgement"])],
        "findings": more.get("findings", f"What {source_id} found."),
    }


def recommendation(recommendation_id: str, source_id: str, *, total: int, done: int, overdue: int,
                   impact: bool, scope: str = "multi_agency", themes: tuple[str, ...] = ("human_judgement",)
                   ) -> dict[str, Any]:
    return {
        "recommendation_id": recommendation_id,
        "source_id": source_id,
        "scope": scope,
        "agency": None if scope == "multi_agency" else "health",
        "themes": [{**SCIE, "code": code} for code in themes],
        "actions": {"total": total, "done": done, "overdue": overdue},
        "impact_evidenced": impact,
        "text": f"Recommendation {recommendation_id}: train every agency.",
    }


@dataclass
class StaticReportInputs:
    """`ReportInputs` over fixed documents; `asked` records (lscb, start, end) of every request."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    asked: list[tuple[str | None, date, date]] = field(default_factory=list)

    async def __call__(self, lscb: str | None, start: date, end: date) -> LearningInputs:
        self.asked.append((lscb, start, end))
        sources = [
            s for s in self.sources
            if (lscb is None or s["lscb"] == lscb) and start <= date.fromisoformat(s["on"]) <= end
        ]
        ids = {s["source_id"] for s in sources}
        return LearningInputs.model_validate(
            {"sources": sources, "recommendations": [r for r in self.recommendations if r["source_id"] in ids]}
        )
