"""Rule packs: loading, validating, listing and choosing them.

A pack is a JSON document at `packs/<name>/<version>.json` (format in `packs/README.md`). Published versions
are never edited, so an old recommendation can be replayed under the exact pack that made it; a change is
a new version, and a new regime is a new pack name.
"""

from __future__ import annotations

import itertools
import json
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, cast, get_args

from pydantic import ValidationError

from events.decisioning import MethodologyHint, ReviewType
from events.incidents import IncidentFacts
from services.decisioning.rules.calendar import PeriodUnit
from services.decisioning.rules.conditions import (
    FACT_DOMAINS,
    Condition,
    Evaluator,
    FactValue,
    PackError,
    parse_condition,
    references,
)
from services.decisioning.rules.decision_section import DecisionRules, parse_decisions
from services.decisioning.rules.shapes import json_object, json_period, json_sentence, json_string

PACKS_DIR = Path(__file__).with_name("packs")
FORMAT = 1

REGIME_CHANGE = date(2018, 6, 29)
"""Informational: where `choose_pack` switches from nwlif-2015 to cspr-2018 (the packs' own dates decide)."""

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_RULE_ID = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DERIVED_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

REVIEW_TYPES: frozenset[str] = frozenset(get_args(ReviewType))
METHODOLOGY_HINTS: frozenset[str] = frozenset(get_args(MethodologyHint))
SENTENCE_VALUES: frozenset[str] = frozenset(FACT_DOMAINS) | {
    "lscb",
    "home_lscb",
    "reviews",
    "methodology_hint",
    "review_type",
}
"""Placeholders a reason sentence may use: every fact, plus what `assess` knows about the case."""
REQUIRED_SENTENCES = ("learning_already_known", "home_board")
DeadlineStart = Literal["notified_date", "incident_date"]
DeadlineUnit = PeriodUnit


class PackNotFound(LookupError):
    """No pack (or no such version) is published; the message lists what is."""


@dataclass(frozen=True)
class Rule:
    """One rule of rules.md: its stable id, its condition and the sentence said when it fires."""

    id: str
    when: Condition
    reason: str
    tag: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class MethodologyCase:
    """A methodology hint and the rules behind it (reported when they held)."""

    when: Condition
    hint: MethodologyHint
    report: tuple[str, ...]


@dataclass(frozen=True)
class Methodology:
    cases: tuple[MethodologyCase, ...]
    otherwise: MethodologyHint


@dataclass(frozen=True)
class DecisionStep:
    """One possible recommendation; the first step whose condition holds decides."""

    id: str
    when: Condition
    review_type: ReviewType
    statutory_scr: bool
    report: tuple[str, ...]
    conclusion: str
    methodology: Methodology | None = None


@dataclass(frozen=True)
class DeadlineRule:
    """A deadline: a start date of the notification plus a length, only when `when` holds (if given)."""

    name: str
    start: DeadlineStart
    unit: DeadlineUnit
    amount: int
    rule: str | None = None
    when: Condition | None = None


@dataclass(frozen=True)
class RulePack:
    """A validated, immutable rule pack: everything `assess` needs, as data."""

    name: str
    version: str
    title: str
    effective_from: date
    effective_until: date | None
    chosen_by_date: bool
    rules: tuple[Rule, ...]
    derived: Mapping[str, Condition] = field(hash=False)
    always_report: tuple[str, ...]
    decision: tuple[DecisionStep, ...]
    deadlines: tuple[DeadlineRule, ...]
    sentences: Mapping[str, str] = field(hash=False)
    source: str = ""
    notes: tuple[str, ...] = ()
    decisions: DecisionRules | None = None
    """What the Chair's decisions mean (packs from 1.1.0 on); None in packs published before them."""

    @property
    def ref(self) -> str:
        """`name@version`, the form a board pins."""
        return f"{self.name}@{self.version}"

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Rule ids in the pack's (rules.md) order, the order of `rules_fired`."""
        return tuple(rule.id for rule in self.rules)

    def named_conditions(self) -> Mapping[str, Condition]:
        """Rules and derived names together, as `{"rule": ...}` sees them."""
        named: dict[str, Condition] = {rule.id: rule.when for rule in self.rules}
        named.update(self.derived)
        return named

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


# ---------------------------------------------------------------------------------------------- parsing


def _date(raw: object, path: str) -> date:
    try:
        return date.fromisoformat(json_string(raw, path))
    except ValueError as error:
        raise PackError(f"{path}: must be an ISO date (YYYY-MM-DD): {error}") from None


def _sentence(raw: object, path: str) -> str:
    """A reason sentence; placeholders like {outcome} must be ones `assess` can fill."""
    return json_sentence(raw, path, SENTENCE_VALUES)


def _rule_list(raw: object, path: str, rule_ids: set[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise PackError(f"{path}: must be a list of rule ids")
    for i, item in enumerate(raw):
        if item not in rule_ids:
            raise PackError(f"{path}[{i}]: unknown rule id '{item}'")
    return tuple(raw)


def _hint(raw: object, path: str) -> MethodologyHint:
    if raw not in METHODOLOGY_HINTS:
        raise PackError(f"{path}: unknown methodology hint {raw!r} (allowed: {', '.join(sorted(METHODOLOGY_HINTS))})")
    return cast(MethodologyHint, raw)


def _methodology(raw: object, path: str, rule_ids: set[str]) -> Methodology | None:
    if raw is None:
        return None
    document = json_object(raw, path, {"cases", "otherwise"})
    cases_raw = document["cases"]
    if not isinstance(cases_raw, list):
        raise PackError(f"{path}.cases: must be a list")
    cases = []
    for i, case_raw in enumerate(cases_raw):
        case_path = f"{path}.cases[{i}]"
        case = json_object(case_raw, case_path, {"when", "hint", "report"})
        cases.append(
            MethodologyCase(
                when=parse_condition(case["when"], f"{case_path}.when"),
                hint=_hint(case["hint"], f"{case_path}.hint"),
                report=_rule_list(case["report"], f"{case_path}.report", rule_ids),
            )
        )
    return Methodology(tuple(cases), _hint(document["otherwise"], f"{path}.otherwise"))


def _deadline(raw: object, path: str) -> DeadlineRule:
    document = json_object(raw, path, {"name", "from", "add"}, {"rule", "when", "note"})
    name = json_string(document["name"], f"{path}.name")
    start = document["from"]
    if start not in get_args(DeadlineStart):
        raise PackError(f"{path}.from: must be one of {', '.join(get_args(DeadlineStart))}, not {start!r}")
    unit, amount = json_period(document["add"], f"{path}.add")
    rule = document.get("rule")
    when = document.get("when")
    return DeadlineRule(
        name=name,
        start=start,  # type: ignore[arg-type]  # checked against DeadlineStart above
        unit=unit,
        amount=amount,
        rule=None if rule is None else json_string(rule, f"{path}.rule"),
        when=None if when is None else parse_condition(when, f"{path}.when"),
    )


def _version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def parse_pack(document: object, *, expected_name: str | None = None, expected_version: str | None = None) -> RulePack:
    """Validate a pack document completely and build the immutable pack; any problem is a `PackError`."""
    top = json_object(
        document,
        "pack",
        {
            "format",
            "name",
            "version",
            "title",
            "effective_from",
            "rules",
            "always_report",
            "decision",
            "deadlines",
            "sentences",
        },
        {"effective_until", "chosen_by_date", "derived", "source", "notes", "decisions"},
    )
    if type(top["format"]) is not int or top["format"] != FORMAT:
        raise PackError(f"pack.format: this engine reads format {FORMAT}, not {top['format']!r}")
    name = json_string(top["name"], "pack.name")
    version = json_string(top["version"], "pack.version")
    if not _NAME.match(name):
        raise PackError(f"pack.name: {name!r} must be lowercase words joined by '-'")
    if not _VERSION.match(version):
        raise PackError(f"pack.version: {version!r} must be MAJOR.MINOR.PATCH, e.g. 1.0.0")
    if expected_name is not None and name != expected_name:
        raise PackError(f"pack.name: {name!r} does not match its folder {expected_name!r}")
    if expected_version is not None and version != expected_version:
        raise PackError(f"pack.version: {version!r} does not match its file name {expected_version!r}")
    effective_from = _date(top["effective_from"], "pack.effective_from")
    until_raw = top.get("effective_until")
    effective_until = None if until_raw is None else _date(until_raw, "pack.effective_until")
    if effective_until is not None and effective_until < effective_from:
        raise PackError("pack.effective_until: is before effective_from")
    chosen_by_date = top.get("chosen_by_date", True)
    if not isinstance(chosen_by_date, bool):
        raise PackError("pack.chosen_by_date: must be true or false")

    rules_raw = top["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise PackError("pack.rules: must be a non-empty list")
    rules: list[Rule] = []
    for i, rule_raw in enumerate(rules_raw):
        rule_doc = json_object(rule_raw, f"pack.rules[{i}]", {"id", "when", "reason"}, {"tag", "note"})
        rule_id = rule_doc["id"]
        if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
            raise PackError(f"pack.rules[{i}].id: {rule_id!r} must look like A1 or E1b")
        path = f"pack.rules[{rule_id}]"
        if any(rule.id == rule_id for rule in rules):
            raise PackError(f"{path}: duplicate rule id")
        tag, note = rule_doc.get("tag"), rule_doc.get("note")
        rules.append(
            Rule(
                id=rule_id,
                when=parse_condition(rule_doc["when"], f"{path}.when"),
                reason=_sentence(rule_doc["reason"], f"{path}.reason"),
                tag=None if tag is None else json_string(tag, f"{path}.tag"),
                note=None if note is None else json_string(note, f"{path}.note"),
            )
        )
    rule_ids = {rule.id for rule in rules}

    derived_raw = top.get("derived", {})
    if not isinstance(derived_raw, dict):
        raise PackError("pack.derived: must be an object from name to condition")
    derived: dict[str, Condition] = {}
    for key, condition_raw in derived_raw.items():
        if not _DERIVED_NAME.match(key):
            raise PackError(f"pack.derived: {key!r} must be lowercase_with_underscores (rule ids are A1-style)")
        derived[key] = parse_condition(condition_raw, f"pack.derived.{key}")

    steps_raw = top["decision"]
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PackError("pack.decision: must be a non-empty list of steps")
    steps: list[DecisionStep] = []
    for i, step_raw in enumerate(steps_raw):
        step_doc = json_object(
            step_raw,
            f"pack.decision[{i}]",
            {"id", "when", "review_type", "statutory_scr", "report", "conclusion"},
            {"methodology", "note"},
        )
        step_id = json_string(step_doc["id"], f"pack.decision[{i}].id")
        path = f"pack.decision[{step_id}]"
        review_type = step_doc["review_type"]
        if review_type not in REVIEW_TYPES:
            raise PackError(
                f"{path}.review_type: unknown review type {review_type!r} (allowed: {', '.join(sorted(REVIEW_TYPES))})"
            )
        statutory = step_doc["statutory_scr"]
        if not isinstance(statutory, bool):
            raise PackError(f"{path}.statutory_scr: must be true or false")
        steps.append(
            DecisionStep(
                id=step_id,
                when=parse_condition(step_doc["when"], f"{path}.when"),
                review_type=cast(ReviewType, review_type),
                statutory_scr=statutory,
                report=_rule_list(step_doc["report"], f"{path}.report", rule_ids),
                conclusion=_sentence(step_doc["conclusion"], f"{path}.conclusion"),
                methodology=_methodology(step_doc.get("methodology"), f"{path}.methodology", rule_ids),
            )
        )

    deadlines_raw = top["deadlines"]
    if not isinstance(deadlines_raw, list):
        raise PackError("pack.deadlines: must be a list")
    deadlines = tuple(_deadline(item, f"pack.deadlines[{i}]") for i, item in enumerate(deadlines_raw))
    if len({d.name for d in deadlines}) != len(deadlines):
        raise PackError("pack.deadlines: duplicate deadline name")

    sentences_raw = json_object(top["sentences"], "pack.sentences", set(REQUIRED_SENTENCES))
    sentences = {key: _sentence(text, f"pack.sentences.{key}") for key, text in sentences_raw.items()}

    notes_raw = top.get("notes", [])
    if not isinstance(notes_raw, list):
        raise PackError("pack.notes: must be a list of strings")
    source = json_string(top["source"], "pack.source") if "source" in top else ""

    pack = RulePack(
        name=name,
        version=version,
        title=json_string(top["title"], "pack.title"),
        effective_from=effective_from,
        effective_until=effective_until,
        chosen_by_date=chosen_by_date,
        rules=tuple(rules),
        derived=types.MappingProxyType(derived),
        always_report=_rule_list(top["always_report"], "pack.always_report", rule_ids),
        decision=tuple(steps),
        deadlines=deadlines,
        sentences=types.MappingProxyType(sentences),
        source=source,
        notes=tuple(json_string(note, f"pack.notes[{i}]") for i, note in enumerate(notes_raw)),
        decisions=None
        if "decisions" not in top
        else parse_decisions(
            top["decisions"],
            recommendable={step.review_type for step in steps},
            threshold_deadlines={deadline.name for deadline in deadlines},
        ),
    )
    _check_names(pack, rule_ids)
    _check_total(pack)
    return pack


def _conditions(pack: RulePack) -> Iterator[tuple[str, Condition]]:
    """Every condition in the pack with its path, for reference checks."""
    for rule in pack.rules:
        yield f"pack.rules[{rule.id}].when", rule.when
    for key, condition in pack.derived.items():
        yield f"pack.derived.{key}", condition
    for step in pack.decision:
        yield f"pack.decision[{step.id}].when", step.when
        if step.methodology:
            for i, case in enumerate(step.methodology.cases):
                yield f"pack.decision[{step.id}].methodology.cases[{i}].when", case.when
    for deadline in pack.deadlines:
        if deadline.when is not None:
            yield f"pack.deadlines[{deadline.name}].when", deadline.when


def _check_names(pack: RulePack, rule_ids: set[str]) -> None:
    """Every `{"rule": ...}` names something that exists, and no named condition depends on itself."""
    clash = rule_ids & set(pack.derived)
    if clash:
        raise PackError(f"pack.derived: {', '.join(sorted(clash))} is also a rule id")
    named = pack.named_conditions()
    for path, condition in _conditions(pack):
        for name in sorted(references(condition)):
            if name not in named:
                raise PackError(f"{path}: refers to unknown rule '{name}' (known: {', '.join(named)})")

    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            loop = " -> ".join((*trail[trail.index(name) :], name))
            raise PackError(f"pack: rules refer to each other in a loop: {loop}")
        if name in done:
            return
        for child in sorted(references(named[name])):
            visit(child, (*trail, name))
        done.add(name)

    for name in named:
        visit(name, ())


def all_fact_combinations() -> Iterator[dict[str, FactValue]]:
    """Every set of facts the contract accepts (its own validators decide), for the totality check."""
    names = list(FACT_DOMAINS)
    domains = [sorted(FACT_DOMAINS[name], key=repr) for name in names]
    for values in itertools.product(*domains):
        facts = dict(zip(names, values, strict=True))
        try:
            IncidentFacts.model_validate(facts)
        except ValidationError:
            continue
        yield facts


def _check_total(pack: RulePack) -> None:
    """Every valid set of facts reaches a decision step, so `assess` can never fall off the end."""
    named = pack.named_conditions()
    for facts in all_fact_combinations():
        evaluator = Evaluator(named, facts)
        if not any(evaluator.test(step.when) for step in pack.decision):
            raise PackError(f"pack.decision: no step applies to the facts {facts}; the last step should catch all")


# ------------------------------------------------------------------------------------ loading, choosing


def _root(root: Path | None) -> Path:
    return PACKS_DIR if root is None else root


def available_packs(*, root: Path | None = None) -> dict[str, list[str]]:
    """Every published pack name with its versions, oldest first (files are listed, not validated).

    The shipped packs are listed once per process (publishing one is a deployment, as `_load_file` assumes):
    listing the folder on every assessment was a measurable share of decisioning's time.
    """
    if root is None:
        return {name: list(versions) for name, versions in _shipped_packs().items()}
    return _list_packs(root)


@cache
def _shipped_packs() -> dict[str, list[str]]:
    return _list_packs(PACKS_DIR)


def _list_packs(base: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not base.is_dir():
        return found
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or not _NAME.match(folder.name):
            continue
        versions = [f.stem for f in folder.glob("*.json") if _VERSION.match(f.stem)]
        if versions:
            found[folder.name] = sorted(versions, key=_version_key)
    return found


def load_pack(name: str, version: str | None = None, *, root: Path | None = None) -> RulePack:
    """Load and validate one pack version (the latest when `version` is None)."""
    base = _root(root)
    if not _NAME.match(name):
        raise PackNotFound(f"rule pack name {name!r} is not a valid name")
    published = available_packs(root=root)
    if name not in published:
        raise PackNotFound(f"no rule pack {name!r} (published: {_listing(published)})")
    if version is None:
        version = published[name][-1]
    elif version not in published[name]:
        raise PackNotFound(f"rule pack {name!r} has no version {version!r} (published: {', '.join(published[name])})")
    return _load_file(base / name / f"{version}.json", name, version)


@cache
def _load_file(path: Path, name: str, version: str) -> RulePack:
    """Parse one file once per process: published packs never change."""
    where = f"rule pack {name}@{version} ({path})"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PackError(f"{where}: not valid JSON: {error}") from None
    try:
        return parse_pack(document, expected_name=name, expected_version=version)
    except PackError as error:
        raise PackError(f"{where}: {error}") from None


def _listing(published: Mapping[str, list[str]]) -> str:
    return ", ".join(f"{n} ({', '.join(v)})" for n, v in published.items()) or "none"


def parse_pin(pin: str) -> tuple[str, str | None]:
    """A board's pin: `name` (latest version) or `name@version`."""
    name, _, version = pin.strip().partition("@")
    return name, (version or None)


def choose_pack(incident_date: date, board_rule_pack: str | None = None, *, root: Path | None = None) -> RulePack:
    """The pack for an incident: the board's pin if it has one, else the regime in force on the incident date.

    By date, the latest version of each pack with `chosen_by_date` competes; the one with the latest
    `effective_from` on or before the incident wins (nwlif-2015 before 2018-06-29, cspr-2018 from it).
    An incident older than every pack falls to the earliest regime: historical cases still get reviewed.
    """
    if board_rule_pack:
        name, version = parse_pin(board_rule_pack)
        return load_pack(name, version, root=root)
    candidates = [
        pack for pack in (load_pack(name, root=root) for name in available_packs(root=root)) if pack.chosen_by_date
    ]
    if not candidates:
        raise PackNotFound("no rule pack is published for choosing by date")
    candidates.sort(key=lambda pack: pack.effective_from)
    started = [pack for pack in candidates if pack.effective_from <= incident_date]
    chosen = started[-1] if started else candidates[0]
    if chosen.effective_until is not None and incident_date > chosen.effective_until:
        raise PackNotFound(f"no rule pack covers incident date {incident_date.isoformat()}")
    return chosen
