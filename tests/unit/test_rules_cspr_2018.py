"""The cspr-2018 pack against rules.md section 7: serious child safeguarding cases and their deadlines."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from events.incidents import IncidentNotification
from services.decisioning.rules import assess, load_pack
from tests.samples import PLACES_OF_DEATH
from tests.samples import incident as sample_incident

PACK = load_pack("cspr-2018", "1.0.0")


def notification(
    *,
    lscb: str = "LIV",
    home: str | None = None,
    incident: date = date(2019, 4, 1),
    notified: date = date(2019, 4, 18),
    **facts: Any,
) -> IncidentNotification:
    return sample_incident(lscb=lscb, home=home, incident_date=incident, notified_date=notified, **facts)


# ------------------------------------------------------------------ serious child safeguarding case


def test_death_with_abuse_is_a_rapid_review_with_both_deadlines() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="died"), PACK)
    assert rec.review_type == "rapid_review"
    assert rec.statutory_scr is True
    assert rec.methodology_hint is None
    assert rec.rules_fired == ["A1", "A2"]
    # Thursday 18 April 2019; Good Friday 19, Easter Monday 22 April and 6 May are bank holidays.
    assert rec.deadlines == {
        "panel_notification_due": date(2019, 4, 29),
        "rapid_review_due": date(2019, 5, 14),
    }
    assert (rec.rule_pack, rec.rule_pack_version) == ("cspr-2018", "1.0.0")


def test_serious_harm_needs_no_working_together_concern_under_2018() -> None:
    rec = assess(
        notification(abuse_or_neglect="suspected", outcome="seriously_harmed", working_together_concern="no"),
        PACK,
    )
    assert rec.review_type == "rapid_review"
    assert rec.rules_fired == ["A1", "A3"]


def test_a4_is_reported_but_not_needed() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="seriously_harmed", working_together_concern="unclear"),
        PACK,
    )
    assert rec.review_type == "rapid_review"
    assert rec.rules_fired == ["A1", "A3", "A4"]


def test_rapid_review_has_no_methodology_hint_even_when_d_facts_hold() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="died", historical=True, learning_already_identified=True),
        PACK,
    )
    assert rec.review_type == "rapid_review"
    assert rec.methodology_hint is None
    assert rec.rules_fired == ["A1", "A2"]


def test_custody_death_with_abuse_is_a_rapid_review() -> None:
    rec = assess(notification(abuse_or_neglect="suspected", outcome="died", place_of_death="police_custody"), PACK)
    assert rec.review_type == "rapid_review"
    assert rec.rules_fired == ["A1", "A2", "A5"]


def test_custody_death_without_abuse_is_not_a_serious_case_under_2018() -> None:
    rec = assess(notification(outcome="died", place_of_death="young_offender_institution"), PACK)
    assert rec.statutory_scr is False
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["A2", "A5", "E5"]
    assert rec.deadlines == {}


def test_harm_without_serious_harm_is_not_a_serious_case() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="harmed", working_together_concern="no"), PACK)
    assert rec.statutory_scr is False
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["A1", "E5"]


# ------------------------------------------------------------------------- E rules below the threshold


def test_e1_macr_below_the_threshold_has_no_deadlines() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="harmed", working_together_concern="yes"), PACK)
    assert (rec.review_type, rec.statutory_scr, rec.methodology_hint) == (
        "multi_agency_concise_review",
        False,
        None,
    )
    assert rec.rules_fired == ["A1", "A4", "E1"]
    assert rec.deadlines == {}


def test_e2_embedding_review() -> None:
    rec = assess(
        notification(abuse_or_neglect="known", outcome="harmed", working_together_concern="yes"),
        PACK,
        learning_already_known=["CSPR Child M (2019)"],
    )
    assert rec.review_type == "embedding_review"
    assert rec.rules_fired == ["A1", "A4", "E1", "E2"]
    assert any("CSPR Child M (2019)" in reason for reason in rec.reasons)


def test_e1b_good_practice() -> None:
    rec = assess(notification(abuse_or_neglect="suspected", good_practice=True), PACK)
    assert rec.review_type == "multi_agency_concise_review"
    assert rec.rules_fired == ["A1", "E1b"]


def test_e3_iar() -> None:
    rec = assess(notification(outcome="seriously_harmed", practice_concern_single_agency=True), PACK)
    assert rec.review_type == "individual_agency_review"
    assert rec.rules_fired == ["A3", "E3"]


def test_e5_no_review() -> None:
    rec = assess(notification(), PACK)
    assert rec.review_type == "no_review"
    assert rec.rules_fired == ["E5"]
    assert rec.deadlines == {}


def test_rapid_review_wins_over_e_rules() -> None:
    rec = assess(
        notification(
            abuse_or_neglect="known",
            outcome="seriously_harmed",
            working_together_concern="yes",
            good_practice=True,
            learning_already_identified=True,
        ),
        PACK,
    )
    assert rec.review_type == "rapid_review"
    assert rec.rules_fired == ["A1", "A3", "A4"]


# ------------------------------------------------------------------------------------ reasons


def test_reasons_one_per_rule_then_conclusion_then_home_board() -> None:
    rec = assess(notification(lscb="LIV", home="WRL", abuse_or_neglect="known", outcome="died"), PACK)
    assert rec.reasons[0] == "A1: abuse or neglect of the child is known."
    assert rec.reasons[1] == "A2: the child has died."
    assert rec.reasons[2].startswith("Recommendation: a rapid review")
    assert "WRL" in rec.reasons[3]
    assert "not to LIV" in rec.reasons[3]
    assert len(rec.reasons) == 4


# ------------------------------------------------------------------------------------ deadlines


@pytest.mark.parametrize(
    ("notified", "panel", "rapid"),
    [
        # Wednesday before Easter 2019: Good Friday 19 and Easter Monday 22 April skipped.
        (date(2019, 4, 17), date(2019, 4, 26), date(2019, 5, 13)),
        # Friday before the Spring bank holiday (Monday 27 May 2019).
        (date(2019, 5, 24), date(2019, 6, 3), date(2019, 6, 17)),
        # Friday before the early May bank holiday (Monday 6 May 2019).
        (date(2019, 5, 3), date(2019, 5, 13), date(2019, 5, 28)),
        # Notified on a Saturday: day 0 is the Saturday, day 1 the Monday.
        (date(2019, 6, 1), date(2019, 6, 7), date(2019, 6, 21)),
        # Christmas 2020: 25 Dec, 28 Dec (Boxing Day substitute) and 1 Jan 2021 skipped.
        (date(2020, 12, 24), date(2021, 1, 5), date(2021, 1, 19)),
    ],
)
def test_working_day_deadlines(notified: date, panel: date, rapid: date) -> None:
    rec = assess(
        notification(incident=date(2019, 1, 1), notified=notified, abuse_or_neglect="known", outcome="died"),
        PACK,
    )
    assert rec.deadlines == {"panel_notification_due": panel, "rapid_review_due": rapid}


def test_no_chair_decision_due_under_2018() -> None:
    rec = assess(notification(abuse_or_neglect="known", outcome="died"), PACK)
    assert "chair_decision_due" not in rec.deadlines


def test_assess_chooses_cspr_from_the_regime_change() -> None:
    rec = assess(
        notification(incident=date(2018, 6, 29), notified=date(2018, 7, 2), abuse_or_neglect="known", outcome="died")
    )
    assert rec.rule_pack == "cspr-2018"
    # Monday 2 July 2018 + 5 working days (no bank holidays) = Monday 9 July; + 15 = Monday 23 July.
    assert rec.deadlines == {
        "panel_notification_due": date(2018, 7, 9),
        "rapid_review_due": date(2018, 7, 23),
    }


# ------------------------------------------------------------- every combination against rules.md


def test_every_combination_of_facts_matches_section_7() -> None:
    places = [None, *PLACES_OF_DEATH]
    names = [
        "abuse_or_neglect",
        "outcome",
        "working_together_concern",
        "place_of_death",
        "practice_concern_single_agency",
        "good_practice",
        "historical",
        "learning_already_identified",
    ]
    count = 0
    for values in itertools.product(
        ["known", "suspected", "not_suspected"],
        ["died", "seriously_harmed", "harmed", "not_harmed"],
        ["yes", "no", "unclear"],
        places,
        *([[False, True]] * 4),
    ):
        f: dict[str, Any] = dict(zip(names, values, strict=True))
        if f["place_of_death"] is not None and f["outcome"] != "died":
            continue
        count += 1
        rec = assess(notification(**f), PACK)
        a1 = f["abuse_or_neglect"] != "not_suspected"
        serious = a1 and f["outcome"] in ("died", "seriously_harmed")
        assert rec.statutory_scr is serious
        assert (rec.review_type == "rapid_review") is serious
        assert set(rec.deadlines) == ({"panel_notification_due", "rapid_review_due"} if serious else set())
        assert rec.methodology_hint is None
        harmed = f["outcome"] != "not_harmed"
        if not serious:
            e1 = a1 and harmed and f["working_together_concern"] != "no" and not f["practice_concern_single_agency"]
            if e1:
                expected = "embedding_review" if f["learning_already_identified"] else "multi_agency_concise_review"
            elif f["good_practice"] and (harmed or a1):
                expected = "multi_agency_concise_review"
            elif harmed and f["practice_concern_single_agency"]:
                expected = "individual_agency_review"
            else:
                expected = "no_review"
            assert rec.review_type == expected, f
    assert count == 1584
