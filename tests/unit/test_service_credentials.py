"""Service credentials (lif.auth.service) and decisioning's client of intake's summary route."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from lif.auth.service import ServiceCredentials, new_service_token, service_caller
from services.decisioning.errors import Unavailable
from services.decisioning.intake_summaries import IntakeSummaries


def test_a_credential_names_its_service_and_only_listed_ones_are_accepted() -> None:
    decisioning, other = new_service_token("decisioning"), new_service_token("decisioning")
    assert decisioning.startswith("decisioning.") and decisioning != other
    accepted = ServiceCredentials.parse(f" {decisioning} ,{new_service_token('orchestration')}")
    assert accepted.caller(decisioning) == "decisioning"
    assert accepted.caller(other) is None
    assert accepted.caller("") is None
    assert ServiceCredentials.parse(None).caller(decisioning) is None
    with pytest.raises(ValueError):
        new_service_token("a.b")


def test_the_dependency_answers_401_without_a_known_credential_and_403_for_another_service() -> None:
    decisioning, orchestration = new_service_token("decisioning"), new_service_token("orchestration")
    caller = service_caller(ServiceCredentials((decisioning, orchestration)), ["decisioning"])
    app = FastAPI()

    @app.get("/internal/x")
    def read(reader: str = Depends(caller)) -> dict[str, str]:
        return {"reader": reader}

    with TestClient(app) as client:
        assert client.get("/internal/x").status_code == 401
        assert client.get("/internal/x", headers={"Authorization": f"Basic {decisioning}"}).status_code == 401
        assert client.get("/internal/x", headers={"Authorization": f"Bearer {decisioning}x"}).status_code == 401
        assert client.get("/internal/x", headers={"Authorization": f"Bearer {orchestration}"}).status_code == 403
        ok = client.get("/internal/x", headers={"Authorization": f"Bearer {decisioning}"})
    assert ok.status_code == 200 and ok.json() == {"reader": "decisioning"}


def summaries(handler: httpx.MockTransport) -> IntakeSummaries:
    return IntakeSummaries("http://intake:8000/", "decisioning.secret", transport=handler)


def test_the_client_sends_its_credential_and_maps_intakes_answers() -> None:
    seen: list[httpx.Request] = []
    ref, case = uuid4(), uuid4()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"summary": "text"})

    assert summaries(httpx.MockTransport(answer))("BOL", ref, case) == "text"
    assert seen[0].url.path == f"/internal/v1/incident-summaries/BOL/{ref}"
    assert seen[0].url.params["case_id"] == str(case)
    assert seen[0].headers["authorization"] == "Bearer decisioning.secret"
    erased = summaries(httpx.MockTransport(lambda r: httpx.Response(404, json={"detail": "x"})))
    assert erased("BOL", ref, case) is None


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_intake_refusing_or_failing_is_a_503_for_the_command_not_a_500(status: int) -> None:
    failing = summaries(httpx.MockTransport(lambda r: httpx.Response(status)))
    with pytest.raises(Unavailable) as raised:
        failing("BOL", uuid4(), uuid4())
    assert raised.value.status == 503 and str(status) in raised.value.message


def test_intake_unreachable_is_a_503_for_the_command() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unavailable):
        summaries(httpx.MockTransport(down))("BOL", uuid4(), uuid4())
