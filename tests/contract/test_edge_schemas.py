"""The exported contract states the edge's rules, so integrators' validators refuse what LIF refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from events.fields import EARLIEST_DATE, LATEST_DATE
from events.schemas import export_contract
from lif.openapi import openapi_document
from lif.paging import MAX_OFFSET
from tests.samples import notification


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("contract")
    export_contract(directory)
    return {path.name: json.loads(path.read_text()) for path in Path(directory).glob("*.schema.json")}


def strings(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string schema inside `schema`, with where it is."""
    if isinstance(schema, dict):
        if schema.get("type") == "string":
            yield path, schema
        for key, value in schema.items():
            yield from strings(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from strings(value, f"{path}/{index}")


def test_every_free_string_of_every_exported_schema_says_which_characters_it_refuses(
    exported: dict[str, dict[str, Any]],
) -> None:
    assert len(exported) > 10
    unconstrained = [
        f"{name}{path}"
        for name, schema in exported.items()
        for path, string in strings(schema)
        if not {"pattern", "enum", "const", "format"} & set(string)
    ]
    assert unconstrained == []


def test_every_date_of_the_notification_states_its_window(exported: dict[str, dict[str, Any]]) -> None:
    schema = exported["incident_notification.v1.schema.json"]
    for field in ("incident_date", "notified_date"):
        assert schema["properties"][field]["formatMinimum"] == EARLIEST_DATE.isoformat()
        assert schema["properties"][field]["formatMaximum"] == LATEST_DATE.isoformat()


def test_a_json_schema_validator_refuses_the_poison_notifications(exported: dict[str, dict[str, Any]]) -> None:
    validator = Draft202012Validator(exported["incident_notification.v1.schema.json"], format_checker=FormatChecker())
    assert list(validator.iter_errors(notification())) == []
    for bad in (
        notification(summary="head\x00injury"),
        notification(child__subject_ref="subj\x01"),
        notification(child__age_years=True),
        notification(child__age_years="4"),
        notification(child__age_years=26),
    ):
        assert list(validator.iter_errors(bad)), bad


def test_the_openapi_document_states_bounds_on_paging_and_patterns_on_path_ids() -> None:
    document = openapi_document()
    parameters = {
        (path, parameter["name"]): parameter["schema"]
        for path, item in document["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
    }
    for path in ("/v1/reviewers", "/v1/lscbs/{lscb}/cases", "/v1/lscbs/{lscb}/reviews"):
        assert parameters[(path, "offset")]["maximum"] == MAX_OFFSET
        assert "maximum" in parameters[(path, "limit")]
    assert "pattern" in parameters[("/v1/reviewers/{reviewer_id}", "reviewer_id")]
    new_reviewer = document["components"]["schemas"]["NewReviewer"]["properties"]
    assert "pattern" in new_reviewer["name"] and new_reviewer["affiliations"]["maxItems"] == 100
