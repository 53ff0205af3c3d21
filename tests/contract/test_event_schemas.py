"""The published event contract: every wire event against its exported JSON Schema, and back.

Each event of `events.registry.EVENT_MODELS` (and the incident notification integrators send) is built
the way the services build it, dumped to its wire JSON, validated against the JSON Schema that
`lif contract export` publishes (Draft 2020-12, with format checks) and parsed back to an equal model.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, uuid4, uuid5

import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel, ValidationError

import events.decisioning
import events.envelope
import events.incidents
import events.intake
from events.decisioning import (
    ChairDecisionPayload,
    ChairDecisionRecorded,
    DiscretionaryInputPayload,
    DiscretionaryInputRecorded,
    DocumentRef,
    LeadReviewerAppointed,
    LeadReviewerAppointedPayload,
    LearningThemesTagged,
    LearningThemesTaggedPayload,
    MethodologyChoice,
    PanelNoticePrepared,
    PanelNoticePreparedPayload,
    PanelNoticeSent,
    PanelNoticeSentPayload,
    Recommendation,
    RecommendationRecorded,
    RecommendationRecordedPayload,
    RepeatLearning,
    ScrPanelReferralPayload,
    ScrPanelReferralRecorded,
)
from events.envelope import Actor, EventEnvelope
from events.incidents import IncidentNotification
from events.intake import ChildRef, IncidentReceived, IncidentReceivedPayload
from events.registry import EVENT_MODELS, UPCASTERS, UnknownEventError, parse_event, to_json
from events.schemas import contract_schemas, export_contract
from services.decisioning.rules import assess
from tests.contract.learning_examples import LEARNING_EXAMPLES
from tests.contract.notification_examples import NOTIFICATION_EXAMPLES
from tests.contract.notifications_examples import NOTIFICATIONS_EXAMPLES
from tests.contract.orchestration_examples import ORCHESTRATION_EXAMPLES
from tests.samples import notification

NOTIFICATION_SCHEMA = "incident_notification.v1.schema.json"


def schema_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.schema.json"


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker()  # date, uuid, ... as jsonschema checks them; date-time below


@FORMATS.checks("date-time", raises=ValueError)
def _is_rfc3339_date_time(value: object) -> bool:
    """jsonschema only checks date-time with an optional package installed; this needs none."""
    if not isinstance(value, str):
        return True  # not a string: `type` reports it
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real calendar date and time
    return True


SCHEMAS = contract_schemas()
"""What `lif contract export` writes, made once: each test reads it (making it costs about 0.1 s)."""


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """One checked validator per schema, shared by the tests that validate against it."""
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def schema_errors(name: str, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(document)]


def keyed(text: str) -> str:
    """Stands in for the service's keyed hashes: a 64-hex digest, never the text itself."""
    return hashlib.sha256(f"test-key:{text}".encode()).hexdigest()


# --- realistic instances, built as intake and decisioning build them -------------------------------------


def sample_notification(**changes: Any) -> IncidentNotification:
    return IncidentNotification.model_validate(notification(**changes))


def incident_received(n: IncidentNotification, *, channel: str = "http") -> IncidentReceived:
    event_id = uuid4()
    return IncidentReceived(
        event_id=event_id,
        lscb=n.lscb,
        case_id=uuid5(NAMESPACE_URL, f"lif:{n.lscb}:{n.source.system}:{n.source.reference}"),
        occurred_at=datetime(n.incident_date.year, n.incident_date.month, n.incident_date.day, tzinfo=UTC),
        recorded_at=datetime(2015, 3, 10, 9, 41, 7, 123456, tzinfo=UTC),
        correlation_id=event_id,
        causation_id=None,
        actor=Actor(kind="person", id="Jo Bloggs", role="business_manager")
        if channel == "http"
        else Actor(kind="system", id=f"kafka:{n.source.system}", role="integration"),
        payload=IncidentReceivedPayload(
            source_system=n.source.system,
            source_reference_hash=keyed(n.source.reference),
            notifying_agency=n.notifying_agency,
            child=ChildRef(**n.child.model_dump()),
            incident_date=n.incident_date,
            notified_date=n.notified_date,
            summary_ref=uuid4(),
            facts=n.facts,
            content_hash=keyed(n.model_dump_json()),
            channel=channel,  # type: ignore[arg-type]
        ),
    )


def recommendation_recorded(
    n: IncidentNotification, recommendation: Recommendation | None = None
) -> RecommendationRecorded:
    incident = incident_received(n)
    now = datetime(2015, 3, 10, 9, 41, 8, tzinfo=UTC)
    return RecommendationRecorded(
        event_id=uuid4(),
        lscb=incident.lscb,
        case_id=incident.case_id,
        occurred_at=now,
        recorded_at=now,
        correlation_id=incident.correlation_id,
        causation_id=incident.event_id,
        actor=Actor(kind="service", id="decisioning"),
        payload=RecommendationRecordedPayload(
            incident_event_id=incident.event_id,
            facts=incident.payload.facts,
            recommendation=assess(n) if recommendation is None else recommendation,
        ),
    )


def died_in_custody() -> IncidentNotification:
    return sample_notification(
        notifying_agency="police",
        child__age_years=16,
        facts__abuse_or_neglect="not_suspected",
        facts__outcome="died",
        facts__place_of_death="young_offender_institution",
        facts__working_together_concern="no",
    )


def macr_candidate() -> IncidentNotification:
    """Rule E1: harmed through suspected neglect, concern about multi-agency working, below the SCR test."""
    return sample_notification(facts__outcome="harmed", facts__working_together_concern="yes")


def repeat_learning_recommendation() -> RecommendationRecorded:
    """Rule E2 found by the service from the case's themes (the integrator did not flag it)."""
    n = macr_candidate()
    known = assess(n.model_copy(update={"facts": n.facts.model_copy(update={"learning_already_identified": True})}))
    recommendation = known.model_copy(
        update={
            "reasons": [
                *known.reasons,
                "Its learning themes (multi_agency_longer_term) were recorded for closed review BOL-SCR-2014-02.",
            ],
            "repeat_learning": RepeatLearning(
                themes=["multi_agency_longer_term"],
                typology="learning-together",
                typology_version="1",
                earlier_reviews=["BOL-SCR-2014-02"],
            ),
        }
    )
    return recommendation_recorded(n, recommendation)


E = TypeVar("E", bound=EventEnvelope)
CHAIR = Actor(kind="person", id="bol-independent-chair", role="chair")
BUSINESS_MANAGER = Actor(kind="person", id="Jo Bloggs", role="business_manager")
DECIDED_ON = date(2015, 4, 1)


def text_ref(text: str) -> DocumentRef:
    """Free text as the services record it: an id in the erasable store and the text's sha256, never the text."""
    return DocumentRef(document_id=uuid4(), sha256=hashlib.sha256(text.encode()).hexdigest())


def follow_on(
    model: Callable[..., E], before: EventEnvelope, payload: BaseModel, actor: Actor = CHAIR, *, day: date
) -> E:
    """An event of the same case, caused by `before`, recorded a moment after it happened on `day`."""
    at = datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)
    return model(
        event_id=uuid4(),
        lscb=before.lscb,
        case_id=before.case_id,
        occurred_at=at,
        recorded_at=at + timedelta(seconds=2),
        correlation_id=before.correlation_id,
        causation_id=before.event_id,
        actor=actor,
        payload=payload,
    )


def chair_decision(
    rec: RecommendationRecorded, decision: str, *, supersedes: ChairDecisionRecorded | None = None, **fields: Any
) -> ChairDecisionRecorded:
    seen = rec.payload.recommendation
    departs = fields.pop("departs_from_recommendation", False)
    considered = fields.pop("considered_for_scr", seen.statutory_scr)
    payload = ChairDecisionPayload(
        decision=decision,  # type: ignore[arg-type]
        decided_on=DECIDED_ON,
        recommendation_event_id=rec.event_id,
        recommendation=seen,
        departs_from_recommendation=departs,
        rationale=text_ref("The Chair's rationale.") if departs or supersedes else None,
        supersedes=None if supersedes is None else supersedes.event_id,
        considered_for_scr=considered,
        scr_route=fields.pop("scr_route", None),
        methodology=fields.pop("methodology", None),
        forum_theme=fields.pop("forum_theme", None),
        rule_pack=seen.rule_pack,
        rule_pack_version=seen.rule_pack_version,
        deadlines={"panel_notice_due": DECIDED_ON + timedelta(days=14)} if considered else {},
    )
    assert not fields, fields
    return follow_on(ChairDecisionRecorded, supersedes or rec, payload, day=DECIDED_ON)


INTENSIVE = MethodologyChoice(
    methodology="intensive",
    criteria_held=["D1"],
    rules_fired=["D1"],
    reasons=["D1: the case is very serious and complex: Intensive, as the planning meeting advised."],
)
TARGETED_DISCRETIONARY = MethodologyChoice(
    methodology="targeted",
    criteria_held=["D1", "D7"],
    rules_fired=["D7"],
    reasons=["D7: a discretionary SCR is always Targeted, whatever else held."],
)


def initiate_statutory_scr() -> ChairDecisionRecorded:
    rec = recommendation_recorded(sample_notification())
    return chair_decision(rec, "initiate_scr", scr_route="statutory", methodology=INTENSIVE)


def discretionary_scr_superseding_a_macr() -> ChairDecisionRecorded:
    rec = recommendation_recorded(macr_candidate())
    macr = chair_decision(rec, "commission_macr")
    return chair_decision(
        rec,
        "initiate_scr",
        supersedes=macr,
        departs_from_recommendation=True,
        considered_for_scr=True,
        scr_route="discretionary",
        methodology=TARGETED_DISCRETIONARY,
    )


def panel_notice_prepared(decision: ChairDecisionRecorded) -> PanelNoticePrepared:
    initiating = decision.payload.decision == "initiate_scr"
    payload = PanelNoticePreparedPayload(
        notice_id=uuid5(decision.event_id, "panel-notice"),
        idempotency_key=str(decision.event_id),
        decision_event_id=decision.event_id,
        initiating=initiating,
        content_rule="T4" if initiating else "T3",
        due=decision.payload.deadlines["panel_notice_due"],
        document=text_ref("<html><body>National Panel notice</body></html>"),
        formats=["html", "markdown"],
    )
    return follow_on(PanelNoticePrepared, decision, payload, day=DECIDED_ON + timedelta(days=2))


def panel_notice_sent(prepared: PanelNoticePrepared) -> PanelNoticeSent:
    sent_on = DECIDED_ON + timedelta(days=9)
    payload = PanelNoticeSentPayload(notice_id=prepared.payload.notice_id, sent_on=sent_on, channel="manual")
    return follow_on(PanelNoticeSent, prepared, payload, BUSINESS_MANAGER, day=sent_on)


def lead_reviewer_appointed(decision: ChairDecisionRecorded, reviewer_id: str) -> LeadReviewerAppointed:
    scr = decision.payload.decision == "initiate_scr"
    payload = LeadReviewerAppointedPayload(
        reviewer_id=reviewer_id,
        decision_event_id=decision.event_id,
        review=decision.payload.decision,
        appointed_on=DECIDED_ON + timedelta(days=5),
        independence="independent_of_board" if scr else "internal_allowed",
    )
    return follow_on(LeadReviewerAppointed, decision, payload, day=payload.appointed_on)


def scr_panel_referral(*, with_reason: bool) -> ScrPanelReferralRecorded:
    rec = recommendation_recorded(macr_candidate())
    on = date(2015, 3, 20)
    payload = ScrPanelReferralPayload(
        referred_on=on, reason=text_ref("Why the panel should look.") if with_reason else None
    )
    return follow_on(ScrPanelReferralRecorded, rec, payload, BUSINESS_MANAGER, day=on)


def discretionary_input(kind: str, *, supports_scr: bool) -> DiscretionaryInputRecorded:
    rec = recommendation_recorded(macr_candidate())
    on = date(2015, 3, 25)
    payload = DiscretionaryInputPayload(
        kind=kind,  # type: ignore[arg-type]
        held_on=on,
        supports_scr=supports_scr,
        note=text_ref("What the challenge found.") if supports_scr else None,
    )
    return follow_on(DiscretionaryInputRecorded, rec, payload, CHAIR, day=on)


def learning_themes_tagged() -> LearningThemesTagged:
    rec = recommendation_recorded(macr_candidate())
    payload = LearningThemesTaggedPayload(
        themes=["multi_agency_longer_term", "family_professional_interaction"],
        typology="learning-together",
        typology_version="1",
    )
    return follow_on(LearningThemesTagged, rec, payload, BUSINESS_MANAGER, day=date(2015, 3, 12))


# Every (event_type, version) of the registry must have examples here, so a new event cannot go untested.
EXAMPLES: dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]] = {
    ("intake.incident_received", 1): {
        "scr-http": lambda: incident_received(sample_notification()),
        "custody-death-kafka": lambda: incident_received(died_in_custody(), channel="kafka"),
    },
    ("decisioning.recommendation_recorded", 1): {
        "scr-2015": lambda: recommendation_recorded(sample_notification()),
        "rapid-review-2019": lambda: recommendation_recorded(
            sample_notification(incident_date="2019-04-15", notified_date="2019-04-16")
        ),
        "no-review": lambda: recommendation_recorded(
            sample_notification(
                facts__abuse_or_neglect="not_suspected",
                facts__outcome="not_harmed",
                facts__working_together_concern="no",
            )
        ),
        "embedding-review-repeat-learning": repeat_learning_recommendation,
    },
    ("decisioning.chair_decision_recorded", 1): {
        "initiate-statutory-scr": initiate_statutory_scr,
        "no-review-departing": lambda: chair_decision(
            recommendation_recorded(sample_notification()), "no_review", departs_from_recommendation=True
        ),
        "discretionary-scr-superseding": discretionary_scr_superseding_a_macr,
        "propose-forum": lambda: chair_decision(
            recommendation_recorded(macr_candidate()),
            "propose_forum",
            departs_from_recommendation=True,
            forum_theme="multi_agency_longer_term",
        ),
    },
    ("decisioning.scr_panel_referral_recorded", 1): {
        "with-reason": lambda: scr_panel_referral(with_reason=True),
        "without-reason": lambda: scr_panel_referral(with_reason=False),
    },
    ("decisioning.discretionary_input_recorded", 1): {
        "peer-challenge": lambda: discretionary_input("peer_challenge", supports_scr=True),
        "national-panel-consultation": lambda: discretionary_input("national_panel_consultation", supports_scr=False),
    },
    ("decisioning.lead_reviewer_appointed", 1): {
        "independent-scr": lambda: lead_reviewer_appointed(initiate_statutory_scr(), "rev-0042"),
        "internal-macr": lambda: lead_reviewer_appointed(
            chair_decision(recommendation_recorded(macr_candidate()), "commission_macr"), "rev-0007"
        ),
    },
    ("decisioning.panel_notice_prepared", 1): {
        "T4-initiating": lambda: panel_notice_prepared(initiate_statutory_scr()),
        "T3-not-initiating": lambda: panel_notice_prepared(
            chair_decision(
                recommendation_recorded(sample_notification()), "no_review", departs_from_recommendation=True
            )
        ),
    },
    ("decisioning.panel_notice_sent", 1): {
        "manual": lambda: panel_notice_sent(panel_notice_prepared(initiate_statutory_scr())),
    },
    ("decisioning.learning_themes_tagged", 1): {
        "learning-together-v1": learning_themes_tagged,
    },
}
EXAMPLES.update(ORCHESTRATION_EXAMPLES)
EXAMPLES.update(NOTIFICATIONS_EXAMPLES)
EXAMPLES.update(NOTIFICATION_EXAMPLES)
EXAMPLES.update(LEARNING_EXAMPLES)

EVENT_CASES = [
    pytest.param(key, build, id=f"{key[0]}.v{key[1]}-{label}")
    for key, builders in EXAMPLES.items()
    for label, build in builders.items()
]

ONE_EXAMPLE_PER_EVENT = [pytest.param(key, next(iter(b.values())), id=key[0]) for key, b in EXAMPLES.items()]

NOTIFICATION_CASES = {
    "sample": sample_notification,
    "custody-death": died_in_custody,
    "home-board-elsewhere": lambda: sample_notification(
        lscb="MAN", child__normally_resident_lscb="SAL", facts__learning_already_identified=True
    ),
}


def test_every_registered_event_has_examples_and_a_schema() -> None:
    assert set(EXAMPLES) == set(EVENT_MODELS)
    expected = {schema_name(t, v) for t, v in EVENT_MODELS} | {NOTIFICATION_SCHEMA, "incident_receipt.v1.schema.json"}
    assert set(contract_schemas()) == expected


def test_the_example_recommendations_are_the_rule_packs_own() -> None:
    """The examples carry real recommendations (both regimes), not hand-written ones."""
    cases = EXAMPLES[("decisioning.recommendation_recorded", 1)]
    scr = cases["scr-2015"]().payload.recommendation  # type: ignore[attr-defined]
    rapid = cases["rapid-review-2019"]().payload.recommendation  # type: ignore[attr-defined]
    assert (scr.review_type, scr.rule_pack, scr.deadlines) == (
        "serious_case_review",
        "nwlif-2015",
        {"chair_decision_due": date(2015, 4, 10)},
    )
    assert (rapid.review_type, rapid.rule_pack) == ("rapid_review", "cspr-2018")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_exported_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])
    assert jsonschema.validators.validator_for(SCHEMAS[name]) is Draft202012Validator


@pytest.mark.parametrize(("key", "build"), EVENT_CASES)
def test_event_json_matches_its_schema_and_parses_back_equal(
    key: tuple[str, int], build: Callable[[], EventEnvelope]
) -> None:
    event = build()
    assert type(event) is EVENT_MODELS[key]
    wire = to_json(event)
    document = json.loads(wire)
    assert (document["event_type"], document["schema_version"]) == key
    assert schema_errors(schema_name(*key), document) == []

    for form in (wire, wire.decode(), document):
        parsed = parse_event(form)
        assert type(parsed) is type(event)
        assert parsed == event
    assert json.loads(to_json(parse_event(wire))) == document


@pytest.mark.parametrize("build", NOTIFICATION_CASES.values(), ids=NOTIFICATION_CASES.keys())
def test_notification_json_matches_its_schema_and_parses_back_equal(
    build: Callable[[], IncidentNotification],
) -> None:
    notification_model = build()
    wire = notification_model.model_dump_json()
    assert schema_errors(NOTIFICATION_SCHEMA, json.loads(wire)) == []
    assert IncidentNotification.model_validate_json(wire) == notification_model


def test_the_raw_sample_integrators_send_matches_the_schema() -> None:
    """The document as sent (with `place_of_death: null`, without the optional fact) is valid too."""
    document = notification()
    assert "learning_already_identified" not in document["facts"]
    assert schema_errors(NOTIFICATION_SCHEMA, document) == []


# --- the schema refuses what the models refuse --------------------------------------------------------------


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    target[last] = value
    return document


def _drop(document: dict[str, Any], path: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    del target[last]
    return document


NOTIFICATION_BREAKAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "unknown top-level field": lambda d: _set(d, "priority", "high"),
    "unknown fact": lambda d: _set(d, "facts.severity", 3),
    "unknown child field": lambda d: _set(d, "child.name", "A Child"),
    "lowercase board": lambda d: _set(d, "lscb", "bol"),
    "outcome outside the enum": lambda d: _set(d, "facts.outcome", "injured"),
    "agency outside the enum": lambda d: _set(d, "notifying_agency", "fire_service"),
    "boolean fact as a string": lambda d: _set(d, "facts.historical", "false"),
    "age too high": lambda d: _set(d, "child.age_years", 26),
    "empty summary": lambda d: _set(d, "summary", ""),
    "not a date": lambda d: _set(d, "incident_date", "2015-02-30"),
    "missing required fact": lambda d: _drop(d, "facts.good_practice"),
    "missing source": lambda d: _drop(d, "source"),
}


@pytest.mark.parametrize("breakage", NOTIFICATION_BREAKAGES.values(), ids=NOTIFICATION_BREAKAGES.keys())
def test_schema_and_model_both_refuse_a_bad_notification(
    breakage: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    document = breakage(notification())
    assert schema_errors(NOTIFICATION_SCHEMA, document) != []
    with pytest.raises(ValidationError):
        IncidentNotification.model_validate_json(json.dumps(document))


EVENT_BREAKAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "unknown envelope field": lambda d: _set(d, "trace_id", "abc"),
    "unknown payload field": lambda d: _set(d, "payload.comment", "x"),
    "unknown actor field": lambda d: _set(d, "actor.email", "jo@example.org"),
    "event id not a uuid": lambda d: _set(d, "event_id", "not-a-uuid"),
    "recorded_at not a date-time": lambda d: _set(d, "recorded_at", "yesterday"),
    "board not a board code": lambda d: _set(d, "lscb", "Bolton"),
    "actor kind outside the enum": lambda d: _set(d, "actor.kind", "robot"),
    "missing case id": lambda d: _drop(d, "case_id"),
    "missing payload": lambda d: _drop(d, "payload"),
}


@pytest.mark.parametrize("breakage", EVENT_BREAKAGES.values(), ids=EVENT_BREAKAGES.keys())
@pytest.mark.parametrize(("key", "build"), ONE_EXAMPLE_PER_EVENT)
def test_schema_and_model_both_refuse_a_bad_event(
    key: tuple[str, int],
    build: Callable[[], EventEnvelope],
    breakage: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    document = breakage(json.loads(to_json(build())))
    assert schema_errors(schema_name(*key), document) != []
    with pytest.raises(ValidationError):
        parse_event(document)


@pytest.mark.parametrize("field", ["event_type", "schema_version"])
def test_schema_requires_the_event_type_and_version(field: str) -> None:
    event = incident_received(sample_notification())
    document = _drop(json.loads(to_json(event)), field)
    with pytest.raises(UnknownEventError):
        parse_event(document)
    assert schema_errors(schema_name("intake.incident_received", 1), document) != []


# --- the registry: unknown events and upcasting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "version"),
    [
        ("intake.incident_withdrawn", 1),
        ("intake.incident_received", 2),
        ("intake.incident_received", 0),
        ("decisioning.recommendation_recorded", "1"),
        (None, 1),
    ],
)
def test_unknown_event_type_or_version_raises_unknown_event_error(event_type: str | None, version: Any) -> None:
    document = json.loads(to_json(incident_received(sample_notification())))
    document["event_type"] = event_type
    document["schema_version"] = version
    with pytest.raises(UnknownEventError) as caught:
        parse_event(json.dumps(document))
    assert repr(event_type) in str(caught.value)
    assert isinstance(caught.value, ValueError)  # the CLI and the Kafka consumers rely on this


def test_a_document_without_type_is_an_unknown_event() -> None:
    with pytest.raises(UnknownEventError):
        parse_event(b'{"payload": {}}')


def _as_v0(event: IncidentReceived) -> dict[str, Any]:
    """What a (fictional) version 0 looked like: the hash was called `reference_hash`."""
    document = json.loads(to_json(event))
    document["schema_version"] = 0
    document["payload"]["reference_hash"] = document["payload"].pop("source_reference_hash")
    return document


def test_a_registered_upcaster_is_applied_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    event = incident_received(sample_notification())
    old = _as_v0(event)
    seen: list[int] = []

    def v0_to_v1(document: dict[str, Any]) -> dict[str, Any]:
        seen.append(document["schema_version"])
        document = copy.deepcopy(document)
        document["payload"]["source_reference_hash"] = document["payload"].pop("reference_hash")
        document["schema_version"] = 1
        return document

    with pytest.raises(UnknownEventError):
        parse_event(json.dumps(old))  # no upcaster yet: version 0 is unknown

    monkeypatch.setitem(UPCASTERS, ("intake.incident_received", 0), v0_to_v1)
    original = copy.deepcopy(old)
    parsed = parse_event(old)
    assert parsed == event
    assert seen == [0]
    assert old == original  # the caller's document is not changed
    assert parse_event(json.dumps(old).encode()) == event


def test_upcasters_chain_until_the_newest_version(monkeypatch: pytest.MonkeyPatch) -> None:
    event = incident_received(sample_notification())
    older = _as_v0(event)
    older["schema_version"] = -1
    older["payload"]["channel"] = older["payload"]["channel"].upper()
    steps: list[tuple[int, int]] = []

    def step(to_version: int, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def upcaster(document: dict[str, Any]) -> dict[str, Any]:
            document = copy.deepcopy(document)
            steps.append((document["schema_version"], to_version))
            change(document["payload"])
            document["schema_version"] = to_version
            return document

        return upcaster

    def lower_channel(payload: dict[str, Any]) -> None:
        payload["channel"] = payload["channel"].lower()

    def rename_hash(payload: dict[str, Any]) -> None:
        payload["source_reference_hash"] = payload.pop("reference_hash")

    monkeypatch.setitem(UPCASTERS, ("intake.incident_received", -1), step(0, lower_channel))
    monkeypatch.setitem(UPCASTERS, ("intake.incident_received", 0), step(1, rename_hash))
    assert parse_event(older) == event
    assert steps == [(-1, 0), (0, 1)]


def test_no_upcaster_is_registered_for_a_current_version() -> None:
    """An upcaster from a current version would turn every live event into an unknown one."""
    assert not set(UPCASTERS) & set(EVENT_MODELS)


# --- immutability and strictness of every model ------------------------------------------------------------


def _contract_models() -> list[type[BaseModel]]:
    modules = (events.envelope, events.incidents, events.intake, events.decisioning)
    found = {
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__
    }
    return sorted(found, key=lambda model: model.__qualname__)


@pytest.mark.parametrize("model", _contract_models(), ids=lambda m: m.__qualname__)
def test_every_contract_model_is_frozen_and_refuses_unknown_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(("key", "build"), EVENT_CASES)
def test_events_are_frozen_and_refuse_unknown_fields(key: tuple[str, int], build: Callable[[], EventEnvelope]) -> None:
    event = build()
    with pytest.raises(ValidationError, match="frozen"):
        event.lscb = "MAN"
    with pytest.raises(ValidationError, match="frozen"):
        event.payload.facts = None  # type: ignore[attr-defined]
    assert event.lscb == "BOL"

    document = json.loads(to_json(event))
    payload: BaseModel = event.payload  # type: ignore[attr-defined]
    nested = [
        f"payload.{name}.extra" for name in type(payload).model_fields if isinstance(getattr(payload, name), BaseModel)
    ]
    for path in ("extra", "payload.extra", "actor.extra", *nested):
        with pytest.raises(ValidationError) as caught:
            parse_event(_set(document, path, 1))
        assert [e["type"] for e in caught.value.errors()] == ["extra_forbidden"]


def test_notification_is_frozen_and_refuses_unknown_fields() -> None:
    model = sample_notification()
    with pytest.raises(ValidationError, match="frozen"):
        model.summary = "changed"
    with pytest.raises(ValidationError, match="frozen"):
        model.facts.historical = True
    for path in ("child_name", "facts.severity", "source.url", "child.name"):
        with pytest.raises(ValidationError) as caught:
            IncidentNotification.model_validate(_set(notification(), path, "x"))
        assert [e["type"] for e in caught.value.errors()] == ["extra_forbidden"]


# --- export --------------------------------------------------------------------------------------------------


def test_export_contract_writes_one_file_per_schema(tmp_path: Path) -> None:
    target = tmp_path / "contract" / "schemas"  # missing parents are created
    written = export_contract(target)
    schemas = contract_schemas()
    assert sorted(p.name for p in written) == sorted(schemas)
    assert sorted(p.name for p in target.iterdir()) == sorted(schemas)
    for path in written:
        assert path.parent == target
        assert json.loads(path.read_text()) == schemas[path.name]


def test_export_contract_is_repeatable(tmp_path: Path) -> None:
    first = {p.name: p.read_text() for p in export_contract(tmp_path)}
    second = {p.name: p.read_text() for p in export_contract(tmp_path)}
    assert first == second
    assert len(list(tmp_path.iterdir())) == len(first)
