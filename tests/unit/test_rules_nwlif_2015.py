"""The nwlif-2015 pack against rules.md section 1 (threshold, methodology hint, E rules) and T1."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from events.incidents import IncidentNotification
from services.decisioning.rules import assess, load_pack
from tests.samples import PLACES_OF_DEATH
from tests.samples import incident as sample_incident

PACK = load_pack("nwlif-2015", "1.0.0")
PLACES = PLACES_OF_DEATH


def notification(
    *,
    lscb: str = "MAN",
    home: str | None = None,
    incident: date = date(2016, 3, 1),
    notified: date = date(2016, 3, 10),
    **facts: Any,
) -> IncidentNotification:
    return sample_incident(lscb=lscb, home=home, incident_date=incident, notified_date=notified, **facts)


# ------------------------------------------------------------------------------------------ A rules


def test_a1_known_or_suspected_fires_alone_without_harm() -> None:
    for value in ("known", "suspected"):
        rec = assess(notification(abuse_or_neglect=value), PACK)
        assert rec.rules_fired == ["A1", "E5"]
        assert rec.review_type == "no_review"
        assert rec.statutory_scr is False
        assert rec.reasons[0] == f"A1: abuse or neglect of the child is {value}."


def test_a1_not_suspected_does_not_fire() -> None:
    rec = assess(notification(abuse_or_neglect="not_suspected"), PACK)
    assert "A1" not in rec.rules_fired


def test_a1_and_a2_death_is_an_scr_even_without_working_together_concern() -> None:
    rec = assess(notification(abuse_or_neglect="suspected", outcome="died", working_together_concern="no"), PACK)
    assert rec.review_type == "serious_case_review"
    assert rec.statutory_scr is True
    assert rec.methodology_hint == "intensive"
    assert rec.rules_fired == ["A1", "A2"]


def test_a2_death_without_abuse_or_neglect_is_not_an_scr() -> None:
    rec = assess(notification(outcome="died", working_together_concern="yes"), PACK)
    assert rec.statutory_scr is False
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["A2", "A4", "E5"]
    assert rec.methodology_hint is None


def test_a3_with_a4_is_an_scr() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="seriously_harmed", working_together_concern="yes"),
        PACK,
    )
    assert (rec.review_type, rec.statutory_scr, rec.methodology_hint) == (
        "serious_case_review",
        True,
        "intensive",
    )
    assert rec.rules_fired == ["A1", "A3", "A4"]


def test_a4_unclear_counts_as_concern() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="seriously_harmed", working_together_concern="unclear"),
        PACK,
    )
    assert rec.review_type == "serious_case_review"
    assert rec.rules_fired == ["A1", "A3", "A4"]
    assert "concern: unclear" in rec.reasons[2]


def test_a3_without_a4_is_not_an_scr() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="seriously_harmed", working_together_concern="no"),
        PACK,
    )
    assert rec.statutory_scr is False
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["A1", "A3", "E5"]


@pytest.mark.parametrize("place", PLACES)
def test_a5_death_in_custody_is_always_an_scr(place: str) -> None:
    rec = assess(notification(outcome="died", place_of_death=place), PACK)
    assert rec.review_type == "serious_case_review"
    assert rec.statutory_scr is True
    assert rec.rules_fired == ["A2", "A5", "D3"]
    assert rec.methodology_hint == "targeted"
    assert place.replace("_", " ") in rec.reasons[1]


# ------------------------------------------------------------------------------- D rules (the hint)


def test_d3_does_not_fire_when_a1_holds() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="died", place_of_death="remand"), PACK)
    assert rec.rules_fired == ["A1", "A2", "A5"]
    assert rec.methodology_hint == "intensive"


def test_d5_learning_already_identified_gives_targeted() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="died", learning_already_identified=True), PACK)
    assert rec.rules_fired == ["A1", "A2", "D5"]
    assert rec.methodology_hint == "targeted"
    assert rec.reasons[2].startswith("D5:")


def test_d5_from_learning_the_system_already_knows() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="died"),
        PACK,
        learning_already_known=["SCR Child K (2014)", "MACR Child L (2015)"],
    )
    assert rec.rules_fired == ["A1", "A2", "D5"]
    assert rec.methodology_hint == "targeted"
    assert "SCR Child K (2014); MACR Child L (2015)" in rec.reasons[3]


def test_d6_historical_gives_targeted() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="died", historical=True), PACK)
    assert rec.rules_fired == ["A1", "A2", "D6"]
    assert rec.methodology_hint == "targeted"


def test_several_d_rules_are_all_reported() -> None:
    rec = assess(
        notification(
            outcome="died", place_of_death="police_custody", historical=True, learning_already_identified=True
        ),
        PACK,
    )
    assert rec.rules_fired == ["A2", "A5", "D3", "D5", "D6"]
    assert rec.methodology_hint == "targeted"


def test_d_rules_are_not_reported_below_the_threshold() -> None:
    rec = assess(notification(historical=True, learning_already_identified=True), PACK)
    assert rec.rules_fired == ["E5"]
    assert rec.methodology_hint is None


# ------------------------------------------------------------------------------------------ E rules


def test_e1_macr() -> None:
    rec = assess(notification(abuse_or_neglect="suspected", outcome="harmed", working_together_concern="yes"), PACK)
    assert (rec.review_type, rec.statutory_scr, rec.methodology_hint) == (
        "multi_agency_concise_review",
        False,
        None,
    )
    assert rec.rules_fired == ["A1", "A4", "E1"]


def test_e1_needs_a_concern_beyond_one_agency() -> None:
    rec = assess(
        notification(
            abuse_or_neglect="known",
            outcome="harmed",
            working_together_concern="yes",
            practice_concern_single_agency=True,
        ),
        PACK,
    )
    assert rec.review_type == "individual_agency_review"
    assert rec.rules_fired == ["A1", "A4", "E3"]


def test_e2_embedding_review_lists_e1_before_e2() -> None:
    rec = assess(
        notification(
            abuse_or_neglect="known",
            outcome="harmed",
            working_together_concern="unclear",
            learning_already_identified=True,
        ),
        PACK,
    )
    assert rec.review_type == "embedding_review"
    assert rec.rules_fired == ["A1", "A4", "E1", "E2"]
    assert rec.statutory_scr is False


def test_e2_from_learning_the_system_already_knows() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="harmed", working_together_concern="yes"),
        PACK,
        learning_already_known=["Forum: neglect (2016)", "Forum: neglect (2016)"],
    )
    assert rec.review_type == "embedding_review"
    assert rec.rules_fired == ["A1", "A4", "E1", "E2"]
    assert rec.reasons[4] == (
        "LIF has found this learning already identified in earlier reviews (Forum: neglect (2016)), "
        "so it is treated as already identified."
    )
    assert len(rec.reasons) == 6


def test_learning_already_known_empty_list_changes_nothing() -> None:
    facts: dict[str, Any] = {
        "abuse_or_neglect": "known",
        "outcome": "harmed",
        "working_together_concern": "yes",
    }
    assert assess(notification(**facts), PACK, learning_already_known=[]) == assess(notification(**facts), PACK)


def test_learning_already_known_refuses_blank_names() -> None:
    with pytest.raises(ValueError, match="name each earlier review"):
        assess(notification(), PACK, learning_already_known=["  "])


def test_e1b_good_practice_where_harm_occurred() -> None:
    rec = assess(notification(outcome="harmed", good_practice=True), PACK)
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["E1b"]
    assert "good practice" in rec.reasons[-1]


def test_e1b_good_practice_where_harm_was_prevented() -> None:
    rec = assess(notification(abuse_or_neglect="suspected", outcome="not_harmed", good_practice=True), PACK)
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["A1", "E1b"]


def test_e1b_needs_harm_or_prevented_harm() -> None:
    rec = assess(notification(abuse_or_neglect="not_suspected", outcome="not_harmed", good_practice=True), PACK)
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["E5"]


def test_e2_does_not_apply_to_e1b() -> None:
    rec = assess(notification(outcome="harmed", good_practice=True, learning_already_identified=True), PACK)
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["E1b"]


def test_e3_iar() -> None:
    rec = assess(notification(outcome="harmed", practice_concern_single_agency=True), PACK)
    assert rec.review_type == "individual_agency_review"
    assert rec.rules_fired == ["E3"]
    assert rec.methodology_hint is None


def test_e3_needs_harm() -> None:
    rec = assess(notification(outcome="not_harmed", practice_concern_single_agency=True), PACK)
    assert rec.review_type == "no_review"


def test_e5_no_review() -> None:
    rec = assess(notification(), PACK)
    assert rec.review_type == "no_review"
    assert rec.statutory_scr is False
    assert rec.rules_fired == ["E5"]
    assert rec.reasons[0].startswith("E5:")


def test_forum_is_never_recommended() -> None:
    types = {
        assess(notification(**dict(zip(FACT_NAMES, values, strict=True))), PACK).review_type
        for values in _valid_combinations()
    }
    assert "multi_professional_forum" not in types
    assert "rapid_review" not in types
    assert types == {
        "serious_case_review",
        "embedding_review",
        "multi_agency_concise_review",
        "individual_agency_review",
        "no_review",
    }


# ------------------------------------------------------------------------------------------ precedence


def test_scr_wins_over_every_e_rule() -> None:
    rec = assess(
        notification(
            abuse_or_neglect="known",
            outcome="died",
            working_together_concern="yes",
            good_practice=True,
            practice_concern_single_agency=True,
        ),
        PACK,
    )
    assert rec.review_type == "serious_case_review"
    assert rec.rules_fired == ["A1", "A2", "A4"]


def test_e1_wins_over_e1b() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="harmed", working_together_concern="yes", good_practice=True),
        PACK,
    )
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["A1", "A4", "E1"]


def test_e2_wins_over_e1b() -> None:
    rec = assess(
        notification(
            abuse_or_neglect="known",
            outcome="harmed",
            working_together_concern="yes",
            good_practice=True,
            learning_already_identified=True,
        ),
        PACK,
    )
    assert rec.review_type == "embedding_review"
    assert rec.rules_fired == ["A1", "A4", "E1", "E2"]


def test_e1b_wins_over_e3() -> None:
    rec = assess(notification(outcome="harmed", good_practice=True, practice_concern_single_agency=True), PACK)
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["E1b"]


# --------------------------------------------------------------------------------- order and reasons


def test_rules_fired_follow_rules_md_order_and_reasons_follow_them() -> None:
    rec = assess(
        notification(
            outcome="died",
            place_of_death="secure_childrens_home",
            working_together_concern="unclear",
            historical=True,
            learning_already_identified=True,
        ),
        PACK,
    )
    assert rec.rules_fired == ["A2", "A4", "A5", "D3", "D5", "D6"]
    assert len(rec.reasons) == len(rec.rules_fired) + 1
    for rule, reason in zip(rec.rules_fired, rec.reasons, strict=False):
        assert reason.startswith(f"{rule}: ")
    assert rec.reasons[-1].startswith("Recommendation: a Serious Case Review")
    assert "suggested methodology: targeted" in rec.reasons[-1]


def test_reasons_name_the_home_board_when_the_child_lives_elsewhere() -> None:
    rec = assess(notification(lscb="MAN", home="LIV", abuse_or_neglect="known", outcome="died"), PACK)
    assert rec.reasons[-1] == (
        "The child normally lives in the area of another board, LIV: the decision belongs to LIV, "
        "the board where the child normally lives, not to MAN."
    )
    assert len(rec.reasons) == len(rec.rules_fired) + 2


def test_no_home_board_sentence_when_the_child_lives_in_the_area() -> None:
    rec = assess(notification(lscb="MAN", home="MAN"), PACK)
    assert not any("normally lives" in reason for reason in rec.reasons)


def test_pack_identity_is_recorded() -> None:
    rec = assess(notification(), PACK)
    assert (rec.rule_pack, rec.rule_pack_version) == ("nwlif-2015", "1.0.0")


def test_assess_is_deterministic() -> None:
    incident = notification(abuse_or_neglect="suspected", outcome="harmed", working_together_concern="yes")
    assert assess(incident, PACK) == assess(incident, PACK)
    assert assess(incident, PACK).model_dump_json() == assess(incident, PACK).model_dump_json()


def test_assess_chooses_nwlif_by_incident_date() -> None:
    rec = assess(notification(incident=date(2018, 6, 28), notified=date(2018, 7, 2)))
    assert rec.rule_pack == "nwlif-2015"
    assert rec.deadlines == {"chair_decision_due": date(2018, 8, 2)}


# ------------------------------------------------------------------------------------------------- T1


@pytest.mark.parametrize(
    ("notified", "due"),
    [
        (date(2015, 3, 10), date(2015, 4, 10)),
        (date(2015, 1, 31), date(2015, 2, 28)),
        (date(2016, 1, 31), date(2016, 2, 29)),
        (date(2016, 1, 30), date(2016, 2, 29)),
        (date(2015, 3, 31), date(2015, 4, 30)),
        (date(2015, 12, 15), date(2016, 1, 15)),
        (date(2017, 12, 31), date(2018, 1, 31)),
    ],
)
def test_t1_chair_decision_due_one_calendar_month_clamped(notified: date, due: date) -> None:
    rec = assess(notification(incident=date(2015, 1, 1), notified=notified), PACK)
    assert rec.deadlines == {"chair_decision_due": due}


def test_t1_is_present_whatever_the_recommendation() -> None:
    for facts in (
        {},
        {"abuse_or_neglect": "known", "outcome": "died"},
        {"outcome": "harmed", "good_practice": True},
    ):
        rec = assess(notification(notified=date(2016, 8, 31), **facts), PACK)
        assert rec.deadlines == {"chair_decision_due": date(2016, 9, 30)}


# ------------------------------------------------------------- every combination against rules.md


FACT_NAMES = [
    "abuse_or_neglect",
    "outcome",
    "working_together_concern",
    "place_of_death",
    "practice_concern_single_agency",
    "good_practice",
    "historical",
    "learning_already_identified",
]


def _valid_combinations() -> list[tuple[Any, ...]]:
    combos = itertools.product(
        ["known", "suspected", "not_suspected"],
        ["died", "seriously_harmed", "harmed", "not_harmed"],
        ["yes", "no", "unclear"],
        [None, *PLACES],
        [False, True],
        [False, True],
        [False, True],
        [False, True],
    )
    return [c for c in combos if c[3] is None or c[1] == "died"]


def _expected(f: dict[str, Any]) -> tuple[str, bool, str | None, list[str]]:
    """rules.md section 1 written out by hand, independently of the pack."""
    a1 = f["abuse_or_neglect"] in ("known", "suspected")
    a2 = f["outcome"] == "died"
    a3 = f["outcome"] == "seriously_harmed"
    a4 = f["working_together_concern"] != "no"
    a5 = f["place_of_death"] is not None
    fired = [rule for rule, held in (("A1", a1), ("A2", a2), ("A3", a3), ("A4", a4), ("A5", a5)) if held]
    if a5 or (a1 and (a2 or (a3 and a4))):
        d = [
            r
            for r, h in (
                ("D3", a5 and not a1),
                ("D5", f["learning_already_identified"]),
                ("D6", f["historical"]),
            )
            if h
        ]
        return "serious_case_review", True, "targeted" if d else "intensive", fired + d
    harmed = f["outcome"] != "not_harmed"
    if a1 and harmed and a4 and not f["practice_concern_single_agency"]:
        if f["learning_already_identified"]:
            return "embedding_review", False, None, [*fired, "E1", "E2"]
        return "multi_agency_concise_review", False, None, [*fired, "E1"]
    if f["good_practice"] and (harmed or a1):
        return "multi_agency_concise_review", False, None, [*fired, "E1b"]
    if harmed and f["practice_concern_single_agency"]:
        return "individual_agency_review", False, None, [*fired, "E3"]
    return "no_review", False, None, [*fired, "E5"]


def test_every_combination_of_facts_matches_rules_md() -> None:
    combos = _valid_combinations()
    assert len(combos) == 3 * 11 * 3 * 16
    for values in combos:
        facts = dict(zip(FACT_NAMES, values, strict=True))
        rec = assess(notification(**facts), PACK)
        got = (rec.review_type, rec.statutory_scr, rec.methodology_hint, rec.rules_fired)
        assert got == _expected(facts), facts
        assert len(rec.reasons) == len(rec.rules_fired) + 1
