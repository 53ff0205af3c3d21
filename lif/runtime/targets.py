"""The `lif serve` targets, kept light so the CLI and the compose check can list them cheaply."""

TARGETS = ("intake", "decisioning", "orchestration", "projections", "http")

TARGET_MIGRATIONS: dict[str, tuple[str, ...]] = {
    "intake": ("intake",),
    "decisioning": ("decisioning",),
    "orchestration": ("orchestration",),
    "projections": ("projections",),
    "http": ("access", "intake", "decisioning", "orchestration", "projections"),
}
"""Whose migrations each target needs applied before it starts (the schemas it reads and writes)."""
