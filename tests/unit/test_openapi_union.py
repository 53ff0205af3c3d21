"""The service the proxy sends /openapi.json and /docs to serves the whole API's document."""

from __future__ import annotations

import json

import httpx
from fastapi import APIRouter, FastAPI

from lif.http_routes import ROUTES, owner
from lif.openapi import openapi_document, serve_union_document


async def test_a_service_app_serves_the_document_of_the_whole_api_equal_to_the_embedded_one() -> None:
    app = FastAPI(title="one service")
    router = APIRouter()

    @router.get("/v1/only-this-service")
    def only() -> dict[str, str]:
        return {}

    app.include_router(router)
    serve_union_document(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif") as client:
        served = await client.get("/openapi.json")
        docs = await client.get("/docs")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))
    assert "/v1/only-this-service" not in served.json()["paths"]
    assert set(served.json()["paths"]) >= {"/v1/incidents", "/v1/reviews/{review_id}", "/v1/cases/{case_id}"}
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert owner("GET", "/openapi.json") == owner("GET", "/docs") and any(r.path == "/openapi.json" for r in ROUTES)
