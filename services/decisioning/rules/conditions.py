"""The condition language of rule packs.

A condition is a JSON object parsed once, on load, into a small immutable tree that a few lines of Python
evaluate. Nothing in a pack is ever run as code (no `eval`/`exec`), so a pack can be reviewed, diffed and
replayed years later. The forms, and nothing else:

    {"fact": NAME, "is": VALUE}           the fact equals VALUE (true/false, a string, or null)
    {"fact": NAME, "in": [VALUE, ...]}    the fact equals one of the values
    {"rule": ID}                          another rule's (or derived name's) result
    {"all": [COND, ...]}                  every condition holds (an empty list holds)
    {"any": [COND, ...]}                  at least one holds (an empty list does not)
    {"not": COND}                         the condition does not hold

Fact names and their values come from the public contract (`events.incidents.IncidentFacts`), so a pack
that names a fact or value the contract does not have is refused on load rather than silently false.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Union, get_args, get_origin

from events.incidents import IncidentFacts

FactValue = str | bool | None


class PackError(ValueError):
    """A rule pack is malformed; the message names the pack and the JSON path of the problem."""


def _domain(annotation: object, field: str) -> frozenset[FactValue]:
    """The finite set of values a contract field can take; anything else cannot be used in a pack."""
    if annotation is bool:
        return frozenset({True, False})
    if annotation is type(None):
        return frozenset({None})
    origin = get_origin(annotation)
    if origin is Literal:
        return frozenset(get_args(annotation))
    if origin is Union or origin is types.UnionType:
        values: set[FactValue] = set()
        for arg in get_args(annotation):
            values |= _domain(arg, field)
        return frozenset(values)
    raise TypeError(f"IncidentFacts.{field} has a type the rule language cannot enumerate: {annotation!r}")


FACT_DOMAINS: Mapping[str, frozenset[FactValue]] = types.MappingProxyType(
    {name: _domain(info.annotation, name) for name, info in IncidentFacts.model_fields.items()}
)
"""Every fact a condition may name, with every value it may take (derived from the contract)."""


@dataclass(frozen=True)
class FactIn:
    """The fact takes one of `values` (`is` is the one-value case)."""

    fact: str
    values: frozenset[FactValue]


@dataclass(frozen=True)
class RuleRef:
    """The result of another named condition: a rule id or a derived name."""

    name: str


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = FactIn | RuleRef | AllOf | AnyOf | Not

_FORMS = "'fact' with 'is' or 'in', 'rule', 'all', 'any' or 'not'"


def _describe(value: object) -> str:
    return "null" if value is None else repr(value)


def _check_value(fact: str, value: object, path: str) -> FactValue:
    """Refuse a value the fact can never take (including 1 for true: JSON types must match)."""
    domain = FACT_DOMAINS[fact]
    for allowed in domain:
        if type(allowed) is type(value) and allowed == value:
            return allowed
    choices = ", ".join(sorted(_describe(v) for v in domain))
    raise PackError(f"{path}: fact '{fact}' cannot be {_describe(value)} (possible values: {choices})")


def parse_condition(raw: object, path: str) -> Condition:
    """Turn a JSON condition into a tree, refusing unknown operators, facts and values with their path."""
    if not isinstance(raw, dict):
        raise PackError(f"{path}: a condition must be a JSON object ({_FORMS}), not {type(raw).__name__}")
    keys = set(raw)
    if "fact" in keys:
        extra = keys - {"fact", "is", "in"}
        if extra:
            raise PackError(f"{path}: unknown operator {_names(extra)} (expected {_FORMS})")
        fact = raw["fact"]
        if not isinstance(fact, str) or fact not in FACT_DOMAINS:
            known = ", ".join(FACT_DOMAINS)
            raise PackError(f"{path}: unknown fact {_describe(fact)} (known facts: {known})")
        if ("is" in keys) == ("in" in keys):
            raise PackError(f"{path}: a fact test needs exactly one of 'is' or 'in'")
        if "is" in keys:
            return FactIn(fact, frozenset({_check_value(fact, raw["is"], f"{path}.is")}))
        values = raw["in"]
        if not isinstance(values, list) or not values:
            raise PackError(f"{path}.in: must be a non-empty list of values")
        return FactIn(fact, frozenset(_check_value(fact, v, f"{path}.in[{i}]") for i, v in enumerate(values)))
    if len(keys) != 1:
        raise PackError(f"{path}: unknown operator {_names(keys)} (expected {_FORMS})")
    (operator,) = keys
    operand = raw[operator]
    if operator == "rule":
        if not isinstance(operand, str) or not operand:
            raise PackError(f"{path}.rule: must be a rule id or derived name")
        return RuleRef(operand)
    if operator in ("all", "any"):
        if not isinstance(operand, list):
            raise PackError(f"{path}.{operator}: must be a list of conditions")
        items = tuple(parse_condition(item, f"{path}.{operator}[{i}]") for i, item in enumerate(operand))
        return AllOf(items) if operator == "all" else AnyOf(items)
    if operator == "not":
        return Not(parse_condition(operand, f"{path}.not"))
    raise PackError(f"{path}: unknown operator {_names(keys)} (expected {_FORMS})")


def _names(keys: set[str]) -> str:
    return ", ".join(f"'{k}'" for k in sorted(keys))


def references(condition: Condition) -> frozenset[str]:
    """Names a condition refers to with `rule`, to check they exist and do not loop."""
    if isinstance(condition, RuleRef):
        return frozenset({condition.name})
    if isinstance(condition, AllOf | AnyOf):
        found: frozenset[str] = frozenset()
        for item in condition.items:
            found |= references(item)
        return found
    if isinstance(condition, Not):
        return references(condition.item)
    return frozenset()


class Evaluator:
    """Evaluates conditions over one set of facts, each named condition at most once.

    Named conditions must already be checked to exist and to be free of cycles (the pack loader does so).
    """

    def __init__(self, named: Mapping[str, Condition], facts: Mapping[str, FactValue]) -> None:
        self._named = named
        self._facts = facts
        self._memo: dict[str, bool] = {}

    def holds(self, name: str) -> bool:
        """The result of the named rule or derived condition."""
        if name not in self._memo:
            self._memo[name] = self.test(self._named[name])
        return self._memo[name]

    def test(self, condition: Condition) -> bool:
        """The result of one condition tree."""
        if isinstance(condition, FactIn):
            value = self._facts[condition.fact]
            return any(type(v) is type(value) and v == value for v in condition.values)
        if isinstance(condition, RuleRef):
            return self.holds(condition.name)
        if isinstance(condition, AllOf):
            return all(self.test(item) for item in condition.items)
        if isinstance(condition, AnyOf):
            return any(self.test(item) for item in condition.items)
        return not self.test(condition.item)
