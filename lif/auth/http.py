"""FastAPI glue: the caller's `Principal` as a dependency, and the 403/404 answers of rules.md section 3.

`resolve_case` is the one place that turns the case-access rules into answers; routes call it, they never
compare roles themselves.

Apps put an `Authenticator` at `app.state.authenticator`; endpoints take `principal: CurrentPrincipal`
(or `Depends(principal_dependency)`) and then ask the principal what it may do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lif.auth.case_access import NOT_FOUND, REFUSED, CaseAction, CaseScope, may_ever, sees_case
from lif.auth.principal import Principal
from lif.auth.tokens import Authenticator, AuthError, hash_token

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


# Declared so OpenAPI documents the scheme (and /docs offers "Authorize"); the header is read below.
bearer_scheme = HTTPBearer(auto_error=False, description="A LIF access token (`lif tokens create`)")


async def principal_dependency(
    request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer_scheme)
) -> Principal:
    """The authenticated caller, or a 401 `{"detail": ...}` with a `WWW-Authenticate: Bearer` header."""
    authenticator = getattr(request.app.state, "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        # A wiring mistake, not the caller's fault: fail loudly (500) rather than let anyone in.
        raise RuntimeError("app.state.authenticator is not set to a lif.auth.Authenticator")
    limiter = getattr(request.app.state, "rate_limiter", None)
    address = request.client.host if request.client else "unknown"
    header = request.headers.get("authorization")
    if limiter is not None:
        _limit(limiter.auth_failures.retry_after(address), "too many failed authentications from this address")
    try:
        principal = await authenticator.authenticate(header)
    except AuthError as error:
        if limiter is not None:
            limiter.auth_failures.take(address)
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED, detail=error.detail, headers=BEARER_CHALLENGE
        ) from None
    if limiter is not None:
        _limit(limiter.per_token.take(hash_token(header or "")), "too many requests with this token")
    request.state.principal = principal  # for access logs and audit trails
    return principal


def _limit(wait: int | None, detail: str) -> None:
    """429 with `Retry-After` when a rate limit (lif.http_security.RateLimiter) says to wait."""
    if wait is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS, detail=detail, headers={"Retry-After": str(wait)}
        )


CurrentPrincipal = Annotated[Principal, Depends(principal_dependency)]
"""Endpoint parameter type for the authenticated caller."""


def forbid(detail: str = "forbidden") -> HTTPException:
    """403: the caller is known but may not do this (e.g. submitting for another board)."""
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=detail)


def not_found(detail: str = NOT_FOUND) -> HTTPException:
    """404: also the answer for things outside the caller's scope, so that it learns nothing of them."""
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)


def require_role(principal: Principal, action: CaseAction) -> None:
    """403 when the caller's role never does `action`, whatever the case (step 1 of `case_access`)."""
    if not may_ever(principal, action):
        raise forbid(REFUSED[action])


def resolve_case(principal: Principal, action: CaseAction, found: CaseScope | None) -> CaseScope:
    """The case-bound thing if the caller may do `action` on it: 403 for a role that never does it, then the
    one 404 for a missing thing and one outside the caller's scope alike (see `lif.auth.case_access`)."""
    require_role(principal, action)
    if found is None or not sees_case(principal, found):
        raise not_found()
    return found
