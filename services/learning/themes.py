"""Theme tags of learning: checked against their versioned typology, and carried across the crosswalks."""

from __future__ import annotations

from collections.abc import Sequence

from events.learning import ThemeTag
from lif.crosswalk import load_crosswalks
from lif.typology import TypologyError, TypologyNotFound, available_typologies, board_typology, load_typology
from services.learning.errors import InvalidInput


def checked_tags(tags: Sequence[ThemeTag], field: str = "themes") -> list[ThemeTag]:
    """The tags, each once, after checking that its typology version exists and holds its code (422 if not)."""
    for i, tag in enumerate(tags):
        try:
            typology = load_typology(f"{tag.typology}/{tag.version}")
        except (TypologyError, TypologyNotFound) as error:
            raise InvalidInput(str(error), f"{field}[{i}]") from None
        if tag.code not in typology.themes:
            raise InvalidInput(f"{tag.code!r} is not a theme of {typology.ref}", f"{field}[{i}].code")
    return list(dict.fromkeys(tags))


def board_tags(lscb: str, codes: Sequence[str], typology: str | None, version: str | None) -> list[ThemeTag]:
    """Codes as a review's summary records them: in the typology it names, else the board's."""
    if typology and version:
        return [ThemeTag(typology=typology, version=version, code=code) for code in dict.fromkeys(codes)]
    chosen = board_typology(lscb)
    return [ThemeTag(typology=chosen.name, version=chosen.version, code=code) for code in dict.fromkeys(codes)]


def latest_version(typology: str) -> str | None:
    versions = available_typologies().get(typology)
    return versions[-1] if versions else None


def crosswalked(tags: Sequence[ThemeTag]) -> list[ThemeTag]:
    """The codes of the other typologies the tags map to (newest crosswalks), not already among the tags."""
    own = {(t.typology, t.code) for t in tags}
    found: dict[tuple[str, str], ThemeTag] = {}
    for crosswalk in load_crosswalks():
        for tag in tags:
            for typology, code in crosswalk.mapped(tag.typology, tag.code):
                version = crosswalk.target[1] if typology == crosswalk.target[0] else crosswalk.source[1]
                if (typology, code) not in own:
                    found.setdefault((typology, code), ThemeTag(typology=typology, version=version, code=code))
    return list(found.values())


def theme_key(typology: str, code: str) -> str:
    """How the index holds a tag: typology and code, whatever the version (an old version's tags stay findable)."""
    return f"{typology}:{code}"
