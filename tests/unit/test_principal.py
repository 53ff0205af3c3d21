"""The role and scope rules of rules.md section 3, checked for every role against every kind of scope."""

from __future__ import annotations

import dataclasses

import pytest

from lif.auth import REGION, Principal, Role, check_role_scope, parse_role

OWN = "BOL"  # the principal's own board
OTHER = "BUR"  # another known board
UNKNOWN = "ZZZ"  # not in the registry

BOARD_ROLES = [Role.INTEGRATION, Role.BUSINESS_MANAGER, Role.CHAIR, Role.REVIEWER]


def test_every_role_of_the_rules_is_known() -> None:
    assert {r.value for r in Role} == {
        "admin",
        "integration",
        "business_manager",
        "chair",
        "reviewer",
        "auditor",
        "regional_analyst",
    }


# --- check_role_scope -------------------------------------------------------------------------------

VALID_PAIRS = [
    (Role.ADMIN, REGION),
    (Role.REGIONAL_ANALYST, REGION),
    (Role.AUDITOR, REGION),
    (Role.AUDITOR, OWN),
    *[(role, OWN) for role in BOARD_ROLES],
    *[(role, OTHER) for role in BOARD_ROLES],
]


@pytest.mark.parametrize(("role", "scope"), VALID_PAIRS)
def test_valid_role_scope_pairs_are_accepted(role: Role, scope: str) -> None:
    check_role_scope(role, scope)
    check_role_scope(role.value, scope)  # plain strings, as from a CLI, too


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REGIONAL_ANALYST])
@pytest.mark.parametrize("scope", [OWN, UNKNOWN, ""])
def test_regional_roles_refuse_a_board_scope(role: Role, scope: str) -> None:
    with pytest.raises(ValueError, match=f"{role.value}.*must have scope 'region'"):
        check_role_scope(role, scope)


@pytest.mark.parametrize("role", BOARD_ROLES)
def test_board_roles_refuse_the_region(role: Role) -> None:
    with pytest.raises(ValueError, match=f"{role.value}.*one board"):
        check_role_scope(role, REGION)


@pytest.mark.parametrize("role", [*BOARD_ROLES, Role.AUDITOR])
@pytest.mark.parametrize("scope", [UNKNOWN, "bol", "", "Region"])
def test_unknown_board_codes_are_refused_by_name(role: Role, scope: str) -> None:
    with pytest.raises(ValueError, match=f"unknown board code '{scope}'"):
        check_role_scope(role, scope)


@pytest.mark.parametrize("role", ["superuser", "Admin", ""])
def test_unknown_roles_are_refused(role: str) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        check_role_scope(role, REGION)
    with pytest.raises(ValueError, match="expected one of: admin, integration"):
        parse_role(role)


# --- Principal ----------------------------------------------------------------------------------------


def test_principal_is_frozen_and_accepts_role_names() -> None:
    principal = Principal(name="ada", role="chair", scope=OWN)  # type: ignore[arg-type]
    assert principal.role is Role.CHAIR
    assert principal == Principal(name="ada", role=Role.CHAIR, scope=OWN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.scope = OTHER  # type: ignore[misc]


def test_principal_refuses_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        Principal(name="eve", role="root", scope=REGION)  # type: ignore[arg-type]


# Every valid principal, with what it may do on its own board, another board, and regionally.
# Columns: sees OWN, sees OTHER, submits OWN, submits OTHER, region summary, manages tokens.
RULES: list[tuple[Role, str, tuple[bool, bool, bool, bool, bool, bool]]] = [
    (Role.ADMIN, REGION, (True, True, True, True, True, True)),
    (Role.REGIONAL_ANALYST, REGION, (False, False, False, False, True, False)),
    (Role.AUDITOR, REGION, (True, True, False, False, True, False)),
    (Role.AUDITOR, OWN, (True, False, False, False, False, False)),
    (Role.INTEGRATION, OWN, (True, False, True, False, False, False)),
    (Role.BUSINESS_MANAGER, OWN, (True, False, True, False, False, False)),
    (Role.CHAIR, OWN, (True, False, False, False, False, False)),
    (Role.REVIEWER, OWN, (True, False, False, False, False, False)),
]


def test_the_rule_table_covers_every_valid_kind_of_principal() -> None:
    assert {role for role, _, _ in RULES} == set(Role)
    assert {(role, scope) for role, scope, _ in RULES} == {
        (role, scope) for role, scope in VALID_PAIRS if scope != OTHER
    }


@pytest.mark.parametrize(("role", "scope", "expected"), RULES, ids=[f"{r.value}@{s}" for r, s, _ in RULES])
def test_what_each_principal_may_do(
    role: Role, scope: str, expected: tuple[bool, bool, bool, bool, bool, bool]
) -> None:
    principal = Principal(name="someone", role=role, scope=scope)
    check_role_scope(principal.role, principal.scope)
    actual = (
        principal.sees_board(OWN),
        principal.sees_board(OTHER),
        principal.may_submit_incident_for(OWN),
        principal.may_submit_incident_for(OTHER),
        principal.sees_region_summary(),
        principal.may_manage_tokens(),
    )
    assert actual == expected


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("scope", [REGION, OWN])
def test_region_is_never_a_board(role: Role, scope: str) -> None:
    """Asking about "region" as if it were a board code grants nothing to board-scoped principals."""
    principal = Principal(name="someone", role=role, scope=scope)
    if role is not Role.ADMIN and not (role is Role.AUDITOR and scope == REGION):
        assert not principal.sees_board(REGION)
    if role is not Role.ADMIN:
        assert not principal.may_submit_incident_for(REGION)


INVALID_PAIRS = [
    (Role.ADMIN, OWN),
    (Role.REGIONAL_ANALYST, OWN),
    *[(role, REGION) for role in BOARD_ROLES],
]


@pytest.mark.parametrize(("role", "scope"), INVALID_PAIRS)
def test_an_invalid_pair_grants_no_more_than_its_role(role: Role, scope: str) -> None:
    """Tokens are checked when issued, but a bad pair must still fail safe, never widen access."""
    principal = Principal(name="odd", role=role, scope=scope)
    if role is Role.ADMIN:
        assert principal.sees_board(OTHER) and principal.may_manage_tokens()
        return
    assert not principal.may_manage_tokens()
    assert not principal.sees_board(OTHER)
    assert not principal.may_submit_incident_for(OTHER)
    if role in BOARD_ROLES:
        assert not principal.sees_region_summary()
        assert not principal.sees_board(OWN)


# --- case access: the order of refusals and the read matrix ---------------------------------------------------


def test_a_missing_case_and_another_boards_case_get_the_same_refusal() -> None:
    from fastapi import HTTPException

    from lif.auth import CaseAction, CaseScope, resolve_case

    wigan_chair = Principal("chair-wgn", Role.CHAIR, "WGN")
    answers = []
    for found in (None, CaseScope("BOL"), CaseScope("BOL", members={"someone"})):
        with pytest.raises(HTTPException) as refused:
            resolve_case(wigan_chair, CaseAction.DECIDE, found)
        answers.append((refused.value.status_code, refused.value.detail, refused.value.headers))
    assert answers == [(404, "not found", None)] * 3
    assert resolve_case(Principal("c", Role.CHAIR, "BOL"), CaseAction.DECIDE, CaseScope("BOL")).lscb == "BOL"


@pytest.mark.parametrize("found", [None, "BOL", "WGN"])
def test_a_role_that_never_does_an_action_gets_403_whatever_the_case(found: str | None) -> None:
    from fastapi import HTTPException

    from lif.auth import CaseAction, CaseScope, resolve_case

    for principal, action in [
        (Principal("a", Role.REGIONAL_ANALYST, "region"), CaseAction.READ_CASE),
        (Principal("m", Role.BUSINESS_MANAGER, "BOL"), CaseAction.DECIDE),
        (Principal("r", Role.REVIEWER, "BOL"), CaseAction.READ_DECISIONS),
        (Principal("x", Role.ADMIN, "region"), CaseAction.PUBLISH),
    ]:
        with pytest.raises(HTTPException) as refused:
            resolve_case(principal, action, None if found is None else CaseScope(found))
        assert refused.value.status_code == 403, (principal, action)
        assert "BOL" not in str(refused.value.detail) and "WGN" not in str(refused.value.detail)


def test_a_reviewer_sees_only_the_cases_of_their_reviews() -> None:
    from lif.auth import CaseScope, CaseSection, case_reads, sees_case

    reviewer = Principal("rev-1", Role.REVIEWER, "BOL")
    assert sees_case(reviewer, CaseScope("BOL", members={"rev-1"}))
    assert not sees_case(reviewer, CaseScope("BOL", members={"rev-2"}))
    assert not sees_case(reviewer, CaseScope("BOL"))  # a service that does not know the members
    assert not sees_case(reviewer, CaseScope("WGN", members={"rev-1"}))
    reads = case_reads(reviewer)
    assert (reads.boards, reads.member) == (frozenset({"BOL"}), "rev-1")
    assert reads.sections == {CaseSection.SUMMARY, CaseSection.REVIEW}
    assert case_reads(Principal("a", Role.ADMIN, "region")).boards is None
    assert case_reads(Principal("a", Role.AUDITOR, "region")).boards is None
    assert case_reads(Principal("a", Role.REGIONAL_ANALYST, "region")).sections == frozenset()
    assert case_reads(Principal("i", Role.INTEGRATION, "BOL")).sections == {CaseSection.SUMMARY}


# Columns: reads the reports of the boards it sees, sets a board's configuration (both still need sees_board).
REPORT_RULES: dict[tuple[Role, str], tuple[bool, bool]] = {
    (Role.ADMIN, REGION): (True, True),
    (Role.REGIONAL_ANALYST, REGION): (False, False),
    (Role.AUDITOR, REGION): (True, False),
    (Role.AUDITOR, OWN): (True, False),
    (Role.INTEGRATION, OWN): (False, False),
    (Role.BUSINESS_MANAGER, OWN): (True, True),
    (Role.CHAIR, OWN): (True, False),
    (Role.REVIEWER, OWN): (False, False),
}


@pytest.mark.parametrize(("role", "scope"), list(REPORT_RULES))
def test_who_reads_a_boards_reports_and_sets_its_configuration(role: Role, scope: str) -> None:
    principal = Principal(name="someone", role=role, scope=scope)
    assert (principal.reads_board_reports(), principal.sets_board_configuration()) == REPORT_RULES[(role, scope)]
    assert {role for role, _ in REPORT_RULES} == set(Role)
