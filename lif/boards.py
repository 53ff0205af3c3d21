"""The board registry: which LSCBs exist, as configuration (`LIF_BOARDS_FILE` overrides the default)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("config") / "boards.json"


@dataclass(frozen=True)
class Board:
    code: str
    name: str
    rule_pack: str | None = None  # pins a rule pack instead of choosing by incident date
    typology: str | None = None  # "<name>/<version>" of its learning typology; None: the regional default
    review_methods: tuple[tuple[str, str], ...] = ()  # (review kind, method) the board chose, e.g. ("macr", ...)
    reminder_schedule: str | None = None  # "<name>@<version>" of its own reminder schedule; None: the regime's

    def review_method(self, kind: str) -> str | None:
        """The method the board configured for a review kind (MACR, IAR), or None for the plan's default."""
        return dict(self.review_methods).get(kind)


@cache
def _load(path: str) -> dict[str, Board]:
    document = json.loads(Path(path).read_text())
    return {
        item["code"]: Board(
            item["code"],
            item["name"],
            item.get("rule_pack"),
            item.get("typology"),
            tuple(sorted((item.get("review_methods") or {}).items())),
            item.get("reminder_schedule"),
        )
        for item in document["boards"]
    }


def boards() -> dict[str, Board]:
    """Every known board by code."""
    return _load(os.environ.get("LIF_BOARDS_FILE", str(DEFAULT_FILE)))


def get_board(code: str) -> Board | None:
    return boards().get(code)
