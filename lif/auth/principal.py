"""Who is calling and what they may see: the roles and scopes of rules.md section 3, stated once.

Every endpoint asks a `Principal` rather than comparing roles itself, so the rules live in one place and
a change to them (or a new role) is made here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from events.envelope import Actor
from lif.boards import get_board

REGION = "region"
"""The scope of a token that is not tied to one board."""


class Role(StrEnum):
    """The roles a token may carry (rules.md section 3); a `StrEnum` so it stores and serialises as text."""

    ADMIN = "admin"
    INTEGRATION = "integration"
    BUSINESS_MANAGER = "business_manager"
    CHAIR = "chair"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    REGIONAL_ANALYST = "regional_analyst"


REGION_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.REGIONAL_ANALYST})
"""Roles that only make sense across the whole region."""

BOARD_ROLES: frozenset[Role] = frozenset({Role.INTEGRATION, Role.BUSINESS_MANAGER, Role.CHAIR, Role.REVIEWER})
"""Roles that belong to exactly one board; each may read that board's cases and case list."""

_BOARD_REPORT_READERS: frozenset[Role] = frozenset({Role.ADMIN, Role.AUDITOR, Role.BUSINESS_MANAGER, Role.CHAIR})
"""Roles that read a board's reports (its annual report, its reporting-year setting), in their scope."""

# Board-scoped roles that may submit incidents for their board.
_BOARD_SUBMITTERS: frozenset[Role] = frozenset({Role.INTEGRATION, Role.BUSINESS_MANAGER})


def parse_role(role: Role | str) -> Role:
    """`role` as a `Role`, refusing unknown names with the list of valid ones (for CLI and API input)."""
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {role!r}; expected one of: {known}") from None


def check_role_scope(role: Role | str, scope: str) -> None:
    """Refuse a role and scope that cannot go together, before any token is issued for them.

    admin and regional_analyst are regional; integration, business_manager, chair and reviewer belong to
    one known board; an auditor audits one known board or the region. Raises `ValueError` saying why.
    """
    checked = parse_role(role)
    if checked in REGION_ROLES:
        if scope != REGION:
            raise ValueError(f"role {checked.value!r} must have scope {REGION!r}, not {scope!r}")
        return
    if scope == REGION:
        if checked is Role.AUDITOR:
            return
        raise ValueError(f"role {checked.value!r} must be scoped to one board, not {REGION!r}")
    if get_board(scope) is None:
        raise ValueError(f"unknown board code {scope!r} for role {checked.value!r}")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a person or system (`name`), its `role` and its `scope`.

    `scope` is a board code or `"region"`. The constructor only normalises `role` (a plain string is
    accepted); whether the pair is allowed is `check_role_scope`'s job when a token is issued, so that a
    token stays readable even if its board were later removed from the registry. The methods below are
    written so that an invalid pair never grants more than the role would with a valid scope.
    """

    name: str
    role: Role
    scope: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", parse_role(self.role))

    def actor(self) -> Actor:
        """Who the events this caller causes name: an integrating system or a person, in this role."""
        if self.role is Role.INTEGRATION:
            return Actor(kind="system", id=self.name, role=str(self.role))
        return Actor(kind="person", id=self.name, role=str(self.role))

    @property
    def is_regional(self) -> bool:
        """True when the token is not tied to a single board."""
        return self.scope == REGION

    def _is_own_board(self, lscb: str) -> bool:
        return lscb != REGION and self.scope == lscb

    def sees_board(self, lscb: str) -> bool:
        """May read board `lscb`'s cases and case list (otherwise the board answers 404).

        admin: every board. auditor: its board, or every board when regional. integration,
        business_manager, chair and reviewer: their own board only. regional_analyst: never, it sees
        aggregates only. This is the board-level gate; `lif.auth.case_access` adds the per-case one (a
        reviewer sees only the cases of the reviews they are a member of) and what each role reads.
        """
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.AUDITOR:
            return self.is_regional or self._is_own_board(lscb)
        if self.role in BOARD_ROLES:
            return self._is_own_board(lscb)
        return False

    def may_submit_incident_for(self, lscb: str) -> bool:
        """May submit an incident for board `lscb` (otherwise 403): admin, or integration/business_manager
        of that board. Auditors, chairs, reviewers and analysts never submit."""
        if self.role is Role.ADMIN:
            return True
        if self.role in _BOARD_SUBMITTERS:
            return self._is_own_board(lscb)
        return False

    def sees_region_summary(self) -> bool:
        """May read regional aggregate views (otherwise 403): admin, regional_analyst, regional auditor."""
        if self.role in (Role.ADMIN, Role.REGIONAL_ANALYST):
            return True
        return self.role is Role.AUDITOR and self.is_regional

    def reads_board_reports(self) -> bool:
        """May read the reports of the boards it sees (otherwise 403, whatever the board): admin, auditor,
        business manager and chair. A board outside `sees_board` still answers 404."""
        return self.role in _BOARD_REPORT_READERS

    def sets_board_configuration(self) -> bool:
        """May change a board's settings, such as when its reporting year starts (otherwise 403): the board's
        business manager, or an admin for any board. A board outside `sees_board` still answers 404."""
        return self.role in (Role.ADMIN, Role.BUSINESS_MANAGER)

    def acts_as_chair_for(self, lscb: str) -> bool:
        """May give the Independent Chair's decisions for board `lscb` (decide, appoint, notify): its chair."""
        return self.role is Role.CHAIR and self._is_own_board(lscb)

    def manages_cases_for(self, lscb: str) -> bool:
        """May work board `lscb`'s cases (refer to the SCR panel, tag learning, run reviews): its business
        manager. Admins manage configuration, not cases."""
        return self.role is Role.BUSINESS_MANAGER and self._is_own_board(lscb)

    def may_manage_tokens(self) -> bool:
        """May issue, list and revoke access tokens: admin only."""
        return self.role is Role.ADMIN
