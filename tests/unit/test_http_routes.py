"""The route table claims every route of the HTTP API for exactly one service, and nothing else.

The reverse proxy is generated from the table, so a route the table misses would be unreachable in
the distributed runtime; these checks make adding a route without its owner fail here first.
"""

from __future__ import annotations

import re

import pytest

from lif.http_routes import DOCS_SERVICE, ROUTES, SERVICES, Route, allowed_methods, owner, owners
from lif.openapi import openapi_document
from lif.runtime.targets import TARGETS

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def api_routes() -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation of the whole API, as the embedded runtime serves it."""
    return [
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    ]


def docs_routes() -> list[tuple[str, str]]:
    """The paths the app serves the document, its viewers and their assets at (not operations of it)."""
    from typing import Any, cast

    from fastapi.routing import APIRoute, iter_route_contexts
    from starlette.routing import Mount

    from lif.composition import build_http_app

    unused = cast(Any, None)
    app = build_http_app(
        intake=unused, actions=unused, orchestration=unused, review_texts=unused, read_pool=unused, authenticator=unused
    )
    documented = set(openapi_document()["paths"])
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if isinstance(route, Mount):
            found.append(("GET", f"{path}/{{asset}}"))
        elif path and path not in documented:
            found.append(("GET", path))
    # Routes of included routers left out of the document (the web pages), with their methods.
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.original_route, APIRoute) and path not in documented:
            found.extend((method, path) for method in sorted(context.methods or ()) if (method, path) not in found)
    return found


def concrete(template: str) -> str:
    return re.sub(r"\{[^/{}]+\}", "seg-1", template)


def test_every_route_of_the_api_is_claimed_by_exactly_one_service() -> None:
    routes = api_routes() + docs_routes()
    assert len(routes) > 30, "the API's routes were not found"
    unclaimed = [(method, path) for method, path in routes if not owners(method, concrete(path))]
    assert not unclaimed, f"no service in lif/http_routes.py owns {unclaimed}"
    shared = {(m, p): owners(m, concrete(p)) for m, p in routes if len(owners(m, concrete(p))) > 1}
    assert not shared, f"more than one route of lif/http_routes.py claims {shared}"


def test_every_entry_of_the_table_is_used_by_some_route() -> None:
    routes = api_routes() + docs_routes()
    for route in ROUTES:
        used = [(m, p) for m, p in routes if route.claims(m, concrete(p))]
        assert used, f"{route} claims no route of the API: remove it or add the route"


def test_the_services_are_lif_serve_targets_and_the_docs_union_has_one_owner() -> None:
    assert set(SERVICES) <= set(TARGETS)
    assert {route.service for route in ROUTES} == set(SERVICES)
    assert owner("GET", "/openapi.json") == owner("GET", "/docs") == DOCS_SERVICE


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v1/incidents", "intake"),
        ("GET", "/v1/cases/c-1/decisions", "projections"),
        ("POST", "/v1/cases/c-1/decisions", "decisioning"),
        ("GET", "/v1/cases/c-1/panel-notices/n-1", "decisioning"),
        ("GET", "/v1/cases/c-1/review", "orchestration"),
        ("DELETE", "/v1/reviews/r-1/members/review_group/m-1", "orchestration"),
        ("GET", "/v1/cases/c-1", "projections"),
        ("GET", "/v1/cases/c-1/", "projections"),
        ("GET", "/v1/learning/closed-reviews", "decisioning"),
        ("GET", "/v1/lscbs/BOL/reviews", "projections"),
        ("GET", "/v1/incidents", None),
        ("HEAD", "/v1/cases/c-1", None),
        ("GET", "/v1/cases", None),
        ("GET", "/v1/cases/c-1/decisions/more", None),
        ("GET", "/v1/reviews", None),
    ],
)
def test_owner_by_method_and_path(method: str, path: str, expected: str | None) -> None:
    assert owner(method, path) == expected


def test_allowed_methods_are_the_union_over_the_services_on_a_path() -> None:
    assert allowed_methods("/v1/cases/c-1/decisions") == ("GET", "POST")
    assert allowed_methods("/v1/reviews/r-1/close") is None  # a subtree one service owns whole
    assert allowed_methods("/v1/nowhere") == ()


def test_a_route_names_a_known_service_and_an_absolute_path() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        Route("/v1/x", "billing")
    with pytest.raises(ValueError, match="starts with"):
        Route("v1/x", "intake")
