"""What the Chair's decisions mean, read from a pack's `decisions` section: pure functions, no state.

The decisioning domain asks these questions and records the answers (with the pack and version) in its
events, so a decision can be explained, and replayed, under the pack that made it. Nothing here knows a
rule: agreement, deadlines, methodology precedence and independence are all the pack's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import cast

from events.decisioning import DecisionKind, MethodologyChoice, MethodologyCriterion
from services.decisioning.rules.calendar import add_period
from services.decisioning.rules.conditions import PackError
from services.decisioning.rules.decision_section import (
    CRITERIA,
    DECISION_KINDS,
    REVIEW_TYPES,
    DecisionRules,
    Independence,
)
from services.decisioning.rules.packs import PackNotFound, RulePack, available_packs, load_pack
from services.decisioning.rules.shapes import render_sentence

DISCRETIONARY_CRITERION: MethodologyCriterion = "D7"
"""The criterion the discretionary route (rule B) adds: a discretionary SCR is always Targeted."""


def decision_pack(name: str, *, root: Path | None = None) -> RulePack:
    """The newest version of pack `name` that has a `decisions` section (older versions predate decisions)."""
    published = available_packs(root=root)
    if name not in published:
        load_pack(name, root=root)  # raises PackNotFound listing what is published
    for version in reversed(published[name]):
        pack = load_pack(name, version, root=root)
        if pack.decisions is not None:
            return pack
    raise PackNotFound(
        f"rule pack {name!r} has no version with a 'decisions' section (published: {', '.join(published[name])})"
    )


def _rules(pack: RulePack) -> DecisionRules:
    if pack.decisions is None:
        raise PackError(
            f"rule pack {pack.ref} has no 'decisions' section (published before the Chair's decisions); "
            f"use decision_pack({pack.name!r})"
        )
    return pack.decisions


def _known_decision(decision: str) -> None:
    if decision not in DECISION_KINDS:
        raise ValueError(f"unknown decision {decision!r} (known: {', '.join(DECISION_KINDS)})")


def agrees(pack: RulePack, decision: str, review_type: str) -> bool:
    """Whether a decision follows a recommended review type; one that does not needs a rationale."""
    rules = _rules(pack)
    _known_decision(decision)
    if review_type not in REVIEW_TYPES:
        raise ValueError(f"unknown review type {review_type!r} (known: {', '.join(sorted(REVIEW_TYPES))})")
    return review_type in rules.review_types[cast(DecisionKind, decision)]


def departs(pack: RulePack, decision: str, review_type: str) -> bool:
    """Whether a decision departs from the recommendation (the opposite of `agrees`)."""
    return not agrees(pack, decision, review_type)


def decision_deadlines(pack: RulePack, decided_on: date, *, considered_for_scr: bool) -> dict[str, date]:
    """The deadlines a decision starts, by name (T2 `panel_notice_due` for a case considered for an SCR)."""
    flags = {"considered_for_scr": considered_for_scr}
    return {
        deadline.name: add_period(decided_on, deadline.unit, deadline.amount)
        for deadline in _rules(pack).deadlines
        if deadline.when is None or flags[deadline.when]
    }


def choose_methodology(pack: RulePack, criteria_held: Iterable[str], *, discretionary: bool) -> MethodologyChoice:
    """Intensive or Targeted from the D criteria the planning meeting advised, by the pack's precedence.

    The discretionary route adds D7. `rules_fired` are the criteria of the precedence step that decided;
    criteria that held but were outranked are named in a closing reason.
    """
    rules = _rules(pack).methodology
    given = list(criteria_held)
    unknown = [item for item in dict.fromkeys(given) if item not in rules.criteria]
    if unknown:
        names = ", ".join(repr(item) for item in unknown)
        raise ValueError(f"unknown methodology criteria {names} (known: {', '.join(CRITERIA)})")
    held_set = set(given) | ({DISCRETIONARY_CRITERION} if discretionary else set())
    held = [criterion for criterion in CRITERIA if criterion in held_set]

    for step in rules.precedence:
        fired = [criterion for criterion in held if criterion in step.criteria]
        if not fired:
            continue
        values = {"criteria": ", ".join(fired), "methodology": step.methodology}
        reasons = [render_sentence(rules.criteria[criterion], values) for criterion in fired]
        reasons.append(render_sentence(step.reason, values))
        outranked = [criterion for criterion in held if criterion not in fired]
        if outranked:
            reasons.append(render_sentence(rules.outranked, values | {"criteria": ", ".join(outranked)}))
        return MethodologyChoice(methodology=step.methodology, criteria_held=held, rules_fired=fired, reasons=reasons)

    values = {"criteria": "", "methodology": rules.otherwise}
    return MethodologyChoice(
        methodology=rules.otherwise,
        criteria_held=held,
        rules_fired=[],
        reasons=[render_sentence(rules.otherwise_reason, values)],
    )


def independence_for(pack: RulePack, decision: str) -> Independence | None:
    """How independent the lead reviewer of the review a decision commissions must be; None: no review."""
    rules = _rules(pack)
    _known_decision(decision)
    return rules.independence[cast(DecisionKind, decision)]


def commissions_review(pack: RulePack, decision: str) -> bool:
    """Whether a decision commissions a review, and so may have lead reviewers appointed to it."""
    return independence_for(pack, decision) is not None
