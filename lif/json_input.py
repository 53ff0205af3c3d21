"""Parse JSON from outside strictly: a duplicate key or a non-standard number is an error, not a guess.

Python's `json` keeps the last of two equal keys (`{"lscb":"MAN","lscb":"BOL"}` becomes BOL) and accepts
`NaN` and `Infinity`. Two readers of the same bytes could then disagree on what was sent, so both the HTTP
edge and the Kafka consumers refuse such input with the path of the offending key.
"""

from __future__ import annotations

import json
from typing import Any


class JsonInputError(ValueError):
    """Well-formed JSON that LIF still refuses; `errors` are `{field, message}` like a 422's."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class _WithDuplicates(dict[str, Any]):
    """An object in which some keys appeared more than once (kept to name them with their path)."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    duplicates: list[str] = []
    for key, value in pairs:
        if key in result and key not in duplicates:
            duplicates.append(key)
        result[key] = value
    if not duplicates:
        return result
    marked = _WithDuplicates(result)
    marked.duplicates = duplicates
    return marked


def _constant(name: str) -> Any:
    raise JsonInputError([{"field": "(body)", "message": f"{name} is not a JSON number"}])


def _duplicate_errors(value: Any, path: tuple[str, ...] = ()) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            errors.append({"field": ".".join((*path, key)), "message": "duplicate key: give each key once"})
        for key, item in value.items():
            errors.extend(_duplicate_errors(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors.extend(_duplicate_errors(item, (*path, str(index))))
    return errors


def parse_json(data: bytes | str) -> Any:
    """The JSON value of `data`; `JsonInputError` for duplicate keys or NaN/Infinity, `ValueError` for bad JSON."""
    value = json.loads(data, object_pairs_hook=_object, parse_constant=_constant)
    errors = _duplicate_errors(value)
    if errors:
        raise JsonInputError(errors)
    return value
