"""Rule packs: every published version loads and never changes, choosing and pinning, refusal of bad packs."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from events.incidents import IncidentNotification
from services.decisioning.rules import (
    PackError,
    PackNotFound,
    RulePack,
    assess,
    available_packs,
    choose_pack,
    load_pack,
    parse_pack,
)
from services.decisioning.rules.packs import PACKS_DIR

PUBLISHED = {
    "nwlif-2015/1.0.0.json": "636eac1e078f7a2bf7eb1da9856fbae08bbe85a79f8705f387ff8ce864dcfaa9",
    "cspr-2018/1.0.0.json": "9e9e17b031b0d1ce814ad01a7af5136d95b840796791c2e6bd056e34aff57161",
    "nwlif-2015/1.1.0.json": "f4e4931d0bab0326a530d2c885eac05252e00fa547fae3a18468a826a34d9038",
    "cspr-2018/1.1.0.json": "003fa06f536d2593e9f01dfee5c9e51ef80f097a32774b4e6765e4b2a9a59d05",
}
"""Every pack version ever published and its checksum: add a line when publishing; never edit a line."""


def nwlif_document() -> dict[str, Any]:
    """A fresh, mutable copy of a valid pack document to break in one place per test."""
    return json.loads((PACKS_DIR / "nwlif-2015" / "1.0.0.json").read_text())


def rule(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in document["rules"] if r["id"] == rule_id)


# ------------------------------------------------------------------------------ published versions


def test_available_packs_lists_both_regimes() -> None:
    assert available_packs() == {"cspr-2018": ["1.0.0", "1.1.0"], "nwlif-2015": ["1.0.0", "1.1.0"]}


def test_every_published_version_loads() -> None:
    listed = {f"{name}/{version}.json" for name, versions in available_packs().items() for version in versions}
    assert listed == set(PUBLISHED)
    for name, versions in available_packs().items():
        for version in versions:
            pack = load_pack(name, version)
            assert isinstance(pack, RulePack)
            assert (pack.name, pack.version) == (name, version)
            assert pack.ref == f"{name}@{version}"


def test_published_versions_are_never_edited() -> None:
    on_disk = {str(p.relative_to(PACKS_DIR)): p for p in PACKS_DIR.glob("*/*.json")}
    assert set(on_disk) == set(PUBLISHED)
    for relative, digest in PUBLISHED.items():
        assert hashlib.sha256(on_disk[relative].read_bytes()).hexdigest() == digest, (
            f"{relative} was changed after publishing: publish a new version instead"
        )


def test_latest_version_when_none_given() -> None:
    assert load_pack("nwlif-2015").version == available_packs()["nwlif-2015"][-1]


@pytest.mark.parametrize("name", ["nwlif-2015", "cspr-2018"])
def test_version_1_1_0_keeps_the_threshold_content_of_1_0_0(name: str) -> None:
    old, new = load_pack(name, "1.0.0"), load_pack(name, "1.1.0")
    assert old.decisions is None
    assert new.decisions is not None
    assert new.notes[: len(old.notes)] == old.notes
    assert dataclasses.replace(new, version=old.version, notes=old.notes, decisions=None) == old


def test_a_pack_with_or_without_a_decisions_section_loads() -> None:
    document = nwlif_document()
    assert "decisions" not in document
    assert parse_pack(document).decisions is None
    with_section = json.loads((PACKS_DIR / "nwlif-2015" / "1.1.0.json").read_text())
    assert parse_pack(with_section).decisions is not None


def test_versions_sort_numerically(tmp_path: Path) -> None:
    for version in ("1.2.0", "1.10.0", "1.9.3"):
        document = nwlif_document() | {"name": "demo-pack", "version": version}
        (tmp_path / "demo-pack").mkdir(exist_ok=True)
        (tmp_path / "demo-pack" / f"{version}.json").write_text(json.dumps(document))
    assert available_packs(root=tmp_path) == {"demo-pack": ["1.2.0", "1.9.3", "1.10.0"]}
    assert load_pack("demo-pack", root=tmp_path).version == "1.10.0"


def test_pack_contents_are_data() -> None:
    pack = load_pack("nwlif-2015", "1.0.0")
    assert pack.rule_ids == ("A1", "A2", "A3", "A4", "A5", "D3", "D5", "D6", "E1", "E2", "E1b", "E3", "E5")
    assert pack.effective_from == date(2013, 6, 1)
    assert pack.effective_until == date(2018, 6, 28)
    assert [d.name for d in pack.deadlines] == ["chair_decision_due"]
    assert pack.rules[0].reason.startswith("A1:")
    cspr = load_pack("cspr-2018", "1.0.0")
    assert cspr.effective_from == date(2018, 6, 29)
    assert cspr.effective_until is None
    assert [d.name for d in cspr.deadlines] == ["panel_notification_due", "rapid_review_due"]


def test_rule_pack_is_immutable() -> None:
    pack = load_pack("nwlif-2015", "1.0.0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pack.version = "9.9.9"  # type: ignore[misc]
    with pytest.raises(TypeError):
        pack.sentences["home_board"] = "changed"  # type: ignore[index]


def test_unknown_pack_or_version_is_not_found() -> None:
    with pytest.raises(PackNotFound, match="no rule pack 'nwlif-2099'"):
        load_pack("nwlif-2099")
    with pytest.raises(PackNotFound, match=r"has no version '2\.0\.0'"):
        load_pack("nwlif-2015", "2.0.0")
    with pytest.raises(PackNotFound, match="not a valid name"):
        load_pack("../nwlif-2015")


# ------------------------------------------------------------------------------------ choosing


@pytest.mark.parametrize(
    ("incident", "name"),
    [
        (date(2010, 5, 1), "nwlif-2015"),
        (date(2015, 4, 1), "nwlif-2015"),
        (date(2018, 6, 28), "nwlif-2015"),
        (date(2018, 6, 29), "cspr-2018"),
        (date(2018, 6, 30), "cspr-2018"),
        (date(2024, 1, 1), "cspr-2018"),
    ],
)
def test_choose_pack_by_incident_date(incident: date, name: str) -> None:
    assert choose_pack(incident).ref == f"{name}@1.1.0"  # the newest version of the regime's pack


def test_board_pin_overrides_the_date() -> None:
    assert choose_pack(date(2019, 1, 1), "nwlif-2015").ref == "nwlif-2015@1.1.0"
    assert choose_pack(date(2019, 1, 1), "nwlif-2015@1.0.0").ref == "nwlif-2015@1.0.0"
    assert choose_pack(date(2016, 1, 1), "cspr-2018@1.0.0").ref == "cspr-2018@1.0.0"
    with pytest.raises(PackNotFound):
        choose_pack(date(2016, 1, 1), "cspr-2018@0.9.0")
    with pytest.raises(PackNotFound):
        choose_pack(date(2016, 1, 1), "scr-1999")


def test_pack_only_for_pinning_is_not_chosen_by_date(tmp_path: Path) -> None:
    for name in ("nwlif-2015", "cspr-2018"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.0.0.json").write_text((PACKS_DIR / name / "1.0.0.json").read_text())
    special = nwlif_document() | {
        "name": "lancs-pilot",
        "effective_from": "2017-01-01",
        "chosen_by_date": False,
    }
    (tmp_path / "lancs-pilot").mkdir()
    (tmp_path / "lancs-pilot" / "1.0.0.json").write_text(json.dumps(special))
    assert choose_pack(date(2017, 6, 1), root=tmp_path).name == "nwlif-2015"
    assert choose_pack(date(2017, 6, 1), "lancs-pilot", root=tmp_path).name == "lancs-pilot"


def _incident(lscb: str, incident: date) -> IncidentNotification:
    return IncidentNotification.model_validate(
        {
            "lscb": lscb,
            "source": {"system": "test", "reference": "ref-3"},
            "notifying_agency": "health",
            "child": {"subject_ref": "S-3", "age_years": 3, "normally_resident_lscb": lscb},
            "incident_date": incident,
            "notified_date": incident,
            "summary": "test incident",
            "facts": {
                "abuse_or_neglect": "known",
                "outcome": "died",
                "working_together_concern": "yes",
                "practice_concern_single_agency": False,
                "good_practice": False,
                "historical": False,
            },
        }
    )


def test_assess_uses_the_boards_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boards = tmp_path / "boards.json"
    boards.write_text(
        json.dumps(
            {
                "boards": [
                    {"code": "MAN", "name": "Manchester", "rule_pack": "nwlif-2015@1.0.0"},
                    {"code": "LIV", "name": "Liverpool", "rule_pack": None},
                ]
            }
        )
    )
    monkeypatch.setenv("LIF_BOARDS_FILE", str(boards))
    pinned = assess(_incident("MAN", date(2019, 3, 1)))
    assert (pinned.rule_pack, pinned.rule_pack_version, pinned.review_type) == (
        "nwlif-2015",
        "1.0.0",
        "serious_case_review",
    )
    assert pinned.deadlines == {"chair_decision_due": date(2019, 4, 1)}
    by_date = assess(_incident("LIV", date(2019, 3, 1)))
    assert (by_date.rule_pack, by_date.review_type) == ("cspr-2018", "rapid_review")
    unregistered = assess(_incident("ZZZ", date(2017, 3, 1)))
    assert unregistered.rule_pack == "nwlif-2015"


def test_assess_with_the_default_registry_chooses_by_date() -> None:
    before = assess(_incident("BOL", date(2018, 6, 28)))
    assert (before.rule_pack, before.rule_pack_version) == ("nwlif-2015", "1.1.0")
    after = assess(_incident("BOL", date(2018, 6, 29)))
    assert (after.rule_pack, after.rule_pack_version) == ("cspr-2018", "1.1.0")


# -------------------------------------------------------------------------------- refused on load


def test_the_unmodified_document_is_valid() -> None:
    assert parse_pack(nwlif_document()).ref == "nwlif-2015@1.0.0"


def test_unknown_fact_is_refused() -> None:
    document = nwlif_document()
    rule(document, "A1")["when"] = {"fact": "abuse", "in": ["known"]}
    with pytest.raises(
        PackError, match=r"pack\.rules\[A1\]\.when: unknown fact 'abuse' \(known facts: abuse_or_neglect"
    ):
        parse_pack(document)


def test_unknown_operator_is_refused() -> None:
    document = nwlif_document()
    rule(document, "A2")["when"] = {"fact": "outcome", "equals": "died"}
    with pytest.raises(PackError, match=r"pack\.rules\[A2\]\.when: unknown operator 'equals'"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "E1")["when"] = {"xor": [{"rule": "A1"}, {"rule": "A2"}]}
    with pytest.raises(PackError, match=r"pack\.rules\[E1\]\.when: unknown operator 'xor'"):
        parse_pack(document)


def test_value_a_fact_cannot_take_is_refused() -> None:
    document = nwlif_document()
    rule(document, "A2")["when"] = {"fact": "outcome", "is": "dead"}
    with pytest.raises(PackError, match=r"\.is: fact 'outcome' cannot be 'dead' \(possible values:"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "D6")["when"] = {"fact": "historical", "is": "true"}
    with pytest.raises(PackError, match="fact 'historical' cannot be 'true'"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "D6")["when"] = {"fact": "historical", "is": 1}
    with pytest.raises(PackError, match="fact 'historical' cannot be 1"):
        parse_pack(document)


def test_malformed_fact_tests_are_refused() -> None:
    document = nwlif_document()
    rule(document, "A2")["when"] = {"fact": "outcome", "is": "died", "in": ["died"]}
    with pytest.raises(PackError, match="exactly one of 'is' or 'in'"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "A2")["when"] = {"fact": "outcome", "in": []}
    with pytest.raises(PackError, match="non-empty list"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "A2")["when"] = "outcome == 'died'"
    with pytest.raises(PackError, match="a condition must be a JSON object"):
        parse_pack(document)


def test_unknown_rule_reference_is_refused() -> None:
    document = nwlif_document()
    rule(document, "E2")["when"] = {"all": [{"rule": "E9"}]}
    with pytest.raises(PackError, match=r"pack\.rules\[E2\]\.when: refers to unknown rule 'E9'"):
        parse_pack(document)


def test_reference_loop_is_refused() -> None:
    document = nwlif_document()
    rule(document, "A1")["when"] = {"rule": "E1"}
    with pytest.raises(PackError, match="loop: A1 -> E1 -> A1"):
        parse_pack(document)


def test_duplicate_rule_id_is_refused() -> None:
    document = nwlif_document()
    document["rules"].append(copy.deepcopy(rule(document, "A1")))
    with pytest.raises(PackError, match=r"pack\.rules\[A1\]: duplicate rule id"):
        parse_pack(document)


def test_unknown_review_type_is_refused() -> None:
    document = nwlif_document()
    document["decision"][0]["review_type"] = "serious_review"
    with pytest.raises(PackError, match="unknown review type 'serious_review'"):
        parse_pack(document)


def test_unknown_methodology_hint_is_refused() -> None:
    document = nwlif_document()
    document["decision"][0]["methodology"]["otherwise"] = "thorough"
    with pytest.raises(PackError, match="unknown methodology hint 'thorough'"):
        parse_pack(document)


def test_a_decision_that_can_fall_off_the_end_is_refused() -> None:
    document = nwlif_document()
    document["decision"].pop()
    with pytest.raises(PackError, match="no step applies to the facts"):
        parse_pack(document)


def test_typos_in_keys_are_refused() -> None:
    document = nwlif_document()
    rule(document, "A3")["reasons"] = rule(document, "A3").pop("reason")
    with pytest.raises(PackError, match=r"pack\.rules\[2\]: missing reason"):
        parse_pack(document)
    document = nwlif_document()
    document["decision"][1]["statutory"] = False
    with pytest.raises(PackError, match=r"pack\.decision\[1\]: unknown key\(s\) statutory"):
        parse_pack(document)


def test_unknown_placeholder_in_a_sentence_is_refused() -> None:
    document = nwlif_document()
    rule(document, "A2")["reason"] = "A2: {child_name} has died."
    with pytest.raises(PackError, match=r"unknown placeholder \{child_name\}"):
        parse_pack(document)
    document = nwlif_document()
    rule(document, "A2")["reason"] = "A2: {0.__class__} has died."
    with pytest.raises(PackError, match="a brace that is not a"):
        parse_pack(document)


def test_bad_deadlines_are_refused() -> None:
    document = nwlif_document()
    document["deadlines"][0]["add"] = {"weeks": 4}
    with pytest.raises(PackError, match=r"pack\.deadlines\[0\]\.add: unknown key\(s\) weeks"):
        parse_pack(document)
    document = nwlif_document()
    document["deadlines"][0]["add"] = {"months": 1, "days": 2}
    with pytest.raises(PackError, match="exactly one of"):
        parse_pack(document)
    document = nwlif_document()
    document["deadlines"][0]["from"] = "decided_date"
    with pytest.raises(PackError, match="must be one of notified_date, incident_date"):
        parse_pack(document)


def test_identity_must_match_the_file(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="does not match its folder"):
        parse_pack(nwlif_document(), expected_name="cspr-2018")
    with pytest.raises(PackError, match=r"MAJOR\.MINOR\.PATCH"):
        parse_pack(nwlif_document() | {"version": "1.0"})
    with pytest.raises(PackError, match="this engine reads format 1"):
        parse_pack(nwlif_document() | {"format": 2})
    with pytest.raises(PackError, match="effective_until: is before effective_from"):
        parse_pack(nwlif_document() | {"effective_until": "2012-01-01"})


def test_a_bad_pack_file_is_refused_on_load_with_its_name_and_path(tmp_path: Path) -> None:
    document = nwlif_document() | {"name": "bad-pack"}
    rule(document, "A1")["when"] = {"fact": "abuse_or_neglect", "in": ["maybe"]}
    (tmp_path / "bad-pack").mkdir()
    (tmp_path / "bad-pack" / "1.0.0.json").write_text(json.dumps(document))
    with pytest.raises(PackError, match=r"rule pack bad-pack@1\.0\.0 \(.*1\.0\.0\.json\): pack\.rules\[A1\]") as error:
        load_pack("bad-pack", root=tmp_path)
    assert "cannot be 'maybe'" in str(error.value)

    (tmp_path / "bad-pack" / "1.0.1.json").write_text("{not json")
    with pytest.raises(PackError, match="not valid JSON"):
        load_pack("bad-pack", root=tmp_path)

    (tmp_path / "bad-pack" / "1.0.2.json").write_text(json.dumps(nwlif_document()))
    with pytest.raises(PackError, match="'nwlif-2015' does not match its folder 'bad-pack'"):
        load_pack("bad-pack", "1.0.2", root=tmp_path)


def test_the_readme_describes_the_format() -> None:
    text = (PACKS_DIR / "README.md").read_text()
    for word in ("format", "always_report", "decision", "deadlines", "never edited", "decisions", "independence"):
        assert word in text
