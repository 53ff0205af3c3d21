"""FastAPI glue: the caller's `Principal` as a dependency, and the 403/404 answers of rules.md section 3.

Apps put an `Authenticator` at `app.state.authenticator`; endpoints take `principal: CurrentPrincipal`
(or `Depends(principal_dependency)`) and then ask the principal what it may do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lif.auth.principal import Principal
from lif.auth.tokens import Authenticator, AuthError

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
    try:
        principal = await authenticator.authenticate(request.headers.get("authorization"))
    except AuthError as error:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED, detail=error.detail, headers=BEARER_CHALLENGE
        ) from None
    request.state.principal = principal  # for access logs and audit trails
    return principal


CurrentPrincipal = Annotated[Principal, Depends(principal_dependency)]
"""Endpoint parameter type for the authenticated caller."""


def forbid(detail: str = "forbidden") -> HTTPException:
    """403: the caller is known but may not do this (e.g. submitting for another board)."""
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=detail)


def not_found(detail: str = "not found") -> HTTPException:
    """404: also the answer for things outside the caller's scope, so that it learns nothing of them."""
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)
