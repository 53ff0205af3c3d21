"""Stage plans: every published plan loads, says what rules.md section 4 says, and broken files are refused."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.orchestration.plans import (
    PLANS_DIR,
    PlanError,
    UnknownPlanSet,
    add_months,
    available_regimes,
    load_plan_set,
    parse_plan_set,
    versions,
)

PUBLISHED = [(regime, version) for regime in available_regimes() for version in versions(regime)]


def test_both_regimes_are_published() -> None:
    assert {"nwlif-2015", "cspr-2018"} <= set(available_regimes())


@pytest.mark.parametrize(("regime", "version"), PUBLISHED, ids=[f"{r}-{v}" for r, v in PUBLISHED])
def test_every_published_plan_set_loads_with_every_plan(regime: str, version: str) -> None:
    plans = load_plan_set(regime, version)
    assert (plans.regime, plans.version) == (regime, version)
    assert [s.number for s in plans.pre_decision().doc.stages] == [1, 2, 3]
    for methodology in ("intensive", "targeted"):
        numbered = [s.number for s in plans.scr(methodology).doc.stages if s.number is not None]
        assert numbered == list(range(4, 13))
        assert [s.step for s in plans.scr(methodology).doc.stages][-2:] == ["publication", "closure"]
    for kind in ("macr", "iar"):
        for doc in (d for d in plans.doc.plans if d.review_kind == kind):
            plan = plans.for_method(kind, doc.method)
            assert [s.step for s in plan.doc.stages].count("closure") == 1


def _durations(regime: str, methodology: str) -> dict[str, tuple[int, int | None] | None]:
    plan = load_plan_set(regime).scr(methodology)
    return {
        s.id: None if s.duration is None else (s.duration.min_half_days, s.duration.max_half_days)
        for s in plan.doc.stages
    }


@pytest.mark.parametrize("regime", ["nwlif-2015", "cspr-2018"])
def test_scr_durations_are_those_of_rules_md_section_4(regime: str) -> None:
    intensive, targeted = _durations(regime, "intensive"), _durations(regime, "targeted")
    assert intensive["spe_forum"] == (2, 2)  # 1 day
    assert intensive["spe_analysis"] == (2, None)  # 2+ half days
    assert targeted["spe_forum"] == (1, 2)  # up to 1 day
    assert targeted["spe_analysis"] == (1, 2)  # 1-2 half days
    for plan in (intensive, targeted):
        assert plan["family_involvement"] == (1, 1)
        assert plan["learning_workshop"] == (2, 2)
    planning = load_plan_set(regime).pre_decision().stage("planning_meeting")
    assert planning is not None and planning.duration is not None and planning.duration.max_half_days == 1


def test_family_involvement_may_move_for_criminal_proceedings_and_must_finish_before_publication() -> None:
    for methodology in ("intensive", "targeted"):
        family = load_plan_set("nwlif-2015").scr(methodology).stage("family_involvement")
        assert family is not None and family.moves is not None
        assert family.moves.reasons == ["criminal_proceedings"]
        assert family.complete_before == ["publication", "closure"]
        others = [s for s in load_plan_set("nwlif-2015").scr(methodology).doc.stages if s.id != "family_involvement"]
        assert all(s.moves is None for s in others)


def test_pre_decision_stages_fall_inside_t1() -> None:
    plan = load_plan_set("nwlif-2015").pre_decision()
    deadline = plan.deadline(date(2015, 3, 30), {"chair_decision_due": date(2015, 4, 10)})
    assert deadline == ("pre_decision_due", date(2015, 4, 10))
    dues = [s.due for s in plan.planned_stages(date(2015, 3, 30), deadline[1])]
    assert dues == [date(2015, 4, 6), date(2015, 4, 10), date(2015, 4, 10)]  # capped at T1


def test_without_an_upstream_deadline_the_pre_decision_month_counts_from_the_start() -> None:
    plan = load_plan_set("nwlif-2015").pre_decision()
    assert plan.deadline(date(2015, 1, 31), {}) == ("pre_decision_due", date(2015, 2, 28))


def test_cspr_pre_decision_is_bounded_by_the_rapid_review() -> None:
    plan = load_plan_set("cspr-2018").pre_decision()
    upstream = {"rapid_review_due": date(2019, 5, 8), "panel_notification_due": date(2019, 4, 23)}
    assert plan.deadline(date(2019, 4, 16), upstream) == ("pre_decision_due", date(2019, 5, 8))


def test_scr_plans_carry_t6_six_months_from_initiation() -> None:
    plan = load_plan_set("nwlif-2015").scr("targeted")
    deadline = plan.deadline(date(2015, 8, 31), {})
    assert deadline == ("scr_completion_due", date(2016, 2, 29))
    stages = plan.planned_stages(date(2015, 8, 31), deadline[1])
    assert all(s.due is None or s.due <= date(2016, 2, 29) for s in stages)
    assert {s.stage_id for s in stages if s.due is None} == {"publication", "closure"}


def test_board_methods_and_defaults() -> None:
    plans = load_plan_set("nwlif-2015")
    assert plans.for_method("macr", None).id == "macr_silp"
    assert plans.for_method("macr", "concise_systems").id == "macr_concise_systems"
    assert plans.for_method("iar", None).id == "iar_individual_management_review"
    with pytest.raises(UnknownPlanSet, match="appreciative"):
        plans.for_method("macr", "appreciative")


def test_add_months_clamps_to_the_months_end() -> None:
    assert add_months(date(2015, 1, 31), 1) == date(2015, 2, 28)
    assert add_months(date(2016, 1, 31), 1) == date(2016, 2, 29)
    assert add_months(date(2015, 8, 31), 6) == date(2016, 2, 29)
    assert add_months(date(2016, 2, 1), 12) == date(2017, 2, 1)


def test_an_unknown_regime_or_version_is_refused_naming_what_is_published() -> None:
    with pytest.raises(UnknownPlanSet, match="nwlif-2015") as caught:
        load_plan_set("cspr-2023")
    assert isinstance(caught.value, ValueError)  # consumers dead-letter ValueErrors
    with pytest.raises(UnknownPlanSet):
        load_plan_set("nwlif-2015", "9.9.9")


def _published() -> dict[str, Any]:
    return json.loads((PLANS_DIR / "nwlif-2015" / "1.0.0.json").read_text())  # type: ignore[no-any-return]


def _stage(doc: dict[str, Any], plan_id: str, stage_id: str) -> dict[str, Any]:
    plan = next(p for p in doc["plans"] if p["id"] == plan_id)
    return next(s for s in plan["stages"] if s["id"] == stage_id)  # type: ignore[no-any-return]


def _change(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(_published())
    change(doc)
    return doc


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown stage in after": (
        lambda d: _stage(d, "scr_intensive", "spe_forum")["after"].append("tea_break"),
        "after names unknown stage 'tea_break'",
    ),
    "stage after itself": (
        lambda d: _stage(d, "scr_intensive", "spe_forum")["after"].append("spe_forum"),
        "names the stage itself",
    ),
    "cycle": (
        lambda d: _stage(d, "scr_intensive", "national_panel_engagement")["after"].append("spe_analysis"),
        "cycle",
    ),
    "duplicate stage": (
        lambda d: d["plans"][1]["stages"].append(copy.deepcopy(d["plans"][1]["stages"][0])),
        "listed twice",
    ),
    "no closure": (
        lambda d: d["plans"][1]["stages"].pop(),
        "exactly one closure step",
    ),
    "max below min": (
        lambda d: _stage(d, "scr_targeted", "spe_forum").update(duration={"min_half_days": 2, "max_half_days": 1}),
        "max_half_days is below min_half_days",
    ),
    "version does not match the path": (lambda d: d.update(version="1.0.1"), "do not match the path"),
    "unknown format": (lambda d: d.update(format=2), "format 2"),
    "unknown field": (lambda d: _stage(d, "pre_decision", "initial_meeting").update(colour="red"), "colour"),
    "no targeted plan": (lambda d: d["plans"].pop(2), "no plan for ('review', 'scr', 'targeted')"),
    "default method without a plan": (lambda d: d["defaults"].update(macr="appreciative"), "appreciative"),
    "move reason not a word": (
        lambda d: _stage(d, "scr_intensive", "family_involvement")["moves"]["reasons"].append("Trial!"),
        "move reason 'Trial!'",
    ),
}


@pytest.mark.parametrize(("change", "message"), BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_plan_file_is_refused_with_a_clear_message(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(PlanError, match=re.escape("nwlif-2015/1.0.0.json")) as caught:
        parse_plan_set(json.dumps(_change(change)), "nwlif-2015/1.0.0.json", "nwlif-2015", "1.0.0")
    assert message in str(caught.value)


def test_the_published_file_itself_passes_and_bad_json_does_not() -> None:
    text = json.dumps(_published())
    assert parse_plan_set(text, "x.json", "nwlif-2015", "1.0.0").regime == "nwlif-2015"
    with pytest.raises(PlanError, match="not JSON"):
        parse_plan_set(text[:-3], "x.json", "nwlif-2015", "1.0.0")


PUBLISHED_CHECKSUMS = {
    "cspr-2018/1.0.0.json": "d97a853b8aa280ae41e0ce4506429cb137d589d38649005dd3959cbb13ad607a",
    "nwlif-2015/1.0.0.json": "4ae5eeac76a075e90fa4812be5dfd9367ee2ab44823903c57cf76886815771d0",
}


def test_published_plan_versions_are_never_edited() -> None:
    """A review records the plan version it follows: a change must be a new version (add its checksum here)."""
    found = {
        f"{path.parent.name}/{path.name}": hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(PLANS_DIR.glob("*/*.json"))
    }
    assert found == PUBLISHED_CHECKSUMS
