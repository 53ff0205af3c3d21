"""The README's walkthrough on the embedded runtime: what a first user tripped over.

A Chair who decides before the review's stages 1-3 are held is told which are still open, and they stay
recordable afterwards (late against T1); the case's audit timeline is its whole history, review included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest

from lif.auth import Role
from lif.composition import DECISIONING_PERSONAL_SCHEMA, open_logs
from lif.progress import ProgressBar
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from projections import rebuild
from projections.audit import timeline_from_database
from projections.audit_text import format_timeline
from tests.databases import fresh_database
from tests.review_journeys import CRITERIA, Driver, hold_stage, open_case, plan_stages, wait_for_review

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "walkthrough-embedded-test-admin-token"
KEY = b"walkthrough-embedded-test-pseudonym-key-01"
PRE_DECISION = ["initial_meeting", "spe_chronologies", "planning_meeting"]


class Clock:
    def __init__(self) -> None:
        self.day = date(2015, 3, 12)

    def __call__(self) -> date:
        return self.day

    def advance_to(self, day: date) -> None:
        self.day = max(self.day, day)


@pytest.fixture
async def walkthrough(database_url: str) -> AsyncIterator[tuple[Driver, EmbeddedSystem, str]]:
    clock = Clock()
    url = await fresh_database(database_url, "walkthrough_embedded")
    system = await build_embedded(url, KEY, ADMIN, today=clock)
    await system.start()

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await system.authenticator.store.create(role, scope, name)
        return str(value)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Driver(client, tokens, advance_to=clock.advance_to), system, url
    await system.stop()


async def test_an_early_decision_says_what_is_open_and_stages_1_to_3_stay_recordable(
    walkthrough: tuple[Driver, EmbeddedSystem, str],
) -> None:
    d, system, _ = walkthrough
    review = await open_case(d)
    await wait_for_review(d, review, lambda v: v["phase"] == "pre_decision", "the pre-decision process")
    await system.catch_up()  # decisioning has followed orchestration's events (the answer's open stages)
    answer = await d.post(
        f"/v1/cases/{review.case_id}/decisions",
        {"decision": "initiate_scr", "decided_on": "2015-03-12", "methodology": "targeted"}
        | {"criteria_held": CRITERIA["targeted"]},
        await d.chair(),
    )
    assert [s["stage_id"] for s in answer["open_stages"]] == PRE_DECISION
    assert all(s["name"] and s["due"] for s in answer["open_stages"])
    decision_id = answer["events"][0]["event_id"]
    view = await wait_for_review(d, review, lambda v: v["decision_event_id"] == decision_id, "the review plan")
    assert view["open_pre_decision_stages"] == PRE_DECISION
    statuses = {s["stage_id"]: s["status"] for s in view["stages"]}
    assert [statuses[s] for s in PRE_DECISION] == ["planned"] * 3  # not dropped
    pre = {s["stage_id"]: s for s in view["stages"]}
    bm = await d.bm()
    for stage_id, day in zip(PRE_DECISION, [date(2015, 3, 16), date(2015, 3, 27), date(2015, 4, 2)], strict=True):
        await hold_stage(d, review, pre[stage_id], day, bm)
    view = await d.get(review.base, bm)
    assert view["open_pre_decision_stages"] == []
    assert [{s["stage_id"]: s["status"] for s in view["stages"]}[s] for s in PRE_DECISION] == ["held"] * 3
    assert plan_stages(view)[0]["stage_id"] == "national_panel_engagement"
    again = {"result": "completed", "agencies_present": ["police"]}
    held: dict[str, Any] = await d.post(f"{review.base}/stages/initial_meeting/outcome", again, bm, status=409)
    assert "already recorded" in held["detail"]


class RecordingBar(ProgressBar):
    """The rebuild's bar, remembering where it ended."""

    last: RecordingBar | None = None

    def __init__(self, total: int, label: str, **kwargs: Any) -> None:
        super().__init__(total, label, **kwargs)
        RecordingBar.last = self


async def test_the_audit_timeline_is_the_whole_history_and_the_rebuild_bar_ends_at_100_percent(
    walkthrough: tuple[Driver, EmbeddedSystem, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d, system, url = walkthrough
    review = await open_case(d)
    view = await wait_for_review(d, review, lambda v: v["phase"] == "pre_decision", "the pre-decision process")
    pre = {s["stage_id"]: s for s in view["stages"]}
    await hold_stage(d, review, pre["initial_meeting"], date(2015, 3, 16), await d.bm())
    await system.catch_up()

    timeline = await timeline_from_database(url, UUID(review.case_id), DECISIONING_PERSONAL_SCHEMA)
    assert timeline is not None
    services = [e["service"] for e in timeline["entries"]]
    assert {"intake", "decisioning", "orchestration"} <= set(services)
    assert services[0] == "intake"  # the notification comes first
    text = format_timeline(timeline)
    assert "stage initial_meeting held on 2015-03-16" in text
    assert "opened review process" in text and "notification from" in text
    assert "(decisioning, intake, orchestration)" in text.splitlines()[0]
    decisions = await d.get(f"/v1/cases/{review.case_id}/decisions", await d.admin())
    assert {e["service"] for e in decisions["entries"]} == {"decisioning"}  # the decision history stays

    monkeypatch.setattr(rebuild, "ProgressBar", RecordingBar)
    applied = await rebuild.rebuild_from_logs(system.projector, open_logs(url), progress=True)
    bar = RecordingBar.last
    assert bar is not None and applied > 0
    assert bar.done == bar.total > applied  # internal notifications (tracking, watches) counted as read


async def test_boards_and_typologies_are_served_to_any_token(walkthrough: tuple[Driver, EmbeddedSystem, str]) -> None:
    d, _, _ = walkthrough
    reviewer = await d.reviewer("someone")
    boards = await d.get("/v1/boards", reviewer)
    codes = [b["code"] for b in boards["boards"]]
    assert "BOL" in codes and len(codes) == 23
    assert set(boards["boards"][0]) == {"code", "name", "typology"}  # no rule-pack pins, methods or secrets
    listing = await d.get("/v1/typologies", await d.bm())
    assert {"name": "scie-learning-together", "versions": ["1"]} in listing["typologies"]
    typology = await d.get("/v1/typologies/scie-learning-together/1", reviewer)
    assert [t["id"] for t in typology["themes"]][:2] == ["human_tool_operation", "management_systems"]
    assert all(t["label"] for t in typology["themes"]) and len(typology["themes"]) == 6
    await d.get("/v1/typologies/scie-learning-together/99", reviewer, status=404)
    await d.get("/v1/typologies/..%2F..%2Fetc/1", reviewer, status=404)
    assert (await d.client.get("/v1/boards")).status_code == 401
