"""Access control: tokens, the principals they stand for, and the role/scope rules (rules.md section 3)."""

from lif.auth.http import CurrentPrincipal, forbid, not_found, principal_dependency
from lif.auth.principal import (
    BOARD_ROLES,
    REGION,
    REGION_ROLES,
    Principal,
    Role,
    check_role_scope,
    parse_role,
)
from lif.auth.tokens import (
    BOOTSTRAP_ENV,
    BOOTSTRAP_NAME,
    TOKEN_PREFIX,
    Authenticator,
    AuthError,
    TokenStore,
    hash_token,
)

__all__ = [
    "BOARD_ROLES",
    "BOOTSTRAP_ENV",
    "BOOTSTRAP_NAME",
    "REGION",
    "REGION_ROLES",
    "TOKEN_PREFIX",
    "AuthError",
    "Authenticator",
    "CurrentPrincipal",
    "Principal",
    "Role",
    "TokenStore",
    "check_role_scope",
    "forbid",
    "hash_token",
    "not_found",
    "parse_role",
    "principal_dependency",
]
