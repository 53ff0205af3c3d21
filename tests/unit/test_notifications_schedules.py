"""Reminder schedules are data: the regime's by default, a board's own when its registry entry names one."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from lif.boards import DEFAULT_FILE
from services.notifications.schedules import DEFAULT_DIR, load_schedule, next_occurrence, schedule_for
from tests.notifications_samples import Clock, Notifier
from tests.orchestration_samples import Case


def test_every_published_schedule_loads_and_names_every_kind_the_obligations_use() -> None:
    for regime in ("nwlif-2015", "cspr-2018"):
        schedule = load_schedule(f"{regime}@1.0.0")
        assert schedule.ref == f"{regime}@1.0.0"
        assert {"T1", "T2", "T6", "T7", "stage_due", "*"} <= set(schedule.kinds)
    assert {"panel_notification_due", "rapid_review_due"} <= set(load_schedule("cspr-2018@1.0.0").kinds)
    with pytest.raises(ValueError, match="no reminder schedule"):
        load_schedule("nwlif-2015@9.9.9")


def test_next_occurrence_walks_the_steps_and_the_weekly_repeat() -> None:
    spec = load_schedule("nwlif-2015@1.0.0").for_kind("T1")
    due = date(2015, 4, 10)
    assert next_occurrence(spec, due, date(2015, 3, 1)) == date(2015, 4, 3)
    assert next_occurrence(spec, due, date(2015, 4, 3)) == date(2015, 4, 9)
    assert next_occurrence(spec, due, date(2015, 4, 11)) == date(2015, 4, 18)
    assert next_occurrence(spec, due, date(2015, 4, 20)) == date(2015, 4, 25)


def test_a_board_may_configure_its_own_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "schedules"
    shutil.copytree(DEFAULT_DIR, folder)
    own = json.loads((DEFAULT_DIR / "nwlif-2015" / "1.0.0.json").read_text())
    own["name"], own["version"] = "bolton", "2.0.0"
    own["kinds"]["T1"]["steps"] = [
        {"step_id": "before_3d", "kind": "reminder", "offset_days": -3, "notify_roles": ["business_manager"]}
    ]
    (folder / "bolton").mkdir()
    (folder / "bolton" / "2.0.0.json").write_text(json.dumps(own))
    registry = json.loads(DEFAULT_FILE.read_text())
    for board in registry["boards"]:
        if board["code"] == "BOL":
            board["reminder_schedule"] = "bolton@2.0.0"
    boards_file = tmp_path / "boards.json"
    boards_file.write_text(json.dumps(registry))
    monkeypatch.setenv("LIF_BOARDS_FILE", str(boards_file))
    monkeypatch.setenv("LIF_REMINDER_SCHEDULES_DIR", str(folder))

    assert schedule_for("BOL", "nwlif-2015").ref == "bolton@2.0.0"
    assert schedule_for("WGN", "nwlif-2015").ref == "nwlif-2015@1.0.0"
    notifier = Notifier(Clock(date(2015, 3, 10)))
    case = Case()
    notifier.deliver(case.recommendation(deadlines={"chair_decision_due": date(2015, 4, 10)}))
    assert notifier.tick(date(2015, 4, 3), [case.case_id]) == []  # no 7-day reminder on this board
    fired = notifier.tick(date(2015, 4, 7), [case.case_id])
    assert [(e.payload.step.step_id, e.payload.rule_pack) for e in fired] == [("before_3d", "bolton@2.0.0")]
    assert fired[0].payload.step.notify_roles == ["business_manager"]
