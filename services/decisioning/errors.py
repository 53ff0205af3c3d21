"""Why a command was refused, in terms the HTTP adapter maps to a status (and a person can act on)."""

from __future__ import annotations


class Refused(Exception):
    """A command that changes nothing; `status` is the HTTP status that says why."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoRecommendation(Refused):
    """The case has no recommendation yet (or is not known): nothing can be decided on it."""


class Conflict(Refused):
    """The command contradicts the case's state (already sent, not commissioned, not independent, ...)."""


class NotFound(Refused):
    status = 404


class Invalid(Refused):
    """A field of the command is wrong; `field` names it for the 422 answer."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Unavailable(Refused):
    """Something the command needs from another service could not be had just now; retrying may succeed."""

    status = 503
