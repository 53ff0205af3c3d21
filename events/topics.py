"""Topic names: versioned, so a breaking change is a new topic, never an edit in place."""

INCIDENTS = "lif.incidents.v1"
INTAKE = "lif.intake.v1"
DECISIONING = "lif.decisioning.v1"
ORCHESTRATION = "lif.orchestration.v1"
NOTIFICATIONS = "lif.notifications.v1"
LEARNING = "lif.learning.v1"
INCIDENT_RECEIPTS = "lif.incidents.receipts.v1"
"""Intake's answer to each message on INCIDENTS, keyed by the integrator's source reference."""


def dead_letter(topic: str) -> str:
    """Where a consumer of `topic` puts messages it can never process."""
    return f"{topic}.dlq"


INCIDENTS_DLQ = dead_letter(INCIDENTS)
ALL = (
    INCIDENTS,
    INCIDENTS_DLQ,
    INTAKE,
    dead_letter(INTAKE),
    DECISIONING,
    dead_letter(DECISIONING),
    ORCHESTRATION,
    dead_letter(ORCHESTRATION),
    NOTIFICATIONS,
    dead_letter(NOTIFICATIONS),
    LEARNING,
    dead_letter(LEARNING),
    INCIDENT_RECEIPTS,
)
