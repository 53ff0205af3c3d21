"""The `decisions` section of a rule pack: what the Chair's decisions mean, as data (rules.md sections 1 C-D, 2, 3).

Which recommendation each decision agrees with, the deadlines a decision starts (T2), the SCR methodology
criteria D1-D7 with their precedence, and how independent a lead reviewer must be. It is data for the same
reason the threshold rules are: the precedence of D1-D7 is a reconstruction [recon], and a decision must
replay under the pack version that made it. Packs published before the Chair's decisions have no section.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from events.decisioning import DecisionKind, Methodology, MethodologyCriterion, ReviewType
from services.decisioning.rules.calendar import PeriodUnit
from services.decisioning.rules.conditions import PackError
from services.decisioning.rules.shapes import json_object, json_period, json_sentence, json_string

Independence = Literal["independent_of_board", "internal_allowed"]
"""`independent_of_board`: the lead reviewer has no tie to any agency of the board (statutory SCR)."""
DecisionFlag = Literal["considered_for_scr"]
"""What a decision deadline may depend on: the case is considered for an SCR (rules.md 1 C)."""
DecisionDeadlineStart = Literal["decided_on"]

DECISION_KINDS: tuple[DecisionKind, ...] = get_args(DecisionKind)
CRITERIA: tuple[MethodologyCriterion, ...] = get_args(MethodologyCriterion)
REVIEW_TYPES: frozenset[str] = frozenset(get_args(ReviewType))
METHODOLOGIES: frozenset[str] = frozenset(get_args(Methodology))
INDEPENDENCE: frozenset[str] = frozenset(get_args(Independence))
METHODOLOGY_PLACEHOLDERS: frozenset[str] = frozenset({"criteria", "methodology"})
"""Placeholders a methodology sentence may use: the criteria concerned and the methodology chosen."""


@dataclass(frozen=True)
class DecisionDeadline:
    """A deadline a decision starts: the decision date plus a length, only when `when` holds (if given)."""

    name: str
    unit: PeriodUnit
    amount: int
    start: DecisionDeadlineStart = "decided_on"
    rule: str | None = None
    when: DecisionFlag | None = None
    note: str | None = None


@dataclass(frozen=True)
class PrecedenceStep:
    """One line of the D1-D7 precedence: when any of `criteria` held, the methodology is `methodology`."""

    criteria: tuple[MethodologyCriterion, ...]
    methodology: Methodology
    reason: str


@dataclass(frozen=True)
class MethodologyRules:
    """The SCR methodology criteria (a sentence each, D1-D7 order), their precedence and the default."""

    criteria: Mapping[MethodologyCriterion, str] = field(hash=False)
    precedence: tuple[PrecedenceStep, ...]
    otherwise: Methodology
    otherwise_reason: str
    outranked: str


@dataclass(frozen=True)
class DecisionRules:
    """A pack's `decisions` section, validated and immutable."""

    review_types: Mapping[DecisionKind, frozenset[ReviewType]] = field(hash=False)
    deadlines: tuple[DecisionDeadline, ...]
    methodology: MethodologyRules
    independence: Mapping[DecisionKind, Independence | None] = field(hash=False)


def _by_decision(raw: object, path: str) -> dict[DecisionKind, object]:
    """An object with exactly one entry per decision kind (events.decisioning.DecisionKind)."""
    document = json_object(raw, path, set(DECISION_KINDS))
    return {kind: document[kind] for kind in DECISION_KINDS}


def _review_types(raw: object, path: str) -> dict[DecisionKind, frozenset[ReviewType]]:
    agreed: dict[DecisionKind, frozenset[ReviewType]] = {}
    for kind, types_raw in _by_decision(raw, path).items():
        if not isinstance(types_raw, list) or not types_raw:
            raise PackError(f"{path}.{kind}: must be a non-empty list of review types")
        for i, review_type in enumerate(types_raw):
            if review_type not in REVIEW_TYPES:
                raise PackError(
                    f"{path}.{kind}[{i}]: unknown review type {review_type!r} "
                    f"(allowed: {', '.join(sorted(REVIEW_TYPES))})"
                )
        agreed[kind] = frozenset(cast(list[ReviewType], types_raw))
    return agreed


def _deadline(raw: object, path: str) -> DecisionDeadline:
    document = json_object(raw, path, {"name", "from", "add"}, {"rule", "when", "note"})
    start = document["from"]
    if start not in get_args(DecisionDeadlineStart):
        raise PackError(
            f"{path}.from: a decision's deadline counts from {', '.join(get_args(DecisionDeadlineStart))}, "
            f"not {start!r}"
        )
    when = document.get("when")
    if when is not None and when not in get_args(DecisionFlag):
        raise PackError(f"{path}.when: must be one of {', '.join(get_args(DecisionFlag))} or absent, not {when!r}")
    unit, amount = json_period(document["add"], f"{path}.add")
    rule, note = document.get("rule"), document.get("note")
    return DecisionDeadline(
        name=json_string(document["name"], f"{path}.name"),
        unit=unit,
        amount=amount,
        rule=None if rule is None else json_string(rule, f"{path}.rule"),
        when=cast(DecisionFlag | None, when),
        note=None if note is None else json_string(note, f"{path}.note"),
    )


def _methodology_value(raw: object, path: str) -> Methodology:
    if raw not in METHODOLOGIES:
        raise PackError(f"{path}: unknown methodology {raw!r} (allowed: {', '.join(sorted(METHODOLOGIES))})")
    return cast(Methodology, raw)


def _criterion_list(raw: object, path: str) -> tuple[MethodologyCriterion, ...]:
    if not isinstance(raw, list) or not raw:
        raise PackError(f"{path}: must be a non-empty list of criteria ({', '.join(CRITERIA)})")
    for i, item in enumerate(raw):
        if item not in CRITERIA:
            raise PackError(f"{path}[{i}]: unknown criterion {item!r} (known: {', '.join(CRITERIA)})")
    return tuple(cast(list[MethodologyCriterion], raw))


def _methodology(raw: object, path: str) -> MethodologyRules:
    document = json_object(raw, path, {"criteria", "precedence", "otherwise", "outranked"})
    criteria_raw = json_object(document["criteria"], f"{path}.criteria", set(CRITERIA))
    criteria = {
        criterion: json_sentence(criteria_raw[criterion], f"{path}.criteria.{criterion}", METHODOLOGY_PLACEHOLDERS)
        for criterion in CRITERIA
    }

    steps_raw = document["precedence"]
    if not isinstance(steps_raw, list):
        raise PackError(f"{path}.precedence: must be a list of steps, the first that applies decides")
    steps: list[PrecedenceStep] = []
    placed: dict[str, int] = {}
    for i, step_raw in enumerate(steps_raw):
        step_path = f"{path}.precedence[{i}]"
        step = json_object(step_raw, step_path, {"any_of", "methodology", "reason"})
        step_criteria = _criterion_list(step["any_of"], f"{step_path}.any_of")
        for criterion in step_criteria:
            if criterion in placed:
                raise PackError(
                    f"{step_path}.any_of: {criterion} is already in precedence[{placed[criterion]}]; "
                    "each criterion has one place in the precedence"
                )
            placed[criterion] = i
        steps.append(
            PrecedenceStep(
                criteria=step_criteria,
                methodology=_methodology_value(step["methodology"], f"{step_path}.methodology"),
                reason=json_sentence(step["reason"], f"{step_path}.reason", METHODOLOGY_PLACEHOLDERS),
            )
        )
    unplaced = [criterion for criterion in CRITERIA if criterion not in placed]
    if unplaced:
        raise PackError(f"{path}.precedence: {', '.join(unplaced)} in no step; every criterion must decide somewhere")

    otherwise = json_object(document["otherwise"], f"{path}.otherwise", {"methodology", "reason"})
    return MethodologyRules(
        criteria=types.MappingProxyType(criteria),
        precedence=tuple(steps),
        otherwise=_methodology_value(otherwise["methodology"], f"{path}.otherwise.methodology"),
        otherwise_reason=json_sentence(otherwise["reason"], f"{path}.otherwise.reason", METHODOLOGY_PLACEHOLDERS),
        outranked=json_sentence(document["outranked"], f"{path}.outranked", METHODOLOGY_PLACEHOLDERS),
    )


def _independence(raw: object, path: str) -> dict[DecisionKind, Independence | None]:
    found: dict[DecisionKind, Independence | None] = {}
    for kind, value in _by_decision(raw, path).items():
        if value is not None and value not in INDEPENDENCE:
            raise PackError(
                f"{path}.{kind}: must be {', '.join(sorted(INDEPENDENCE))} or null (commissions no review), "
                f"not {value!r}"
            )
        found[kind] = cast(Independence | None, value)
    return found


def parse_decisions(
    raw: object,
    *,
    recommendable: AbstractSet[str],
    threshold_deadlines: AbstractSet[str],
    path: str = "pack.decisions",
) -> DecisionRules:
    """Validate a pack's `decisions` section against the pack it belongs to.

    `recommendable` are the review types the pack's threshold steps can recommend: each must be agreed by
    some decision, so every recommendation can be followed. `threshold_deadlines` are the pack's deadline
    names: a decision's deadline must not reuse one, as the case shows both side by side.
    """
    document = json_object(raw, path, {"review_types", "deadlines", "methodology", "independence"})
    review_types = _review_types(document["review_types"], f"{path}.review_types")
    agreed_somewhere: set[str] = set().union(*review_types.values())
    unfollowable = sorted(recommendable - agreed_somewhere)
    if unfollowable:
        raise PackError(
            f"{path}.review_types: no decision agrees with {', '.join(unfollowable)}, which this pack can recommend"
        )

    deadlines_raw = document["deadlines"]
    if not isinstance(deadlines_raw, list):
        raise PackError(f"{path}.deadlines: must be a list")
    deadlines = tuple(_deadline(item, f"{path}.deadlines[{i}]") for i, item in enumerate(deadlines_raw))
    names: set[str] = set()
    for i, deadline in enumerate(deadlines):
        if deadline.name in names:
            raise PackError(f"{path}.deadlines[{i}].name: duplicate deadline name {deadline.name!r}")
        if deadline.name in threshold_deadlines:
            raise PackError(
                f"{path}.deadlines[{i}].name: {deadline.name!r} is already a deadline of the recommendation"
            )
        names.add(deadline.name)

    return DecisionRules(
        review_types=types.MappingProxyType(review_types),
        deadlines=deadlines,
        methodology=_methodology(document["methodology"], f"{path}.methodology"),
        independence=types.MappingProxyType(_independence(document["independence"], f"{path}.independence")),
    )
