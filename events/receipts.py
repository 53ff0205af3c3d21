"""What intake answers an integrator that published on `lif.incidents.v1`: one receipt per message.

Published on `lif.incidents.receipts.v1`, keyed by the integrator's source reference exactly as they sent
it (their own key, so they can match answers to messages). That reference could identify a child in the
integrator's system, which is why the event log holds only its keyed hash and why the receipts topic has
a bounded retention (deploy/topics.json): a receipt is to be read soon, not kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.fields import Line, Text

ReceiptStatus = Literal["accepted", "duplicate", "conflict", "invalid"]


class ReceiptFieldError(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    field: Line
    message: Text


class IncidentReceipt(BaseModel):
    """Intake's answer to one message on `lif.incidents.v1` (at least once: a receipt may come twice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    receipt_version: Literal[1] = 1
    status: ReceiptStatus = Field(
        description="accepted: a new case; duplicate: the same notification again (the same case); conflict: "
        "the source reference is already a case with different content; invalid: refused, see errors"
    )
    case_id: UUID | None = Field(description="The case (accepted, duplicate, conflict); null when invalid")
    lscb: Line | None = Field(description="The board the notification named, when it could be read")
    source_system: Line | None = Field(description="source.system as sent, when it could be read")
    errors: list[ReceiptFieldError] = Field(default_factory=list, description="One message per bad field")
    source_partition: int = Field(description="Where the message was on lif.incidents.v1")
    source_offset: int
    processed_at: datetime
