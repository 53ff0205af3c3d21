"""Who may do what on a review (rules.md section 3), asked once per request.

* Another board's review, or one a `reviewer` is not a member of, answers 404: they learn nothing of it.
* `regional_analyst` (aggregates only) and `integration` (incidents only) answer 403.
* read: admin, auditors in scope, the board's business manager and chair, and member reviewers.
* run (plan, groups, parallel processes, closure): the board's business manager.
* contribute (stages held and outcomes, findings, consultation, reports, learning summary, chronologies):
  the business manager or a reviewer who is a member of the review.
* publish and lift a publication hold: the board's chair. Set a hold: the chair or the business manager.
"""

from __future__ import annotations

from typing import Literal

from fastapi import HTTPException

from lif.auth import Principal, Role, forbid, not_found
from services.orchestration.state import ReviewState

Action = Literal["read", "run", "contribute", "publish", "hold", "lift_hold"]
NO_REVIEW = "no such review"


def _member_reviewer(principal: Principal, state: ReviewState) -> bool:
    return principal.role is Role.REVIEWER and state.is_member(principal.name)


def may(principal: Principal, state: ReviewState, action: Action) -> bool:
    lscb = state.lscb
    if action == "read":
        return principal.role in (Role.ADMIN, Role.AUDITOR, Role.BUSINESS_MANAGER, Role.CHAIR, Role.REVIEWER)
    if action == "run":
        return principal.manages_cases_for(lscb)
    if action == "contribute":
        return principal.manages_cases_for(lscb) or _member_reviewer(principal, state)
    if action == "publish" or action == "lift_hold":
        return principal.acts_as_chair_for(lscb)
    return principal.acts_as_chair_for(lscb) or principal.manages_cases_for(lscb)


def gate(principal: Principal, state: ReviewState | None, action: Action) -> ReviewState:
    """The review if the caller may do `action` on it; otherwise the 403 or 404 of rules.md section 3."""
    if principal.role is Role.REGIONAL_ANALYST:
        raise forbid("the regional analyst sees aggregate figures only")
    if state is None or not principal.sees_board(state.lscb):
        raise not_found(NO_REVIEW)
    if principal.role is Role.REVIEWER and not state.is_member(principal.name):
        raise not_found(NO_REVIEW)
    if not may(principal, state, action):
        raise _refused(action)
    return state


def _refused(action: Action) -> HTTPException:
    who = {
        "read": "this role does not read reviews",
        "run": "only the board's business manager runs the review process",
        "contribute": "only the business manager or a member of the review may record this",
        "publish": "only the board's Independent Chair decides publication",
        "hold": "only the Chair or the business manager may hold publication",
        "lift_hold": "only the board's Independent Chair may lift a publication hold",
    }
    return forbid(who[action])
