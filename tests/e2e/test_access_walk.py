"""Every operation of the OpenAPI document, called by everyone outside a Bolton case's scope, learns nothing.

A real Bolton case exists with its review, members, chronology entries, a parallel process, a publication
hold and a National Panel notice. Each operation the app documents (so a new route is walked without any
change here) is called with the real ids and with random ones, by every role of another board, a Bolton
reviewer who is not a member of the review, the regional analyst, no token and a revoked token. For each:
the status is one the operation documents; outsiders get the same answer, byte for byte and header for
header, for the real ids and the random ones; the regional analyst gets 403 on every case path; and no
answer holds anything of the case (its ids, its members' names, its texts, and for another board's tokens
the code BOL).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.routing import APIRoute

from lif.auth import Role
from lif.reference_api import build_router as build_reference_router
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.databases import fresh_database
from tests.review_journeys import (
    SIGNIFICANT,
    Driver,
    Review,
    add_members,
    appoint_lead_reviewer,
    hold_for_criminal_trial,
    initiate_scr,
    learning_summary,
    open_case,
    submit_chronologies,
)
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "access-walk-test-admin-token"
KEY = b"access-walk-test-pseudonym-key-01234"
OTHER = "WGN"
CASE_PARAMS = {"case_id", "review_id"}
"""A path with one of these is a case path: the regional analyst gets 403 on it, and every outsider the same
answer for the real ids and random ones (so too another board on `/v1/lscbs/BOL/...` and `/v1/lscbs/ZZZ/...`)."""
DAY = "2015-03-20"

BODIES: dict[str, Any] = {
    "IncidentNotification": notification(lscb="BOL"),
    "ReferralRequest": {"referred_on": DAY, "reason": "Walk"},
    "DiscretionaryInputRequest": {"kind": "peer_challenge", "held_on": DAY, "supports_scr": True},
    "DecisionRequest": {"decision": "no_review", "decided_on": DAY, "rationale": "Walk"},
    "AppointmentRequest": {"reviewer_id": "rev-walk", "appointed_on": DAY},
    "NoticeSentRequest": {"sent_on": DAY},
    "ThemesRequest": {"themes": ["human_judgement"]},
    "ClosedReviewRequest": {"review_ref": "BOL-WALK", "lscb": "BOL", "themes": ["human_judgement"], "closed_on": DAY},
    "NewReviewer": {"name": "Walk Reviewer", "employer": {"lscb": None, "organisation": "Walk Ltd"}},
    "ScheduleRequest": {"scheduled_for": DAY, "planned_duration": {"amount": 1, "unit": "half_days"}},
    "HeldRequest": {"held_on": DAY},
    "OutcomeRequest": {"result": "completed"},
    "MoveRequest": {"reason": "criminal_proceedings"},
    "MemberRequest": {"group": "review_group", "member_id": "walk-member", "role": "agency_author", "agency": "police"},
    "FindingsRequest": {"findings": "Walk", "shared_on": DAY},
    "ResponseRequest": {"member_id": "walk", "findings_version": 1, "response": "agrees", "responded_on": DAY},
    "ChronologyEntryRequest": {"event_date": "2015-01-05", "description": "Walk", "significance": SIGNIFICANT},
    "ChronologyCorrectionRequest": {"event_date": "2015-01-05", "description": "Walk", "significance": SIGNIFICANT},
    "ParallelProcessRequest": {"kind": "inquest"},
    "ParallelProcessUpdateRequest": {"status": "concluded", "on": DAY},
    "HoldRequest": {"reason": "inquest", "set_on": DAY},
    "LiftRequest": {"lifted_on": DAY},
    "FinalReportRequest": {"report": "Walk", "received_on": DAY},
    "PublishRequest": {"published_on": DAY},
    "CloseRequest": {"closed_on": DAY},
    "LearningSummaryRequest": learning_summary(Review("", "walk", reference_code="BOL-WALK"), "SCR", date(2015, 3, 20)),
}
"""A valid body per request model, so a call gets past validation to the access rules. A model not here (a new
route) is sent `{}`: its 422 must then be the same for real and random ids, which the walk checks too."""


@dataclass
class Walk:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    review: Review
    notice_id: str
    document: dict[str, Any]
    callers: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)


@pytest.fixture
async def walk(database_url: str) -> AsyncIterator[Walk]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LIF_RATE_LIMIT_AUTH_FAILURES", "0")  # the walk fails authentication hundreds of times on purpose
    url = await fresh_database(database_url, "access_walk")
    system = await build_embedded(url, KEY, ADMIN, today=lambda: date(2015, 3, 20))
    await system.start()
    store = system.authenticator.store

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        d = Driver(client, tokens)
        review = await open_case(d)
        await initiate_scr(d, review, "targeted", date(2015, 3, 18))
        await appoint_lead_reviewer(d, review, date(2015, 3, 19))
        await add_members(d, review)
        await submit_chronologies(d, review, date(2015, 3, 20))
        await hold_for_criminal_trial(d, review, date(2015, 3, 20))
        notice = await d.post(f"/v1/cases/{review.case_id}/panel-notices", {}, await d.chair())
        notice_id = notice["events"][0]["payload"]["notice_id"]
        document = (await client.get("/openapi.json")).json()
        walk = Walk(client, system, review, notice_id, document)
        for role in (Role.INTEGRATION, Role.BUSINESS_MANAGER, Role.CHAIR, Role.REVIEWER, Role.AUDITOR):
            walk.callers[f"{role.value}-{OTHER}"] = await d.as_(role, scope=OTHER)
        walk.callers["reviewer-BOL-not-a-member"] = await d.reviewer(f"not-a-member-{review.tag}")
        walk.callers["regional_analyst"] = await d.as_(Role.REGIONAL_ANALYST)
        walk.callers["no token"] = {}
        revoked = await tokens(Role.BUSINESS_MANAGER, "BOL", f"revoked-{review.tag}")
        await store.revoke(f"revoked-{review.tag}")
        system.authenticator.clear_cache()
        walk.callers["revoked token"] = {"Authorization": f"Bearer {revoked}"}
        case = await client.get(f"/v1/cases/{review.case_id}", headers=await d.admin())
        # The reviewer registry is the region's shared pool, so a registered reviewer is not the case's secret.
        walk.secrets = {review.case_id, review.review_id, notice_id, review.link_id}
        walk.secrets |= {review.hold_id, *review.members.values(), *review.entries.values(), f"OP-{review.tag}"}
        walk.secrets |= {e["event_id"] for e in case.json()["events"]}
        walk.secrets.add(notification(lscb="BOL")["source"]["reference"])
        walk.secrets.add(notification(lscb="BOL")["summary"])
        yield walk
    await system.stop()
    mp.undo()


def _value(name: str, schema: dict[str, Any], w: Walk, real: bool) -> str:
    """The real id of the Bolton case for a path parameter, or a random one of the same shape."""
    r = w.review
    real_values = {
        "case_id": r.case_id,
        "review_id": r.review_id,
        "notice_id": w.notice_id,
        "entry_id": r.entries.get("police", ""),
        "link_id": r.link_id,
        "hold_id": r.hold_id,
        "member_id": r.members.get("police", ""),
        "reviewer_id": r.reviewer_id,
        "stage_id": "spe_forum",
        "lscb": "BOL",
    }
    if real and name in real_values:
        return real_values[name]
    if name == "agency" or "enum" in schema:
        return "police" if name == "agency" else str(schema["enum"][0])
    if name == "group":
        return "review_group"
    if name == "lscb":
        return "ZZZ"
    if schema.get("format") == "uuid":
        return str(uuid4())
    return f"x{uuid4().hex[:12]}"


def _param_schema(parameter: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = parameter.get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _model(operation: dict[str, Any]) -> str | None:
    """The name of the operation's JSON request model ("" for an inline schema), None without a body."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return None if content is None else str(content["schema"].get("$ref", "").split("/")[-1])


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


async def call(
    w: Walk, method: str, path: str, operation: dict[str, Any], headers: dict[str, str], real: bool
) -> httpx.Response:
    url = path
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"]
            url = url.replace("{" + name + "}", _value(name, _param_schema(parameter, w.document), w, real))
    body = None
    model = _model(operation)
    if model is not None:
        body = json.dumps(BODIES.get(model, {}))
    sent = {**headers, "Content-Type": "application/json"} if body is not None else headers
    return await w.client.request(method.upper(), url, content=body, headers=sent)


REFERENCE_PATHS = {route.path for route in build_reference_router().routes if isinstance(route, APIRoute)}
"""The board registry and typologies: the same reference data for every token, naming every board."""


def _board_a_in(text: str, secrets: set[str], other_board: bool, path: str) -> list[str]:
    found = [secret for secret in secrets if secret and secret in text]
    if other_board and path not in REFERENCE_PATHS and '"BOL"' in text:
        found.append("BOL")
    return found


async def test_every_operation_tells_an_outsider_nothing_of_the_case(walk: Walk) -> None:
    ops = operations(walk.document)
    assert len(ops) >= 40  # the whole API, not a few routes
    failures: list[str] = []
    for caller, headers in walk.callers.items():
        for method, path, operation in ops:
            if not operation.get("security"):
                continue  # /healthz
            what = f"{caller}: {method.upper()} {path}"
            real = await call(walk, method, path, operation, headers, real=True)
            fake = await call(walk, method, path, operation, headers, real=False)
            declared = set(operation["responses"])
            for answer in (real, fake):
                if str(answer.status_code) not in declared:
                    failures.append(f"{what}: {answer.status_code} is not documented ({sorted(declared)})")
                leaked = _board_a_in(answer.text, walk.secrets, other_board=caller.endswith(OTHER), path=path)
                if leaked:
                    failures.append(f"{what}: the answer holds {leaked}")
            if caller in ("no token", "revoked token") and (real.status_code, fake.status_code) != (401, 401):
                failures.append(f"{what}: {real.status_code}/{fake.status_code}, not 401")
            is_case_path = any("{" + name + "}" in path for name in CASE_PARAMS)
            if caller == "regional_analyst" and is_case_path and (real.status_code, fake.status_code) != (403, 403):
                failures.append(f"{what}: {real.status_code}/{fake.status_code}, not 403")
            own_board_list = caller.endswith("not-a-member") and not is_case_path  # their own board's (empty) lists
            if (is_case_path or "{lscb}" in path) and not own_board_list:
                same = (real.status_code, real.content, sorted(real.headers.items())) == (
                    fake.status_code,
                    fake.content,
                    sorted(fake.headers.items()),
                )
                if not same:
                    failures.append(f"{what}: real {real.status_code} {real.text!r} != random {fake.text!r}")
                if real.status_code == 422 and _model(operation) in BODIES:
                    failures.append(f"{what}: 422 for a valid body: the walk never reached the access rules")
                if 200 <= real.status_code < 300 and is_case_path:
                    failures.append(f"{what}: {real.status_code} on the case")
    assert not failures, "\n".join(failures)

    # The walk's ids are real: the board's business manager reads what every outsider was refused.
    token, _ = await walk.system.authenticator.store.create(Role.BUSINESS_MANAGER, "BOL", f"bm-{walk.review.tag}")
    for path in (
        f"/v1/cases/{walk.review.case_id}",
        f"/v1/cases/{walk.review.case_id}/decisions",
        f"/v1/cases/{walk.review.case_id}/panel-notices/{walk.notice_id}",
        f"/v1/reviews/{walk.review.review_id}",
        f"/v1/reviews/{walk.review.review_id}/chronologies/police/entries/{walk.review.entries['police']}",
    ):
        response = await walk.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "no-store"
    notice = await walk.client.get(
        f"/v1/cases/{walk.review.case_id}/panel-notices/{walk.notice_id}", headers={"Authorization": f"Bearer {token}"}
    )
    policy = notice.headers["content-security-policy"]  # the notice's own style by hash, no script at all
    assert "script-src 'none'" in policy and "style-src 'sha256-" in policy and "unsafe" not in policy
