"""The shared field types and strict JSON parsing that every model at the edge uses."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from events.fields import EARLIEST_DATE, LATEST_DATE, Count, Date, Line, Text
from events.incidents import IncidentNotification
from lif.idempotency import request_hash
from lif.json_input import JsonInputError, parse_json
from lif.validation import validation_field_errors
from tests.samples import notification

LINE: TypeAdapter[str] = TypeAdapter(Annotated[Line, Field(max_length=50)])
TEXT: TypeAdapter[str] = TypeAdapter(Text)
DATE: TypeAdapter[date] = TypeAdapter(Date)
COUNT: TypeAdapter[int] = TypeAdapter(Annotated[Count, Field(ge=0, le=25)])


def errors_of(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        IncidentNotification.model_validate_json(json.dumps(doc))
    return {e["field"]: e["message"] for e in validation_field_errors(caught.value)}


@pytest.mark.parametrize("character", ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\ud800"])
def test_a_line_refuses_every_control_character_and_names_it(character: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LINE.validate_python(f"ab{character}c")
    assert f"U+{ord(character):04X} at position 2" in caught.value.errors()[0]["msg"]


def test_free_text_keeps_tabs_and_newlines_but_refuses_nul_and_other_controls() -> None:
    assert TEXT.validate_python("line one\r\n\tline two") == "line one\r\n\tline two"
    for character in ("\x00", "\x08", "\x0b", "\x1f", "\x7f", "\udfff"):
        with pytest.raises(ValidationError):
            TEXT.validate_python(f"text{character}")
    assert TEXT.validate_python("Zoë\u2019s café — 日本") == "Zoë\u2019s café — 日本"


def test_dates_are_iso_calendar_dates_inside_the_window() -> None:
    assert DATE.validate_json('"2015-03-02"') == date(2015, 3, 2)
    assert DATE.validate_python(EARLIEST_DATE) == EARLIEST_DATE
    assert DATE.validate_json(json.dumps(LATEST_DATE.isoformat())) == LATEST_DATE
    for bad in ("2015-03-02T00:00:00", "20150302", "2015-3-2", "9999-12-30", "1899-12-31", "2101-01-01", 1425254400):
        with pytest.raises(ValidationError):
            DATE.validate_json(json.dumps(bad))
        with pytest.raises(ValidationError):
            DATE.validate_python(bad)


def test_counts_are_json_integers_within_their_bounds() -> None:
    assert COUNT.validate_json("4") == 4
    for bad in ("true", '"4"', "4.0", "26", "-1", "99999999999999999999"):
        with pytest.raises(ValidationError):
            COUNT.validate_json(bad)
        with pytest.raises(ValidationError):
            COUNT.validate_python(json.loads(bad))


def test_the_incident_notification_is_strict_and_names_each_bad_field() -> None:
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        (notification(summary="head\x00injury"), "summary"),
        (notification(child__subject_ref="subj\x00"), "child.subject_ref"),
        (notification(source={"system": "bolton\x00cms", "reference": "R-1"}), "source.system"),
        (notification(child__age_years=True), "child.age_years"),
        (notification(child__age_years="4"), "child.age_years"),
        (notification(incident_date="2015-03-02T00:00:00"), "incident_date"),
        (notification(incident_date="9999-12-30", notified_date="9999-12-31"), "incident_date"),
        (notification(incident_date="1899-12-31"), "incident_date"),
        (notification(notified_date=tomorrow), "notified_date"),
        (notification(facts__historical="false"), "facts.historical"),
    ]
    for doc, field in cases:
        assert field in errors_of(doc), (doc, field)


def test_an_old_historical_incident_is_accepted() -> None:
    doc = notification(incident_date="1950-06-01", notified_date="2015-03-10", facts__historical=True)
    assert IncidentNotification.model_validate_json(json.dumps(doc)).incident_date == date(1950, 6, 1)


def test_the_exported_json_schema_states_the_rules() -> None:
    schema = IncidentNotification.model_json_schema()
    summary = schema["properties"]["summary"]
    assert summary["pattern"].startswith("^[^\\u0000") and summary["maxLength"] == 20000
    incident_date = schema["properties"]["incident_date"]
    assert (incident_date["format"], incident_date["formatMinimum"], incident_date["formatMaximum"]) == (
        "date",
        EARLIEST_DATE.isoformat(),
        LATEST_DATE.isoformat(),
    )
    child = schema["$defs"]["Child"]["properties"]
    assert child["age_years"] == {"maximum": 25, "minimum": 0, "title": "Age Years", "type": "integer"}
    assert "pattern" in child["subject_ref"]


def test_json_with_a_duplicate_key_is_refused_with_the_keys_path() -> None:
    with pytest.raises(JsonInputError) as caught:
        parse_json(b'{"lscb":"MAN","lscb":"BOL"}')
    assert caught.value.errors == [{"field": "lscb", "message": "duplicate key: give each key once"}]
    with pytest.raises(JsonInputError) as nested:
        parse_json('{"child": {"age_years": 4, "age_years": 5}, "list": [{"a": 1, "a": 1}]}')
    assert [e["field"] for e in nested.value.errors] == ["child.age_years", "list.0.a"]
    with pytest.raises(JsonInputError):
        parse_json('{"n": NaN}')
    assert parse_json('{"a": {"b": [1, 2]}, "c": "d"}') == {"a": {"b": [1, 2]}, "c": "d"}


def test_the_request_hash_depends_on_every_field_and_not_on_key_order() -> None:
    first = request_hash({"command": "decision", "rationale": "A", "decided_on": date(2015, 3, 2)})
    assert first == request_hash({"decided_on": date(2015, 3, 2), "rationale": "A", "command": "decision"})
    assert first != request_hash({"command": "decision", "rationale": "B", "decided_on": date(2015, 3, 2)})


class _Request(BaseModel):
    names: list[Line] = Field(max_length=3)


def test_lists_of_lines_are_bounded_and_keep_their_items() -> None:
    assert _Request(names=["a", "b"]).names == ["a", "b"]
    with pytest.raises(ValidationError):
        _Request(names=["a", "b", "c", "d"])
