"""Which command forms a case page offers, and the bodies its new forms send: the API's own requests."""

from __future__ import annotations

from typing import Any

from services.decisioning.api import DiscretionaryInputRequest, PanelNotificationRequest, ThemesRequest
from services.web.case_pages import _discretionary, _panel_notification, _themes, applicable_forms
from services.web.core import Form


def case(**changes: Any) -> dict[str, Any]:
    return {"statutory_scr": False, "referred_on": None, "decision": None, "deadlines": []} | changes


def deadline(name: str, met: bool = False) -> dict[str, Any]:
    return {"name": name, "ref": None, "due": "2018-07-10", "met": met}


def test_each_role_is_offered_the_forms_the_api_allows_it_where_they_apply() -> None:
    below = case()
    assert applicable_forms(below, "business_manager") == {"refer", "discretionary-input", "learning-themes"}
    assert applicable_forms(below, "chair") == {"discretionary-input"}
    assert applicable_forms(below, "auditor") == applicable_forms(below, "reviewer") == set()
    statutory = case(statutory_scr=True, referred_on="2015-03-12")
    assert applicable_forms(statutory, "business_manager") == {"learning-themes"}  # rule B: below the test only
    serious = case(
        statutory_scr=None,
        deadlines=[deadline("panel_notification_due", met=True), deadline("rapid_review_due")],
    )
    assert applicable_forms(serious, "chair") == {"rapid-review"}  # the Panel notified already
    t2 = {"name": "rapid_review_due", "ref": "a-decision", "due": "2018-07-10", "met": False}
    assert "rapid-review" not in applicable_forms(case(deadlines=[t2]), "chair")  # only the case's own deadline


def test_the_new_forms_send_the_apis_requests() -> None:
    body, errors = _discretionary(
        Form([("kind", "peer_challenge"), ("held_on", ""), ("supports_scr", "no"), ("note", " Advised none. ")])
    )
    assert errors == {}
    assert DiscretionaryInputRequest.model_validate(body).model_dump() == {
        "kind": "peer_challenge",
        "held_on": None,
        "supports_scr": False,
        "note": "Advised none.",
    }
    _, errors = _discretionary(Form())
    assert set(errors) == {"kind", "supports_scr"}  # asked again, never defaulted
    body, errors = _themes(Form([("themes", "human_judgement"), ("themes", "management_systems")]))
    assert ThemesRequest.model_validate(body).themes == ["human_judgement", "management_systems"]
    assert _themes(Form()) == ({}, {"themes": "Select at least one theme"})
    assert PanelNotificationRequest.model_validate(_panel_notification(Form([("notified_on", "2018-07-06")]))[0])
