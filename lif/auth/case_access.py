"""What each role may do and read on a case, as data, and the one order in which a request is refused.

Refusals come in this order, and only the first two depend on who asks:

1. **403** when the caller's role never does this, on any case (it depends on the token alone, so it tells
   nothing about the case: the regional analyst gets it on every case path);
2. **404** with the one body `NOT_FOUND` when the case (or its review, notice, member, entry...) does not
   exist *or* is outside the caller's scope: the two are indistinguishable, byte for byte;
3. then the service's own checks of the case's state (**409**) and of the input (**422**).

A case is in scope when the caller sees its board (`Principal.sees_board`), and for a `reviewer` when they
are also a member of the case's review (rules.md section 3: a reviewer acts on, and sees, only those).
Services that do not hold review membership pass `members=None`: no reviewer sees the case through them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from lif.auth.principal import Principal, Role

NOT_FOUND = "not found"
"""The detail of every 404 for a case-bound thing: the same for a missing one and one outside the scope."""


class CaseSection(StrEnum):
    """The parts of a case a role may read."""

    SUMMARY = "summary"
    """ids, dates, facts, the child's pseudonym, the recommendation, decision, deadlines (the register too)"""
    EVENTS = "events"
    """every event of the case, orchestration's included (member ids, chronology entries, holds, hashes)"""
    REVIEW = "review"
    """the review's progress: plan, stages, members, holds"""
    DECISION_HISTORY = "decision_history"
    """the audit timeline, with the Chair's rationales and the other free text"""
    NOTICES = "notices"
    """the rendered National Panel notices (they quote the incident summary and name the lead reviewers)"""


_ALL = frozenset(CaseSection)
CASE_READS: Mapping[Role, frozenset[CaseSection]] = {
    Role.ADMIN: _ALL,
    Role.AUDITOR: _ALL,
    Role.BUSINESS_MANAGER: _ALL,
    Role.CHAIR: _ALL,
    Role.REVIEWER: frozenset({CaseSection.SUMMARY, CaseSection.REVIEW}),
    Role.INTEGRATION: frozenset({CaseSection.SUMMARY}),
    Role.REGIONAL_ANALYST: frozenset(),
}
"""The read matrix: what each role may read of a case in its scope (README, Access)."""


class CaseAction(StrEnum):
    """What a request does to or with a case-bound thing."""

    READ_CASE = "read_case"
    READ_DECISIONS = "read_decisions"
    READ_NOTICE = "read_notice"
    READ_REVIEW = "read_review"
    DECIDE = "decide"
    APPOINT = "appoint"
    REFER = "refer"
    TAG_LEARNING = "tag_learning"
    CONSULT = "consult"
    NOTIFY = "notify"
    RUN_REVIEW = "run_review"
    CONTRIBUTE = "contribute"
    PUBLISH = "publish"
    HOLD = "hold"
    LIFT_HOLD = "lift_hold"


def _readers(section: CaseSection) -> frozenset[Role]:
    return frozenset(role for role, sections in CASE_READS.items() if section in sections)


CASE_ACTIONS: Mapping[CaseAction, frozenset[Role]] = {
    CaseAction.READ_CASE: _readers(CaseSection.SUMMARY),
    CaseAction.READ_DECISIONS: _readers(CaseSection.DECISION_HISTORY),
    CaseAction.READ_NOTICE: _readers(CaseSection.NOTICES),
    CaseAction.READ_REVIEW: _readers(CaseSection.REVIEW),
    CaseAction.DECIDE: frozenset({Role.CHAIR}),
    CaseAction.APPOINT: frozenset({Role.CHAIR}),
    CaseAction.REFER: frozenset({Role.BUSINESS_MANAGER}),
    CaseAction.TAG_LEARNING: frozenset({Role.BUSINESS_MANAGER}),
    CaseAction.CONSULT: frozenset({Role.CHAIR, Role.BUSINESS_MANAGER}),
    CaseAction.NOTIFY: frozenset({Role.CHAIR, Role.BUSINESS_MANAGER}),
    CaseAction.RUN_REVIEW: frozenset({Role.BUSINESS_MANAGER}),
    CaseAction.CONTRIBUTE: frozenset({Role.BUSINESS_MANAGER, Role.REVIEWER}),
    CaseAction.PUBLISH: frozenset({Role.CHAIR}),
    CaseAction.HOLD: frozenset({Role.CHAIR, Role.BUSINESS_MANAGER}),
    CaseAction.LIFT_HOLD: frozenset({Role.CHAIR}),
}
"""The roles that may do each action on a case in their scope. Every role here other than admin and auditor is
a board role, which sees its own board only, so "in scope and in this set" is the whole rule."""

REFUSED: Mapping[CaseAction, str] = {
    CaseAction.READ_CASE: "this role does not read case details",
    CaseAction.READ_DECISIONS: "this role does not read the decision history",
    CaseAction.READ_NOTICE: "this role does not read National Panel notices",
    CaseAction.READ_REVIEW: "this role does not read reviews",
    CaseAction.DECIDE: "only the Independent Chair may do this",
    CaseAction.APPOINT: "only the Independent Chair may do this",
    CaseAction.REFER: "only the business manager may do this",
    CaseAction.TAG_LEARNING: "only the business manager may do this",
    CaseAction.CONSULT: "only the Chair or the business manager may do this",
    CaseAction.NOTIFY: "only the Chair or the business manager may do this",
    CaseAction.RUN_REVIEW: "only the board's business manager runs the review process",
    CaseAction.CONTRIBUTE: "only the business manager or a member of the review may record this",
    CaseAction.PUBLISH: "only the board's Independent Chair decides publication",
    CaseAction.HOLD: "only the Chair or the business manager may hold publication",
    CaseAction.LIFT_HOLD: "only the board's Independent Chair may lift a publication hold",
}
"""The 403 detail of each action: it names the role, never the case or its board."""


@dataclass(frozen=True)
class CaseScope:
    """What the rules need to know of a case-bound thing: its board, and its review's members when known."""

    lscb: str
    members: Collection[str] | None = None


@dataclass(frozen=True)
class CaseReads:
    """A caller's read scope over cases, for the read model's queries to filter with.

    `boards`: the boards whose cases it may read (None: every board). `member`: when set, only cases whose
    review has this member. `sections`: what it may read of such a case.
    """

    boards: frozenset[str] | None
    member: str | None
    sections: frozenset[CaseSection]

    def reads(self, section: CaseSection) -> bool:
        return section in self.sections


EVERY_CASE = CaseReads(boards=None, member=None, sections=frozenset(CaseSection))
"""The read scope of operator tools run with database access (`lif audit case`), not of any token."""


def may_ever(principal: Principal, action: CaseAction) -> bool:
    """The role may do `action` on some case (step 1: the answer depends on the token only)."""
    return principal.role in CASE_ACTIONS[action]


def sees_case(principal: Principal, scope: CaseScope) -> bool:
    """The case is in the caller's scope (step 2): its board, and for a reviewer a review they are a member of."""
    if not principal.sees_board(scope.lscb):
        return False
    if principal.role is Role.REVIEWER:
        return scope.members is not None and principal.name in scope.members
    return True


def case_reads(principal: Principal) -> CaseReads:
    """The caller's read scope, for queries (`sections` is empty for a role that reads no case)."""
    if principal.role is Role.ADMIN or (principal.role is Role.AUDITOR and principal.is_regional):
        boards: frozenset[str] | None = None
    elif principal.is_regional or principal.role is Role.REGIONAL_ANALYST:
        boards = frozenset()
    else:
        boards = frozenset({principal.scope})
    member = principal.name if principal.role is Role.REVIEWER else None
    return CaseReads(boards=boards, member=member, sections=CASE_READS.get(principal.role, frozenset()))
