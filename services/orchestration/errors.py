"""Why a command was refused, as exceptions that carry their HTTP status (404, 409, 422 or 403)."""

from __future__ import annotations

from lif.delivery.failures import TransientFailure


class OrchestrationError(Exception):
    """Base of every refusal; `status` is the HTTP answer, `field` names the bad input for a 422."""

    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(OrchestrationError):
    """No such review, stage, member, entry, hold or parallel process (404)."""

    status = 404


class Conflict(OrchestrationError):
    """The review's state does not allow this now (409)."""

    status = 409


class InvalidInput(OrchestrationError):
    """The input breaks a rule of the plan or the framework (422, naming the field)."""

    status = 422


class NotPermitted(OrchestrationError):
    """The caller may see the review but may not do this (403)."""

    status = 403


class ReviewNotOpen(Conflict):
    """The review is closed, or the Chair decided no review process."""


class OutOfOrder(Conflict):
    """A stage would happen before a stage the plan puts first."""


class MoveNotAllowed(Conflict):
    """The plan does not let this stage move (or not for this reason)."""


class StageIncomplete(Conflict):
    """A stage that must finish first (family involvement before publication) has not been held."""


class PublicationOnHold(Conflict):
    """A publication hold is active (e.g. while a criminal trial runs)."""


class LearningSummaryRequired(Conflict):
    """A review cannot close without its Learning Summary."""


class FinalReportRequired(Conflict):
    """Nothing can be published before a final report is recorded."""


class LeadReviewerByAppointment(Conflict):
    """A (candidate) SCR's lead reviewers come from the Chair's appointment only (independence rule)."""


class ConcurrentChange(Conflict, TransientFailure):
    """Someone else changed the review at the same moment; the command can be retried."""
