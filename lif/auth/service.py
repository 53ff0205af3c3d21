"""Service credentials: how one service proves to another who it is on an internal request.

A service credential is a token `<service>.<secret>` (make one with `lif tokens service <service>`). The
calling service sends it as `Authorization: Bearer <token>` (from `LIF_SERVICE_TOKEN`); the owning service
accepts the tokens listed in `LIF_SERVICE_CREDENTIALS` (comma-separated) and learns the caller's name
from the one that matched. Internal routes are never in the public route table, so the reverse proxy
never forwards them: only processes on the service network can reach them, and only with a credential.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

SERVICE_CREDENTIALS_ENV = "LIF_SERVICE_CREDENTIALS"


def new_service_token(service: str) -> str:
    """A fresh credential for `service` (shown once; give it to that service and to the services it calls)."""
    if not service or "." in service or "," in service:
        raise ValueError("a service name is non-empty and holds no '.' or ','")
    return f"{service}.{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class ServiceCredentials:
    """The service tokens an owning service accepts."""

    tokens: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str | None) -> ServiceCredentials:
        return cls(tuple(t.strip() for t in (raw or "").split(",") if t.strip()))

    @classmethod
    def from_env(cls) -> ServiceCredentials:
        return cls.parse(os.environ.get(SERVICE_CREDENTIALS_ENV))

    def caller(self, token: str) -> str | None:
        """The service a presented token stands for, or None (compared in constant time, every token tried)."""
        found = None
        for accepted in self.tokens:
            if hmac.compare_digest(accepted.encode(), token.encode()):
                found = accepted.split(".", 1)[0]
        return found


def service_caller(credentials: ServiceCredentials, allowed: Iterable[str]) -> Callable[[Request], str]:
    """A FastAPI dependency: the calling service's name. 401 without a known service credential, 403 for a
    service that is not one of `allowed`."""
    permitted = frozenset(allowed)

    def dependency(request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        caller = credentials.caller(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if caller is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="a service credential is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if caller not in permitted:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"service {caller} may not make this request")
        return caller

    return dependency
