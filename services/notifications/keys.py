"""Deterministic ids of outbound messages: the same cause and recipient always make the same message."""

from __future__ import annotations

from uuid import UUID, uuid5

MESSAGE_NAMESPACE = UUID("c3e0f5a1-7b2d-4c6e-8f90-1a2b3c4d5e6f")


def idempotency_key(source: str, recipient_id: str, channel: str) -> str:
    """`<source>:<recipient>:<channel>`; `source` is a timer event's id or a command's own key."""
    return f"{source}:{recipient_id}:{channel}"


def message_id(key: str) -> UUID:
    """The message id (and outbox aggregate id) of an idempotency key."""
    return uuid5(MESSAGE_NAMESPACE, key)
