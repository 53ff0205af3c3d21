"""Bar charts as inline SVG, drawn on the server: no script, no web font, nothing fetched. The reports' HTML
and PDF and the web pages draw theirs here.

Colours and lines are presentation attributes, not `style`, so the strict Content-Security-Policy of LIF's
HTML holds and WeasyPrint draws the same chart in the PDF. Every bar carries its number as text, so the
chart reads without colour and its figures are in the PDF's text. Each chart is an image to assistive
technology (`role="img"`), named by its `<title>` and described by its `<desc>`; a page shows the same
figures in a table beside it, the chart's accessible equivalent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

BAR_HEIGHT = 18
GROUPED_BAR_HEIGHT = 12
GAP = 8
LABEL_WIDTH = 230
BAR_WIDTH = 300
PALETTE = ("#1f5f8b", "#c8553d", "#6b8f71", "#8e6c8a", "#b8860b", "#505a5f")
INK = "#222"

Bars = Sequence[tuple[str, Sequence[int]]]


def bar_chart(title: str, bars: Sequence[tuple[str, int]], *, description: str = "") -> str:
    """A horizontal bar per (label, value), scaled to the largest value."""
    return stacked_bar_chart(title, [(label, [value]) for label, value in bars], legend=(), description=description)


def stacked_bar_chart(title: str, bars: Bars, legend: Sequence[str], *, description: str = "") -> str:
    """A horizontal bar per label, made of one segment per series (named by `legend`): parts of a whole.

    `description` (the `<desc>`) says what the bars show; without one, the figures are listed there."""
    largest = max((sum(values) for _, values in bars), default=0) or 1
    parts, top = _open(title, bars, legend, description)
    for row, (label, values) in enumerate(bars):
        y = top + GAP + row * (BAR_HEIGHT + GAP)
        parts.append(_label(label, y, BAR_HEIGHT))
        left = LABEL_WIDTH
        for index, value in enumerate(values):
            length = round(BAR_WIDTH * value / largest)
            if length:
                parts.append(_bar(left, y, length, BAR_HEIGHT, index))
            left += length
        total = " + ".join(str(v) for v in values) if len(values) > 1 else str(values[0] if values else 0)
        parts.append(_number(total, left, y, BAR_HEIGHT))
    return _close(parts)


def grouped_bar_chart(title: str, bars: Bars, legend: Sequence[str], *, description: str = "") -> str:
    """Per label, one bar for each series (named by `legend`) under each other: figures side by side that are
    not parts of one whole, all on one scale."""
    largest = max((max(values, default=0) for _, values in bars), default=0) or 1
    parts, top = _open(title, bars, legend, description, row=GROUPED_BAR_HEIGHT * max(len(legend), 1))
    height = GROUPED_BAR_HEIGHT * max(len(legend), 1)
    for row, (label, values) in enumerate(bars):
        y = top + GAP + row * (height + GAP)
        parts.append(_label(label, y, height))
        for index, value in enumerate(values):
            at = y + index * GROUPED_BAR_HEIGHT
            length = round(BAR_WIDTH * value / largest)
            if length:
                parts.append(_bar(LABEL_WIDTH, at, length, GROUPED_BAR_HEIGHT - 1, index))
            parts.append(_number(str(value), LABEL_WIDTH + length, at, GROUPED_BAR_HEIGHT))
    return _close(parts)


def _open(
    title: str, bars: Bars, legend: Sequence[str], description: str, row: int = BAR_HEIGHT
) -> tuple[list[str], int]:
    """The `<svg>` with its title, description, heading and legend; and where the first bar goes."""
    ident = "chart-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "figures")
    top = 28 + (BAR_HEIGHT if legend else 0)
    height = top + len(bars) * (row + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{ident}-title" aria-describedby="{ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description or _figures(bars, legend))}</desc>',
        f'<text x="0" y="16" font-size="13" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]
    x = 0
    for index, name in enumerate(legend):
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="35" font-size="11" fill="{INK}">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 16
    return parts, top


def _label(label: str, y: int, height: int) -> str:
    return (
        f'<text x="{LABEL_WIDTH - 6}" y="{y + height // 2 + 4}" font-size="11" text-anchor="end" fill="{INK}">'
        f"{escape(label)}</text>"
    )


def _bar(x: int, y: int, length: int, height: int, series: int) -> str:
    return f'<rect x="{x}" y="{y}" width="{length}" height="{height}" fill="{PALETTE[series % len(PALETTE)]}"/>'


def _number(text: str, x: int, y: int, height: int) -> str:
    return f'<text x="{x + 6}" y="{y + height // 2 + 4}" font-size="11" fill="{INK}">{escape(text)}</text>'


def _close(parts: list[str]) -> str:
    parts.append("</svg>")
    return "".join(parts)


def _figures(bars: Bars, legend: Sequence[str]) -> str:
    """The bars' figures in words: the chart's description when it is given none."""

    def one(values: Sequence[int]) -> str:
        if not legend:
            return ", ".join(str(value) for value in values)
        return ", ".join(f"{value} {name}" for value, name in zip(values, legend, strict=False))

    return "; ".join(f"{label}: {one(values)}" for label, values in bars) or "No figures."
