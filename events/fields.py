"""Constrained field types shared by the contract and every request model.

Every accepted value ends up in PostgreSQL (text columns, JSON), in Kafka and in consumers written in
other languages, so the edge refuses what any of them cannot carry or compute with:

* `Line` (identifiers, names, references, codes): no control character at all (C0, DEL, C1) and no lone
  surrogate; a name never needs one, and a NUL cannot be stored in PostgreSQL text.
* `Text` (free text): the same, except tab, line feed and carriage return.
* `Date`: an ISO `YYYY-MM-DD` string (a datetime such as `2015-03-02T00:00:00` is refused) between
  `EARLIEST_DATE` and `LATEST_DATE`, so deadline arithmetic never overflows.
* `Count`: a JSON integer (never a boolean or a string), bounded at each use.

The checks are validators, so they hold the same over HTTP, on Kafka and in the exported JSON Schema
(which states them as `pattern`, `format`, `formatMinimum`/`formatMaximum`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, StrictInt
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

EARLIEST_DATE = date(1900, 1, 1)
"""A largely historical case (rules.md D6) may concern a childhood decades ago; none before 1900."""
LATEST_DATE = date(2100, 12, 31)
"""No plan, deadline or command date of a review runs into the next century."""

_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_DATE_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class _NoControlCharacters:
    """Refuse the characters `forbidden` matches; `pattern` says the same in the JSON Schema."""

    forbidden: re.Pattern[str]
    pattern: str
    allowed: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema

    def _check(self, value: str) -> str:
        found = self.forbidden.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters{allowed} or unpaired surrogates "
                "(found U+{code} at position {position})",
                {"allowed": self.allowed, "code": f"{ord(found.group()):04X}", "position": found.start()},
            )
        return value


Line = Annotated[
    str,
    _NoControlCharacters(_LINE_FORBIDDEN, r"^[^\u0000-\u001f\u007f-\u009f]*$", ""),
]
"""A single line: identifiers, names, references, codes."""


def printable_line(value: str) -> str:
    """`value` with the characters a `Line` refuses replaced by U+FFFD, for quoting what a caller sent."""
    return _LINE_FORBIDDEN.sub("\ufffd", value)

Text = Annotated[
    str,
    _NoControlCharacters(
        _TEXT_FORBIDDEN, r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$", " other than tab and newlines"
    ),
]
"""Free text: tab, line feed and carriage return allowed."""


@dataclass(frozen=True)
class _IsoDate:
    """A `YYYY-MM-DD` string (or a `date` in Python) inside [EARLIEST_DATE, LATEST_DATE]."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _in_window, core_schema.no_info_before_validator_function(_date_shape, handler(source))
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(
            {"formatMinimum": EARLIEST_DATE.isoformat(), "formatMaximum": LATEST_DATE.isoformat()}
        )
        return json_schema


def _date_shape(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_SHAPE.match(value):
        return value
    raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")


def _in_window(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_window",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )
    return value


Date = Annotated[date, _IsoDate()]
"""A calendar date in LIF's window, written YYYY-MM-DD."""

Count = StrictInt
"""A JSON integer; bound it with `Field(ge=..., le=...)` where it is used."""

MAX_ITEMS = 100
"""The default bound on a list in a request: enough for any board's agencies, themes or members."""
