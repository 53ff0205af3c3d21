"""The notifications service on the embedded runtime with real PostgreSQL: obligations from real cases, timers
on a moved clock, the obligations API and its scope, the 2018 regime's commands and the calendar feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from events.registry import parse_event
from lif.admin import create_feed, notifications_tick, revoke_feed
from lif.auth import Role
from lif.delivery.log import read_log
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from lif.settings import Settings
from tests.databases import fresh_database
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "notifications-test-admin-token"
KEY = b"notifications-test-pseudonym-key-0123456789"


@dataclass
class Clock:
    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day


@dataclass
class Board:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    clock: Clock
    tokens: dict[str, str]
    url: str

    async def get(self, path: str, who: str = "admin", **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def new_case(self, **changes: Any) -> str:
        response = await self.post("/v1/incidents", "manager", notification(**changes))
        assert response.status_code == 202, response.text
        case_id: str = response.json()["case_id"]

        async def known() -> bool:
            await self.system.catch_up()
            listed = (await self.get("/v1/lscbs/BOL/obligations")).json()["obligations"]
            return any(item["case_id"] == case_id for item in listed)

        await eventually(known, what=f"obligations of {case_id}")
        return case_id

    async def obligations(self, who: str = "admin", **params: Any) -> dict[str, Any]:
        await self.system.catch_up()
        response = await self.get("/v1/lscbs/BOL/obligations", who, **params)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def tick(self, day: date) -> list[Any]:
        self.clock.day = day
        await self.system.catch_up()
        return await self.system.ticker.tick(day)

    def timer_events(self) -> list[Any]:
        events = [parse_event(item.envelope) for item in read_log(self.system.notifications, 0, 100_000)]
        timers = ("notifications.reminder_due", "notifications.obligation_breached")
        return [e for e in events if e.event_type in timers]


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[Board]:
    clock = Clock()
    url = await fresh_database(database_url, "notifications")
    system = await build_embedded(url, KEY, ADMIN, today=clock, tick_interval=3600)
    await system.start()
    tokens = {"admin": ADMIN}
    for who, role, scope in [
        ("manager", Role.BUSINESS_MANAGER, "BOL"),
        ("chair", Role.CHAIR, "BOL"),
        ("wigan_chair", Role.CHAIR, "WGN"),
        ("reviewer", Role.REVIEWER, "BOL"),
        ("analyst", Role.REGIONAL_ANALYST, "region"),
    ]:
        tokens[who], _ = await system.authenticator.store.create(role, scope, who)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Board(client, system, clock, tokens, url)
    await system.stop()


def _kinds(listing: dict[str, Any], case_id: str) -> dict[str, dict[str, Any]]:
    return {item["kind"] + (":" + item["ref"] if item["ref"] else ""): item for item in listing["obligations"]
            if item["case_id"] == case_id}


async def test_t1_reminds_escalates_and_stops_once_decided(board: Board) -> None:
    case_id = await board.new_case()
    t1 = _kinds(await board.obligations(), case_id)["T1"]
    assert (t1["due"], t1["state"], t1["rule_pack"]) == ("2015-04-10", "open", "nwlif-2015@1.1.0")
    assert set(t1["answering_roles"]) == {"chair", "business_manager"}

    for day in (date(2015, 4, 3), date(2015, 4, 9), date(2015, 4, 11)):
        await board.tick(day)
    # A second tick, and a tick from another process (the CLI's own application), record nothing more.
    await board.tick(date(2015, 4, 11))
    assert await notifications_tick(Settings(database_url=board.url), date(2015, 4, 11)) == []
    fired = [(e.payload.kind, e.payload.step.step_id, e.payload.fired_for) for e in board.timer_events()]
    t1_fired = [f for f in fired if f[0] == "T1"]
    assert t1_fired == [
        ("T1", "before_7d", date(2015, 4, 3)),
        ("T1", "before_1d", date(2015, 4, 9)),
        ("T1", "breach", date(2015, 4, 11)),
    ]
    late = await board.obligations(overdue="true")
    # T1 and the review's stages 1-3 (due inside T1) are late; nothing else of the case is.
    assert {item["kind"] for item in late["obligations"] if item["case_id"] == case_id} == {"T1", "stage_due"}
    assert all(item["state"] == "breached" for item in late["obligations"])
    assert late["counts"]["by_state"]["breached"] >= 1

    body = {"decision": "initiate_scr", "decided_on": "2015-04-11", "methodology": "intensive", "criteria_held": ["D1"]}
    decided = await board.post(f"/v1/cases/{case_id}/decisions", "chair", body)
    assert decided.status_code == 201, decided.text
    await board.system.catch_up()
    after = _kinds(await board.obligations(), case_id)
    assert (after["T1"]["state"], after["T1"]["met_on"], after["T1"]["late"]) == ("met", "2015-04-11", True)
    before = len([e for e in board.timer_events() if e.payload.kind == "T1"])
    for day in (date(2015, 4, 18), date(2015, 4, 25)):
        await board.tick(day)
    assert len([e for e in board.timer_events() if e.payload.kind == "T1"]) == before
    assert any(key.startswith("T2:") for key in after)  # the decision's own T2 is open


async def test_the_obligations_api_filters_sorts_pages_and_keeps_to_scope(board: Board) -> None:
    first = await board.new_case()
    second = await board.new_case(notified_date="2015-03-12")
    listing = await board.obligations(kind="T1", sort="-due")
    dues = [item["due"] for item in listing["obligations"]]
    assert dues == sorted(dues, reverse=True) and len(dues) == 2
    assert (await board.obligations(kind="T1", due_before="2015-04-11"))["total"] == 1
    page = await board.obligations(limit=1, offset=1, sort="due")
    assert len(page["obligations"]) == 1 and page["total"] >= 2 and page["limit"] == 1
    assert (await board.obligations(state="met"))["total"] == 0
    assert {item["case_id"] for item in (await board.obligations(state="open"))["obligations"]} >= {first, second}

    bad = await board.get("/v1/lscbs/BOL/obligations", state="late")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "state"
    for wrong in ("2015-04-11T00:00:00", "1066-10-14"):
        refused = await board.get("/v1/lscbs/BOL/obligations", due_before=wrong)
        assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "due_before"
    assert (await board.get("/v1/lscbs/BOL/obligations", limit=0)).status_code == 422
    other = await board.get("/v1/lscbs/BOL/obligations", "wigan_chair")
    missing = await board.get("/v1/lscbs/XYZ/obligations", "wigan_chair")
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert (await board.obligations("reviewer"))["obligations"] == []  # a member of no review sees none
    assert (await board.get("/v1/region/obligations", "chair")).status_code == 403
    region = await board.get("/v1/region/obligations", "analyst")
    assert region.status_code == 200 and region.json()["boards"]["BOL"]["open"] >= 2
    assert "obligations" not in region.json()  # aggregates only


async def test_the_2018_regimes_deadlines_skip_bank_holidays_and_are_met_by_their_commands(board: Board) -> None:
    board.clock.day = date(2019, 4, 16)
    case_id = await board.new_case(incident_date="2019-04-12", notified_date="2019-04-15")
    found = _kinds(await board.obligations(), case_id)
    # 5 and 15 working days from Monday 15 April 2019, skipping Good Friday and Easter Monday.
    assert found["panel_notification_due"]["due"] == "2019-04-24"
    assert found["rapid_review_due"]["due"] == "2019-05-09"  # and the early May bank holiday (6 May)
    await board.tick(date(2019, 4, 18))
    assert [(e.payload.kind, e.payload.step.step_id) for e in board.timer_events()] == [
        ("panel_notification_due", "before_2wd")
    ]
    board.clock.day = date(2019, 4, 23)
    notified = await board.post(f"/v1/cases/{case_id}/panel-notification", "chair", {"notified_on": "2019-04-23"})
    assert notified.status_code == 201, notified.text
    again = await board.post(f"/v1/cases/{case_id}/panel-notification", "manager", {"notified_on": "2019-04-23"})
    assert again.status_code == 409
    board.clock.day = date(2019, 5, 2)
    held = await board.post(f"/v1/cases/{case_id}/rapid-review", "manager", {"held_on": "2019-05-02"})
    assert held.status_code == 201, held.text
    after = _kinds(await board.obligations(), case_id)
    assert after["panel_notification_due"]["state"] == after["rapid_review_due"]["state"] == "met"
    assert after["rapid_review_due"]["met_by_event_type"] == "decisioning.rapid_review_held"
    view = (await board.get(f"/v1/cases/{case_id}")).json()  # the case view's deadlines are met too
    shown = {d["name"]: (d["met"], d["met_on"]) for d in view["deadlines"]}
    assert shown["panel_notification_due"] == (True, "2019-04-23")
    assert shown["rapid_review_due"] == (True, "2019-05-02")
    timeline = (await board.get(f"/v1/cases/{case_id}/decisions")).json()["entries"]
    assert [e["kind"] for e in timeline][-2:] == ["panel_notification", "rapid_review"]

    board.clock.day = date(2019, 5, 2)
    old = await board.new_case()  # a 2015-regime case has neither deadline
    refused = await board.post(f"/v1/cases/{old}/rapid-review", "manager", {"held_on": "2019-05-02"})
    assert refused.status_code == 409


async def test_a_calendar_feed_parses_back_shows_only_its_owners_obligations_and_can_be_revoked(
    board: Board,
) -> None:
    case_id = await board.new_case()
    settings = Settings(database_url=board.url)
    feed_id, path = await create_feed(settings, "BOL", None, "test")
    wigan_id, wigan_path = await create_feed(settings, "WGN", None, "test")
    _, chair_path = await create_feed(settings, None, "chair", "test")

    response = await board.client.get(f"/v1/feeds/{path}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = list(calendar.walk("VEVENT"))
    t1 = [e for e in events if str(e["CATEGORIES"].cats[0]) == "T1"]
    assert len(t1) == 1
    assert t1[0]["DTSTART"].dt == date(2015, 4, 10) and str(t1[0]["UID"]).endswith("@lif")
    assert case_id in str(t1[0]["DESCRIPTION"])
    for event in events:  # RFC 5545: every VEVENT has UID and DTSTAMP; every VALARM an ACTION and TRIGGER
        assert event.get("UID") and event.get("DTSTAMP")
        alarms = list(event.walk("VALARM"))
        assert alarms and all(a["ACTION"] == "DISPLAY" and a.get("TRIGGER") for a in alarms)
    assert len(list(t1[0].walk("VALARM"))) == 3  # 7 days before, 1 day before, on the day
    assert Calendar.from_ical(calendar.to_ical()).to_ical() == calendar.to_ical()

    wigan = Calendar.from_ical((await board.client.get(f"/v1/feeds/{wigan_path}")).content)
    assert list(wigan.walk("VEVENT")) == []
    chair = Calendar.from_ical((await board.client.get(f"/v1/feeds/{chair_path}")).content)
    assert {str(e["CATEGORIES"].cats[0]) for e in chair.walk("VEVENT")} == {"T1"}  # what the Chair answers for

    assert await revoke_feed(settings, __import__("uuid").UUID(feed_id))
    gone = await board.client.get(f"/v1/feeds/{path}")
    unknown = await board.client.get("/v1/feeds/lif_feed_" + "x" * 43 + ".ics")
    assert gone.status_code == unknown.status_code == 404
    assert wigan_id != feed_id
