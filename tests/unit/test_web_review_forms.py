"""The web forms' bodies are the API's requests: what a page sends for the new review and board forms."""

from __future__ import annotations

from events.incidents import IncidentNotification
from services.web.case_pages import _notification, _reviewer
from services.web.core import Form
from services.web.review_pages import _correction, _current, _move, _process, _removal, _response


def test_a_notification_form_is_an_incident_notification_of_the_board() -> None:
    form = Form(
        [
            ("source.reference", "LA-1"),
            ("notifying_agency", "police"),
            ("child.subject_ref", "s-1"),
            ("child.age_years", "6"),
            ("incident_date", "2015-03-02"),
            ("notified_date", "2015-03-10"),
            ("summary", "Found alone."),
            ("facts.abuse_or_neglect", "suspected"),
            ("facts.outcome", "harmed"),
            ("facts.working_together_concern", "unclear"),
            ("facts.place_of_death", ""),
            ("facts.flags", "historical"),
        ]
    )
    body, errors = _notification(form, "BOL")
    assert errors == {}
    notification = IncidentNotification.model_validate(body)  # the integration contract, unchanged
    assert notification.source.system == "lif-web" and notification.child.normally_resident_lscb == "BOL"
    assert notification.facts.historical and not notification.facts.good_practice
    assert "place_of_death" not in body["facts"]
    assert _notification(Form([("child.age_years", "six")]), "BOL")[1] == {
        "child.age_years": "Enter the child's age as a whole number of years"
    }


def test_a_reviewer_form_reads_each_affiliation_line_as_board_and_organisation() -> None:
    form = Form(
        [
            ("name", "Lee Lead"),
            ("employer.organisation", "Independent Reviews Ltd"),
            ("employer.lscb", ""),
            ("affiliations", "MAN, Manchester City Council\n\nNational Body, part-time"),
        ]
    )
    body, _ = _reviewer(form)
    assert body == {
        "name": "Lee Lead",
        "employer": {"organisation": "Independent Reviews Ltd"},
        "affiliations": [
            {"lscb": "MAN", "organisation": "Manchester City Council"},
            {"organisation": "National Body, part-time"},
        ],
    }


def test_the_review_forms_send_the_api_paths_and_bodies() -> None:
    path, body, _ = _move(
        Form([("reason", "criminal_proceedings"), ("new_due", ""), ("note", "After the trial")]),
        {"stage_id": "family_involvement"},
    )
    assert (path, body) == (
        "stages/family_involvement/move",
        {"reason": "criminal_proceedings", "note": "After the trial"},
    )
    path, query, _ = _removal(Form([("reason", "left")]), {"group": "case_group", "member_id": "gp 1"})
    assert (path, query) == ("members/case_group/gp%201", {"reason": "left"})
    assert _removal(Form(), {"group": "case_group", "member_id": "gp"})[2] == {
        "reason": "Select why the member leaves the group"
    }
    path, body, _ = _response(
        Form(
            [
                ("member_id", "gp"),
                ("findings_version", "2"),
                ("response", "agrees"),
                ("responded_on", "2015-08-27"),
                ("corrections", "One\n\n Two "),
            ]
        ),
        {},
    )
    assert path == "consultation/responses"
    assert body == {
        "member_id": "gp",
        "findings_version": 2,
        "response": "agrees",
        "responded_on": "2015-08-27",
        "corrections": ["One", "Two"],
    }
    assert _process(Form([("kind", "inquest"), ("reference", "")]), {})[1] == {"kind": "inquest", "status": "ongoing"}
    path, body, _ = _correction(
        Form(
            [
                ("event_date", "2015-01-04"),
                ("description", "Strategy"),
                ("significance", "pattern"),
                ("reason", "From the minutes"),
            ]
        ),
        {"agency": "police", "entry_id": "e1"},
    )
    assert path == "chronologies/police/entries/e1/corrections"
    assert body["reason"] == "From the minutes" and body["significance"]["pattern"] is True


def test_a_correction_starts_from_the_entry_and_a_response_from_the_latest_findings() -> None:
    entry = {
        "event_date": "2015-01-05",
        "description": "Strategy",
        "principles": {"risk": "Seen", "response": None},
        "significance": {"pattern": True, "learning_point": False},
        "learning_flags": {"significant": True, "new": False},
    }
    values = _current({"entry": entry, "consultation": None})
    assert (values.get("event_date"), values.get("risk"), values.getlist("significance")) == (
        "2015-01-05",
        "Seen",
        ["pattern"],
    )
    assert values.getlist("learning_flags") == ["significant"]
    consulted = _current({"entry": None, "consultation": {"findings": [{"version": 1}, {"version": 2}]}})
    assert consulted.get("findings_version") == "2"
