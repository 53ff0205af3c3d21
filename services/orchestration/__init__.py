"""Review orchestration: run commissioned reviews stage by stage (issue 4; rules.md sections 3-6)."""
