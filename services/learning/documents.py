"""The learning texts of each kind of source, Appendix B-shaped, as they are kept in the erasable store.

Every source keeps `title`, `findings` (what was learnt: the text search and the annual report read), the
themes and the key recommendations, plus what its kind adds (a forum's agencies, an audit's cases' count,
a review's every Appendix B field).
"""

from __future__ import annotations

from typing import Any

from events.incidents import NotifyingAgency

AGENCY_PREFIXES: dict[str, NotifyingAgency] = {
    "local authority": "local_authority",
    "children's social care": "local_authority",
    "social care": "local_authority",
    "police": "police",
    "health": "health",
    "education": "education",
    "school": "education",
    "probation": "probation",
    "youth offending": "youth_offending",
    "cafcass": "cafcass",
}


def agency_of(recommendation: str) -> NotifyingAgency | None:
    """The agency a single-agency recommendation names first ("Health: ..."), when it names a known one."""
    head, colon, _ = recommendation.partition(":")
    if not colon:
        return None
    return AGENCY_PREFIXES.get(head.strip().lower())


def review_findings(summary: dict[str, Any]) -> str:
    case = summary.get("learning_about_the_case") or {}
    parts = [
        case.get("concerns") or "",
        case.get("good_practice") or "",
        summary.get("learning_about_the_review_method") or "",
    ]
    return "\n\n".join(p for p in parts if p)


def searchable_text(document: dict[str, Any]) -> str:
    """Every free text of a source but its title and findings, for the full-text index: the register keeps
    those two in their own columns, weighted above this one, so each text is indexed (and quoted) once."""
    parts: list[str] = []
    summary = document.get("summary") or {}
    for key in ("how_changes_will_be_made", "how_impact_will_be_audited", "other_comments"):
        parts.append(summary.get(key) or "")
    parts.extend(document.get("key_single_agency_recommendations") or [])
    parts.extend(document.get("key_multi_agency_recommendations") or [])
    return "\n".join(p for p in parts if p)
