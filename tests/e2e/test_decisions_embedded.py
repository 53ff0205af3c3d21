"""The board's decisions end to end on the embedded runtime: HTTP commands, the log, the projection.

One case goes from incident through recommendation, a Chair's decision that agrees and one that departs,
the lead reviewer's appointment, the methodology, both kinds of National Panel notice and the audit
timeline (which a rebuild from the logs reproduces). The refusals of each command are here too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from lif.auth import Role
from lif.composition import open_logs
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from projections.rebuild import rebuild_from_logs
from tests.databases import fresh_database
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "decisions-test-admin-token"
KEY = b"decisions-test-pseudonym-key-0123456789"
SUMMARY = "Child admitted with head injury; mother's partner known to police."
MACR_FACTS = {"facts__outcome": "harmed", "facts__working_together_concern": "yes"}


@dataclass
class Clock:
    """The business date the system sees; tests move it to find breaches."""

    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day


@dataclass
class Board:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    clock: Clock
    tokens: dict[str, str]
    database_url: str

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def post(self, path: str, who: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return await self.client.post(path, json=body or {}, headers=self.as_(who) | kw.get("headers", {}))

    async def get(self, path: str, who: str = "admin") -> httpx.Response:
        return await self.client.get(path, headers=self.as_(who))

    async def case(self, case_id: str) -> dict[str, Any]:
        await self.system.catch_up()
        response = await self.get(f"/v1/cases/{case_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def new_case(self, **changes: Any) -> str:
        response = await self.post("/v1/incidents", "manager", notification(**changes))
        assert response.status_code == 202, response.text
        case_id: str = response.json()["case_id"]

        async def recommended() -> bool:
            return (await self.get(f"/v1/cases/{case_id}")).json().get("recommendation") is not None

        await eventually(recommended, what=f"recommendation of {case_id}")
        return case_id


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[Board]:
    clock = Clock()
    url = await fresh_database(database_url, "decisions")
    system = await build_embedded(url, KEY, ADMIN, today=clock)
    await system.start()
    store = system.authenticator.store
    tokens = {"admin": ADMIN}
    for who, role, scope in [
        ("manager", Role.BUSINESS_MANAGER, "BOL"),
        ("chair", Role.CHAIR, "BOL"),
        ("auditor", Role.AUDITOR, "BOL"),
        ("wigan_chair", Role.CHAIR, "WGN"),
        ("integration", Role.INTEGRATION, "BOL"),
    ]:
        tokens[who], _ = await store.create(role, scope, who)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Board(client, system, clock, tokens, url)
    await system.stop()


async def add_reviewer(board: Board, name: str, employer: dict[str, Any]) -> str:
    response = await board.post("/v1/reviewers", "manager", {"name": name, "employer": employer})
    assert response.status_code == 201, response.text
    return str(response.json()["reviewer_id"])


def only_event(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    events = response.json()["events"]
    assert len(events) == 1
    return events[0]  # type: ignore[no-any-return]


async def test_a_statutory_case_from_recommendation_to_both_notices(board: Board) -> None:
    case_id = await board.new_case()
    decisions = f"/v1/cases/{case_id}/decisions"

    # Departing from the recommendation needs a rationale; only the board's Chair decides.
    refused = await board.post(decisions, "chair", {"decision": "no_review", "decided_on": "2015-03-18"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "rationale"
    assert (await board.post(decisions, "manager", {"decision": "initiate_scr"})).status_code == 403
    assert (await board.post(decisions, "wigan_chair", {"decision": "initiate_scr"})).status_code == 404
    wrong_method = await board.post(
        decisions, "chair", {"decision": "initiate_scr", "methodology": "targeted", "criteria_held": ["D1"]}
    )
    assert wrong_method.status_code == 422 and wrong_method.json()["detail"][0]["field"] == "methodology"

    # A decision that agrees, with the planning meeting's methodology (D1 -> Intensive).
    body = {"decision": "initiate_scr", "decided_on": "2015-03-18", "methodology": "intensive", "criteria_held": ["D1"]}
    agreed = only_event(await board.post(decisions, "chair", body, headers={"Idempotency-Key": "first"}))
    payload = agreed["payload"]
    assert payload["departs_from_recommendation"] is False
    assert payload["scr_route"] == "statutory" and payload["considered_for_scr"] is True
    assert payload["methodology"]["methodology"] == "intensive" and payload["methodology"]["rules_fired"] == ["D1"]
    assert payload["deadlines"] == {"panel_notice_due": "2015-04-01"}
    assert payload["recommendation"]["review_type"] == "serious_case_review"
    assert agreed["actor"] == {"kind": "person", "id": "chair", "role": "chair"}
    repeat = await board.post(decisions, "chair", body, headers={"Idempotency-Key": "first"})
    assert repeat.status_code == 200 and repeat.json()["events"][0]["event_id"] == agreed["event_id"]

    # T4 names the lead reviewer: none yet, so no notice; a reviewer tied to a Bolton agency is refused.
    notices = f"/v1/cases/{case_id}/panel-notices"
    assert (await board.post(notices, "chair")).status_code == 409
    insider = await add_reviewer(
        board, "Pat Insider", {"lscb": "BOL", "organisation": "Bolton Council", "agency": "local_authority"}
    )
    outsider = await add_reviewer(board, "Sam Outsider", {"lscb": None, "organisation": "Independent Reviews Ltd"})
    conflict = await board.post(f"/v1/cases/{case_id}/lead-reviewers", "chair", {"reviewer_id": insider})
    assert conflict.status_code == 409 and "independent" in conflict.json()["detail"]
    appointed = only_event(await board.post(f"/v1/cases/{case_id}/lead-reviewers", "chair", {"reviewer_id": outsider}))
    assert appointed["payload"]["independence"] == "independent_of_board"
    assert "Sam Outsider" not in str(appointed)

    prepared = only_event(await board.post(notices, "chair"))
    notice = prepared["payload"]
    assert notice["content_rule"] == "T4" and notice["due"] == "2015-04-01"
    assert notice["idempotency_key"] == agreed["event_id"]
    again = await board.post(notices, "manager")
    assert again.status_code == 200 and again.json()["events"][0]["event_id"] == prepared["event_id"]
    html = await board.get(f"{notices}/{notice['notice_id']}", "auditor")
    assert html.status_code == 200 and "Sam Outsider" in html.text and "Independent Reviews Ltd" in html.text
    markdown = await board.get(f"{notices}/{notice['notice_id']}?format=markdown", "chair")
    assert "Sam Outsider" in markdown.text

    # A later decision supersedes the first (with its rationale); its notice follows T3.
    no_reason = await board.post(decisions, "chair", {"decision": "commission_macr", "decided_on": "2015-03-19"})
    assert no_reason.status_code == 422
    rationale = "Peer challenge found the concern limited in scope; a concise review will do."
    departed = only_event(
        await board.post(
            decisions, "chair", {"decision": "commission_macr", "decided_on": "2015-03-19", "rationale": rationale}
        )
    )
    assert departed["payload"]["supersedes"] == agreed["event_id"]
    assert departed["payload"]["departs_from_recommendation"] is True
    assert rationale not in str(departed)
    t3 = only_event(await board.post(notices, "manager"))["payload"]
    assert t3["content_rule"] == "T3" and t3["decision_event_id"] == departed["event_id"]
    text = (await board.get(f"{notices}/{t3['notice_id']}", "chair")).text
    assert rationale in text and "head injury" in text  # the justification and the incident notification

    sent = only_event(await board.post(f"{notices}/{t3['notice_id']}/sent", "chair", {"sent_on": "2015-03-20"}))
    assert sent["payload"]["sent_on"] == "2015-03-20"
    assert (await board.post(f"{notices}/{t3['notice_id']}/sent", "chair", {})).status_code == 200
    assert (await board.post(f"{notices}/{uuid4()}/sent", "chair", {})).status_code == 404

    # The projection: the current decision, T1 met in time, one notice deadline met and one open.
    case = await board.case(case_id)
    assert case["decision"]["decision"] == "commission_macr" and case["considered_for_scr"] is True
    deadlines = {(d["name"], d["ref"]): d for d in case["deadlines"]}
    assert deadlines[("chair_decision_due", None)]["met"] is True
    notice_deadlines = [d for (name, _), d in deadlines.items() if name == "panel_notice_due"]
    assert sorted(d["met"] for d in notice_deadlines) == [False, True]
    assert not any(d["breached"] for d in case["deadlines"])
    board.clock.day = date(2015, 4, 2)  # the first decision's notice (due 1 April) was never sent
    late = await board.case(case_id)
    assert [d["due"] for d in late["deadlines"] if d["breached"]] == ["2015-04-01"]

    # The audit timeline, in order, with the rationale proven unchanged; a rebuild reproduces it.
    audit = (await board.get(decisions, "auditor")).json()
    assert (await board.get(decisions, "wigan_chair")).status_code == 404
    timeline = str(audit)
    assert rationale in timeline and "'verified': True" in timeline
    before = (audit, await board.case(case_id))
    await rebuild_from_logs(board.system.projector, open_logs(board.database_url), progress=False)
    assert ((await board.get(decisions, "auditor")).json(), await board.case(case_id)) == before

    # No free text about the child or the decision ever reaches the log.
    for app in (board.system.intake, board.system.decisioning):
        log = b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=1000))  # type: ignore[attr-defined]
        assert b"head injury" not in log and b"Peer challenge" not in log and b"Sam Outsider" not in log


async def test_discretionary_scr_needs_peer_challenge_and_is_targeted(board: Board) -> None:
    case_id = await board.new_case(**MACR_FACTS)
    decisions = f"/v1/cases/{case_id}/decisions"
    body = {"decision": "initiate_scr", "rationale": "Peer challenge advised it.", "methodology": "targeted"}
    assert (await board.post(decisions, "chair", body)).status_code == 409  # rule B: nothing recorded yet
    only_event(
        await board.post(
            f"/v1/cases/{case_id}/discretionary-inputs",
            "manager",
            {"kind": "peer_challenge", "held_on": "2015-03-15", "supports_scr": True, "note": "Challenge held."},
        )
    )
    intensive = await board.post(decisions, "chair", body | {"methodology": "intensive"})
    assert intensive.status_code == 422 and "D7" in intensive.json()["detail"][0]["message"]
    decided = only_event(await board.post(decisions, "chair", body))["payload"]
    assert decided["scr_route"] == "discretionary" and decided["considered_for_scr"] is True
    assert decided["methodology"]["rules_fired"] == ["D7"] and decided["departs_from_recommendation"] is True
    assert "panel_notice_due" in decided["deadlines"]


async def test_referral_makes_a_case_considered_and_its_decision_owes_a_notice(board: Board) -> None:
    case_id = await board.new_case(**MACR_FACTS)
    referral = f"/v1/cases/{case_id}/scr-panel-referral"
    assert (await board.post(referral, "chair", {})).status_code == 403
    only_event(await board.post(referral, "manager", {"referred_on": "2015-03-12", "reason": "Pattern of bruising."}))
    assert (await board.post(referral, "manager", {})).status_code == 409
    decided = only_event(await board.post(f"/v1/cases/{case_id}/decisions", "chair", {"decision": "commission_macr"}))[
        "payload"
    ]
    assert decided["departs_from_recommendation"] is False and decided["considered_for_scr"] is True
    assert decided["deadlines"]["panel_notice_due"] == (date(2015, 3, 20) + timedelta(days=14)).isoformat()


async def test_a_case_below_the_threshold_owes_no_notice(board: Board) -> None:
    case_id = await board.new_case(**MACR_FACTS)
    decided = only_event(await board.post(f"/v1/cases/{case_id}/decisions", "chair", {"decision": "commission_macr"}))
    assert decided["payload"]["deadlines"] == {} and decided["payload"]["considered_for_scr"] is False
    assert (await board.post(f"/v1/cases/{case_id}/panel-notices", "chair")).status_code == 409
    # A MACR may have an internal lead reviewer.
    insider = await add_reviewer(board, "Pat Insider", {"lscb": "BOL", "organisation": "Bolton Council"})
    only_event(await board.post(f"/v1/cases/{case_id}/lead-reviewers", "chair", {"reviewer_id": insider}))


async def test_decisions_need_a_recommendation_and_a_known_theme(board: Board) -> None:
    # No such case: the same 404 as another board's case (no 409 that would tell the two apart).
    unknown = await board.post(f"/v1/cases/{uuid4()}/decisions", "chair", {"decision": "no_review", "rationale": "x"})
    assert unknown.status_code == 404 and unknown.json() == {"detail": "not found"}
    assert (await board.post(f"/v1/cases/{uuid4()}/decisions", "auditor", {"decision": "no_review"})).status_code == 403
    case_id = await board.new_case()
    future = await board.post(
        f"/v1/cases/{case_id}/decisions", "chair", {"decision": "initiate_scr", "decided_on": "2015-03-21"}
    )
    assert future.status_code == 422 and future.json()["detail"][0]["field"] == "decided_on"
    forum = await board.post(
        f"/v1/cases/{case_id}/decisions",
        "chair",
        {"decision": "propose_forum", "rationale": "x", "forum_theme": "nope"},
    )
    assert forum.status_code == 422 and forum.json()["detail"][0]["field"] == "forum_theme"
    bad = await board.post(f"/v1/cases/{case_id}/decisions", "chair", {"decision": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "decision"


async def test_repeat_learning_turns_a_macr_candidate_into_an_embedding_review(board: Board) -> None:
    closed = {"review_ref": "WGN-SCR-2014-02", "lscb": "WGN", "themes": ["human_judgement"], "closed_on": "2014-11-30"}
    assert (await board.post("/v1/learning/closed-reviews", "manager", closed)).status_code == 403  # not Wigan's BM
    wigan_manager, _ = await board.system.authenticator.store.create(Role.BUSINESS_MANAGER, "WGN", "wgn-bm")
    board.tokens["wigan_manager"] = wigan_manager
    assert (await board.post("/v1/learning/closed-reviews", "wigan_manager", closed)).status_code == 201

    case_id = await board.new_case(**MACR_FACTS)
    themes = f"/v1/cases/{case_id}/learning-themes"
    assert (await board.post(themes, "manager", {"themes": ["not_a_theme"]})).status_code == 422
    new_learning = await board.post(themes, "manager", {"themes": ["human_judgement", "management_systems"]})
    assert new_learning.status_code == 201 and len(new_learning.json()["events"]) == 1  # not all known: still a MACR
    known = await board.post(themes, "manager", {"themes": ["human_judgement"]})
    assert known.status_code == 201
    tagged, recommended = known.json()["events"]
    assert tagged["event_type"] == "decisioning.learning_themes_tagged"
    rec = recommended["payload"]["recommendation"]
    assert rec["review_type"] == "embedding_review" and "E2" in rec["rules_fired"]
    # Wigan's review, named to this other board's case without its reference code.
    assert rec["repeat_learning"]["earlier_reviews"] == ["Wigan's review closed 2014-11"]
    assert any("Wigan's review closed 2014-11" in reason for reason in rec["reasons"])
    assert "WGN-SCR-2014-02" not in str(known.json())
    case = await board.case(case_id)
    assert case["recommendation"]["review_type"] == "embedding_review"
