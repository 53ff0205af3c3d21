"""Export the contract as JSON Schema, one file per event plus the incident notification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from events.incidents import IncidentNotification
from events.receipts import IncidentReceipt
from events.registry import EVENT_MODELS

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def contract_schemas() -> dict[str, dict[str, Any]]:
    """File name to JSON Schema for every published model."""
    schemas = {
        f"{event_type}.v{version}.schema.json": model.model_json_schema(mode="serialization")
        for (event_type, version), model in EVENT_MODELS.items()
    }
    schemas["incident_notification.v1.schema.json"] = IncidentNotification.model_json_schema()
    schemas["incident_receipt.v1.schema.json"] = IncidentReceipt.model_json_schema(mode="serialization")
    return {
        name: {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema} for name, schema in schemas.items()
    }


def export_contract(directory: Path) -> list[Path]:
    """Write every schema into `directory`; returns the written paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in contract_schemas().items():
        path = directory / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
