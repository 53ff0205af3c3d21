"""The AsyncAPI document made true to the wire: every event each topic carries, the headers the relay sets,
where the correlation id is, and a channel for every dead-letter topic.

FastStream generates the channels and operations from the subscribers and publishers, but it knows one
schema per publisher and guesses a `correlation_id` header. `complete` rewrites the messages of each event
topic from the contract's registry (`events.registry.EVENT_MODELS`: one message per event type and
version), and declares each dead-letter topic as carrying any bytes, with the `lif-dlq-*` headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, get_args
from urllib.parse import quote, unquote

from pydantic import BaseModel

from events import topics
from events.envelope import EventEnvelope
from events.incidents import IncidentNotification
from events.receipts import IncidentReceipt, ReceiptStatus
from events.registry import EVENT_MODELS

EVENT_TYPE_HEADER = "lif-event-type"
EVENT_ID_HEADER = "lif-event-id"
SCHEMA_VERSION_HEADER = "lif-schema-version"
"""The headers the outbox relay sets on every event (lif.delivery.relay)."""

DLQ_HEADERS: dict[str, str] = {
    "lif-dlq-reason": "Why the message can never be processed (invalid, unknown_event, unknown_board, ...)",
    "lif-dlq-errors": "A JSON list of {field, message}",
    "lif-dlq-source-topic": "The topic it was read from",
    "lif-dlq-source-partition": "Its partition there",
    "lif-dlq-source-offset": "Its offset there",
    "lif-dlq-consumer-group": "The consumer group that gave up on it",
}

EVENT_TOPICS: dict[str, str] = {
    topics.INTAKE: "intake.",
    topics.DECISIONING: "decisioning.",
    topics.ORCHESTRATION: "orchestration.",
    topics.NOTIFICATIONS: "notifications.",
    topics.LEARNING: "learning.",
}
"""Each event topic and the prefix of the event types its service records (and its relay publishes)."""


def event_models(topic: str) -> list[tuple[str, int, type[EventEnvelope]]]:
    """(event type, schema version, model) of every event `topic` carries, in a stable order."""
    prefix = EVENT_TOPICS[topic]
    return sorted((t, v, m) for (t, v), m in EVENT_MODELS.items() if t.startswith(prefix))


def message_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


def event_headers(event_type: str, version: int) -> dict[str, Any]:
    """The headers schema of one event's message: what the relay sets, exactly."""
    return {
        "type": "object",
        "properties": {
            EVENT_TYPE_HEADER: {"type": "string", "const": event_type, "description": "The event type"},
            EVENT_ID_HEADER: {"type": "string", "format": "uuid", "description": "The event id (duplicates share it)"},
            SCHEMA_VERSION_HEADER: {"type": "string", "const": str(version), "description": "The schema version"},
        },
        "required": [EVENT_TYPE_HEADER, EVENT_ID_HEADER, SCHEMA_VERSION_HEADER],
    }


def dead_letter_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()},
        "required": list(DLQ_HEADERS),
        "additionalProperties": {"type": "string", "description": "The original message's own headers, kept"},
    }


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> str:
    """Put `model`'s JSON Schema (and the models it uses) into `schemas`; returns its name there."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    name = str(schema.get("title", model.__name__))
    schemas[name] = schema
    return name


def _q(name: str) -> str:
    return quote(name, safe=":")


def _ref(section: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{section}/{_q(name)}"}


def _on(operation: dict[str, Any], channel_key: str) -> bool:
    return unquote(operation["channel"]["$ref"]) == f"#/channels/{channel_key}"


def _channels_at(document: dict[str, Any], address: str) -> Iterable[tuple[str, dict[str, Any]]]:
    return [(key, c) for key, c in document["channels"].items() if c.get("address") == address]


def _set_messages(document: dict[str, Any], address: str, names: list[str]) -> None:
    """Every channel on `address` (and the operations on it) carries exactly the messages `names`."""
    for key, channel in _channels_at(document, address):
        channel["messages"] = {name: _ref("messages", name) for name in names}
        for operation in document["operations"].values():
            if _on(operation, key):
                operation["messages"] = [{"$ref": f"#/channels/{_q(key)}/messages/{_q(n)}"} for n in names]


def complete(document: dict[str, Any], dead_letter_topics: Iterable[str]) -> dict[str, Any]:
    """`document` (FastStream's) with the real messages; changed in place and returned."""
    components = document.setdefault("components", {})
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in EVENT_TOPICS:
        names = []
        for event_type, version, model in event_models(topic):
            name = message_name(event_type, version)
            messages[name] = {
                "name": name,
                "title": model.__name__,
                "summary": (model.__doc__ or "").strip().split("\n")[0],
                "contentType": "application/json",
                "correlationId": {
                    "location": "$message.payload#/correlation_id",
                    "description": "The envelope's correlation id (the incident event that started the case)",
                },
                "headers": event_headers(event_type, version),
                "payload": _ref("schemas", _add_schema(schemas, model)),
            }
            names.append(name)
        _set_messages(document, topic, names)
    messages["IncidentNotification"] = {
        "name": "IncidentNotification",
        "title": "IncidentNotification",
        "summary": "What an integrating system sends (the same document as POST /v1/incidents)",
        "contentType": "application/json",
        "payload": _ref("schemas", _add_schema(schemas, IncidentNotification)),
    }
    _set_messages(document, topics.INCIDENTS, ["IncidentNotification"])
    messages["IncidentReceipt"] = {
        "name": "IncidentReceipt",
        "title": "IncidentReceipt",
        "summary": "Intake's answer to one message on lif.incidents.v1, keyed by the source reference as sent",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "lif-receipt-status": {"type": "string", "enum": list(get_args(ReceiptStatus))}
            },
            "required": ["lif-receipt-status"],
        },
        "payload": _ref("schemas", _add_schema(schemas, IncidentReceipt)),
    }
    _set_messages(document, topics.INCIDENT_RECEIPTS, ["IncidentReceipt"])
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "DeadLetter",
        "summary": "A message a consumer can never process: the original bytes (maybe not JSON), or for "
        "lif.incidents.v1.dlq a JSON summary without the notification's text",
        "contentType": "application/octet-stream",
        "headers": dead_letter_headers(),
        "payload": {"description": "Any bytes: see the summary"},
    }
    for topic in dead_letter_topics:
        _dead_letter_channel(document, topic)
    components["messages"] = messages
    components["schemas"] = schemas
    return json.loads(json.dumps(document))  # plain JSON, as exported


def _dead_letter_channel(document: dict[str, Any], topic: str) -> None:
    key = f"dead letters: {topic}"
    for old, _ in list(_channels_at(document, topic)):  # replace whatever FastStream guessed
        del document["channels"][old]
        for name in [n for n, op in document["operations"].items() if _on(op, old)]:
            del document["operations"][name]
    first: dict[str, Any] = next(iter(document["channels"].values()), {})
    servers = first.get("servers", [])
    document["channels"][key] = {
        "address": topic,
        "servers": servers,
        "description": "Dead letters of the consumers of " + topic.removesuffix(".dlq"),
        "messages": {"DeadLetter": _ref("messages", "DeadLetter")},
        "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.4.0"}},
    }
    document["operations"][f"{key}:send"] = {
        "action": "send",
        "title": f"park undeliverable messages on {topic}",
        "channel": {"$ref": f"#/channels/{_q(key)}"},
        "messages": [{"$ref": f"#/channels/{_q(key)}/messages/DeadLetter"}],
    }
