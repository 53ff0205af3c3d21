"""Figures, their ratio to the raw baseline measured in the same run, and how they are printed and stored."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured figure: LIF's value, the raw baseline's and which way is better."""

    key: str
    name: str
    unit: str
    lif: float | None
    baseline: float | None
    baseline_name: str
    higher_is_better: bool = True
    target: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """LIF / baseline: the share of the raw rate reached, or how many times slower a latency is."""
        return ratio(self.lif, self.baseline)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def ratio(lif: float | None, baseline: float | None) -> float | None:
    if lif is None or baseline is None or baseline == 0 or math.isnan(lif) or math.isnan(baseline):
        return None
    return lif / baseline


def number(value: float | None) -> str:
    """Three significant figures, thousands separated; `-` when not measured."""
    if value is None or math.isnan(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, 2 - magnitude)
    return f"{round(value, decimals):,.{decimals}f}"


def ratio_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 0.01 else f"{value:.4f}x"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of a non-empty sample."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def format_table(figures: Sequence[Figure]) -> str:
    """One line per figure: key, name, LIF, baseline, ratio, target; notes indented beneath."""
    header = ("figure", "LIF", "raw baseline", "ratio", "target")
    rows = [
        (
            f"{f.key} {f.name}",
            f"{number(f.lif)} {f.unit}",
            f"{number(f.baseline)} {f.unit} ({f.baseline_name})",
            ratio_text(f.ratio),
            f.target,
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for figure, row in zip(figures, rows, strict=True):
        lines.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        lines.extend(f"    {note}" for note in figure.notes)
    return "\n".join(lines) + "\n"


def write_results(figures: Sequence[Figure], meta: dict[str, Any], directory: Path) -> Path:
    """`bench-results/<timestamp>.json`, so runs can be compared."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    document = {"recorded_at": stamp, **meta, "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
