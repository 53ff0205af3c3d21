"""The rebuild's fold reads stored events with validators that skip the contract's field checks, and only those."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from pydantic import ValidationError

from projections.bulk_writer import NEWEST_MODELS, TRUSTED
from tests.decision_events import CaseStory


def test_a_trusted_validator_builds_the_same_model_from_a_stored_event() -> None:
    story = CaseStory()
    rec = story.recommendation()
    referral = story.referral(date(2015, 3, 12), reason="Referred.")
    events = [rec, referral, story.decision(rec, "no_review", date(2015, 4, 1))]
    for event in events:
        built = TRUSTED[event.event_type].validate_json(event.model_dump_json())
        assert type(built) is type(event) and built == event


def test_a_trusted_validator_runs_no_field_check_that_the_model_runs() -> None:
    recommendation = CaseStory().recommendation()
    document = recommendation.model_dump(mode="json")
    document["actor"]["id"] = "decisioning\x07"  # a control character: the contract refuses it
    body = orjson.dumps(document)
    with pytest.raises(ValidationError, match="control character"):
        NEWEST_MODELS[recommendation.event_type].model_validate_json(body)
    assert TRUSTED[recommendation.event_type].validate_json(body).actor.id == "decisioning\x07"
