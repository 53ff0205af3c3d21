"""Who may do what on a review: orchestration's actions mapped onto the case-access rules of `lif.auth`.

* A review that does not exist, another board's, or one a `reviewer` is not a member of: the one 404.
* A role that never does the action (the regional analyst, an integration, an auditor writing...): 403.
* read: admin, auditors in scope, the board's business manager and chair, and member reviewers.
* run (plan, groups, parallel processes, closure): the board's business manager.
* contribute (stages held and outcomes, findings, consultation, reports, learning summary, chronologies):
  the business manager or a reviewer who is a member of the review.
* publish and lift a publication hold: the board's chair. Set a hold: the chair or the business manager.
"""

from __future__ import annotations

from typing import Literal, cast

from lif.auth import CaseAction, CaseScope, Principal, resolve_case
from services.orchestration.state import ReviewState

Action = Literal["read", "run", "contribute", "publish", "hold", "lift_hold"]

ACTIONS: dict[Action, CaseAction] = {
    "read": CaseAction.READ_REVIEW,
    "run": CaseAction.RUN_REVIEW,
    "contribute": CaseAction.CONTRIBUTE,
    "publish": CaseAction.PUBLISH,
    "hold": CaseAction.HOLD,
    "lift_hold": CaseAction.LIFT_HOLD,
}


def scope_of(state: ReviewState) -> CaseScope:
    return CaseScope(state.lscb, members=frozenset(member_id for _, member_id in state.members))


def gate(principal: Principal, state: ReviewState | None, action: Action) -> ReviewState:
    """The review if the caller may do `action` on it; otherwise the 403 or the one 404 of `lif.auth`."""
    resolve_case(principal, ACTIONS[action], None if state is None else scope_of(state))
    return cast(ReviewState, state)  # resolve_case has refused a missing one
