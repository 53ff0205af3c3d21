"""`lif assess`, `lif --help` and `lif contract export`, run as the real command in a subprocess.

Deadlines are worked out by hand here (rules.md section 2 and 7), not by the calendar code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from events.schemas import contract_schemas
from tests.samples import notification

REPO_ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any LIF/Kafka/database setting of the caller's shell."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LIF_") and key not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"}
    }
    env.update(extra)
    return env


def lif(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lif.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env or clean_env(),
        timeout=60,
        check=False,
    )


def assess(document: Any) -> dict[str, Any]:
    result = lif("assess", stdin=json.dumps(document))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def assess_refused(text: str) -> list[dict[str, str]]:
    result = lif("assess", stdin=text)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    return json.loads(result.stderr)["detail"]  # type: ignore[no-any-return]


RECOMMENDATION_KEYS = {
    "review_type",
    "statutory_scr",
    "methodology_hint",
    "rules_fired",
    "rule_pack",
    "rule_pack_version",
    "reasons",
    "deadlines",
    "repeat_learning",  # null from `lif assess`: only the running service knows closed reviews (rule E2)
}


# --- the four outcomes of the 2015 framework ---------------------------------------------------------------


def test_serious_case_review() -> None:
    rec = assess(notification())  # suspected abuse, seriously harmed, working together unclear
    assert set(rec) == RECOMMENDATION_KEYS
    assert rec["review_type"] == "serious_case_review"
    assert rec["statutory_scr"] is True
    assert rec["methodology_hint"] == "intensive"
    assert rec["repeat_learning"] is None
    assert rec["rules_fired"] == ["A1", "A3", "A4"]
    assert rec["rule_pack"] == "nwlif-2015"
    assert rec["rule_pack_version"]
    # T1: notified 2015-03-10 + 1 calendar month
    assert rec["deadlines"] == {"chair_decision_due": "2015-04-10"}
    assert rec["reasons"] and all(isinstance(reason, str) and reason for reason in rec["reasons"])


def test_chair_decision_due_clamps_to_the_end_of_the_month() -> None:
    rec = assess(notification(incident_date="2015-01-28", notified_date="2015-01-31"))
    assert rec["review_type"] == "serious_case_review"
    assert rec["deadlines"]["chair_decision_due"] == "2015-02-28"  # 31 Jan + 1 month, 2015 not a leap year


def test_historical_scr_is_targeted() -> None:
    rec = assess(notification(facts__historical=True))
    assert rec["review_type"] == "serious_case_review"
    assert rec["methodology_hint"] == "targeted"
    assert "D6" in rec["rules_fired"]


def test_multi_agency_concise_review() -> None:
    rec = assess(notification(facts__outcome="harmed", facts__working_together_concern="yes"))
    assert rec["review_type"] == "multi_agency_concise_review"
    assert rec["statutory_scr"] is False
    assert rec["methodology_hint"] is None
    assert rec["rules_fired"] == ["A1", "A4", "E1"]
    assert rec["rule_pack"] == "nwlif-2015"
    assert rec["deadlines"] == {"chair_decision_due": "2015-04-10"}  # always present under nwlif-2015


def test_individual_agency_review() -> None:
    rec = assess(
        notification(
            notifying_agency="health",
            facts__abuse_or_neglect="not_suspected",
            facts__outcome="harmed",
            facts__working_together_concern="no",
            facts__practice_concern_single_agency=True,
        )
    )
    assert rec["review_type"] == "individual_agency_review"
    assert rec["statutory_scr"] is False
    assert rec["rules_fired"] == ["E3"]
    assert rec["rule_pack"] == "nwlif-2015"


def test_no_review() -> None:
    rec = assess(
        notification(
            facts__abuse_or_neglect="not_suspected",
            facts__outcome="not_harmed",
            facts__working_together_concern="no",
        )
    )
    assert rec["review_type"] == "no_review"
    assert rec["statutory_scr"] is False
    assert rec["methodology_hint"] is None
    assert rec["rules_fired"] == ["E5"]
    assert rec["deadlines"] == {"chair_decision_due": "2015-04-10"}


# --- the 2018 regime -------------------------------------------------------------------------------------------


def test_2018_regime_rapid_review_with_working_days_over_easter_2019() -> None:
    """Notified Tuesday 16 April 2019 (day 0).

    Working days: 17 Apr (1), 18 Apr (2), [19 Good Friday, 20-21 weekend, 22 Easter Monday], 23 (3), 24 (4),
    25 (5) -> panel_notification_due 2019-04-25; 26 (6), [27-28], 29 (7), 30 (8), 1 May (9), 2 (10), 3 (11),
    [4-5 weekend, 6 May Early May bank holiday], 7 (12), 8 (13), 9 (14), 10 (15) -> rapid_review_due 2019-05-10.
    """
    rec = assess(notification(incident_date="2019-04-15", notified_date="2019-04-16"))
    assert rec["rule_pack"] == "cspr-2018"
    assert rec["review_type"] == "rapid_review"
    assert rec["statutory_scr"] is True
    assert rec["methodology_hint"] is None
    assert rec["deadlines"] == {"panel_notification_due": "2019-04-25", "rapid_review_due": "2019-05-10"}


def test_the_pack_is_chosen_by_incident_date_not_notified_date() -> None:
    before = assess(notification(incident_date="2018-06-28", notified_date="2018-07-02"))
    on = assess(notification(incident_date="2018-06-29", notified_date="2018-07-02"))
    assert (before["rule_pack"], before["review_type"]) == ("nwlif-2015", "serious_case_review")
    assert (on["rule_pack"], on["review_type"]) == ("cspr-2018", "rapid_review")


# --- refusals --------------------------------------------------------------------------------------------------


def test_invalid_input_exits_2_with_one_message_per_bad_field() -> None:
    document = notification(notifying_agency="fire_service", facts__outcome="injured")
    document["child"]["age_years"] = 30
    document["facts"]["severity"] = "high"
    del document["facts"]["historical"]
    errors = assess_refused(json.dumps(document))
    assert all(set(error) == {"field", "message"} and error["message"] for error in errors)
    fields = [error["field"] for error in errors]
    assert sorted(fields) == sorted(
        ["notifying_agency", "child.age_years", "facts.outcome", "facts.historical", "facts.severity"]
    )
    assert len(fields) == len(set(fields))
    messages = {error["field"]: error["message"] for error in errors}
    assert messages["facts.severity"] == "unknown field"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"incident_date": "2015-03-11", "notified_date": "2015-03-10"}, "notified_date"),
        ({"facts__place_of_death": "custody"}, "facts.place_of_death"),  # the child did not die
    ],
)
def test_cross_field_refusals_name_the_bad_field(changes: dict[str, Any], field: str) -> None:
    errors = assess_refused(json.dumps(notification(**changes)))
    assert [error["field"] for error in errors] == [field]


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"lscb": "BOL"'])
def test_input_that_is_not_a_notification_exits_2(text: str) -> None:
    errors = assess_refused(text)
    assert errors and all(error["message"] for error in errors)


def test_unknown_board_exits_2_naming_it() -> None:
    errors = assess_refused(json.dumps(notification(lscb="ZZZ")))
    assert errors == [{"field": "lscb", "message": "unknown board 'ZZZ'"}]


# --- help and contract export ----------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = lif("--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "serve", "assess", "contract", "projections", "tokens"):
        assert command in result.stdout
    assert lif("assess", "--help").returncode == 0


def test_no_command_is_a_usage_error() -> None:
    result = lif()
    assert result.returncode == 2
    assert "usage: lif" in result.stderr


def test_contract_export_writes_asyncapi_openapi_and_the_schemas(tmp_path: Path) -> None:
    target = tmp_path / "contract-out"
    result = lif("contract", "export", str(target))
    assert result.returncode == 0, result.stderr
    expected = {"asyncapi.json", "openapi.json", *contract_schemas()}
    assert {p.name for p in target.iterdir()} == expected
    assert {Path(line).name for line in result.stdout.splitlines()} == expected  # prints what it wrote

    asyncapi = json.loads((target / "asyncapi.json").read_text())
    openapi = json.loads((target / "openapi.json").read_text())
    assert asyncapi["asyncapi"].startswith("3.")
    assert "/v1/incidents" in openapi["paths"]
    for name, schema in contract_schemas().items():
        assert json.loads((target / name).read_text()) == schema
