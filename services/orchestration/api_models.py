"""Request bodies of the review API. Free text fields go to the erasable store, never into events."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.fields import MAX_ITEMS, Count, Date, Line, Text
from events.orchestration import (
    Agency,
    Duration,
    Group,
    LearningFlags,
    MemberRole,
    ParallelProcessKind,
    Significance,
)

TEXT = 20000
REPORT = 1_000_000
"""Characters of a report or findings: an ASCII one this long still fits the request body limit (1 MiB)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleRequest(Strict):
    scheduled_for: Date
    planned_duration: Duration


class HeldRequest(Strict):
    held_on: Date


class OutcomeRequest(Strict):
    result: Literal["completed", "completed_with_actions", "incomplete"]
    agencies_present: list[Agency] = Field(default=[], max_length=MAX_ITEMS)
    actions_agreed: Count = Field(default=0, ge=0, le=1000)
    note: Text | None = Field(default=None, min_length=1, max_length=TEXT, description="Kept in the erasable store")


class MoveRequest(Strict):
    reason: Line = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="A reason the plan allows for this stage")
    new_due: Date | None = Field(default=None, description="None: until the reason ends")
    note: Text | None = Field(default=None, min_length=1, max_length=TEXT, description="Kept in the erasable store")


class MemberRequest(Strict):
    group: Group
    member_id: Line = Field(min_length=1, max_length=200, description="The person's LIF account (token) name")
    role: MemberRole
    agency: Agency | None = None


class FindingsRequest(Strict):
    findings: Text = Field(min_length=1, max_length=REPORT, description="Kept in the erasable store")
    shared_on: Date


class ResponseRequest(Strict):
    member_id: Line = Field(min_length=1, max_length=200)
    findings_version: Count = Field(ge=1, le=10_000)
    response: Literal["agrees", "agrees_with_corrections", "disagrees", "no_response"]
    responded_on: Date
    comments: Text | None = Field(default=None, min_length=1, max_length=TEXT)
    corrections: list[Annotated[Text, Field(min_length=1, max_length=TEXT)]] = Field(
        default=[], max_length=MAX_ITEMS, description="Each kept in the erasable store"
    )


class ChronologyEntryRequest(Strict):
    event_date: Date
    description: Text = Field(min_length=1, max_length=TEXT)
    risk: Text | None = Field(default=None, min_length=1, max_length=TEXT)
    response: Text | None = Field(default=None, min_length=1, max_length=TEXT)
    partnership: Text | None = Field(default=None, min_length=1, max_length=TEXT)
    learning: Text | None = Field(default=None, min_length=1, max_length=TEXT)
    learning_flags: LearningFlags = LearningFlags(significant=False, new=False)
    significance: Significance


class ChronologyCorrectionRequest(ChronologyEntryRequest):
    reason: Text | None = Field(default=None, min_length=1, max_length=TEXT, description="Why it was corrected")


class ParallelProcessRequest(Strict):
    kind: ParallelProcessKind
    reference: Line | None = Field(
        default=None, min_length=1, max_length=200, description="External reference; erasable store only"
    )
    started_on: Date | None = None
    status: Literal["ongoing", "concluded"] = "ongoing"


class ParallelProcessUpdateRequest(Strict):
    status: Literal["ongoing", "concluded"]
    on: Date


class HoldRequest(Strict):
    reason: Literal["criminal_trial", "inquest", "other"]
    linked_process: UUID | None = None
    set_on: Date


class LiftRequest(Strict):
    lifted_on: Date


class FinalReportRequest(Strict):
    report: Text = Field(min_length=1, max_length=REPORT, description="Kept in the erasable store")
    received_on: Date


class PublishRequest(Strict):
    published_on: Date


class CloseRequest(Strict):
    closed_on: Date


class Recorded(BaseModel):
    """The event a command recorded (its payload holds any new id: entry_id, link_id, hold_id, version)."""

    review_id: UUID
    event: dict[str, Any]
