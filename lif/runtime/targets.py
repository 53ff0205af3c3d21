"""The `lif serve` targets, kept light so the CLI and the compose check can list them cheaply."""

TARGETS = ("intake", "decisioning", "orchestration", "notifications", "learning", "projections", "web")
"""One per service; each consumes, relays and serves its own HTTP routes (lif.http_routes)."""

TARGET_MIGRATIONS: dict[str, tuple[str, ...]] = {
    "intake": ("access", "intake"),
    "decisioning": ("access", "decisioning"),
    "orchestration": ("access", "orchestration"),
    "notifications": ("access", "notifications"),
    "learning": ("access", "learning"),
    "projections": ("access", "projections"),
    "web": ("access", "web"),
}
"""Whose migrations each target needs applied before it starts: its own, and the access tokens its HTTP
routes authenticate with."""
