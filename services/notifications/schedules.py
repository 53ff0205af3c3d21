"""Reminder schedules: versioned data per regime and obligation kind, and the dates their steps fire on.

A schedule is JSON under `schedules/<name>/<version>.json` (or `LIF_REMINDER_SCHEDULES_DIR`): for each kind,
who answers for it and its steps (days before or after the due date, in calendar days or England's working
days, with an optional weekly repeat while the obligation stays open). The regime's schedule applies unless
the board registry names its own (`reminder_schedule`: `name@version`). A published version is never edited:
every obligation records the schedule it was opened under, so its reminders replay as they were.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from events.notifications import TimerStep
from lif.boards import get_board
from lif.calendar import add_working_days, subtract_working_days

DEFAULT_DIR = Path(__file__).with_name("schedules")
DEFAULT_VERSION = "1.0.0"
ANY_KIND = "*"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepSpec(_Model):
    step_id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    kind: Literal["reminder", "escalation"]
    offset_days: int = Field(ge=-366, le=366)
    unit: Literal["days", "working_days"] = "days"
    notify_roles: list[str] = Field(min_length=1)
    repeat_every_days: int | None = Field(default=None, ge=1, le=366)

    def timer_step(self) -> TimerStep:
        return TimerStep(
            step_id=self.step_id,
            kind=self.kind,
            offset_days=self.offset_days,
            unit=self.unit,
            notify_roles=self.notify_roles,
        )

    def first_fire(self, due: date) -> date:
        if self.unit == "days":
            return due + timedelta(days=self.offset_days)
        if self.offset_days < 0:
            return subtract_working_days(due, -self.offset_days)
        return add_working_days(due, self.offset_days)


class KindSpec(_Model):
    answering_roles: list[str] = Field(min_length=1)
    steps: list[StepSpec]
    ends_when_due: bool = Field(default=False, description="A period (T7): met, not breached, once it passes")


class Schedule(_Model):
    name: str
    version: str
    regime: str
    notes: list[str] = []
    kinds: dict[str, KindSpec]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def for_kind(self, kind: str) -> KindSpec:
        return self.kinds.get(kind) or self.kinds[ANY_KIND]


@dataclass(frozen=True)
class Firing:
    """One occurrence of a step: the step and the day it fires for."""

    step: StepSpec
    on: date


def occurrences(spec: KindSpec, due: date, today: date) -> list[Firing]:
    """Every occurrence of the kind's steps on or before `today` (repeats included), oldest first."""
    found: list[Firing] = []
    for step in spec.steps:
        on = step.first_fire(due)
        while on <= today:
            found.append(Firing(step, on))
            if step.repeat_every_days is None:
                break
            on += timedelta(days=step.repeat_every_days)
    return sorted(found, key=lambda firing: firing.on)


def next_occurrence(spec: KindSpec, due: date, after: date) -> date | None:
    """The first day after `after` on which some step of the kind fires (None: none left)."""
    best: date | None = None
    for step in spec.steps:
        on = step.first_fire(due)
        if on <= after and step.repeat_every_days is not None:
            periods = (after - on).days // step.repeat_every_days + 1
            on += timedelta(days=periods * step.repeat_every_days)
        if on > after and (best is None or on < best):
            best = on
    return best


def schedules_dir() -> Path:
    return Path(os.environ.get("LIF_REMINDER_SCHEDULES_DIR", str(DEFAULT_DIR)))


@cache
def _load(folder: str, name: str, version: str) -> Schedule:
    path = Path(folder) / name / f"{version}.json"
    if not path.is_file():
        raise ValueError(f"no reminder schedule {name}@{version} in {folder}")
    schedule = Schedule.model_validate(json.loads(path.read_text()))
    if (schedule.name, schedule.version) != (name, version):
        raise ValueError(f"{path} names itself {schedule.ref}, not {name}@{version}")
    if ANY_KIND not in schedule.kinds:
        raise ValueError(f"reminder schedule {schedule.ref} has no '{ANY_KIND}' kind for deadlines it does not name")
    return schedule


def load_schedule(ref: str) -> Schedule:
    """A schedule by `name@version` (every version ever used stays loadable)."""
    name, _, version = ref.partition("@")
    return _load(str(schedules_dir()), name, version or DEFAULT_VERSION)


def schedule_for(lscb: str, regime: str) -> Schedule:
    """The board's own schedule when its registry entry names one, else the regime's."""
    board = get_board(lscb)
    if board is not None and board.reminder_schedule:
        return load_schedule(board.reminder_schedule)
    return load_schedule(f"{regime.partition('@')[0]}@{DEFAULT_VERSION}")
