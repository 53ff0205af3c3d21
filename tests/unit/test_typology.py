"""Typologies of learning characteristics (rules.md section 6): loading, checking themes, each board's choice."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from lif.typology import (
    DEFAULT_DIR,
    DEFAULT_TYPOLOGY,
    Typology,
    TypologyError,
    TypologyNotFound,
    available_typologies,
    board_typology,
    load_typology,
)

SCIE_THEMES = [
    "human_tool_operation",
    "management_systems",
    "multi_agency_incidents_and_crises",
    "multi_agency_longer_term_work",
    "family_professional_interaction",
    "human_judgement",
]


def scie_document() -> dict[str, Any]:
    return json.loads((DEFAULT_DIR / "scie-learning-together" / "1.json").read_text())


def write(root: Path, name: str, version: str, document: object) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (root / name / f"{version}.json").write_text(text)


def test_the_default_is_scie_learning_together_with_its_six_pattern_types() -> None:
    typology = load_typology(DEFAULT_TYPOLOGY)
    assert (typology.name, typology.version, typology.ref) == ("scie-learning-together", "1", DEFAULT_TYPOLOGY)
    assert list(typology.themes) == SCIE_THEMES
    assert typology.themes["multi_agency_incidents_and_crises"] == (
        "Multi-agency working in response to incidents and crises"
    )
    assert "Learning Together" in typology.title
    assert typology.source
    assert available_typologies() == {"national-panel-practice-themes": ["1"], "scie-learning-together": ["1"]}


def test_check_returns_the_unknown_theme_ids_in_order_once() -> None:
    typology = load_typology(DEFAULT_TYPOLOGY)
    assert typology.check(["human_judgement", "management_systems"]) == []
    assert typology.check([]) == []
    assert typology.check(["poverty", "human_judgement", "Human_judgement", "poverty"]) == [
        "poverty",
        "Human_judgement",
    ]


def test_a_typology_is_immutable() -> None:
    typology = load_typology(DEFAULT_TYPOLOGY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        typology.version = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        typology.themes["poverty"] = "Poverty"  # type: ignore[index]


def test_a_typology_can_be_built_directly() -> None:
    typology = Typology("local", "2", {"a": "A"})
    assert typology.check(["a", "b"]) == ["b"]
    assert typology.ref == "local/2"


def test_an_unknown_reference_lists_what_is_configured() -> None:
    listed = r"configured: national-panel-practice-themes/1, scie-learning-together/1"
    with pytest.raises(TypologyNotFound, match=r"no typology 'scie-learning-together/9' .*" + listed):
        load_typology("scie-learning-together/9")
    with pytest.raises(TypologyNotFound, match="no typology 'local-themes/1'"):
        load_typology("local-themes/1")


@pytest.mark.parametrize(
    "ref", ["scie-learning-together", "", "/1", "../config/1", "scie-learning-together/../1", "A/1"]
)
def test_a_malformed_reference_is_refused(ref: str) -> None:
    with pytest.raises(TypologyError, match="must be 'name/version'"):
        load_typology(ref)


def test_the_folder_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "local-themes", "2", {**scie_document(), "name": "local-themes", "version": "2"})
    monkeypatch.setenv("LIF_TYPOLOGIES_DIR", str(tmp_path))
    assert load_typology("local-themes/2").ref == "local-themes/2"
    assert available_typologies() == {"local-themes": ["2"]}
    with pytest.raises(TypologyNotFound, match="configured: local-themes/2"):
        load_typology(DEFAULT_TYPOLOGY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "other"}, r"name and version must match the path \(bad-themes/1\)"),
        ({"version": "2"}, "name and version must match the path"),
        ({"format": 2}, "format must be 1"),
        ({"colour": "red"}, r"unknown key\(s\) colour"),
        ({"themes": []}, "themes must be a non-empty list"),
        ({"themes": [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]}, r"themes\[1\]\.id 'a' is a duplicate"),
        ({"themes": [{"id": "Bad Id", "label": "A"}]}, r"themes\[0\]\.id 'Bad Id' must be lowercase_with_underscores"),
        ({"themes": [{"id": "a", "label": ""}]}, r"themes\[0\]\.label must be a non-empty string"),
        ({"themes": [{"id": "a"}]}, r"themes\[0\] must be an object with exactly id and label"),
        ({"title": ""}, "title must be a non-empty string"),
    ],
)
def test_a_bad_file_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], message: str
) -> None:
    write(tmp_path, "bad-themes", "1", {**scie_document(), "name": "bad-themes", "version": "1", **change})
    monkeypatch.setenv("LIF_TYPOLOGIES_DIR", str(tmp_path))
    with pytest.raises(TypologyError, match=r"typology bad-themes/1 \(.*1\.json\): " + message):
        load_typology("bad-themes/1")


def test_a_file_that_is_not_json_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "bad-themes", "1", "{not json")
    monkeypatch.setenv("LIF_TYPOLOGIES_DIR", str(tmp_path))
    with pytest.raises(TypologyError, match="not valid JSON"):
        load_typology("bad-themes/1")


def test_board_typology_is_the_boards_choice_or_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typologies = tmp_path / "typologies"
    write(typologies, "scie-learning-together", "1", scie_document())
    write(typologies, "local-themes", "2", {**scie_document(), "name": "local-themes", "version": "2"})
    boards = tmp_path / "boards.json"
    boards.write_text(
        json.dumps(
            {
                "boards": [
                    {"code": "MAN", "name": "Manchester", "typology": "local-themes/2"},
                    {"code": "LIV", "name": "Liverpool", "typology": None},
                    {"code": "BOL", "name": "Bolton"},
                    {"code": "WGN", "name": "Wigan", "typology": "missing-themes/1"},
                ]
            }
        )
    )
    monkeypatch.setenv("LIF_BOARDS_FILE", str(boards))
    monkeypatch.setenv("LIF_TYPOLOGIES_DIR", str(typologies))
    assert board_typology("MAN").ref == "local-themes/2"
    assert board_typology("LIV").ref == DEFAULT_TYPOLOGY
    assert board_typology("BOL").ref == DEFAULT_TYPOLOGY
    assert board_typology("ZZZ").ref == DEFAULT_TYPOLOGY
    with pytest.raises(TypologyNotFound, match="no typology 'missing-themes/1'"):
        board_typology("WGN")


def test_every_default_board_uses_the_regional_default() -> None:
    assert board_typology("BOL") == load_typology(DEFAULT_TYPOLOGY)
