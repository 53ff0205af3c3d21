"""The error answers of the HTTP API, as models, and their declaration on every operation of the OpenAPI document.

Every refusal is `{"detail": "..."}`, except 422, which names each bad field: `{"detail": [{"field",
"message"}]}`. Rather than have each route list them, `document_errors` adds them to every operation from
what the operation is: a secured one can answer 401, 403 and 429; one with path parameters 404 (also the
answer outside the caller's scope); a command 409; one with a body 400 (not JSON) and 413; one with any
input 422. FastAPI's own `HTTPValidationError` (loc/msg/type), which LIF never sends, is taken out.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """A refusal, with a sentence saying why."""

    detail: str = Field(description="Why the request was refused")


class FieldError(BaseModel):
    field: str = Field(description="The bad field, dotted from the body, path, query or header it came in")
    message: str = Field(description="What is wrong with it")


class ValidationErrors(BaseModel):
    """Invalid input: one entry per bad field, never the submitted values."""

    detail: list[FieldError]


DESCRIPTIONS: dict[str, str] = {
    "400": "The body could not be read as JSON",
    "401": "Missing, malformed, unknown or revoked token",
    "403": "The caller's role may not do this (whatever the case)",
    "404": "Not found, or outside the caller's scope: the two answers are the same",
    "409": "Refused by the current state (already done, out of order, no recommendation yet, ...)",
    "413": "The request body is too large",
    "422": "Invalid input: one message per bad field",
    "429": "Too many requests (or failed authentications): wait `Retry-After` seconds",
}
_COMMANDS = {"post", "put", "patch", "delete"}
_OPERATIONS = _COMMANDS | {"get", "head", "options"}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def _errors_of(operation: dict[str, Any], method: str, path_params: bool) -> list[str]:
    codes: list[str] = []
    if operation.get("security"):
        codes += ["401", "403", "429"]
    if path_params:
        codes.append("404")
    if method in _COMMANDS:
        codes.append("409")
    if "requestBody" in operation:
        codes += ["400", "413"]
    if "requestBody" in operation or operation.get("parameters"):
        codes.append("422")
    return codes


def declare_errors(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the real error answers declared on every operation (changed in place, and returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in (ErrorDetail, FieldError, ValidationErrors):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas[ValidationErrors.__name__].pop("$defs", None)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _OPERATIONS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _errors_of(operation, method, "{" in path):
                declared = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
                if declared.get("description") == "Validation Error":  # FastAPI's own wording
                    declared["description"] = DESCRIPTIONS[code]
                declared["content"] = _ref(ValidationErrors if code == "422" else ErrorDetail)
                if code == "429":
                    declared["headers"] = {
                        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
                    }
                if code == "401":
                    declared["headers"] = {
                        "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}
                    }
    return document


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` declare the real error answers (generated once, then cached like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = declare_errors(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
