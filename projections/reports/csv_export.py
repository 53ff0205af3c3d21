"""A report's figures as CSV for reporting consumers: one row per figure, with the board and the period.

Columns: `lscb` (a board's code, or `region` for the digest's totals), `from`, `to`, `figure` (a dotted path
into the JSON document's figures, e.g. `chair_decisions.by_type.initiate_scr`) and `value`. The learning's
counts follow under `learning.`; the findings' text stays in the JSON and the document.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

COLUMNS = ("lscb", "from", "to", "figure", "value")


def flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, int]]:
    """Every number of `document` with its dotted path (texts and lists left out)."""
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, f"{path}.")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            yield path, value


def report_csv(report: Mapping[str, Any]) -> str:
    """The CSV of an annual report or a regional digest (the digest: the region's totals, then each board's)."""
    period = report.get("reporting_year") or report["period"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)

    def rows(lscb: str, figures: Mapping[str, Any]) -> None:
        for figure, value in flatten(figures):
            writer.writerow((lscb, period["from"], period["to"], figure, value))

    scope = report.get("lscb") or "region"
    rows(scope, report["figures"])
    learning = report.get("learning")
    if learning is not None:
        counts = {key: value for key, value in learning.items() if key not in ("findings",)}
        recommendations = {k: v for k, v in counts.get("recommendations", {}).items() if k != "items"}
        rows(scope, {"learning": {**counts, "recommendations": recommendations}})
    for lscb, figures in (report.get("boards") or {}).items():
        rows(lscb, figures)
    return out.getvalue()
