"""Typologies of learning characteristics: versioned lists of learning themes, as configuration (rules.md 6).

The framework expects a shared typology but does not define one, so each is a file
`config/typologies/<name>/<version>.json` (`LIF_TYPOLOGIES_DIR` overrides the folder). Themes recorded on a
case or a closed review name their typology and version, so a later version never changes what an old
record meant. A board may choose a typology (`Board.typology`); otherwise the regional default applies.
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lif.boards import get_board

DEFAULT_DIR = Path(__file__).with_name("config") / "typologies"
DEFAULT_TYPOLOGY = "scie-learning-together/1"
"""The regional default: SCIE "Learning Together", the six types of underlying pattern."""
FORMAT = 1

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")
_THEME_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class TypologyError(ValueError):
    """A typology reference or file is malformed; the message says which and where."""


class TypologyNotFound(LookupError):
    """No typology (or no such version) is configured; the message lists what is."""


@dataclass(frozen=True)
class Typology:
    """One version of a typology: theme id to label, in the file's order."""

    name: str
    version: str
    themes: Mapping[str, str] = field(hash=False)
    title: str = ""
    source: str = ""

    @property
    def ref(self) -> str:
        """`name/version`, the form boards and records use."""
        return f"{self.name}/{self.version}"

    def check(self, themes: Sequence[str]) -> list[str]:
        """The ids in `themes` this typology does not have, in the order given, each once (empty: all known)."""
        return [theme for theme in dict.fromkeys(themes) if theme not in self.themes]


def typologies_dir() -> Path:
    return Path(os.environ.get("LIF_TYPOLOGIES_DIR") or DEFAULT_DIR)


def available_typologies(root: Path | None = None) -> dict[str, list[str]]:
    """Every configured typology with its versions (files are listed, not validated)."""
    base = typologies_dir() if root is None else root
    found: dict[str, list[str]] = {}
    if not base.is_dir():
        return found
    for folder in sorted(base.iterdir()):
        if folder.is_dir() and _NAME.match(folder.name):
            versions = [f.stem for f in folder.glob("*.json") if _VERSION.match(f.stem)]
            if versions:
                found[folder.name] = sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    return found


def parse_ref(ref: str) -> tuple[str, str]:
    """`name/version` into its parts; anything else is a `TypologyError`."""
    name, slash, version = ref.strip().partition("/")
    if not slash or not _NAME.match(name) or not _VERSION.match(version):
        raise TypologyError(f"typology reference {ref!r} must be 'name/version', e.g. {DEFAULT_TYPOLOGY!r}")
    return name, version


def load_typology(ref: str) -> Typology:
    """Load and validate one typology version by its `name/version` reference."""
    name, version = parse_ref(ref)
    base = typologies_dir()
    path = base / name / f"{version}.json"
    if not path.is_file():
        listing = ", ".join(f"{n}/{v}" for n, vs in available_typologies(base).items() for v in vs) or "none"
        raise TypologyNotFound(f"no typology {ref!r} in {base} (configured: {listing})")
    return _load_file(path, name, version)


@cache
def _load_file(path: Path, name: str, version: str) -> Typology:
    """Parse one file once per process: a published typology version never changes."""
    where = f"typology {name}/{version} ({path})"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TypologyError(f"{where}: not valid JSON: {error}") from None
    return _parse(document, name, version, where)


def _text(document: Mapping[str, object], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TypologyError(f"{where}: {key} must be a non-empty string")
    return value


def _parse(document: object, name: str, version: str, where: str) -> Typology:
    if not isinstance(document, dict):
        raise TypologyError(f"{where}: must be a JSON object")
    unknown = set(document) - {"format", "name", "version", "title", "source", "themes"}
    if unknown:
        raise TypologyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if document.get("format") != FORMAT:
        raise TypologyError(f"{where}: format must be {FORMAT}")
    if (document.get("name"), document.get("version")) != (name, version):
        raise TypologyError(f"{where}: name and version must match the path ({name}/{version})")
    themes_raw = document.get("themes")
    if not isinstance(themes_raw, list) or not themes_raw:
        raise TypologyError(f"{where}: themes must be a non-empty list of {{id, label}}")
    themes: dict[str, str] = {}
    for i, theme in enumerate(themes_raw):
        if not isinstance(theme, dict) or set(theme) != {"id", "label"}:
            raise TypologyError(f"{where}: themes[{i}] must be an object with exactly id and label")
        theme_id, label = theme["id"], theme["label"]
        if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
            raise TypologyError(f"{where}: themes[{i}].id {theme_id!r} must be lowercase_with_underscores")
        if theme_id in themes:
            raise TypologyError(f"{where}: themes[{i}].id {theme_id!r} is a duplicate")
        if not isinstance(label, str) or not label.strip():
            raise TypologyError(f"{where}: themes[{i}].label must be a non-empty string")
        themes[theme_id] = label
    return Typology(
        name=name,
        version=version,
        themes=types.MappingProxyType(themes),
        title=_text(document, "title", where),
        source=_text(document, "source", where),
    )


def board_typology(lscb: str) -> Typology:
    """The typology a board tags learning with: its own choice, else the regional default (also for unknown codes)."""
    board = get_board(lscb)
    return load_typology(board.typology if board is not None and board.typology else DEFAULT_TYPOLOGY)
