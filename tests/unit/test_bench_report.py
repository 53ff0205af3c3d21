"""How `make bench` states a figure: the ratio to its baseline, the number format, percentiles, the JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.report import Figure, format_table, number, percentile, ratio, ratio_text, write_results


def test_ratio_is_lif_over_baseline_and_absent_without_a_baseline() -> None:
    assert ratio(32.0, 1030.0) == 32.0 / 1030.0
    assert ratio(5.0, None) is None
    assert ratio(None, 10.0) is None
    assert ratio(5.0, 0.0) is None
    assert ratio(math.nan, 10.0) is None


def test_numbers_keep_three_significant_figures_and_separate_thousands() -> None:
    assert number(1234567.0) == "1,234,567"
    assert number(104.4) == "104"
    assert number(31.96) == "32.0"
    assert number(0.0123) == "0.0123"
    assert number(None) == "-"
    assert number(math.nan) == "-"
    assert ratio_text(0.031) == "0.03x"
    assert ratio_text(0.0042) == "0.0042x"
    assert ratio_text(None) == "-"


def test_percentile_is_nearest_rank() -> None:
    sample = [float(n) for n in range(1, 101)]
    assert percentile(sample, 0.5) == 50.0
    assert percentile(sample, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))


def test_table_shows_each_figure_with_baseline_ratio_target_and_notes() -> None:
    figures = [
        Figure("B1", "embedded: incidents/s", "/s", 32.0, 1030.0, "asyncpg INSERT", target=">= 0.30x", notes=["n1"]),
        Figure("B4", "GET p99", "ms", 12.5, None, "", higher_is_better=False),
    ]
    lines = format_table(figures).splitlines()
    assert lines[0].split() == ["figure", "LIF", "raw", "baseline", "ratio", "target"]
    assert "B1 embedded: incidents/s" in lines[2]
    assert "32.0 /s" in lines[2] and "1,030 /s (asyncpg INSERT)" in lines[2] and "0.03x" in lines[2]
    assert ">= 0.30x" in lines[2]
    assert lines[3].strip() == "n1"
    assert "12.5 ms" in lines[4] and lines[4].split()[-1] == "-"


def test_results_file_holds_every_figure_with_its_ratio(tmp_path: Path) -> None:
    figures = [Figure("B3", "rebuild", "/s", 200.0, 100000.0, "COPY")]
    path = write_results(figures, {"options": {"sizes": [1000]}}, tmp_path / "bench-results")
    document = json.loads(path.read_text())
    assert path.parent == tmp_path / "bench-results" and path.suffix == ".json"
    assert document["options"] == {"sizes": [1000]}
    assert document["figures"][0]["key"] == "B3"
    assert document["figures"][0]["ratio"] == 200.0 / 100000.0
