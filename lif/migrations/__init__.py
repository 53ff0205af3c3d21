"""Schema changes as versioned migrations, per service (`lif migrate`); no process makes tables at start-up."""

from lif.migrations.runner import (
    Applied,
    Migration,
    MigrationError,
    MigrationSet,
    MigrationsPending,
    migrate,
    pending,
    require_migrated,
    status,
)
from lif.migrations.sets import ALL, BY_SERVICE, select

__all__ = [
    "ALL",
    "BY_SERVICE",
    "Applied",
    "Migration",
    "MigrationError",
    "MigrationSet",
    "MigrationsPending",
    "migrate",
    "pending",
    "require_migrated",
    "select",
    "status",
]
