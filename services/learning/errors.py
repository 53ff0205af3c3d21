"""Why a learning command was refused, as exceptions that carry their HTTP status."""

from __future__ import annotations

from lif.delivery.failures import TransientFailure


class LearningError(Exception):
    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LearningError):
    status = 404


class Conflict(LearningError):
    status = 409


class InvalidInput(LearningError):
    status = 422


class Unavailable(TransientFailure):
    """The service that owns a text could not be asked now (retried by the delivery plumbing)."""
