"""The `decisions` section of the rule packs and the pure functions over it (rules.md 1 C-D, 2 T2, 3)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest

from events.decisioning import DecisionKind, MethodologyChoice, ReviewType
from services.decisioning.rules import (
    PackError,
    PackNotFound,
    agrees,
    choose_methodology,
    commissions_review,
    decision_deadlines,
    decision_pack,
    departs,
    independence_for,
    load_pack,
    parse_pack,
)
from services.decisioning.rules.packs import PACKS_DIR

DECISIONS: tuple[str, ...] = get_args(DecisionKind)
REVIEW_TYPES: tuple[str, ...] = get_args(ReviewType)
AGREED_NWLIF = {
    "initiate_scr": {"serious_case_review"},
    "commission_macr": {"multi_agency_concise_review"},
    "request_iar": {"individual_agency_review"},
    "propose_forum": {"multi_professional_forum"},
    "embedding_review": {"embedding_review"},
    "no_review": {"no_review"},
}
AGREED = {
    "nwlif-2015": AGREED_NWLIF,
    "cspr-2018": AGREED_NWLIF | {"initiate_scr": {"serious_case_review", "rapid_review"}},
}


def document(name: str = "nwlif-2015") -> dict[str, Any]:
    """A fresh, mutable copy of a published pack with a decisions section, to break in one place per test."""
    return json.loads((PACKS_DIR / name / "1.1.0.json").read_text())


# ------------------------------------------------------------------------------------ which pack


@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
def test_decision_pack_is_the_newest_version_with_a_decisions_section(name: str) -> None:
    pack = decision_pack(name)
    assert pack.ref == f"{name}@1.1.0"
    assert pack.decisions is not None


def test_decision_pack_skips_newer_versions_without_the_section(tmp_path: Path) -> None:
    folder = tmp_path / "demo-pack"
    folder.mkdir()
    with_section = document() | {"name": "demo-pack", "version": "1.1.0"}
    without = {key: value for key, value in with_section.items() if key != "decisions"}
    (folder / "1.0.0.json").write_text(json.dumps(without | {"version": "1.0.0"}))
    (folder / "1.1.0.json").write_text(json.dumps(with_section))
    (folder / "1.2.0.json").write_text(json.dumps(without | {"version": "1.2.0"}))
    assert decision_pack("demo-pack", root=tmp_path).version == "1.1.0"


def test_decision_pack_refuses_a_pack_that_never_had_the_section(tmp_path: Path) -> None:
    (tmp_path / "nwlif-2015").mkdir()
    (tmp_path / "nwlif-2015" / "1.0.0.json").write_text((PACKS_DIR / "nwlif-2015" / "1.0.0.json").read_text())
    with pytest.raises(
        PackNotFound, match=r"'nwlif-2015' has no version with a 'decisions' section \(published: 1\.0\.0\)"
    ):
        decision_pack("nwlif-2015", root=tmp_path)
    with pytest.raises(PackNotFound, match="no rule pack 'scr-1999'"):
        decision_pack("scr-1999", root=tmp_path)


def test_a_pack_without_the_section_answers_no_decision_question() -> None:
    old = load_pack("nwlif-2015", "1.0.0")
    with pytest.raises(
        PackError, match=r"nwlif-2015@1\.0\.0 has no 'decisions' section.*decision_pack\('nwlif-2015'\)"
    ):
        agrees(old, "initiate_scr", "serious_case_review")
    with pytest.raises(PackError, match="no 'decisions' section"):
        decision_deadlines(old, date(2019, 1, 31), considered_for_scr=True)


# --------------------------------------------------------------------------------- agree or depart


@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
@pytest.mark.parametrize("decision", DECISIONS)
def test_agrees_and_departs_for_every_decision_and_review_type(name: str, decision: str) -> None:
    pack = decision_pack(name)
    for review_type in REVIEW_TYPES:
        expected = review_type in AGREED[name][decision]
        assert agrees(pack, decision, review_type) is expected, (decision, review_type)
        assert departs(pack, decision, review_type) is not expected


def test_initiating_after_a_rapid_review_agrees_only_under_2018() -> None:
    assert agrees(decision_pack("cspr-2018"), "initiate_scr", "rapid_review")
    assert departs(decision_pack("nwlif-2015"), "initiate_scr", "rapid_review")
    assert departs(decision_pack("cspr-2018"), "no_review", "rapid_review")
    assert any("rapid_review" in note and "[recon]" in note for note in decision_pack("cspr-2018").notes)


def test_unknown_decision_or_review_type_is_refused() -> None:
    pack = decision_pack("nwlif-2015")
    with pytest.raises(ValueError, match="unknown decision 'approve_scr'"):
        agrees(pack, "approve_scr", "serious_case_review")
    with pytest.raises(ValueError, match="unknown review type 'scr'"):
        agrees(pack, "initiate_scr", "scr")
    with pytest.raises(ValueError, match="unknown decision 'approve_scr'"):
        independence_for(pack, "approve_scr")


# ------------------------------------------------------------------------------------ deadlines (T2)


@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
@pytest.mark.parametrize(
    ("decided_on", "due"),
    [
        (date(2019, 1, 31), date(2019, 2, 14)),
        (date(2019, 4, 18), date(2019, 5, 2)),  # calendar days: Easter's bank holidays count
        (date(2015, 12, 25), date(2016, 1, 8)),
    ],
)
def test_t2_panel_notice_is_due_14_days_after_the_decision(name: str, decided_on: date, due: date) -> None:
    pack = decision_pack(name)
    assert decision_deadlines(pack, decided_on, considered_for_scr=True) == {"panel_notice_due": due}


def test_no_panel_notice_when_the_case_is_not_considered_for_an_scr() -> None:
    assert decision_deadlines(decision_pack("nwlif-2015"), date(2019, 1, 31), considered_for_scr=False) == {}


def test_the_t2_deadline_is_data_with_its_rule_id() -> None:
    rules = decision_pack("nwlif-2015").decisions
    assert rules is not None
    (deadline,) = rules.deadlines
    assert (deadline.name, deadline.rule, deadline.start, deadline.unit, deadline.amount, deadline.when) == (
        "panel_notice_due",
        "T2",
        "decided_on",
        "days",
        14,
        "considered_for_scr",
    )


# -------------------------------------------------------------------------------------- methodology


@pytest.mark.parametrize(
    ("held", "discretionary", "methodology", "criteria_held", "fired"),
    [
        ([], False, "intensive", [], []),
        (["D1"], False, "intensive", ["D1"], ["D1"]),
        (["D2"], False, "intensive", ["D2"], ["D2"]),
        (["D1", "D3"], False, "intensive", ["D1", "D3"], ["D1"]),
        (["D6", "D2", "D1"], False, "intensive", ["D1", "D2", "D6"], ["D1", "D2"]),
        (["D3"], False, "targeted", ["D3"], ["D3"]),
        (["D4"], False, "targeted", ["D4"], ["D4"]),
        (["D5", "D6"], False, "targeted", ["D5", "D6"], ["D5", "D6"]),
        (["D7"], False, "targeted", ["D7"], ["D7"]),
        (["D1", "D7"], False, "targeted", ["D1", "D7"], ["D7"]),
        (
            ["D1", "D2", "D3", "D4", "D5", "D6", "D7"],
            False,
            "targeted",
            ["D1", "D2", "D3", "D4", "D5", "D6", "D7"],
            ["D7"],
        ),
        ([], True, "targeted", ["D7"], ["D7"]),
        (["D1"], True, "targeted", ["D1", "D7"], ["D7"]),
        (["D7"], True, "targeted", ["D7"], ["D7"]),
        (["D3", "D1", "D3"], False, "intensive", ["D1", "D3"], ["D1"]),
    ],
)
@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
def test_methodology_precedence(
    name: str, held: list[str], discretionary: bool, methodology: str, criteria_held: list[str], fired: list[str]
) -> None:
    choice = choose_methodology(decision_pack(name), held, discretionary=discretionary)
    assert isinstance(choice, MethodologyChoice)
    assert (choice.methodology, choice.criteria_held, choice.rules_fired) == (methodology, criteria_held, fired)
    assert choice.reasons and all(isinstance(reason, str) and reason.endswith(".") for reason in choice.reasons)


def test_methodology_reasons_name_the_deciding_and_the_outranked_criteria() -> None:
    choice = choose_methodology(decision_pack("nwlif-2015"), ["D3", "D1"], discretionary=False)
    assert choice.reasons[0].startswith("D1: ")
    assert "Intensive" in choice.reasons[1]
    assert choice.reasons[-1] == "Also advised, but outranked by the precedence of the criteria: D3."
    assert len(choice.reasons) == 3


def test_the_discretionary_route_explains_d7() -> None:
    choice = choose_methodology(decision_pack("nwlif-2015"), ["D1", "D2"], discretionary=True)
    assert choice.reasons[0].startswith("D7: ")
    assert "discretionary" in choice.reasons[1]
    assert choice.reasons[-1].endswith("D1, D2.")


def test_no_criterion_gives_intensive_and_says_so() -> None:
    choice = choose_methodology(decision_pack("nwlif-2015"), [], discretionary=False)
    assert choice.rules_fired == []
    assert choice.reasons == [
        "None of the criteria D1-D7 holds, so the SCR is Intensive, the framework's usual methodology."
    ]


def test_unknown_criteria_are_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"unknown methodology criteria 'D8', 'd1' \(known: D1, D2, D3, D4, D5, D6, D7\)"
    ):
        choose_methodology(decision_pack("nwlif-2015"), ["D1", "D8", "d1", "D8"], discretionary=False)


# ------------------------------------------------------------------------------------- independence


@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
@pytest.mark.parametrize(
    ("decision", "independence"),
    [
        ("initiate_scr", "independent_of_board"),
        ("commission_macr", "internal_allowed"),
        ("request_iar", "internal_allowed"),
        ("embedding_review", "internal_allowed"),
        ("propose_forum", None),
        ("no_review", None),
    ],
)
def test_independence_of_the_lead_reviewer(name: str, decision: str, independence: str | None) -> None:
    pack = decision_pack(name)
    assert independence_for(pack, decision) == independence
    assert commissions_review(pack, decision) is (independence is not None)


def test_the_section_is_read_only() -> None:
    rules = decision_pack("nwlif-2015").decisions
    assert rules is not None
    with pytest.raises(TypeError):
        rules.independence["no_review"] = "internal_allowed"  # type: ignore[index]
    with pytest.raises(TypeError):
        rules.review_types["no_review"] = frozenset()  # type: ignore[index]


# ------------------------------------------------------------------------------- refused on load


def _refused(doc: dict[str, Any], pattern: str) -> None:
    with pytest.raises(PackError, match=pattern):
        parse_pack(doc)


def test_the_unmodified_documents_are_valid() -> None:
    assert parse_pack(document()).decisions is not None
    assert parse_pack(document("cspr-2018")).decisions is not None


def test_decisions_must_be_an_object_with_known_keys() -> None:
    _refused(document() | {"decisions": []}, r"pack\.decisions: must be a JSON object")
    doc = document()
    doc["decisions"]["sentences"] = {}
    _refused(doc, r"pack\.decisions: unknown key\(s\) sentences")
    doc = document()
    del doc["decisions"]["independence"]
    _refused(doc, r"pack\.decisions: missing independence")


def test_review_types_need_every_decision_kind_and_known_review_types() -> None:
    doc = document()
    del doc["decisions"]["review_types"]["no_review"]
    _refused(doc, r"pack\.decisions\.review_types: missing no_review")
    doc = document()
    doc["decisions"]["review_types"]["approve_scr"] = ["serious_case_review"]
    _refused(doc, r"pack\.decisions\.review_types: unknown key\(s\) approve_scr")
    doc = document()
    doc["decisions"]["review_types"]["initiate_scr"] = ["scr"]
    _refused(doc, r"pack\.decisions\.review_types\.initiate_scr\[0\]: unknown review type 'scr'")
    doc = document()
    doc["decisions"]["review_types"]["request_iar"] = []
    _refused(doc, r"review_types\.request_iar: must be a non-empty list of review types")


def test_every_recommendable_review_type_must_be_agreed_by_some_decision() -> None:
    doc = document("cspr-2018")
    doc["decisions"]["review_types"]["initiate_scr"] = ["serious_case_review"]
    _refused(doc, "no decision agrees with rapid_review, which this pack can recommend")


def test_bad_decision_deadlines_are_refused() -> None:
    cases = [
        ({"from": "notified_date"}, r"deadlines\[0\]\.from: a decision's deadline counts from decided_on"),
        ({"when": "statutory_test"}, r"deadlines\[0\]\.when: must be one of considered_for_scr or absent"),
        ({"add": {"weeks": 2}}, r"deadlines\[0\]\.add: unknown key\(s\) weeks"),
        ({"add": {"days": -1}}, r"deadlines\[0\]\.add\.days: must be a whole number"),
        ({"name": "chair_decision_due"}, "'chair_decision_due' is already a deadline of the recommendation"),
    ]
    for change, pattern in cases:
        doc = document()
        doc["decisions"]["deadlines"][0].update(change)
        _refused(doc, pattern)
    doc = document()
    doc["decisions"]["deadlines"].append(dict(doc["decisions"]["deadlines"][0]))
    _refused(doc, r"deadlines\[1\]\.name: duplicate deadline name 'panel_notice_due'")


def test_bad_methodology_sections_are_refused() -> None:
    doc = document()
    del doc["decisions"]["methodology"]["criteria"]["D4"]
    _refused(doc, r"methodology\.criteria: missing D4")
    doc = document()
    doc["decisions"]["methodology"]["precedence"][2]["any_of"].append("D7")
    _refused(doc, r"precedence\[2\]\.any_of: D7 is already in precedence\[0\]")
    doc = document()
    doc["decisions"]["methodology"]["precedence"][2]["any_of"].remove("D4")
    _refused(doc, r"methodology\.precedence: D4 in no step")
    doc = document()
    doc["decisions"]["methodology"]["precedence"][1]["any_of"] = ["D1", "D8"]
    _refused(doc, r"precedence\[1\]\.any_of\[1\]: unknown criterion 'D8'")
    doc = document()
    doc["decisions"]["methodology"]["precedence"][0]["methodology"] = "thorough"
    _refused(doc, r"precedence\[0\]\.methodology: unknown methodology 'thorough'")
    doc = document()
    doc["decisions"]["methodology"]["outranked"] = "Outranked: {child_name}."
    _refused(doc, r"methodology\.outranked: unknown placeholder \{child_name\}")
    doc = document()
    doc["decisions"]["methodology"]["otherwise"] = "intensive"
    _refused(doc, r"methodology\.otherwise: must be a JSON object")


def test_bad_independence_is_refused() -> None:
    doc = document()
    doc["decisions"]["independence"]["initiate_scr"] = "external"
    _refused(doc, r"independence\.initiate_scr: must be independent_of_board, internal_allowed or null")
    doc = document()
    del doc["decisions"]["independence"]["propose_forum"]
    _refused(doc, r"independence: missing propose_forum")


def test_a_bad_decisions_section_on_disk_names_the_pack_and_the_path(tmp_path: Path) -> None:
    doc = document() | {"name": "bad-pack"}
    doc["decisions"]["review_types"]["initiate_scr"] = ["scr"]
    (tmp_path / "bad-pack").mkdir()
    (tmp_path / "bad-pack" / "1.1.0.json").write_text(json.dumps(doc))
    with pytest.raises(PackError, match=r"rule pack bad-pack@1\.1\.0 \(.*\): pack\.decisions\.review_types"):
        decision_pack("bad-pack", root=tmp_path)
