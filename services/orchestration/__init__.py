"""Review orchestration: run commissioned reviews stage by stage (rules.md sections 3-6)."""
