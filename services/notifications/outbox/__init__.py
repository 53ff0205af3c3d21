"""The notifications outbox: every outbound message recorded as an event first, then dispatched."""
