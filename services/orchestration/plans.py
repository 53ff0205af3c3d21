"""Stage plans as data: `plans/<regime>/<version>.json`, validated on load (format in plans/README.md).

A plan set belongs to a regime (the rule pack name of the recommendation or decision, e.g. `nwlif-2015`).
Published versions are never edited: a process records the regime and version it follows, and a change
is a new version, so an old review can always be replayed against the plan it started with.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events.orchestration import STAGE_ID_PATTERN, DurationRange, PlannedStage, ReviewKind, StepKind

PLANS_DIR = Path(__file__).with_name("plans")
FORMAT = 1
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_ID = re.compile(STAGE_ID_PATTERN)


class PlanError(ValueError):
    """A plan file is malformed; the message names the file and the offending place."""


class UnknownPlanSet(ValueError):
    """No plan set exists for a regime (a ValueError, so consumers dead-letter rather than retry)."""


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MovesDoc(_Doc):
    reasons: list[str] = Field(min_length=1)
    explanation: str = Field(min_length=1)


class StageDoc(_Doc):
    id: str
    number: int | None = Field(ge=1)
    name: str = Field(min_length=1)
    step: StepKind = "stage"
    due_days: int | None = Field(ge=0)
    duration: DurationRange | None = None
    after: list[str] = []
    moves: MovesDoc | None = None
    complete_before: list[str] = []


class DeadlineDoc(_Doc):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    rule: str | None = None
    use_upstream: list[str] = Field(description="Upstream deadlines to use when known, first found wins")
    months: int = Field(ge=1, description="Otherwise: this many months from the plan's start")


class PlanDoc(_Doc):
    id: str
    phase: Literal["pre_decision", "review"]
    review_kind: ReviewKind
    method: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    deadline: DeadlineDoc | None
    stages: list[StageDoc] = Field(min_length=1)


class PlanSetDoc(_Doc):
    format: int
    regime: str
    version: str
    title: str
    source: str
    notes: list[str] = []
    defaults: dict[ReviewKind, str]
    plans: list[PlanDoc] = Field(min_length=1)


@dataclass(frozen=True)
class Plan:
    """One validated plan: what a process follows in one phase."""

    regime: str
    version: str
    doc: PlanDoc

    @property
    def id(self) -> str:
        return self.doc.id

    def stage(self, stage_id: str) -> StageDoc | None:
        return next((s for s in self.doc.stages if s.id == stage_id), None)

    def deadline(self, start: date, upstream: dict[str, date]) -> tuple[str, date] | None:
        """The plan's deadline: the first upstream one the plan names, else `months` from `start`."""
        rule = self.doc.deadline
        if rule is None:
            return None
        for name in rule.use_upstream:
            if name in upstream:
                return rule.name, upstream[name]
        return rule.name, add_months(start, rule.months)

    def planned_stages(self, start: date, deadline: date | None) -> list[PlannedStage]:
        """The plan's stages with due dates from `start`, none later than the deadline."""
        result = []
        for stage in self.doc.stages:
            due = None if stage.due_days is None else start + timedelta(days=stage.due_days)
            if due is not None and deadline is not None:
                due = min(due, deadline)
            result.append(
                PlannedStage(
                    stage_id=stage.id,
                    number=stage.number,
                    name=stage.name,
                    step=stage.step,
                    due=due,
                    duration=stage.duration,
                    after=list(stage.after),
                    complete_before=list(stage.complete_before),
                    move_reasons=list(stage.moves.reasons) if stage.moves else [],
                )
            )
        return result


@dataclass(frozen=True)
class PlanSet:
    regime: str
    version: str
    doc: PlanSetDoc

    def plan(self, plan_id: str) -> Plan:
        for doc in self.doc.plans:
            if doc.id == plan_id:
                return Plan(self.regime, self.version, doc)
        raise LookupError(f"plan set {self.regime} {self.version} has no plan {plan_id!r}")

    def pre_decision(self) -> Plan:
        return self._by("pre_decision", "scr", "pre_decision")

    def scr(self, methodology: str) -> Plan:
        return self._by("review", "scr", methodology)

    def for_method(self, kind: Literal["macr", "iar"], method: str | None) -> Plan:
        """The plan of the board's method for `kind`, or of the plan set's default method."""
        chosen = method or self.doc.defaults[kind]
        return self._by("review", kind, chosen)

    def _by(self, phase: str, kind: str, method: str) -> Plan:
        for doc in self.doc.plans:
            if (doc.phase, doc.review_kind, doc.method) == (phase, kind, method):
                return Plan(self.regime, self.version, doc)
        raise UnknownPlanSet(f"plan set {self.regime} {self.version} has no {phase} plan for {kind} method {method!r}")


def add_months(start: date, months: int) -> date:
    """`start` plus whole calendar months, clamped to the month's end (rules.md section 2)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def available_regimes() -> list[str]:
    return sorted(p.name for p in PLANS_DIR.iterdir() if p.is_dir())


def versions(regime: str) -> list[str]:
    folder = PLANS_DIR / regime
    found = [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []
    return sorted((v for v in found if _VERSION.match(v)), key=lambda v: tuple(int(x) for x in v.split(".")))


@cache
def load_plan_set(regime: str, version: str | None = None) -> PlanSet:
    """The plan set of a regime (latest version unless given), validated; `UnknownPlanSet` when absent."""
    published = versions(regime)
    if not published or (version is not None and version not in published):
        raise UnknownPlanSet(
            f"no stage plans for regime {regime!r} version {version or 'latest'!s}; "
            f"published: {', '.join(f'{r} {versions(r)}' for r in available_regimes())}"
        )
    chosen = version or published[-1]
    path = PLANS_DIR / regime / f"{chosen}.json"
    return PlanSet(regime, chosen, parse_plan_set(path.read_text(), f"{regime}/{chosen}.json", regime, chosen))


def parse_plan_set(text: str, where: str, regime: str, version: str) -> PlanSetDoc:
    """Parse and check one plan file; raises `PlanError` naming `where` and each problem."""
    try:
        doc = PlanSetDoc.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise PlanError(f"{where}: not JSON: {exc}") from None
    except ValidationError as exc:
        found = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PlanError(f"{where}: {found}") from None
    problems = _problems(doc, regime, version)
    if problems:
        raise PlanError(f"{where}: " + "; ".join(problems))
    return doc


def _problems(doc: PlanSetDoc, regime: str, version: str) -> list[str]:
    problems: list[str] = []
    if doc.format != FORMAT:
        problems.append(f"format {doc.format} is not {FORMAT}")
    if (doc.regime, doc.version) != (regime, version):
        problems.append(f"regime/version {doc.regime} {doc.version} do not match the path {regime} {version}")
    ids = [p.id for p in doc.plans]
    problems += [f"plan id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    keys = [(p.phase, p.review_kind, p.method) for p in doc.plans]
    problems += [f"two plans for {k}" for k in sorted({k for k in keys if keys.count(k) > 1})]
    required = [("pre_decision", "scr", "pre_decision"), ("review", "scr", "intensive"), ("review", "scr", "targeted")]
    required += [("review", kind, method) for kind, method in doc.defaults.items()]
    problems += [f"no plan for {k}" for k in required if k not in keys]
    for kind in ("macr", "iar"):
        if kind not in doc.defaults:
            problems.append(f"defaults: no default method for {kind}")
    for plan in doc.plans:
        problems += [f"plans[{plan.id}]: {p}" for p in _plan_problems(plan)]
    return problems


def _plan_problems(plan: PlanDoc) -> list[str]:
    problems: list[str] = []
    if not _ID.match(plan.id):
        problems.append(f"id {plan.id!r} is not lowercase words joined by _")
    ids = [s.id for s in plan.stages]
    known = set(ids)
    problems += [f"stage {i!r} is listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    numbers = [s.number for s in plan.stages if s.number is not None]
    problems += [f"stage number {n} is used twice" for n in sorted({n for n in numbers if numbers.count(n) > 1})]
    steps = [s.step for s in plan.stages]
    if plan.phase == "review" and steps.count("closure") != 1:
        problems.append("a review plan needs exactly one closure step")
    if plan.phase == "pre_decision" and set(steps) != {"stage"}:
        problems.append("a pre-decision plan has stages only (no publication or closure)")
    if steps.count("publication") > 1:
        problems.append("at most one publication step")
    for stage in plan.stages:
        where = f"stage {stage.id}"
        if not _ID.match(stage.id):
            problems.append(f"{where}: id is not lowercase words joined by _")
        for field, refs in (("after", stage.after), ("complete_before", stage.complete_before)):
            problems += [f"{where}: {field} names unknown stage {r!r}" for r in refs if r not in known]
            if stage.id in refs:
                problems.append(f"{where}: {field} names the stage itself")
        if stage.duration and stage.duration.max_half_days is not None:
            if stage.duration.max_half_days < stage.duration.min_half_days:
                problems.append(f"{where}: duration max_half_days is below min_half_days")
        if stage.moves is not None:
            problems += [
                f"{where}: move reason {r!r} is not lowercase words" for r in stage.moves.reasons if not _ID.match(r)
            ]
    cycle = _cycle(plan)
    if cycle:
        problems.append("stage order has a cycle: " + " -> ".join(cycle))
    return problems


def _cycle(plan: PlanDoc) -> list[str]:
    """A cycle in `after` (each stage must come after its prerequisites), or [] when there is none."""
    edges = {s.id: list(s.after) for s in plan.stages}
    for s in plan.stages:  # complete_before: s must be held before each named stage
        for later in s.complete_before:
            edges.setdefault(later, []).append(s.id)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for prerequisite in edges.get(node, []):
            if state.get(prerequisite) == 1:
                return [*path[path.index(prerequisite) :], prerequisite]
            if prerequisite not in state and (found := visit(prerequisite)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in edges:
        if node not in state and (found := visit(node)):
            return found
    return []
