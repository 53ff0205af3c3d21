"""The generated AsyncAPI (Kafka) and OpenAPI (HTTP) documents describe the public contract.

Both are built without connecting to anything, exactly as `lif contract export` writes them.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import unquote

import pytest

from events import topics
from events.decisioning import RecommendationRecorded
from events.incidents import IncidentNotification
from events.intake import IncidentReceived
from lif.openapi import openapi_document
from lif.runtime.distributed import asyncapi_document


@cache
def asyncapi() -> dict[str, Any]:
    document = asyncapi_document()
    return json.loads(json.dumps(document))  # exactly what is exported: plain JSON


@cache
def openapi() -> dict[str, Any]:
    return json.loads(json.dumps(openapi_document()))


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s ("#/components/messages/intake%20events:Message") until a real node."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[unquote(part).replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def channels_at(address: str) -> list[dict[str, Any]]:
    return [c for c in asyncapi()["channels"].values() if c.get("address") == address]


def payloads_at(address: str) -> list[dict[str, Any]]:
    """The resolved payload schema of every message of every channel on `address`."""
    document = asyncapi()
    return [
        resolve(document, resolve(document, message)["payload"])
        for channel in channels_at(address)
        for message in channel.get("messages", {}).values()
    ]


# --- AsyncAPI --------------------------------------------------------------------------------------------------


def test_asyncapi_is_version_3_with_a_title() -> None:
    document = asyncapi()
    assert document["asyncapi"].startswith("3.")
    assert document["info"]["title"]
    assert document["info"]["version"]


@pytest.mark.parametrize("address", [topics.INCIDENTS, topics.INTAKE, topics.DECISIONING, topics.INCIDENTS_DLQ])
def test_asyncapi_names_a_channel_for_each_topic(address: str) -> None:
    found = channels_at(address)
    assert found, f"no channel for {address}; channels: {sorted(c['address'] for c in asyncapi()['channels'].values())}"
    for channel in found:
        assert channel["bindings"]["kafka"]["topic"] == address


def test_the_dead_letter_channel_is_the_incidents_topic_plus_dlq() -> None:
    assert topics.INCIDENTS_DLQ == "lif.incidents.v1.dlq"
    assert channels_at("lif.incidents.v1.dlq")


def test_asyncapi_channel_addresses_are_declared_topics() -> None:
    """No channel names a topic that `events.topics` does not declare (typos, unprefixed test topics)."""
    addresses = {c["address"] for c in asyncapi()["channels"].values()}
    assert addresses <= set(topics.ALL)


@pytest.mark.parametrize(
    ("address", "model"),
    [
        (topics.INTAKE, IncidentReceived),
        (topics.DECISIONING, RecommendationRecorded),
        (topics.INCIDENTS, IncidentNotification),
    ],
)
def test_published_messages_carry_the_contract_schema(address: str, model: type[Any]) -> None:
    contract = model.model_json_schema()
    matching = [p for p in payloads_at(address) if p.get("title") == contract["title"]]
    assert matching, f"no {model.__name__} payload on {address}: {payloads_at(address)}"
    payload = matching[0]
    assert set(payload["properties"]) == set(contract["properties"])
    assert set(payload.get("required", [])) == set(contract.get("required", []))
    assert payload.get("additionalProperties") is False


def test_every_operation_points_at_a_channel_of_the_document() -> None:
    document = asyncapi()
    assert document["operations"]
    for name, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        assert resolve(document, operation["channel"]) in document["channels"].values(), name


def test_the_intake_service_is_documented_as_receiving_incident_notifications() -> None:
    document = asyncapi()
    receivers = [
        operation
        for operation in document["operations"].values()
        if operation["action"] == "receive" and resolve(document, operation["channel"])["address"] == topics.INCIDENTS
    ]
    assert receivers


def test_the_incidents_channel_documents_the_notification_schema() -> None:
    titles = {payload.get("title") for payload in payloads_at(topics.INCIDENTS)}
    assert "IncidentNotification" in titles


# --- OpenAPI ---------------------------------------------------------------------------------------------------

EXPECTED_OPERATIONS = [
    ("/v1/incidents", "post"),
    ("/v1/cases/{case_id}", "get"),
    ("/v1/lscbs/{lscb}/cases", "get"),
    ("/v1/region/summary", "get"),
    ("/v1/lscbs/{lscb}/reviews", "get"),
    ("/v1/region/reviews", "get"),
    ("/v1/lscbs/{lscb}/annual-report", "get"),
    ("/v1/lscbs/{lscb}/reporting-year", "get"),
    ("/v1/lscbs/{lscb}/reporting-year", "put"),
    ("/v1/region/learning-digest", "get"),
    ("/v1/boards", "get"),
    ("/v1/typologies", "get"),
    ("/v1/whoami", "get"),
    ("/v1/typologies/{name}/{version}", "get"),
    ("/v1/cases/{case_id}/decisions", "get"),
    ("/v1/cases/{case_id}/decisions", "post"),
    ("/v1/cases/{case_id}/scr-panel-referral", "post"),
    ("/v1/cases/{case_id}/discretionary-inputs", "post"),
    ("/v1/cases/{case_id}/lead-reviewers", "post"),
    ("/v1/cases/{case_id}/panel-notices", "post"),
    ("/v1/cases/{case_id}/panel-notices/{notice_id}", "get"),
    ("/v1/cases/{case_id}/panel-notices/{notice_id}/sent", "post"),
    ("/v1/cases/{case_id}/learning-themes", "post"),
    ("/v1/cases/{case_id}/panel-notification", "post"),
    ("/v1/cases/{case_id}/rapid-review", "post"),
    ("/v1/lscbs/{lscb}/obligations", "get"),
    ("/v1/region/obligations", "get"),
    ("/v1/feeds/{feed}", "get"),
    ("/v1/notifications/recipients", "get"),
    ("/v1/notifications/recipients", "post"),
    ("/v1/notifications/recipients/{recipient_id}", "delete"),
    ("/v1/me/notifications", "get"),
    ("/v1/me/notifications/{message_id}/read", "post"),
    ("/v1/notifications/messages/{message_id}", "get"),
    ("/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", "get"),
    ("/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", "post"),
    ("/v1/learning/closed-reviews", "get"),
    ("/v1/learning/closed-reviews", "post"),
    ("/v1/learning/forums", "post"),
    ("/v1/learning/audits", "post"),
    ("/v1/learning/legacy-reviews", "post"),
    ("/v1/learning/register", "get"),
    ("/v1/learning/search", "get"),
    ("/v1/learning/themes", "get"),
    ("/v1/learning/sources/{source_id}", "get"),
    ("/v1/learning/sources/{source_id}/erasure", "post"),
    ("/v1/learning/recommendations", "get"),
    ("/v1/learning/recommendations/{recommendation_id}", "get"),
    ("/v1/learning/recommendations/{recommendation_id}/actions", "post"),
    ("/v1/learning/recommendations/{recommendation_id}/actions/{action_id}", "post"),
    ("/v1/learning/recommendations/{recommendation_id}/impact-evidence", "post"),
    ("/v1/learning/recommendations/{recommendation_id}/reaudits", "post"),
    ("/v1/reviewers", "get"),
    ("/v1/reviewers", "post"),
    ("/v1/reviewers/{reviewer_id}", "get"),
    ("/v1/reviews/{review_id}", "get"),
    ("/v1/cases/{case_id}/review", "get"),
    ("/v1/reviews/{review_id}/chronologies", "get"),
    ("/v1/reviews/{review_id}/chronologies/{agency}/entries/{entry_id}", "get"),
    ("/v1/reviews/{review_id}/consultation", "get"),
    ("/v1/reviews/{review_id}/learning-summary", "get"),
    ("/v1/reviews/{review_id}/learning-summary", "post"),
    ("/v1/reviews/{review_id}/stages/{stage_id}/schedule", "post"),
    ("/v1/reviews/{review_id}/stages/{stage_id}/held", "post"),
    ("/v1/reviews/{review_id}/stages/{stage_id}/outcome", "post"),
    ("/v1/reviews/{review_id}/stages/{stage_id}/move", "post"),
    ("/v1/reviews/{review_id}/members", "post"),
    ("/v1/reviews/{review_id}/members/{group}/{member_id}", "delete"),
    ("/v1/reviews/{review_id}/findings", "post"),
    ("/v1/reviews/{review_id}/consultation/responses", "post"),
    ("/v1/reviews/{review_id}/chronologies/{agency}/entries", "post"),
    ("/v1/reviews/{review_id}/chronologies/{agency}/entries/{entry_id}/corrections", "post"),
    ("/v1/reviews/{review_id}/parallel-processes", "post"),
    ("/v1/reviews/{review_id}/parallel-processes/{link_id}", "post"),
    ("/v1/reviews/{review_id}/publication-holds", "post"),
    ("/v1/reviews/{review_id}/publication-holds/{hold_id}/lift", "post"),
    ("/v1/reviews/{review_id}/final-report", "post"),
    ("/v1/reviews/{review_id}/publication", "post"),
    ("/v1/reviews/{review_id}/close", "post"),
    ("/healthz", "get"),
    ("/readyz", "get"),
]


def test_openapi_is_version_3() -> None:
    assert openapi()["openapi"].startswith("3.")
    assert openapi()["info"]["title"]


@pytest.mark.parametrize(("path", "method"), EXPECTED_OPERATIONS)
def test_openapi_documents_the_operation(path: str, method: str) -> None:
    paths = openapi()["paths"]
    assert path in paths, sorted(paths)
    assert method in paths[path], sorted(paths[path])


def test_openapi_has_no_undocumented_extra_paths() -> None:
    """A new path must be added to this list consciously (it is part of the public contract)."""
    assert sorted(openapi()["paths"]) == sorted({path for path, _ in EXPECTED_OPERATIONS})


def test_submitting_an_incident_takes_the_notification_and_documents_refusals() -> None:
    document = openapi()
    operation = document["paths"]["/v1/incidents"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = resolve(document, body["content"]["application/json"]["schema"])
    contract = IncidentNotification.model_json_schema()
    assert set(schema["properties"]) == set(contract["properties"])
    assert set(schema["required"]) == set(contract["required"])
    assert schema.get("additionalProperties") is False
    assert {"202", "422"} <= set(operation["responses"])


@pytest.mark.parametrize(("path", "name"), [("/v1/cases/{case_id}", "case_id"), ("/v1/lscbs/{lscb}/cases", "lscb")])
def test_path_parameters_are_documented(path: str, name: str) -> None:
    parameters = openapi()["paths"][path]["get"].get("parameters", [])
    assert any(p["name"] == name and p["in"] == "path" and p["required"] for p in parameters), parameters


def test_the_case_id_is_documented_as_a_uuid() -> None:
    parameters = openapi()["paths"]["/v1/cases/{case_id}"]["get"]["parameters"]
    case_id = next(p for p in parameters if p["name"] == "case_id")
    assert case_id["schema"].get("format") == "uuid"


def _bearer_schemes(document: dict[str, Any]) -> list[str]:
    schemes = document.get("components", {}).get("securitySchemes", {})
    return [
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    ]


def test_openapi_documents_bearer_authentication() -> None:
    """A bearer security scheme, or at least the `Authorization: Bearer` requirement in the description."""
    document = openapi()
    described = "Authorization: Bearer" in document["info"].get("description", "")
    assert _bearer_schemes(document) or described
    if described:
        assert "/healthz" in document["info"]["description"]  # and which path is exempt


def test_openapi_declares_a_bearer_security_scheme_on_every_protected_operation() -> None:
    document = openapi()
    schemes = _bearer_schemes(document)
    assert schemes
    for path, method in EXPECTED_OPERATIONS:
        if path in {"/healthz", "/readyz", "/v1/feeds/{feed}"}:  # a feed's URL is its own secret
            continue
        security = document["paths"][path][method].get("security", document.get("security", []))
        assert any(set(requirement) & set(schemes) for requirement in security), (path, method)


# --- what each topic carries, as the wire has it ------------------------------------------------------------------


@pytest.mark.parametrize("address", [topics.INTAKE, topics.DECISIONING, topics.ORCHESTRATION])
def test_every_event_of_the_contract_is_declared_on_its_topic(address: str) -> None:
    from events.registry import EVENT_MODELS

    prefix = address.split(".")[1] + "."
    expected = {f"{t}.v{v}" for (t, v) in EVENT_MODELS if t.startswith(prefix)}
    assert len(expected) >= (8 if address == topics.DECISIONING else 1)
    document = asyncapi()
    for channel in channels_at(address):
        declared = {resolve(document, m)["name"] for m in channel["messages"].values()}
        assert declared == expected, address
        for message in channel["messages"].values():
            message = resolve(document, message)
            assert message["correlationId"]["location"] == "$message.payload#/correlation_id"
            headers = message["headers"]
            assert set(headers["required"]) == {"lif-event-type", "lif-event-id", "lif-schema-version"}
            event_type, version = message["name"].rsplit(".v", 1)
            assert headers["properties"]["lif-event-type"]["const"] == event_type
            assert headers["properties"]["lif-schema-version"]["const"] == version


def test_every_dead_letter_topic_has_a_channel_of_any_bytes_with_its_headers() -> None:
    from lif.infra.topics import load_topic_definitions

    document = asyncapi()
    from events import topics as event_topics

    dead_letters = [t.name for t in load_topic_definitions() if t.name.endswith(".dlq")]
    assert sorted(dead_letters) == sorted(t for t in event_topics.ALL if t.endswith(".dlq"))
    for address in dead_letters:
        found = channels_at(address)
        assert len(found) == 1, address
        [message] = [resolve(document, m) for m in found[0]["messages"].values()]
        assert message["contentType"] == "application/octet-stream"
        assert "type" not in message["payload"] and "$ref" not in message["payload"]  # any bytes
        required = set(message["headers"]["required"])
        assert {"lif-dlq-reason", "lif-dlq-source-topic", "lif-dlq-source-offset"} <= required


def test_every_operation_declares_the_real_error_answers() -> None:
    document = openapi()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ValidationErrors"]["properties"]["detail"]["items"]["$ref"].endswith("/FieldError")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = operation["responses"]
            if operation.get("security"):
                for code in ("401", "403", "429"):
                    schema = codes[code]["content"]["application/json"]["schema"]
                    assert schema["$ref"].endswith("/ErrorDetail"), (method, path, code)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "422" in codes:
                assert codes["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrors")
