"""Learning collation's rules without a database: typologies and the crosswalk, theme checks, sources
recorded once, recommendations tracked to impact (on eventsourcing's in-memory store)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.learning import ThemeTag
from lif.crosswalk import load_crosswalks, mapped_codes
from lif.typology import load_typology
from services.learning.application import request_hash
from services.learning.documents import agency_of, searchable_text
from services.learning.errors import Conflict, InvalidInput
from services.learning.queries import theme_match
from services.learning.themes import checked_tags, crosswalked
from tests.learning_samples import BM, forum, popo_learning, recorded_events, tracked_forum

SCIE, PANEL = "scie-learning-together", "national-panel-practice-themes"


def test_the_national_panels_practice_themes_are_a_second_versioned_typology() -> None:
    panel = load_typology(f"{PANEL}/1")
    assert list(panel.themes)[:4] == ["leadership_culture", "identity", "whole_family", "babies"]
    assert len(panel.themes) == 12


def test_the_crosswalk_maps_none_one_or_several_codes_both_ways() -> None:
    [crosswalk] = load_crosswalks()
    assert crosswalk.mapped(SCIE, "human_tool_operation") == []
    assert crosswalk.mapped(SCIE, "management_systems") == [(PANEL, "leadership_culture")]
    assert len(crosswalk.mapped(SCIE, "family_professional_interaction")) == 4
    back = sorted(code for _, code in crosswalk.mapped(PANEL, "whole_family"))
    assert back == ["family_professional_interaction", "multi_agency_longer_term_work"]
    assert {ref for _, _, ref in mapped_codes(PANEL, "babies")} == {crosswalk.ref}


def test_a_search_key_ignores_the_version_so_old_tags_stay_findable() -> None:
    direct, through = theme_match(PANEL, "babies")
    assert direct == [f"{PANEL}:babies"]  # no version in the key: a tag under /1 matches after a /2
    assert f"{SCIE}:human_judgement" in through


def test_tags_are_checked_against_their_typology_version() -> None:
    with pytest.raises(InvalidInput) as unknown:
        checked_tags([ThemeTag(typology=SCIE, version="1", code="babies")])
    assert unknown.value.field == "themes[0].code"
    with pytest.raises(InvalidInput) as missing:
        checked_tags([ThemeTag(typology=SCIE, version="9", code="human_judgement")])
    assert missing.value.field == "themes[0]"
    tags = [ThemeTag(typology=SCIE, version="1", code="management_systems")]
    assert crosswalked(tags) == [ThemeTag(typology=PANEL, version="1", code="leadership_culture")]


def test_a_single_agency_recommendation_names_its_agency_first() -> None:
    assert agency_of("Health: review supervision.") == "health"
    assert agency_of("Children's social care: audit plans.") == "local_authority"
    assert agency_of("Review supervision.") is None


def test_a_source_is_recorded_once_and_a_different_one_under_its_reference_is_refused() -> None:
    app = popo_learning()
    source = forum()
    first = app.record_source(BM, source, request_hash({"a": 1}))
    again = app.record_source(BM, source, request_hash({"a": 1}))
    assert first.created and not again.created and again.event == first.event
    with pytest.raises(Conflict):
        app.record_source(BM, source, request_hash({"a": 2}))
    types = [e.event_type for e in recorded_events(app)]
    assert types == ["learning.source_recorded", "learning.recommendation_tracked", "learning.recommendation_tracked"]
    recorded = recorded_events(app)[0]
    assert recorded.payload.mapped_themes  # type: ignore[attr-defined]
    text = app.texts.get(recorded.payload.learning.document_id, "BOL")  # type: ignore[attr-defined]
    assert text is not None and json.loads(text)["findings"].startswith("Practitioners")
    assert "Practitioners" not in recorded.model_dump_json()  # free text never in the event


def test_a_recommendation_is_tracked_to_impact_with_dated_obligations() -> None:
    app = popo_learning()
    recommendation_id = tracked_forum(app)
    state = app.recommendation(recommendation_id).state
    [action] = state.actions.values()
    assert (action.owning_agency, action.due, action.status) == ("health", date(2015, 10, 1), "done")
    assert [e.payload.result for e in state.evidence] == ["evidenced"]
    assert state.reaudits == {}  # answered by the evidence
    dues = [e.payload for e in recorded_events(app) if e.event_type == "learning.action_due_set"]
    moved = [(p.due, p.previous_due) for p in dues]  # type: ignore[attr-defined]
    assert moved == [(date(2015, 9, 1), None), (date(2015, 10, 1), date(2015, 9, 1))]
    repeat = app.add_action(recommendation_id, BM, "health", date(2015, 9, 1), "Audit supervision files.", "a1", "h1")
    assert not repeat.created
    with pytest.raises(InvalidInput):
        app.add_action(recommendation_id, BM, "health", date(2015, 9, 2), "Other.", "a1", "other")
    with pytest.raises(Conflict):
        app.update_action(
            recommendation_id, action.action_id, BM, status="open", due=None, on=date(2015, 9, 21), key=None, hashed="x"
        )
    # An update repeated under its key answers the event it recorded, though the action has changed since.
    [done] = app.update_action(
        recommendation_id, action.action_id, BM, status="done", due=None, on=date(2015, 9, 20), key="d", hashed="h2"
    )
    assert not done.created and done.event["payload"]["status"] == "done"
    with pytest.raises(InvalidInput):
        app.update_action(
            recommendation_id, action.action_id, BM, status="open", due=None, on=date(2015, 9, 20), key="d", hashed="h9"
        )
    assert isinstance(recommendation_id, UUID)


def test_the_crosswalk_data_is_installed_with_the_package() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "crosswalks/*/*.json" in package_data["lif.config"]


def _closure_events(case_id: UUID) -> tuple[Any, Any]:
    from datetime import UTC, datetime
    from uuid import uuid4

    from events.decisioning import LearningThemesTagged, LearningThemesTaggedPayload
    from events.envelope import Actor
    from events.orchestration import ReviewClosed, ReviewClosedPayload

    common = {
        "lscb": "BOL",
        "case_id": case_id,
        "occurred_at": datetime(2015, 9, 16, tzinfo=UTC),
        "recorded_at": datetime(2015, 9, 16, tzinfo=UTC),
        "correlation_id": case_id,
        "actor": Actor(kind="person", id="bm", role="business_manager"),
    }
    tagged = LearningThemesTagged(
        event_id=uuid4(),
        payload=LearningThemesTaggedPayload(themes=["human_judgement"], typology=SCIE, typology_version="1"),
        **common,
    )
    closed = ReviewClosed(
        event_id=uuid4(),
        payload=ReviewClosedPayload(
            closed_on=date(2015, 9, 16),
            reference_code="BOL-SCR-2015-07",
            themes=["human_judgement"],
            typology=SCIE,
            typology_version="1",
            published=True,
        ),
        **common,
    )
    return tagged, closed


def test_a_closed_review_becomes_a_source_once_with_the_themes_its_case_was_tagged_with() -> None:
    from uuid import uuid4

    from events.learning import SourceRecorded
    from lif.delivery.delivered import Delivered
    from services.learning.application import LearningApplication
    from services.orchestration.texts import MemoryTextStore
    from tests.review_journeys import learning_summary

    case_id = uuid4()
    asked: list[UUID] = []
    summary = learning_summary(type("R", (), {"reference_code": "BOL-SCR-2015-07"})(), "Targeted SCR", date(2015, 9, 2))  # type: ignore[arg-type]

    def summaries(lscb: str, case: UUID) -> dict[str, Any]:
        asked.append(case)
        return {
            "review_id": str(uuid4()),
            "reference_code": "BOL-SCR-2015-07",
            "themes": summary["learning_about_the_case"]["themes"],
            "typology": SCIE,
            "typology_version": "1",
            "incident_month": "2015-03",
            "review_kind": "scr",
            "summary": summary | {"lscb_area": "Bolton"},
        }

    app = LearningApplication(env={}, texts=MemoryTextStore(), summaries=summaries)
    tagged, closed = _closure_events(case_id)
    assert app.handle(Delivered("log:decisioning", 1, tagged)) is False  # noted, nothing published
    assert app.handle(Delivered("log:orchestration", 1, closed)) is True
    assert app.handle(Delivered("log:orchestration", 2, closed)) is False  # republished: recorded once
    assert asked == [case_id]
    [source] = [e for e in recorded_events(app) if isinstance(e, SourceRecorded)]
    assert (source.payload.review_type, source.payload.reference, source.case_id) == ("scr", "BOL-SCR-2015-07", case_id)
    text = app.texts.get(source.payload.learning.document_id, "BOL")  # type: ignore[union-attr]
    document = json.loads(text or "{}")
    assert document["themes_tagged_when_decided"] == [{"typology": SCIE, "version": "1", "code": "human_judgement"}]
    assert document["title"] == "Targeted SCR"


def test_the_indexed_body_holds_each_text_once_without_the_title_and_findings() -> None:
    """Title and findings have their own weighted columns; the body holds only the other texts."""
    document = {
        "title": "Disguised compliance",
        "findings": "Practitioners accepted the parents' accounts.",
        "summary": {"how_changes_will_be_made": "Training.", "other_comments": ""},
        "key_single_agency_recommendations": ["Police: invite health."],
        "key_multi_agency_recommendations": ["Joint training."],
    }
    body = searchable_text(document)
    assert body == "Training.\nPolice: invite health.\nJoint training."
    assert "Disguised compliance" not in body and "Practitioners" not in body
