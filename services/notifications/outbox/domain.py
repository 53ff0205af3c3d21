"""The outbox aggregates.

`OutboundNotification`: one per message (id: uuid5 of its idempotency key); each stored event carries its
public envelope (queued, then failed attempts and delivered), so the outbox's log is what the relay
publishes. `FanOut`: that a cause (a timer event, a Panel notice's send) was turned into messages, and
which; its events carry no envelope, so they are never published. It makes a republished timer event a
no-op even if the directory changed meanwhile: a cause is fanned out once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

FANOUT_NAMESPACE = UUID("0f6c2b8e-4d1a-4e7f-b3c5-9a8d7e6f5c4b")


class OutboundNotification(Aggregate):
    @staticmethod
    def create_id(envelope: dict[str, Any]) -> UUID:
        return UUID(envelope["payload"]["message_id"])

    @event("Queued")
    def __init__(self, envelope: dict[str, Any]) -> None:
        self.queued = envelope
        self.attempts = 0
        self.delivered: dict[str, Any] | None = None
        self.failures: list[dict[str, Any]] = []

    @event("Delivered")
    def deliver(self, envelope: dict[str, Any]) -> None:
        self.attempts = envelope["payload"]["attempt"]
        self.delivered = envelope

    @event("Failed")
    def fail(self, envelope: dict[str, Any]) -> None:
        self.attempts = envelope["payload"]["attempt"]
        self.failures.append(envelope)

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.queued["payload"]
        return payload

    @property
    def done(self) -> bool:
        """Delivered, or given up on: the dispatcher never attempts it again."""
        return self.delivered is not None or any(f["payload"]["final"] for f in self.failures)

    @property
    def state(self) -> str:
        if self.delivered is not None:
            return "delivered"
        if self.done:
            return "failed"
        return "retrying" if self.failures else "queued"

    def view(self) -> dict[str, Any]:
        """What a manager sees of a message: its cause and channel, every attempt, and where it stands."""
        p = self.payload
        attempts = [
            {"attempt": f["payload"]["attempt"], "outcome": "failed", "reason": f["payload"]["reason"],
             "permanent": f["payload"]["permanent"], "at": f["recorded_at"]}
            for f in self.failures
        ]
        if self.delivered is not None:
            d = self.delivered["payload"]
            attempts.append({"attempt": d["attempt"], "outcome": "delivered", "detail": d["detail"],
                             "at": self.delivered["recorded_at"]})
        return {
            "message_id": p["message_id"],
            "idempotency_key": p["idempotency_key"],
            "lscb": self.queued["lscb"],
            "case_id": p["context"].get("case_id", self.queued["case_id"]) or None,  # "": a learning obligation's
            "recipient_id": p["recipient_id"],
            "channel": p["channel"],
            "template": p["template"],
            "purpose": p["purpose"],
            "queued_at": self.queued["recorded_at"],
            "state": self.state,
            "attempts": attempts,
        }


class FanOut(Aggregate):
    @staticmethod
    def create_id(source: str) -> UUID:
        return FanOut.id_for(source)

    @staticmethod
    def id_for(source: str) -> UUID:
        return uuid5(FANOUT_NAMESPACE, source)

    @event("Done")
    def __init__(self, source: str, message_ids: list[str]) -> None:
        self.source = source
        self.message_ids = list(message_ids)
