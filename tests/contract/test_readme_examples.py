"""Every request body the README shows is one the API accepts, and every command has one.

The examples are read from the README's `curl` lines (continuations joined), matched to the route by
method and path (`$VARS` stand for path parameters) and validated against the route's request model, so
the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lif.composition import build_http_app

README = Path(__file__).resolve().parents[2] / "README.md"
UNUSED = cast(Any, None)


@cache
def routes() -> list[APIRoute]:
    app = build_http_app(
        intake=UNUSED, actions=UNUSED, orchestration=UNUSED, review_texts=UNUSED, read_pool=UNUSED, authenticator=UNUSED
    )
    return _api_routes(list(app.routes))


def _api_routes(candidates: list[Any]) -> list[APIRoute]:
    """The API routes, included routers flattened (FastAPI keeps an included router as one route)."""
    found: list[APIRoute] = []
    for route in candidates:
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            found.extend(_api_routes(list(route.original_router.routes)))
    return found


def body_model(route: APIRoute) -> type[BaseModel] | None:
    params = route.dependant.body_params
    return cast(type[BaseModel], params[0].field_info.annotation) if params else None


def curl_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.strip().startswith("curl ")]


def saved_files() -> dict[str, Any]:
    """The JSON documents the README saves with `cat > NAME <<'EOF'` (its incident.json)."""
    text = README.read_text(encoding="utf-8")
    return {m[1]: json.loads(m[2]) for m in re.finditer(r"cat > (\S+) <<'EOF'\n(.*?)\nEOF", text, re.DOTALL)}


def examples() -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every curl line with -X (the commands); the body None when it has none."""
    found = []
    for words in curl_commands():
        if "-X" not in words:
            continue
        method = words[words.index("-X") + 1]
        url = next(w for w in words if w.startswith("$LIF/") or w.startswith("http"))
        path = re.sub(r"^(\$LIF|https?://[^/]+)", "", url)
        body = None
        if "-d" in words:
            body = json.loads(words[words.index("-d") + 1])
        elif "--data" in words:
            body = saved_files()[words[words.index("--data") + 1].removeprefix("@")]
        found.append((method, path, body))
    return found


def route_for(method: str, path: str) -> APIRoute:
    for route in routes():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", route.path) + "$"
        if method in (route.methods or set()) and re.match(pattern, path):
            return route
    raise AssertionError(f"the README shows {method} {path}, which the API does not have")


def test_the_readme_uses_the_lif_base_variable_not_a_fixed_port() -> None:
    commands = curl_commands()
    assert commands, "no curl examples found"
    fixed = [" ".join(w) for w in commands if any("127.0.0.1:8000" in word for word in w)]
    assert fixed == []


@pytest.mark.parametrize(("method", "path", "body"), examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_readme_body_is_accepted_by_its_route(method: str, path: str, body: dict[str, Any] | None) -> None:
    model = body_model(route_for(method, path))
    if body is None:
        assert model is None, f"{method} {path} needs a body ({model.__name__ if model else ''}); the README has none"
        return
    assert model is not None, f"{method} {path} takes no body"
    model.model_validate(body)


def test_every_command_with_a_body_has_a_readme_example() -> None:
    shown = {route_for(m, p).path for m, p, b in examples() if b is not None}
    commands = {r.path for r in routes() if body_model(r) is not None and r.path != "/v1/incidents"}
    assert commands - shown == set(), "commands without a README example body"


def test_the_readme_counts_the_exported_schemas_truthfully() -> None:
    from events.schemas import contract_schemas

    text = README.read_text(encoding="utf-8")
    stated = re.search(r"\* (\d+) JSON Schemas:", text)
    assert stated is not None and int(stated[1]) == len(contract_schemas())
    for name in contract_schemas():
        if not name.startswith(("intake.", "decisioning.", "orchestration.", "notifications.")):
            assert name in text, f"{name} is written by the export but not named in the README"
