"""The `lif serve` targets, kept light so the CLI and the compose check can list them cheaply."""

TARGETS = ("intake", "decisioning", "orchestration", "projections", "http")
