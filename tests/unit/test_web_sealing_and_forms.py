"""The web service's small parts that need no server: sealing a token under a cookie's secret, the form
parser, field ids tied to the API's field paths, and which links a role is offered."""

from __future__ import annotations

from fastapi import FastAPI, Request

from lif.auth.sealed import new_secret, seal, secret_id, unseal
from services.web.api_client import BROWSER_ADDRESS, Answer, ApiClient
from services.web.core import Form, field_id, navigation
from services.web.sessions import Session, Who


def test_a_sealed_token_opens_only_with_its_secret_and_reveals_nothing_of_it() -> None:
    secret, token = new_secret(), "lif_" + "x" * 43
    sealed = seal(secret, token)
    assert unseal(secret, sealed) == token
    assert token.encode() not in sealed and secret.encode() not in sealed
    assert unseal(new_secret(), sealed) is None
    tampered = bytes([sealed[0] ^ 1]) + sealed[1:]
    assert unseal(secret, tampered) is None
    assert secret_id(secret) != secret_id(new_secret()) and len(secret_id(secret)) == 32


def test_a_form_keeps_repeated_fields_and_blank_ones() -> None:
    form = Form([("significance", "pattern"), ("significance", "statutory_event"), ("note", "  "), ("a", "b")])
    assert form.getlist("significance") == ["pattern", "statutory_event"]
    assert form.get("significance") == "pattern"
    assert form.text("note") is None and form.get("missing") == "" and form.text("a") == "b"


def test_field_ids_follow_the_apis_field_paths() -> None:
    assert field_id("rationale") == "f-rationale"
    assert field_id("type_of_review.methodology") == "f-type_of_review-methodology"


def test_a_422_answer_gives_its_messages_by_field() -> None:
    answer = Answer(422, {"detail": [{"field": "rationale", "message": "record the rationale"}]})
    assert answer.field_errors() == {"rationale": "record the rationale"}
    assert Answer(409, {"detail": "already sent"}).message() == "already sent"


def test_each_role_is_offered_its_own_pages() -> None:
    def links(role: str, scope: str) -> list[str]:
        return [item.href for item in navigation(Session("t", "c", Who("n", role, scope)), "/app")]

    board = "/app/boards/BOL"
    assert links("business_manager", "BOL") == [
        f"{board}/due",
        f"{board}/cases",
        f"{board}/reviews",
        f"{board}/learning",
        f"{board}/reviewers",
    ]
    assert links("reviewer", "BOL") == ["/app/boards/BOL/reviews"]
    assert links("regional_analyst", "region") == ["/app/region", "/app/region/learning"]
    assert navigation(None, "/app") == []
    # one link is current: the longest that the path is under
    region = navigation(Session("t", "c", Who("n", "regional_analyst", "region")), "/app/region/learning")
    assert [item.href for item in region if item.current] == ["/app/region/learning"]


async def test_in_process_api_calls_come_from_the_browser_being_served() -> None:
    """The API's per-address limits then count each person, not the web service every page shares."""
    app = FastAPI()

    @app.get("/v1/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"address": request.client.host if request.client else ""}

    api = ApiClient.in_process(app)
    try:
        BROWSER_ADDRESS.set("203.0.113.7")
        assert (await api.get("t", "/v1/whoami")).body == {"address": "203.0.113.7"}
        BROWSER_ADDRESS.set("198.51.100.2")
        assert (await api.get("t", "/v1/whoami")).body == {"address": "198.51.100.2"}
    finally:
        await api.close()


def test_the_learning_register_page_keeps_only_the_searchs_own_highlighting() -> None:
    from services.web.region_pages import learning_rows, marked_snippet

    snippet = marked_snippet("the <mark>neglect</mark> of <script>alert(1)</script>")
    assert snippet is not None
    assert "<mark>neglect</mark>" in snippet and "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert marked_snippet(None) is None
    (row,) = learning_rows(
        [
            {
                "title": "Disguised compliance",
                "board": "Bolton",
                "source_kind": "legacy_review",
                "review_type": "macr",
                "incident_month": "2015-03",
                "themes": [{"typology": "scie-learning-together", "code": "human_judgement"}, "not a theme"],
            }
        ]
    )
    assert row["kind"] == "legacy review" and row["review_type"] == "MACR" and row["themes"] == "human_judgement"
    assert "case_id" not in row and row["snippet"] is None
