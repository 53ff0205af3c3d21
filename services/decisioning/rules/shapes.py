"""JSON shape checks shared by the pack parsers: exact keys, non-empty strings, sentences with placeholders.

Every check raises `PackError` with the JSON path of the problem, so a bad pack names where it is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import cast, get_args

from services.decisioning.rules.calendar import PeriodUnit
from services.decisioning.rules.conditions import PackError

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def json_object(
    raw: object, path: str, required: AbstractSet[str], optional: AbstractSet[str] = frozenset()
) -> dict[str, object]:
    """A JSON object with exactly these keys: a typo in a pack is an error, never silently ignored."""
    if not isinstance(raw, dict):
        raise PackError(f"{path}: must be a JSON object")
    missing = required - set(raw)
    if missing:
        raise PackError(f"{path}: missing {', '.join(sorted(missing))}")
    unknown = set(raw) - required - optional
    if unknown:
        raise PackError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    return raw


def json_string(raw: object, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise PackError(f"{path}: must be a non-empty string")
    return raw


def json_sentence(raw: object, path: str, placeholders: AbstractSet[str]) -> str:
    """A plain sentence whose `{placeholder}`s are all ones the caller can fill; any other brace is refused."""
    text = json_string(raw, path)
    for name in PLACEHOLDER.findall(text):
        if name not in placeholders:
            raise PackError(f"{path}: unknown placeholder {{{name}}} (allowed: {', '.join(sorted(placeholders))})")
    leftover = PLACEHOLDER.sub("", text)
    if "{" in leftover or "}" in leftover:
        raise PackError(f"{path}: a brace that is not a {{placeholder}}")
    return text


def json_period(raw: object, path: str) -> tuple[PeriodUnit, int]:
    """A deadline's length, `{"months" or "days" or "working_days": N}`, with N a whole number, zero or more."""
    units = get_args(PeriodUnit)
    add = json_object(raw, path, set(), set(units))
    if len(add) != 1:
        raise PackError(f"{path}: needs exactly one of {', '.join(units)}")
    ((unit, amount),) = add.items()
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise PackError(f"{path}.{unit}: must be a whole number, zero or more")
    return cast(PeriodUnit, unit), amount


def render_sentence(text: str, values: Mapping[str, str]) -> str:
    """Fill a validated sentence's placeholders; plain substitution, nothing is interpreted."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
