"""Turn pydantic errors into one message per bad field, for HTTP 422s and dead-letter headers alike."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_REQUEST_PARTS = ("body", "path", "query", "header", "cookie")


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """`[{"field": "facts.outcome", "message": "..."}]` from pydantic's error list."""
    result = []
    for error in errors:
        ctx = error.get("ctx") or {}
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in _REQUEST_PARTS:  # FastAPI's prefix: the name alone says which field
            loc = loc[1:]
        field = ctx.get("field") or ".".join(loc) or "(body)"
        message = error.get("msg", "invalid")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        result.append({"field": field, "message": message})
    return result


def validation_field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return field_errors(exc.errors(include_url=False))  # type: ignore[arg-type]
