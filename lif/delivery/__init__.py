"""How events move: relay a service's log to Kafka, consume Kafka or another log with tracking."""
