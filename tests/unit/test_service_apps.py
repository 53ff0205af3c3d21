"""Each service's own HTTP app serves exactly the routes lif.http_routes gives it, and the read model's app
serves the whole API's OpenAPI document, equal to the embedded runtime's."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from lif.auth.service import ServiceCredentials
from lif.composition import (
    build_service_app,
    decisioning_internal_routers,
    decisioning_routers,
    intake_internal_routers,
    intake_routers,
    learning_internal_routers,
    learning_routers,
    notifications_routers,
    orchestration_internal_routers,
    orchestration_routers,
    projections_routers,
    web_router,
)
from lif.http_routes import DOCS_SERVICE, ROUTES, SERVICES, owner
from lif.openapi import openapi_document, serve_union_document

UNUSED = cast(Any, None)  # the routes, not the parts behind them
SHARED = {"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/docs-assets"}
"""What every service's app serves (build_service_app); the proxy sends the public ones to DOCS_SERVICE."""


def service_app(service: str) -> FastAPI:
    """The app `lif serve <service>` builds, from the same router functions (lif.runtime.distributed)."""
    routers = {
        "intake": lambda: intake_routers(UNUSED) + intake_internal_routers(UNUSED, ServiceCredentials()),
        "decisioning": lambda: decisioning_routers(UNUSED) + decisioning_internal_routers(UNUSED, ServiceCredentials()),
        "orchestration": lambda: orchestration_routers(UNUSED, UNUSED)
        + orchestration_internal_routers(UNUSED, UNUSED, ServiceCredentials()),
        "notifications": lambda: notifications_routers(None),
        "learning": lambda: learning_routers(UNUSED, UNUSED) + learning_internal_routers(UNUSED, ServiceCredentials()),
        "projections": lambda: projections_routers(UNUSED),
        "web": lambda: [web_router(UNUSED, UNUSED)],
    }[service]()
    app = build_service_app(routers, pool=UNUSED, authenticator=UNUSED)
    if service == DOCS_SERVICE:
        serve_union_document(app)
    return app


def concrete(template: str) -> str:
    """A path the template matches (each `{name}` a segment)."""
    return re.sub(r"\{[^/{}]+\}", "x1", template)


def paths(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app routes, through included routers."""
    return [
        (method, str(context.path))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in sorted(context.methods or ())
    ]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [(m, p) for m, p in paths(app) if p not in SHARED and not p.startswith("/internal/")]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_serves_exactly_its_routes_of_the_table(service: str) -> None:
    served = api_routes(service_app(service))
    assert served, f"{service} serves no routes"
    misrouted = [(m, p, owner(m, concrete(p))) for m, p in served if owner(m, concrete(p)) != service]
    assert misrouted == [], f"{service} serves routes the proxy sends elsewhere: {misrouted}"
    for route in ROUTES:
        if route.service != service or route.path.removesuffix("/**") in SHARED or route.path in SHARED:
            continue
        methods = route.methods or ("GET", "POST", "PUT", "PATCH", "DELETE")
        claimed = [(m, p) for m, p in served if m in methods and route.claims(m, concrete(p))]
        assert claimed, f"the table gives {route.path} to {service}, whose app does not serve it"


def test_the_services_together_serve_every_route_of_the_embedded_runtime() -> None:
    from lif.composition import build_http_app

    embedded = build_http_app(
        intake=UNUSED, actions=UNUSED, orchestration=UNUSED, review_texts=UNUSED, read_pool=UNUSED, authenticator=UNUSED
    )
    together = sorted(route for service in SERVICES for route in api_routes(service_app(service)))
    assert together == sorted(api_routes(embedded))


INTERNAL = {
    "intake": [("GET", "/internal/v1/incident-summaries/{lscb}/{summary_ref}")],
    "orchestration": [("GET", "/internal/v1/learning-summaries/{lscb}/{case_id}")],
    "learning": [
        ("GET", "/internal/v1/learning/region/report-inputs"),
        ("GET", "/internal/v1/learning/{lscb}/report-inputs"),
    ],
    "decisioning": [
        ("GET", "/internal/v1/documents/{lscb}/{document_id}"),
        ("GET", "/internal/v1/panel-notices/{case_id}/{notice_id}"),
    ],
}
"""Each service's internal routes (other services' requests with a service credential)."""


def test_internal_routes_are_their_owners_only_and_never_in_the_public_table() -> None:
    for service in SERVICES:
        internal = [(m, p) for m, p in paths(service_app(service)) if p.startswith("/internal/")]
        assert internal == INTERNAL.get(service, []), service
        for method, path in internal:
            assert owner(method, concrete(path)) is None, "the proxy must not forward internal routes"


def test_the_read_models_app_serves_the_whole_apis_document_equal_to_the_embedded_one() -> None:
    with TestClient(service_app(DOCS_SERVICE)) as client:
        union = client.get("/openapi.json").json()
        docs = client.get("/docs")
    embedded = openapi_document()
    assert union == embedded
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    # The completed document: every service's paths, with the declared error answers.
    assert {"/v1/incidents", "/v1/reviewers", "/v1/reviews/{review_id}", "/v1/region/summary"} <= set(union["paths"])
    assert "401" in union["paths"]["/v1/incidents"]["post"]["responses"]
    assert not any(path.startswith("/internal/") for path in union["paths"])
