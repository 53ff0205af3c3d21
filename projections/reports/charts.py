"""Bar charts as inline SVG, drawn on the server: no script, no web font, nothing fetched.

Colours and lines are presentation attributes, not `style`, so the strict Content-Security-Policy of LIF's
HTML holds and WeasyPrint draws the same chart in the PDF. Every bar carries its number as text, so the
chart reads without colour and its figures are in the PDF's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_HEIGHT = 18
GAP = 8
LABEL_WIDTH = 230
BAR_WIDTH = 300
PALETTE = ("#1f5f8b", "#c8553d", "#6b8f71", "#8e6c8a")


def bar_chart(title: str, bars: Sequence[tuple[str, int]]) -> str:
    """A horizontal bar per (label, value), scaled to the largest value."""
    return stacked_bar_chart(title, [(label, [value]) for label, value in bars], legend=())


def stacked_bar_chart(title: str, bars: Sequence[tuple[str, Sequence[int]]], legend: Sequence[str]) -> str:
    """A horizontal bar per label, made of one segment per series (named by `legend`)."""
    largest = max((sum(values) for _, values in bars), default=0) or 1
    top = 28 + (BAR_HEIGHT if legend else 0)
    height = top + len(bars) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    x = 0
    for index, name in enumerate(legend):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="35" font-size="11" fill="#222">{escape(name)}</text>')
        x += 14 + 7 * len(name) + 16
    for row, (label, values) in enumerate(bars):
        y = top + GAP + row * (BAR_HEIGHT + GAP)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" font-size="11" text-anchor="end" fill="#222">'
            f"{escape(label)}</text>"
        )
        left = LABEL_WIDTH
        for index, value in enumerate(values):
            length = round(BAR_WIDTH * value / largest)
            if length:
                colour = PALETTE[index % len(PALETTE)]
                parts.append(f'<rect x="{left}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="{colour}"/>')
            left += length
        total = " + ".join(str(v) for v in values) if len(values) > 1 else str(values[0] if values else 0)
        parts.append(f'<text x="{left + 6}" y="{y + 13}" font-size="11" fill="#222">{escape(total)}</text>')
    parts.append("</svg>")
    return "".join(parts)
