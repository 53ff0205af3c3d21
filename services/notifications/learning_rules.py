"""Which learning collation events make, meet and end an obligation: versioned data, like the schedules.

A rule set is JSON under `rules/<name>/<version>.json`: for each obligation kind, the event that opens it
(and moves it), the action statuses that meet or cancel it, and the audit results that meet a re-audit. The
obligation records the rules it was opened under (`rule_pack`, `name@version`), and is met or cancelled under
those same rules, so a later version never changes what an old obligation meant. The reminders are those of
the schedule the rules name (or the board's own).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

RULES_DIR = Path(__file__).with_name("rules")
CURRENT = "learning@1.0.0"
"""The rules a new learning obligation is opened under."""
ACTION_DUE = "action_due"
REAUDIT_DUE = "reaudit_due"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LearningKind(_Model):
    opened_by: str = Field(description="The learning event whose date opens (or moves) the obligation")
    met_by_status: list[str] = Field(default_factory=list, description="Action statuses that meet it")
    cancelled_by_status: list[str] = Field(default_factory=list, description="Action statuses that cancel it")
    met_by_results: list[str] = Field(default_factory=list, description="Audit results that meet a re-audit")


class LearningRules(_Model):
    name: str
    version: str
    notes: list[str] = []
    schedule: str = Field(description="The reminder schedule's name (its version: the schedules' default)")
    kinds: dict[str, LearningKind]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@cache
def load_rules(ref: str = CURRENT) -> LearningRules:
    """The rules by `name@version` (every version ever used stays loadable)."""
    name, _, version = ref.partition("@")
    path = RULES_DIR / name / f"{version}.json"
    if not path.is_file():
        raise ValueError(f"no learning obligation rules {ref} in {RULES_DIR}")
    rules = LearningRules.model_validate(json.loads(path.read_text()))
    if rules.ref != ref:
        raise ValueError(f"{path} names itself {rules.ref}, not {ref}")
    return rules


def is_learning_kind(kind: str) -> bool:
    """A kind of learning collation's obligations: about a recommendation, never a case."""
    return kind in load_rules().kinds
