"""The audit timeline of a case: every decisioning event, in recorded order, with what it saw and why.

Served from the stored events (`case_events`), so a rebuild of the read model gives the same timeline.
Free text (rationales, notes, referral reasons, notices) is not in the events: decisioning owns it, and is
asked for it through an injected `DocumentText` (projections/decisioning_documents.py over HTTP, or
decisioning's logged read in-process), and each text is checked against the sha256 the event recorded,
or shown as erased.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from events.decisioning import (
    ChairDecisionRecorded,
    DiscretionaryInputRecorded,
    DocumentRef,
    LeadReviewerAppointed,
    LearningThemesTagged,
    PanelNoticePrepared,
    PanelNoticeSent,
    PanelNotificationRecorded,
    RapidReviewHeld,
    RecommendationRecorded,
    ScrPanelReferralRecorded,
)
from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.auth import EVERY_CASE, CaseReads
from lif.db import create_pool
from lif.erasable import ErasableStore, text_sha256
from lif.learning_view import recommendation_for
from projections.case_decisioning import recorded_order
from projections.projector import DECISIONING_EVENTS, decode
from projections.queries import in_reach
from projections.schema import SCHEMA

DocumentText = Callable[[str, UUID, UUID], Awaitable[str | None]]
"""(lscb, case_id, document_id) -> the text decisioning holds, or None when it was erased."""

KINDS: dict[str, str] = {
    "decisioning.recommendation_recorded": "recommendation",
    "decisioning.scr_panel_referral_recorded": "scr_panel_referral",
    "decisioning.discretionary_input_recorded": "discretionary_input",
    "decisioning.chair_decision_recorded": "decision",
    "decisioning.lead_reviewer_appointed": "lead_reviewer_appointed",
    "decisioning.panel_notice_prepared": "panel_notice_prepared",
    "decisioning.panel_notice_sent": "panel_notice_sent",
    "decisioning.learning_themes_tagged": "learning_themes_tagged",
    "decisioning.panel_notification_recorded": "panel_notification",
    "decisioning.rapid_review_held": "rapid_review",
}

Texts = Mapping[UUID, str | None]
"""Document id -> text (None: erased). A document missing from the mapping was not read."""


@dataclass(frozen=True)
class CaseEvents:
    """A case known to the read model, with its decisioning events in recorded order."""

    case_id: UUID
    lscb: str
    events: list[EventEnvelope]


async def load_case_events(
    pool: asyncpg.Pool, case_id: UUID, reads: CaseReads, *, whole_history: bool = False
) -> CaseEvents | None:
    """None when the read model knows nothing of the case, or the case is outside `reads`' reach.

    The decision history (`GET /v1/cases/{id}/decisions`) is decisioning's events; an auditor's timeline
    (`lif audit case`) is the whole history: the notification, the decisions and the review.
    """
    reach, args = in_reach(reads, 2)
    row = await pool.fetchrow(  # one statement: the case's board and its events from one snapshot
        f"SELECT c.lscb, ARRAY(SELECT e.document FROM {SCHEMA}.case_events e WHERE e.case_id = $1 "
        f"AND e.event_type LIKE $4) AS documents FROM (SELECT case_id, lscb FROM {SCHEMA}.cases WHERE case_id = $1 "
        f"UNION ALL SELECT case_id, lscb FROM {SCHEMA}.case_events WHERE case_id = $1) c WHERE {reach} LIMIT 1",
        case_id,
        *args,
        "%" if whole_history else f"{DECISIONING_EVENTS}%",
    )
    if row is None:
        return None
    return CaseEvents(case_id, row["lscb"], recorded_order(parse_event(decode(doc)) for doc in row["documents"]))


def document_refs(events: Iterable[EventEnvelope]) -> list[DocumentRef]:
    """Every free-text document the events point at."""
    refs: list[DocumentRef | None] = []
    for event in events:
        if isinstance(event, ChairDecisionRecorded):
            refs.append(event.payload.rationale)
        elif isinstance(event, ScrPanelReferralRecorded):
            refs.append(event.payload.reason)
        elif isinstance(event, DiscretionaryInputRecorded):
            refs.append(event.payload.note)
        elif isinstance(event, PanelNoticePrepared):
            refs.append(event.payload.document)
    return [ref for ref in refs if ref is not None]


async def read_texts(
    lscb: str, case_id: UUID, refs: Sequence[DocumentRef], document_text: DocumentText | None
) -> Texts:
    """The texts of `refs` (nothing read when no reader is wired)."""
    if document_text is None:
        return {}
    ids = list(dict.fromkeys(ref.document_id for ref in refs))
    texts = await asyncio.gather(*(document_text(lscb, case_id, document_id) for document_id in ids))
    return dict(zip(ids, texts, strict=True))


def document_view(ref: DocumentRef | None, texts: Texts) -> dict[str, Any] | None:
    """The reference, its text if still there, and whether the text hashes to what the event recorded.

    status: `verified` (hash matches), `altered` (hash differs), `erased` (the store no longer has it) or
    `not_read` (no document reader was given).
    """
    if ref is None:
        return None
    if ref.document_id not in texts:
        text, status = None, "not_read"
    elif (text := texts[ref.document_id]) is None:
        status = "erased"
    else:
        status = "verified" if text_sha256(text) == ref.sha256 else "altered"
    return {
        "document_id": str(ref.document_id),
        "sha256": ref.sha256,
        "text": text,
        "verified": status == "verified",
        "status": status,
    }


def _common(event: EventEnvelope) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "service": event.event_type.split(".", 1)[0],
        "kind": KINDS.get(event.event_type, event.event_type.split(".", 1)[-1]),
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.actor.model_dump(mode="json"),
        "causation_id": None if event.causation_id is None else str(event.causation_id),
        "rule_pack": None,
        "rule_pack_version": None,
        "rules_fired": [],
        "reasons": [],
    }


def _details(event: EventEnvelope, texts: Texts) -> dict[str, Any]:
    """What each kind of event adds to its entry."""
    if isinstance(event, RecommendationRecorded):
        rec = recommendation_for(event.payload.recommendation.model_dump(mode="json"), event.lscb)
        return {
            **rec,
            "incident_event_id": str(event.payload.incident_event_id),
            "facts": event.payload.facts.model_dump(mode="json"),
        }
    if isinstance(event, ChairDecisionRecorded):
        p = event.payload
        seen = p.recommendation
        return {
            "decision": p.decision,
            "decided_on": p.decided_on.isoformat(),
            "departs_from_recommendation": p.departs_from_recommendation,
            "supersedes": None if p.supersedes is None else str(p.supersedes),
            "considered_for_scr": p.considered_for_scr,
            "scr_route": p.scr_route,
            "methodology": None if p.methodology is None else p.methodology.model_dump(mode="json"),
            "forum_theme": p.forum_theme,
            "rule_pack": p.rule_pack,
            "rule_pack_version": p.rule_pack_version,
            "rules_fired": list(p.methodology.rules_fired) if p.methodology else [],
            "reasons": list(p.methodology.reasons) if p.methodology else [],
            "rationale": document_view(p.rationale, texts),
            "deadlines": {name: due.isoformat() for name, due in p.deadlines.items()},
            "recommendation_seen": {
                "event_id": str(p.recommendation_event_id),
                "review_type": seen.review_type,
                "statutory_scr": seen.statutory_scr,
                "rule_pack": seen.rule_pack,
                "rule_pack_version": seen.rule_pack_version,
                "rules_fired": list(seen.rules_fired),
            },
        }
    if isinstance(event, ScrPanelReferralRecorded):
        return {
            "referred_on": event.payload.referred_on.isoformat(),
            "reason": document_view(event.payload.reason, texts),
        }
    if isinstance(event, DiscretionaryInputRecorded):
        held = event.payload
        return {
            "input": held.kind,
            "held_on": held.held_on.isoformat(),
            "supports_scr": held.supports_scr,
            "note": document_view(held.note, texts),
        }
    if isinstance(event, LeadReviewerAppointed):
        return {**event.payload.model_dump(mode="json")}
    if isinstance(event, PanelNoticePrepared):
        notice = event.payload
        return {
            **notice.model_dump(mode="json", exclude={"document"}),
            "document": document_view(notice.document, texts),
        }
    if isinstance(event, PanelNoticeSent | LearningThemesTagged | PanelNotificationRecorded | RapidReviewHeld):
        return {**event.payload.model_dump(mode="json")}
    # intake's and orchestration's events hold no free text (only document references), so their payload is
    # the entry; decisioning events added later show the same way until they get their own shape
    return {"payload": event.model_dump(mode="json").get("payload")}


def build_timeline(events: Iterable[EventEnvelope], texts: Texts) -> list[dict[str, Any]]:
    """The audit entries of a case's decisioning events, in recorded order (pure: the CLI uses it too)."""
    return [{**_common(event), **_details(event, texts)} for event in recorded_order(events)]


async def case_timeline(case: CaseEvents, document_text: DocumentText | None) -> dict[str, Any]:
    """The timeline document that `GET /v1/cases/{case_id}/decisions` and `lif audit case --json` give."""
    texts = await read_texts(case.lscb, case.case_id, document_refs(case.events), document_text)
    return {"case_id": str(case.case_id), "lscb": case.lscb, "entries": build_timeline(case.events, texts)}


async def timeline_from_database(
    database_url: str, case_id: UUID, personal_schema: str | None, *, whole_history: bool = True
) -> dict[str, Any] | None:
    """The timeline straight from a database (for `lif audit case`), texts from `personal_schema`'s store.

    None when the read model knows nothing of the case. Texts are not read when the store does not exist.
    """
    pool = await create_pool(database_url, max_size=2)
    try:
        case = await load_case_events(pool, case_id, EVERY_CASE, whole_history=whole_history)
        if case is None:
            return None
        if personal_schema is None or not await pool.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f'"{personal_schema}".details'
        ):
            return await case_timeline(case, None)
        store = await asyncio.to_thread(ErasableStore, database_url, personal_schema)
        try:

            async def document_text(lscb: str, case_id: UUID, document_id: UUID) -> str | None:
                return await asyncio.to_thread(store.get, document_id, lscb)

            return await case_timeline(case, document_text)
        finally:
            await asyncio.to_thread(store.close)
    finally:
        await pool.close()
