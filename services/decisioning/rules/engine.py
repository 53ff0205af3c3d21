"""The threshold engine: an incident notification in, a `Recommendation` out.

Pure and deterministic: the same notification and pack always give the same recommendation, so a recorded
recommendation can be replayed. Every sentence, rule and deadline comes from the pack; this module only
knows how to apply a pack, never what the rules are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from events.decisioning import MethodologyHint, Recommendation
from events.incidents import IncidentNotification
from lif.boards import get_board
from services.decisioning.rules.calendar import add_period
from services.decisioning.rules.conditions import Evaluator, FactValue
from services.decisioning.rules.packs import (
    DeadlineRule,
    DecisionStep,
    RulePack,
    choose_pack,
)
from services.decisioning.rules.shapes import render_sentence

LEARNING_FACT = "learning_already_identified"


@dataclass(frozen=True)
class Verdict:
    """What a pack concludes from a set of facts, before it is worded."""

    step: DecisionStep
    rules_fired: tuple[str, ...]
    methodology_hint: MethodologyHint | None
    deadlines: tuple[DeadlineRule, ...]


def decide(pack: RulePack, facts: Mapping[str, FactValue]) -> Verdict:
    """Apply the pack's decision steps in order; the first that holds decides.

    `rules_fired` holds, in the pack's (rules.md) order: the always-reported rules that held (A1-A5), the
    rules behind the methodology hint, and the deciding step's rules that held (E1 and E2 for E2).
    """
    evaluator = Evaluator(pack.named_conditions(), facts)
    step = next(s for s in pack.decision if evaluator.test(s.when))  # the loader proved a step always applies
    reported = {rule for rule in (*pack.always_report, *step.report) if evaluator.holds(rule)}
    hint: MethodologyHint | None = None
    if step.methodology is not None:
        hint = step.methodology.otherwise
        for case in step.methodology.cases:
            if evaluator.test(case.when):
                hint = case.hint
                reported |= {rule for rule in case.report if evaluator.holds(rule)}
                break
    deadlines = tuple(d for d in pack.deadlines if d.when is None or evaluator.test(d.when))
    fired = tuple(rule for rule in pack.rule_ids if rule in reported)
    return Verdict(step=step, rules_fired=fired, methodology_hint=hint, deadlines=deadlines)


def due_date(deadline: DeadlineRule, notification: IncidentNotification) -> date:
    """The calendar date a deadline falls on (months clamp to month end; working days are England's)."""
    start: date = getattr(notification, deadline.start)
    return add_period(start, deadline.unit, deadline.amount)


def _words(value: Any) -> str:
    """A fact value as it reads in a sentence: `police_custody` -> `police custody`, true -> `yes`."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ")


def _review_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """Earlier reviews the service found, without repeats, in the order given (so output is stable)."""
    if not names:
        return ()
    if any(not isinstance(name, str) or not name.strip() for name in names):
        raise ValueError("learning_already_known must name each earlier review")
    return tuple(dict.fromkeys(name.strip() for name in names))


def assess(
    notification: IncidentNotification,
    pack: RulePack | None = None,
    *,
    learning_already_known: list[str] | None = None,
) -> Recommendation:
    """Recommend a review type for one incident, with the rules that fired, reasons and deadlines.

    Without a pack, the board's pinned pack (if the board is registered and pins one) or the regime in force
    on the incident date is used. `learning_already_known` names earlier reviews in which the running
    service itself found this learning: it then counts as fact `learning_already_identified` (D5, E2) and a
    reason says so.
    """
    if pack is None:
        board = get_board(notification.lscb)
        pack = choose_pack(notification.incident_date, board.rule_pack if board else None)
    reviews = _review_names(learning_already_known)
    facts: dict[str, FactValue] = notification.facts.model_dump()
    if reviews:
        facts[LEARNING_FACT] = True
    verdict = decide(pack, facts)

    home = notification.child.normally_resident_lscb
    values = {name: _words(value) for name, value in facts.items()}
    values |= {
        "lscb": notification.lscb,
        "home_lscb": home,
        "reviews": "; ".join(reviews),
        "methodology_hint": _words(verdict.methodology_hint),
        "review_type": _words(verdict.step.review_type),
    }
    reasons_by_rule = {rule.id: rule.reason for rule in pack.rules}
    reasons = [render_sentence(reasons_by_rule[rule], values) for rule in verdict.rules_fired]
    if reviews:
        reasons.append(render_sentence(pack.sentences["learning_already_known"], values))
    reasons.append(render_sentence(verdict.step.conclusion, values))
    if home != notification.lscb:
        reasons.append(render_sentence(pack.sentences["home_board"], values))

    return Recommendation(
        review_type=verdict.step.review_type,
        statutory_scr=verdict.step.statutory_scr,
        methodology_hint=verdict.methodology_hint,
        rules_fired=list(verdict.rules_fired),
        rule_pack=pack.name,
        rule_pack_version=pack.version,
        reasons=reasons,
        deadlines={deadline.name: due_date(deadline, notification) for deadline in verdict.deadlines},
    )
