"""Crosswalks between typologies of learning: versioned data, read in both directions (rules.md 6).

A crosswalk file `config/crosswalks/<name>/<version>.json` maps each code of one typology version to none,
one or several codes of another. Learning is tagged in one typology; the crosswalk lets a search or a
repeat-learning check by a code of the other typology find it, and says that the match came through it.
Matching is by typology name and code, whatever the version, so learning tagged under an old version of a
typology stays findable after a new version is published (a code that a new version dropped still names
what it meant when it was recorded).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lif.typology import TypologyError, load_typology

DEFAULT_DIR = Path(__file__).with_name("config") / "crosswalks"
FORMAT = 1


@dataclass(frozen=True)
class Crosswalk:
    name: str
    version: str
    source: tuple[str, str]
    """(typology, version) of the `from` side."""
    target: tuple[str, str]
    mappings: tuple[tuple[str, tuple[str, ...]], ...]

    def mapped(self, typology: str, code: str) -> list[tuple[str, str]]:
        """The (typology, code) pairs of the other side that `code` of `typology` maps to (either direction)."""
        if typology == self.source[0]:
            return [(self.target[0], to) for frm, tos in self.mappings if frm == code for to in tos]
        if typology == self.target[0]:
            return [(self.source[0], frm) for frm, tos in self.mappings if code in tos]
        return []

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"


def crosswalks_dir() -> Path:
    return Path(os.environ.get("LIF_CROSSWALKS_DIR") or DEFAULT_DIR)


@cache
def _load(path: Path) -> Crosswalk:
    where = f"crosswalk {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TypologyError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TypologyError(f"{where}: must be an object with format {FORMAT}")
    source = (document["from"]["typology"], document["from"]["version"])
    target = (document["to"]["typology"], document["to"]["version"])
    source_themes = load_typology("/".join(source)).themes
    target_themes = load_typology("/".join(target)).themes
    mappings = []
    for i, mapping in enumerate(document.get("mappings") or []):
        frm, tos = mapping.get("from"), mapping.get("to")
        if frm not in source_themes:
            raise TypologyError(f"{where}: mappings[{i}].from {frm!r} is not a theme of {'/'.join(source)}")
        if not isinstance(tos, list) or any(to not in target_themes for to in tos):
            raise TypologyError(f"{where}: mappings[{i}].to must list themes of {'/'.join(target)}")
        mappings.append((frm, tuple(tos)))
    return Crosswalk(document["name"], document["version"], source, target, tuple(mappings))


def load_crosswalks(root: Path | None = None) -> list[Crosswalk]:
    """The newest version of every configured crosswalk."""
    base = crosswalks_dir() if root is None else root
    found: list[Crosswalk] = []
    if not base.is_dir():
        return found
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.json"), key=lambda f: tuple(int(p) for p in f.stem.split(".") if p.isdigit()))
        if files:
            found.append(_load(files[-1]))
    return found


def mapped_codes(typology: str, code: str) -> list[tuple[str, str, str]]:
    """(typology, code, crosswalk ref) of every code of another typology that `code` of `typology` maps to."""
    found: dict[tuple[str, str], str] = {}
    for crosswalk in load_crosswalks():
        for pair in crosswalk.mapped(typology, code):
            found.setdefault(pair, crosswalk.ref)
    return [(t, c, ref) for (t, c), ref in found.items()]
