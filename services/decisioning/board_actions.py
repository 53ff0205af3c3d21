"""The board's commands on a case: refer, consult, decide, appoint, notify the National Panel, tag learning.

Each command loads the case, checks the rules (rules.md sections 1-3), records one contract event (and
any free text in the erasable store, referenced by id and hash) and returns it. A command given again
with the same Idempotency-Key and the same request returns the event it recorded the first time; the
same key with a different request is refused (422 naming the key), as the hash of the request is kept
with the event (`lif.idempotency`). A refused command changes nothing: texts written for an attempt that
did not win are removed again. Blocking: the HTTP adapter calls these in a thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from events.decisioning import (
    ChairDecisionPayload,
    ChairDecisionRecorded,
    DecisionKind,
    DiscretionaryInputPayload,
    DiscretionaryInputRecorded,
    DocumentRef,
    LeadReviewerAppointed,
    LeadReviewerAppointedPayload,
    LearningThemesTagged,
    LearningThemesTaggedPayload,
    Methodology,
    PanelNoticePrepared,
    PanelNoticePreparedPayload,
    PanelNoticeSent,
    PanelNoticeSentPayload,
    PanelNotificationRecorded,
    PanelNotificationRecordedPayload,
    RapidReviewHeld,
    RapidReviewHeldPayload,
    Recommendation,
    RecommendationRecorded,
    RecommendationRecordedPayload,
    RepeatLearning,
    ScrPanelReferralPayload,
    ScrPanelReferralRecorded,
)
from events.envelope import Actor, EventEnvelope
from events.intake import IncidentReceived
from lif.boards import get_board
from lif.clock import Today, today_london
from lif.erasable import ErasableStore
from lif.idempotency import Idempotency, KeyReused, repeat_of
from lif.learning_view import recommendation_for
from lif.typology import board_typology
from services.decisioning.application import DecisioningApplication
from services.decisioning.assessment import assess_received
from services.decisioning.domain import COMMAND_NAMESPACE, ThresholdCase, panel_notice_sent_id
from services.decisioning.errors import Conflict, Invalid, NoRecommendation, NotFound
from services.decisioning.learning_register import LearningRegister
from services.decisioning.notice import NoticeContent, NoticeIncident, NoticeReviewer, render_html, render_markdown
from services.decisioning.reviewers import ReviewerRegistry, independence_conflicts
from services.decisioning.rules import (
    agrees,
    choose_methodology,
    commissions_review,
    decision_deadlines,
    decision_pack,
    independence_for,
    load_pack,
)

LONDON = ZoneInfo("Europe/London")
IncidentSummary = Callable[[str, UUID, UUID], "str | None"]
"""(lscb, summary_ref, case_id) -> the incident summary intake holds, or None when erased (asked of intake,
which logs the read: services/decisioning/intake_summaries.py, or in-process in the embedded runtime)."""

DECISION_LABELS: dict[str, str] = {
    "initiate_scr": "Initiate a Serious Case Review",
    "commission_macr": "Commission a Multi-Agency Concise Review",
    "request_iar": "Request an Individual Agency Review",
    "propose_forum": "Propose a Multi-Professional Discussion Forum theme",
    "embedding_review": "Commission an embedding review",
    "no_review": "No review",
}


@dataclass(frozen=True)
class Recorded:
    """The event a command recorded, and whether this call recorded it (False: an idempotent repeat)."""

    event: dict[str, Any]
    created: bool


@dataclass(frozen=True)
class DecisionCommand:
    decision: DecisionKind
    decided_on: date | None = None
    rationale: str | None = None
    methodology: Methodology | None = None
    criteria_held: Sequence[str] | None = None
    forum_theme: str | None = None


class BoardActions:
    """Command handlers over the decisioning application (its write side: the board's decisions)."""

    def __init__(
        self,
        app: DecisioningApplication,
        documents: ErasableStore,
        reviewers: ReviewerRegistry,
        learning: LearningRegister,
        incident_summary: IncidentSummary,
        today: Today = today_london,
    ) -> None:
        self.app = app
        self.documents = documents
        self.reviewers = reviewers
        self.learning = learning
        self.incident_summary = incident_summary
        self.today = today
        self._attempt = _Attempt()

    # --- shared steps -----------------------------------------------------------------------------

    def case(self, case_id: UUID) -> ThresholdCase:
        case = self.app.get_case(case_id)
        if case is None:
            raise NoRecommendation(
                f"case {case_id} has no recommendation yet (or does not exist): wait for the threshold "
                "recommendation before acting on it"
            )
        return case

    def _run(self, case_id: UUID, step: Callable[[ThresholdCase], Recorded]) -> Recorded:
        """Run a command on the latest state; retry if another writer changed the case meanwhile.

        A keyed command's request hash is noted with its event, so that the key given again with another
        request is told apart from a repeat.
        """
        self._attempt.request_hash = None
        written: list[tuple[UUID, str]] = []
        self._attempt.written = written
        try:
            for _ in range(5):
                case = self.case(case_id)
                result = step(case)
                if not result.created:
                    return result
                if self._attempt.keyed and self._attempt.request_hash is not None:
                    case.note_request(result.event["event_id"], self._attempt.request_hash)
                try:
                    self.app.save(case)
                except IntegrityError:
                    continue
                self.app.notify_saved()
                return result
            raise Conflict(f"case {case_id} is changing too fast; try again")
        finally:
            self._attempt.keyed = False
            if written:
                self._discard_unreferenced(case_id, written)

    def _discard_unreferenced(self, case_id: UUID, written: list[tuple[UUID, str]]) -> None:
        """Remove the texts this call wrote that no recorded event references (a lost race, a refusal)."""
        case = self.app.get_case(case_id)
        recorded = json.dumps(case.history if case is not None else [], default=str)
        for document_id, lscb in written:
            if str(document_id) not in recorded:
                self.documents.discard(document_id, lscb)

    def _event_id(self, case: ThresholdCase, kind: str, key: Idempotency | None) -> UUID:
        self._attempt.keyed = key is not None
        if key is None:
            return uuid4()
        self._attempt.request_hash = key.request_hash
        return uuid5(COMMAND_NAMESPACE, f"{case.id}:{kind}:{key.key}")

    def _envelope(
        self,
        model: type[EventEnvelope],
        case: ThresholdCase,
        actor: Actor,
        event_id: UUID,
        on: date,
        *,
        caused_by: str | UUID | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        occurred = now if on >= self.today() else datetime.combine(on, time(12), LONDON).astimezone(UTC)
        recommendation = case.recommendation
        return model(
            event_id=event_id,
            lscb=case.lscb,
            case_id=case.case_id,
            occurred_at=occurred,
            recorded_at=now,
            correlation_id=recommendation["correlation_id"],
            causation_id=UUID(str(caused_by)) if caused_by else None,
            actor=actor,
            **fields,
        ).model_dump(mode="json")

    def _date(self, field: str, value: date | None) -> date:
        today = self.today()
        if value is None:
            return today
        if value > today:
            raise Invalid(field, f"{value.isoformat()} is in the future (today is {today.isoformat()})")
        return value

    def _document(self, case: ThresholdCase, event_id: UUID, kind: str, text: str | None) -> DocumentRef | None:
        """Keep `text` under an id only this request's event can reference (the request's hash is part of it),
        so the text stored is always that of the request whose event was recorded."""
        if text is None or not text.strip():
            return None
        document_id = uuid5(event_id, f"{kind}:{self._attempt.request_hash or ''}")
        sha = self.documents.put_document(document_id, case.lscb, case.case_id, kind, text.strip())
        self._attempt.written.append((document_id, case.lscb))
        return DocumentRef(document_id=document_id, sha256=sha)

    def _existing(self, case: ThresholdCase, event_id: UUID, key: Idempotency | None) -> Recorded | None:
        """The event an earlier call with the same Idempotency-Key recorded; refused if that call's request
        differed from this one."""
        found = case.find(event_id) if key is not None else None
        if key is None or found is None:
            return None
        noted = case.request_hash(event_id) or key.request_hash  # noted with every keyed event
        try:
            first = repeat_of((noted, found), key)
        except KeyReused as error:
            raise Invalid(error.field, error.message) from None
        return None if first is None else Recorded(first, created=False)

    # --- referral and discretionary route (rules.md 1 B and C) ----------------------------------

    def refer_to_scr_panel(
        self, case_id: UUID, actor: Actor, referred_on: date | None, reason: str | None, key: Idempotency | None = None
    ) -> Recorded:
        def step(case: ThresholdCase) -> Recorded:
            event_id = self._event_id(case, "referral", key)
            if existing := self._existing(case, event_id, key):
                return existing
            if case.referred:
                raise Conflict("the case is already referred to the board's SCR panel")
            on = self._date("referred_on", referred_on)
            payload = ScrPanelReferralPayload(
                referred_on=on, reason=self._document(case, event_id, "referral_reason", reason)
            )
            envelope = self._envelope(ScrPanelReferralRecorded, case, actor, event_id, on, payload=payload)
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    def record_discretionary_input(
        self,
        case_id: UUID,
        actor: Actor,
        kind: str,
        held_on: date | None,
        supports_scr: bool,
        note: str | None,
        key: Idempotency | None = None,
    ) -> Recorded:
        def step(case: ThresholdCase) -> Recorded:
            event_id = self._event_id(case, "discretionary", key)
            if existing := self._existing(case, event_id, key):
                return existing
            if case.statutory_scr:
                raise Conflict(
                    "the statutory SCR test holds for this case: peer challenge and National Panel consultation "
                    "are for cases below it (rule B)"
                )
            on = self._date("held_on", held_on)
            payload = DiscretionaryInputPayload(
                kind=kind,  # type: ignore[arg-type]  # checked by the HTTP model
                held_on=on,
                supports_scr=supports_scr,
                note=self._document(case, event_id, "discretionary_note", note),
            )
            envelope = self._envelope(DiscretionaryInputRecorded, case, actor, event_id, on, payload=payload)
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    # --- the Chair's decision ------------------------------------------------------------------------

    def decide(self, case_id: UUID, actor: Actor, command: DecisionCommand, key: Idempotency | None = None) -> Recorded:
        def step(case: ThresholdCase) -> Recorded:
            event_id = self._event_id(case, "decision", key)
            if existing := self._existing(case, event_id, key):
                return existing
            envelope = self._decision_envelope(case, actor, command, event_id)
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    def _decision_envelope(
        self, case: ThresholdCase, actor: Actor, command: DecisionCommand, event_id: UUID
    ) -> dict[str, Any]:
        seen = case.recommendation
        recommendation = Recommendation.model_validate(seen["payload"]["recommendation"])
        pack = decision_pack(recommendation.rule_pack)
        decided_on = self._date("decided_on", command.decided_on)
        notified = case.incident["payload"]["notified_date"] if case.incident else None
        if notified and decided_on < date.fromisoformat(notified):
            raise Invalid("decided_on", f"the board was notified on {notified}; a decision cannot come before it")
        departs = not agrees(pack, command.decision, recommendation.review_type)
        earlier = case.decision
        rationale_text = (command.rationale or "").strip()
        if departs and not rationale_text:
            raise Invalid(
                "rationale",
                f"the decision departs from the recommendation ({recommendation.review_type.replace('_', ' ')}): "
                "record the rationale",
            )
        if earlier is not None and not rationale_text:
            raise Invalid("rationale", "a decision that supersedes an earlier one needs its rationale")
        route, methodology = self._methodology(case, pack, command)
        if command.decision == "propose_forum":
            if not command.forum_theme:
                raise Invalid("forum_theme", "proposing a forum needs a theme from the board's typology")
            unknown = board_typology(case.lscb).check([command.forum_theme])
            if unknown:
                raise Invalid("forum_theme", f"unknown theme {unknown[0]!r} in the board's typology")
        elif command.forum_theme:
            raise Invalid("forum_theme", "a forum theme goes only with the decision propose_forum")
        considered = case.considered_for_scr or route == "discretionary"
        payload = ChairDecisionPayload(
            decision=command.decision,
            decided_on=decided_on,
            recommendation_event_id=UUID(seen["event_id"]),
            recommendation=recommendation,
            departs_from_recommendation=departs,
            rationale=self._document(case, event_id, "decision_rationale", rationale_text),
            supersedes=UUID(earlier["event_id"]) if earlier else None,
            considered_for_scr=considered,
            scr_route=route,
            methodology=methodology,
            forum_theme=command.forum_theme,
            rule_pack=pack.name,
            rule_pack_version=pack.version,
            deadlines=decision_deadlines(pack, decided_on, considered_for_scr=considered),
        )
        return self._envelope(
            ChairDecisionRecorded, case, actor, event_id, decided_on, caused_by=seen["event_id"], payload=payload
        )

    def _methodology(self, case: ThresholdCase, pack: Any, command: DecisionCommand) -> tuple[Any, Any]:
        """The SCR route and the methodology the planning meeting advised, checked against rules D1-D7."""
        if command.decision != "initiate_scr":
            if command.methodology or command.criteria_held:
                raise Invalid("methodology", "a methodology goes only with the decision initiate_scr")
            return None, None
        route = "statutory" if case.statutory_scr else "discretionary"
        if route == "discretionary" and not case.of_type("decisioning.discretionary_input_recorded"):
            raise Conflict(
                "the statutory SCR test does not hold: record the peer challenge or the National Panel "
                "consultation that leads to a discretionary SCR first (rule B)"
            )
        if command.methodology is None:
            raise Invalid("methodology", "initiating an SCR records the methodology the planning meeting advised")
        try:
            choice = choose_methodology(pack, command.criteria_held or [], discretionary=route == "discretionary")
        except ValueError as error:
            raise Invalid("criteria_held", str(error)) from None
        if choice.methodology != command.methodology:
            decided_by = ", ".join(choice.rules_fired) or "no criterion"
            raise Invalid(
                "methodology",
                f"the criteria give {choice.methodology} ({decided_by}), not {command.methodology}: "
                "D7 makes every discretionary SCR Targeted; else D1/D2 make it Intensive; else D3-D6 Targeted",
            )
        return route, choice

    # --- lead reviewers ----------------------------------------------------------------------------

    def appoint_lead_reviewer(
        self, case_id: UUID, actor: Actor, reviewer_id: str, appointed_on: date | None, key: Idempotency | None = None
    ) -> Recorded:
        reviewer = self.reviewers.get(reviewer_id)
        if reviewer is None:
            raise Invalid("reviewer_id", f"no reviewer {reviewer_id!r} in the registry")

        def step(case: ThresholdCase) -> Recorded:
            event_id = self._event_id(case, "appointment", key)
            if existing := self._existing(case, event_id, key):
                return existing
            decision = case.decision
            if decision is None:
                raise Conflict("there is no decision yet: a lead reviewer is appointed to a commissioned review")
            kind = decision["payload"]["decision"]
            pack = load_pack(decision["payload"]["rule_pack"], decision["payload"]["rule_pack_version"])
            independence = independence_for(pack, kind)
            if independence is None or not commissions_review(pack, kind):
                raise Conflict(f"the decision {kind.replace('_', ' ')!r} commissions no review to lead")
            if any(a["payload"]["reviewer_id"] == reviewer_id for a in case.appointments_for(decision["event_id"])):
                raise Conflict(f"{reviewer_id} is already a lead reviewer of this review")
            if independence == "independent_of_board":
                conflicts = independence_conflicts(reviewer, case.lscb)
                if conflicts:
                    raise Conflict(
                        "a Serious Case Review's lead reviewer must be independent of every agency of the board: "
                        + " ".join(conflicts)
                    )
            on = self._date("appointed_on", appointed_on)
            payload = LeadReviewerAppointedPayload(
                reviewer_id=reviewer_id,
                decision_event_id=UUID(decision["event_id"]),
                review=kind,
                appointed_on=on,
                independence=independence,
            )
            envelope = self._envelope(
                LeadReviewerAppointed, case, actor, event_id, on, caused_by=decision["event_id"], payload=payload
            )
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    # --- the National Panel notice (T2-T4) ---------------------------------------------------------

    def prepare_panel_notice(self, case_id: UUID, actor: Actor) -> Recorded:
        """Render and file the notice for the current decision; once per decision (its idempotency key)."""

        def step(case: ThresholdCase) -> Recorded:
            decision = case.decision
            if decision is None:
                raise Conflict("there is no Chair's decision yet: the notice reports one")
            due = decision["payload"]["deadlines"].get("panel_notice_due")
            if due is None:
                raise Conflict("the case was not considered for an SCR when decided: no National Panel notice is due")
            if existing := case.notice_for(decision["event_id"]):
                return Recorded(existing, created=False)
            notice_id = uuid5(COMMAND_NAMESPACE, f"notice:{decision['event_id']}")
            content = self._notice_content(case, decision, notice_id, actor)
            html, markdown = render_html(content), render_markdown(content)
            sha = self.documents.put_document(notice_id, case.lscb, case.case_id, "panel_notice_html", html)
            self.documents.put_document(
                uuid5(notice_id, "markdown"), case.lscb, case.case_id, "panel_notice_markdown", markdown
            )
            payload = PanelNoticePreparedPayload(
                notice_id=notice_id,
                idempotency_key=decision["event_id"],
                decision_event_id=UUID(decision["event_id"]),
                initiating=content.initiating,
                content_rule="T4" if content.initiating else "T3",
                due=date.fromisoformat(due),
                document=DocumentRef(document_id=notice_id, sha256=sha),
                formats=["html", "markdown"],
            )
            envelope = self._envelope(
                PanelNoticePrepared,
                case,
                actor,
                notice_id,
                self.today(),
                caused_by=decision["event_id"],
                payload=payload,
            )
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    def _notice_content(
        self, case: ThresholdCase, decision: dict[str, Any], notice_id: UUID, actor: Actor
    ) -> NoticeContent:
        payload = decision["payload"]
        initiating = payload["decision"] == "initiate_scr"
        board = get_board(case.lscb)
        reviewers: list[NoticeReviewer] = []
        incident: NoticeIncident | None = None
        justification: list[str] = []
        if initiating:
            for appointment in case.appointments_for(decision["event_id"]):
                found = self.reviewers.get(appointment["payload"]["reviewer_id"])
                if found is not None:
                    reviewers.append(NoticeReviewer(name=found.name, organisation=found.employer.organisation))
            if not reviewers:
                raise Conflict("appoint the lead reviewer(s) first: a notice of initiation names them (T4)")
        else:
            justification = self._justification(case, payload)
            incident = self._notice_incident(case)
        methodology = payload["methodology"]["methodology"] if payload.get("methodology") else None
        return NoticeContent(
            notice_id=notice_id,
            board_code=case.lscb,
            board_name=board.name if board else case.lscb,
            case_id=case.case_id,
            decision=payload["decision"],
            decision_label=DECISION_LABELS[payload["decision"]],
            decided_on=date.fromisoformat(payload["decided_on"]),
            due=date.fromisoformat(payload["deadlines"]["panel_notice_due"]),
            initiating=initiating,
            chair=decision["actor"]["id"],
            justification=justification,
            incident=incident,
            lead_reviewers=reviewers,
            methodology=methodology,
            rule_pack=payload["rule_pack"],
            rule_pack_version=payload["rule_pack_version"],
        )

    def _justification(self, case: ThresholdCase, payload: dict[str, Any]) -> list[str]:
        """T3: the Chair's rationale when recorded, and the recommendation's reasons the Chair saw."""
        lines: list[str] = []
        rationale = payload.get("rationale")
        if rationale:
            text = self.documents.get(UUID(rationale["document_id"]), case.lscb)
            lines.append(text if text is not None else "[the Chair's rationale has been erased]")
        lines.extend(recommendation_for(payload["recommendation"], case.lscb)["reasons"])
        return lines

    def _notice_incident(self, case: ThresholdCase) -> NoticeIncident:
        if case.incident is None:
            raise Conflict("the incident notification of this case is not known to decisioning")
        incident = IncidentReceived.model_validate(case.incident)
        p = incident.payload
        return NoticeIncident(
            notifying_agency=p.notifying_agency,
            source_system=p.source_system,
            incident_date=p.incident_date,
            notified_date=p.notified_date,
            child_age_years=p.child.age_years,
            child_home_lscb=p.child.normally_resident_lscb,
            facts=p.facts.model_dump(mode="json"),
            summary=self.incident_summary(case.lscb, p.summary_ref, case.case_id),
        )

    def mark_notice_sent(self, case_id: UUID, notice_id: UUID, actor: Actor, sent_on: date | None) -> Recorded:
        def step(case: ThresholdCase) -> Recorded:
            if case.notice(notice_id) is None:
                raise NotFound(f"no National Panel notice {notice_id} on case {case_id}")
            if existing := case.sent(notice_id):
                return Recorded(existing, created=False)
            on = self._date("sent_on", sent_on)
            event_id = panel_notice_sent_id(notice_id)
            payload = PanelNoticeSentPayload(notice_id=notice_id, sent_on=on, channel="manual")
            envelope = self._envelope(PanelNoticeSent, case, actor, event_id, on, caused_by=notice_id, payload=payload)
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    # --- the 2018 regime's deadlines: the Panel notified, the rapid review held (rules.md section 7) --------

    def record_panel_notification(
        self, case_id: UUID, actor: Actor, notified_on: date | None, key: Idempotency | None = None
    ) -> Recorded:
        """The board notified the Child Safeguarding Practice Review Panel: meets `panel_notification_due`."""
        return self._regime_2018_step(
            case_id, actor, "panel_notification_due", PanelNotificationRecorded, "notified_on", notified_on, key
        )

    def record_rapid_review(
        self, case_id: UUID, actor: Actor, held_on: date | None, key: Idempotency | None = None
    ) -> Recorded:
        """The board held the rapid review: meets `rapid_review_due`."""
        return self._regime_2018_step(case_id, actor, "rapid_review_due", RapidReviewHeld, "held_on", held_on, key)

    def _regime_2018_step(
        self,
        case_id: UUID,
        actor: Actor,
        deadline: str,
        model: type[EventEnvelope],
        field: str,
        value: date | None,
        key: Idempotency | None,
    ) -> Recorded:
        def step(case: ThresholdCase) -> Recorded:
            event_id = self._event_id(case, deadline, key)
            if existing := self._existing(case, event_id, key):
                return existing
            due = _recommended_deadline(case, deadline)
            if due is None:
                raise Conflict(
                    f"the case has no {deadline}: only a serious child safeguarding case of the 2018 regime "
                    "(rules.md section 7) has one"
                )
            if case.of_type(model.model_fields["event_type"].default):
                raise Conflict(f"{deadline} is already met on this case")
            on = self._date(field, value)
            payload: PanelNotificationRecordedPayload | RapidReviewHeldPayload
            if model is PanelNotificationRecorded:
                payload = PanelNotificationRecordedPayload(notified_on=on, due=due)
            else:
                payload = RapidReviewHeldPayload(held_on=on, due=due)
            envelope = self._envelope(model, case, actor, event_id, on, payload=payload)
            case.record(envelope)
            return Recorded(envelope, created=True)

        return self._run(case_id, step)

    def notice_document(self, case_id: UUID, notice_id: UUID, fmt: str) -> tuple[dict[str, Any], str | None]:
        """The prepared notice event and its rendered text (None when erased)."""
        case = self.case(case_id)
        notice = case.notice(notice_id)
        if notice is None:
            raise NotFound(f"no National Panel notice {notice_id} on case {case_id}")
        document_id = notice_id if fmt == "html" else uuid5(notice_id, "markdown")
        return notice, self.documents.get(document_id, case.lscb)

    # --- repeat learning (rule E2) ------------------------------------------------------------------

    def tag_learning_themes(
        self, case_id: UUID, actor: Actor, themes: Sequence[str], key: Idempotency | None = None
    ) -> list[Recorded]:
        """Record the themes; for an E1 candidate whose themes closed reviews already hold, recommend
        an embedding review naming them (a new recommendation: the earlier one stays)."""
        results: list[Recorded] = []

        def step(case: ThresholdCase) -> Recorded:
            results.clear()
            typology = board_typology(case.lscb)
            unknown = typology.check(themes)
            if unknown:
                raise Invalid(
                    "themes", f"not in the board's typology {typology.name}/{typology.version}: " + ", ".join(unknown)
                )
            event_id = self._event_id(case, "themes", key)
            if existing := self._existing(case, event_id, key):
                return existing
            chosen = list(dict.fromkeys(themes))
            payload = LearningThemesTaggedPayload(
                themes=chosen, typology=typology.name, typology_version=typology.version
            )
            tagged = self._envelope(LearningThemesTagged, case, actor, event_id, self.today(), payload=payload)
            case.record(tagged)
            results.append(Recorded(tagged, created=True))
            repeat = self._repeat_learning(case, chosen, typology.name, typology.version, tagged)
            if repeat is not None:
                case.recommend(repeat)
                results.append(Recorded(repeat, created=True))
            return results[0]

        first = self._run(case_id, step)
        return results if first.created else [first]

    def _repeat_learning(
        self, case: ThresholdCase, themes: list[str], typology: str, version: str, tagged: dict[str, Any]
    ) -> dict[str, Any] | None:
        current = Recommendation.model_validate(case.recommendation["payload"]["recommendation"])
        if "E1" not in current.rules_fired or current.review_type != "multi_agency_concise_review":
            return None
        if case.incident is None:
            return None
        match = self.learning.repeat_of(case.lscb, typology, themes)
        if match is None:
            return None
        incident = IncidentReceived.model_validate(case.incident)
        pack = load_pack(current.rule_pack, current.rule_pack_version)
        reassessed = assess_received(incident, pack=pack, learning_already_known=list(match.earlier_reviews))
        recommendation = reassessed.model_copy(
            update={
                "repeat_learning": RepeatLearning(
                    themes=list(match.themes),
                    typology=typology,
                    typology_version=version,
                    earlier_reviews=list(match.earlier_reviews),
                )
            }
        )
        now = datetime.now(UTC)
        return RecommendationRecorded(
            event_id=uuid5(UUID(tagged["event_id"]), "recommendation"),
            lscb=case.lscb,
            case_id=case.case_id,
            occurred_at=now,
            recorded_at=now,
            correlation_id=tagged["correlation_id"],
            causation_id=UUID(tagged["event_id"]),
            actor=Actor(kind="service", id="decisioning", role=None),
            payload=RecommendationRecordedPayload(
                incident_event_id=incident.event_id, facts=incident.payload.facts, recommendation=recommendation
            ),
        ).model_dump(mode="json")


class _Attempt(threading.local):
    """What one command call (one thread) knows while it runs: its request's hash and the texts it wrote."""

    def __init__(self) -> None:
        self.request_hash: str | None = None
        self.keyed = False
        self.written: list[tuple[UUID, str]] = []


def _recommended_deadline(case: ThresholdCase, name: str) -> date | None:
    """The latest recommendation's deadline of that name, if it gives one."""
    value = case.recommendation["payload"]["recommendation"]["deadlines"].get(name)
    return None if value is None else date.fromisoformat(value)
