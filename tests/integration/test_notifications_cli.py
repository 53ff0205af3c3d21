"""`lif notifications tick` and `lif feeds` against a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from lif.cli import main
from lif.composition import make_notifications
from lif.delivery.delivered import Delivered
from tests.databases import fresh_database
from tests.orchestration_samples import Case

pytestmark = pytest.mark.integration


async def test_tick_records_each_timer_once_and_feeds_are_created_listed_and_revoked(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await fresh_database(database_url, "notifications_cli")
    monkeypatch.setenv("DATABASE_URL", url)
    app = await asyncio.to_thread(make_notifications, url, lambda: date(2015, 3, 10))
    case = Case()
    try:
        recommendation = case.recommendation(deadlines={"chair_decision_due": date(2015, 4, 10)})
        delivered = Delivered("log:decisioning", 1, recommendation)
        assert await asyncio.to_thread(app.handle, delivered)
    finally:
        await asyncio.to_thread(app.close)

    async def cli(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await cli("notifications", "tick", "--now", "2015-04-09T10:00:00+01:00", "--json")
    assert code == 0
    [fired] = json.loads(out)
    assert (fired["event_type"], fired["payload"]["step"]["step_id"]) == ("notifications.reminder_due", "before_1d")
    assert fired["case_id"] == str(case.case_id)
    code, out, err = await cli("notifications", "tick", "--now", "2015-04-09")
    assert (code, out) == (0, "") and "0 timer event(s)" in err
    code, _, err = await cli("notifications", "tick", "--now", "yesterday")
    assert code == 2 and "--now" in err

    code, out, _ = await cli("feeds", "create", "--lscb", "BOL", "--by", "cli-test")
    assert code == 0 and out.startswith("/v1/feeds/lif_feed_") and out.strip().endswith(".ics")
    code, out, _ = await cli("feeds", "list")
    [feed] = json.loads(out)
    shown = (feed["owner_kind"], feed["lscb"], feed["created_by"], feed["revoked_at"])
    assert shown == ("board", "BOL", "cli-test", None)
    assert "lif_feed_" not in out  # the URL is shown once, never listed
    assert (await cli("feeds", "revoke", str(feed["feed_id"])))[0] == 0
    assert (await cli("feeds", "revoke", str(feed["feed_id"])))[0] == 1
    code, _, err = await cli("feeds", "create", "--person", "nobody")
    assert code == 2 and "no token named" in err
