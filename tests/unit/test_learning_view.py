"""What a reader outside a learning source's board sees of it (lif.learning_view)."""

from __future__ import annotations

from datetime import date

from lif.learning_view import described, outside_view, recommendation_for, sees_in_full


def test_a_source_outside_its_board_has_no_identifiers_and_the_month_only() -> None:
    source = {
        "lscb": "BOL",
        "board": "Bolton",
        "case_id": "c-1",
        "review_id": "r-1",
        "reference": "BOL-MACR-2015-01",
        "incident_month": "2015-03",
        "learning": {"title": "MACR", "summary": {"review_reference_code": "BOL-MACR-2015-01", "x": 1}},
    }
    seen = outside_view(source)
    assert "BOL-MACR-2015-01" not in repr(seen) and "c-1" not in repr(seen) and "r-1" not in repr(seen)
    assert seen["board"] == "Bolton" and seen["incident_month"] == "2015-03"
    assert seen["learning"]["summary"] == {"x": 1}
    assert sees_in_full("BOL", "BOL") and not sees_in_full("WGN", "BOL") and not sees_in_full(None, "BOL")


def test_another_boards_source_is_described_by_board_kind_and_month() -> None:
    assert described("BOL", "review", "macr", date(2015, 8, 12)) == "Bolton's MACR closed 2015-08"
    assert described("MAN", "audit", None, date(2015, 7, 1)) == "Manchester's multi-case audit completed 2015-07"
    assert described("BOL", "legacy_review", None, date(2014, 1, 2)) == "Bolton's review closed 2014-01"


def test_recorded_reasons_naming_other_boards_codes_are_shown_without_them() -> None:
    """Recommendations recorded before descriptions were carry the codes: read, they no longer show them."""
    recorded = {
        "reasons": [
            "E2: the learning from this case has already been identified in earlier reviews.",
            "LIF has found this learning already identified in earlier reviews (WGN-SCR-2014-02; BOL-MACR-2015-01; "
            "MAN-MACR-2015-01; Bolton's SCR closed 2015-09), so it is treated as already identified.",
        ],
        "repeat_learning": {
            "themes": ["human_judgement"],
            "earlier_reviews": [
                "WGN-SCR-2014-02",
                "BOL-MACR-2015-01",
                "MAN-MACR-2015-01",
                "Bolton's SCR closed 2015-09",
            ],
        },
    }
    seen = recommendation_for(recorded, "WGN")
    assert seen["repeat_learning"]["earlier_reviews"] == [
        "WGN-SCR-2014-02",
        "an earlier review of Bolton",
        "an earlier review of Manchester",
        "Bolton's SCR closed 2015-09",
    ]
    text = " ".join(seen["reasons"])
    assert "BOL-MACR" not in text and "MAN-MACR" not in text and "WGN-SCR-2014-02" in text
    assert recommendation_for(recorded, "BOL")["repeat_learning"]["earlier_reviews"][1] == "BOL-MACR-2015-01"
    assert recommendation_for({"reasons": ["x"], "repeat_learning": None}, "WGN") == {
        "reasons": ["x"],
        "repeat_learning": None,
    }


def test_held_themes_keep_their_typology_and_match_through_the_crosswalk() -> None:
    from services.decisioning.learning_register import _own_themes, equivalents

    # A row recorded before tags were kept: its crosswalked National Panel code under SCIE's name is dropped.
    old = [
        {"typology": "scie-learning-together", "version": "1", "code": "human_judgement"},
        {"typology": "scie-learning-together", "version": "1", "code": "babies"},
    ]
    assert [(t.typology, t.code) for t in _own_themes(old)] == [("scie-learning-together", "human_judgement")]
    same = equivalents("national-panel-practice-themes", "babies")
    assert ("scie-learning-together", "human_judgement") in same
    assert ("scie-learning-together", "babies") not in same
