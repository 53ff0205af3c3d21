"""What a reader outside a learning source's board sees of it: one rule for every view (rules.md section 3).

A board sees its own sources in full. Anyone else (another board, the region) sees the source's learning
without anything that identifies the case: no case id, no review id, no review reference code, nothing
about the child; the board is named and the incident given by its month only. Where a view must name such
a source (rule E2's earlier reviews, in a recommendation's reasons), it describes it by board, kind and
month ("Bolton's MACR closed 2015-08") instead of its reference code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from lif.boards import get_board

IDENTIFYING = ("case_id", "review_id", "reference", "review_reference_code", "child")
"""Fields of a source (or of its Appendix B summary) that a reader outside its board never sees."""

_KIND = {"review": "review", "legacy_review": "review", "forum": "practitioner forum", "audit": "multi-case audit"}
_VERB = {"review": "closed", "legacy_review": "closed", "forum": "held", "audit": "completed"}
_REVIEW_TYPE = {"scr": "SCR", "macr": "MACR", "iar": "IAR", "rapid_review": "rapid review"}
_DESCRIBED = re.compile(r"^.+'s .+ (closed|held|completed) \d{4}-\d{2}$")
_BOARD_PREFIX = re.compile(r"^([A-Z]{3})[- ]")


def board_name(lscb: str) -> str:
    board = get_board(lscb)
    return board.name if board is not None else lscb


def sees_in_full(viewer_board: str | None, source_lscb: str) -> bool:
    """True for a reader of the source's own board; everyone else gets `outside_view`."""
    return viewer_board is not None and viewer_board == source_lscb


def outside_view(source: dict[str, Any]) -> dict[str, Any]:
    """A source as a reader outside its board sees it: its identifying fields (and its summary's) left out."""
    seen = {k: v for k, v in source.items() if k not in IDENTIFYING}
    for key in ("summary", "learning"):
        if isinstance(seen.get(key), dict):
            seen[key] = outside_view(seen[key])
    month = seen.get("incident_month")
    if isinstance(month, str) and len(month) > 7:
        seen["incident_month"] = month[:7]
    return seen


def kind_label(source_kind: str, review_type: str | None) -> str:
    """`MACR`, `SCR`, `review`, `practitioner forum`, ...: how a report or a sentence names a source's kind."""
    if source_kind in ("review", "legacy_review") and review_type:
        return _REVIEW_TYPE.get(review_type, review_type.replace("_", " "))
    return _KIND.get(source_kind, source_kind.replace("_", " "))


def described(lscb: str, source_kind: str, review_type: str | None, on: date) -> str:
    """A source named without its reference code: "Bolton's MACR closed 2015-08"."""
    verb = _VERB.get(source_kind, "recorded")
    return f"{board_name(lscb)}'s {kind_label(source_kind, review_type)} {verb} {on.strftime('%Y-%m')}"


def _shown(name: str, reader_board: str) -> str:
    """An earlier review's name as recorded, for a reader of `reader_board`: the board's own reference codes
    and descriptions as they are; another board's reference code (recorded before descriptions were) as
    "an earlier review of <board>", or of another board when the code does not say whose."""
    if _DESCRIBED.match(name):
        return name
    prefix = _BOARD_PREFIX.match(name)
    if prefix is None:
        return "an earlier review of another board"
    if prefix.group(1) == reader_board:
        return name
    return f"an earlier review of {board_name(prefix.group(1))}"


def recommendation_for(recommendation: dict[str, Any], reader_board: str) -> dict[str, Any]:
    """A recorded recommendation (JSON) as a reader of `reader_board` (the case's board) sees it: earlier
    reviews of other boards in its repeat learning and reasons named without their reference codes. New
    recommendations already record them so; this keeps older recorded facts from showing them."""
    repeat = recommendation.get("repeat_learning")
    if not repeat or not repeat.get("earlier_reviews"):
        return recommendation
    names: Iterable[str] = repeat["earlier_reviews"]
    shown = {name: _shown(name, reader_board) for name in names}
    changed = {old: new for old, new in shown.items() if old != new}
    if not changed:
        return recommendation
    reasons = []
    for reason in recommendation.get("reasons") or []:
        for old, new in changed.items():
            reason = reason.replace(old, new)
        reasons.append(reason)
    earlier = list(dict.fromkeys(shown[name] for name in repeat["earlier_reviews"]))
    return dict(recommendation, reasons=reasons, repeat_learning=dict(repeat, earlier_reviews=earlier))
