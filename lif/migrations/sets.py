"""Which migrations exist: one set per service, each for the schemas that service owns.

A service's steps touch only its own schemas and its history lives in one of them, so each set can be
applied by a database role that owns that service's schemas and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from lif.migrations.runner import MigrationSet

ACCESS = MigrationSet("access", "lif.auth", ("lif_access",))
"""Access tokens."""
INTAKE = MigrationSet("intake", "services.intake", ("lif_intake", "lif_intake_personal"))
"""Intake's event store and relay position, and its erasable store."""
DECISIONING = MigrationSet(
    "decisioning", "services.decisioning", ("lif_decisioning", "lif_decisioning_personal", "lif_decisioning_registry")
)
"""Decisioning's event store with tracking records and relay position, its erasable store and registries."""
ORCHESTRATION = MigrationSet(
    "orchestration", "services.orchestration", ("lif_orchestration", "lif_orchestration_personal")
)
"""Orchestration's event store with tracking records and relay position, and its erasable store."""
NOTIFICATIONS = MigrationSet(
    "notifications",
    "services.notifications",
    ("lif_notifications", "lif_notifications_outbox", "lif_notifications_directory"),
)
"""Notifications' event store with tracking records and relay position, the obligations table and the feeds;
the outbox's event store with its relay position and inbox, and the erasable recipients directory."""
LEARNING = MigrationSet("learning", "services.learning", ("lif_learning", "lif_learning_personal"))
"""Learning collation's event store with tracking records and relay position, its erasable store and register."""
PROJECTIONS = MigrationSet("projections", "projections", ("lif_projections",))
"""The read model."""
WEB = MigrationSet("web", "services.web", ("lif_web",))
"""The web service's sessions and the sign-in links it has redeemed."""

ALL = (ACCESS, INTAKE, DECISIONING, ORCHESTRATION, NOTIFICATIONS, LEARNING, PROJECTIONS, WEB)
BY_SERVICE = {s.service: s for s in ALL}


def select(services: Iterable[str] | None = None) -> tuple[MigrationSet, ...]:
    """The sets named (every set when None), in the order of `ALL`; an unknown name is a ValueError."""
    if services is None:
        return ALL
    names = set(services)
    unknown = sorted(names - set(BY_SERVICE))
    if unknown:
        raise ValueError(f"unknown service {', '.join(unknown)}; choose from {', '.join(BY_SERVICE)}")
    return tuple(s for s in ALL if s.service in names)
