"""Request bodies of the review API. Free text fields go to the erasable store, never into events."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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
REPORT = 2_000_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleRequest(Strict):
    scheduled_for: date
    planned_duration: Duration


class HeldRequest(Strict):
    held_on: date


class OutcomeRequest(Strict):
    result: Literal["completed", "completed_with_actions", "incomplete"]
    agencies_present: list[Agency] = []
    actions_agreed: int = Field(default=0, ge=0, le=1000)
    note: str | None = Field(default=None, min_length=1, max_length=TEXT, description="Kept in the erasable store")


class MoveRequest(Strict):
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="A reason the plan allows for this stage")
    new_due: date | None = Field(default=None, description="None: until the reason ends")
    note: str | None = Field(default=None, min_length=1, max_length=TEXT, description="Kept in the erasable store")


class MemberRequest(Strict):
    group: Group
    member_id: str = Field(min_length=1, max_length=200, description="The person's LIF account (token) name")
    role: MemberRole
    agency: Agency | None = None


class FindingsRequest(Strict):
    findings: str = Field(min_length=1, max_length=REPORT, description="Kept in the erasable store")
    shared_on: date


class ResponseRequest(Strict):
    member_id: str = Field(min_length=1, max_length=200)
    findings_version: int = Field(ge=1)
    response: Literal["agrees", "agrees_with_corrections", "disagrees", "no_response"]
    responded_on: date
    comments: str | None = Field(default=None, min_length=1, max_length=TEXT)
    corrections: list[str] = Field(default=[], max_length=100, description="Each kept in the erasable store")


class ChronologyEntryRequest(Strict):
    event_date: date
    description: str = Field(min_length=1, max_length=TEXT)
    risk: str | None = Field(default=None, min_length=1, max_length=TEXT)
    response: str | None = Field(default=None, min_length=1, max_length=TEXT)
    partnership: str | None = Field(default=None, min_length=1, max_length=TEXT)
    learning: str | None = Field(default=None, min_length=1, max_length=TEXT)
    learning_flags: LearningFlags = LearningFlags(significant=False, new=False)
    significance: Significance


class ChronologyCorrectionRequest(ChronologyEntryRequest):
    reason: str | None = Field(default=None, min_length=1, max_length=TEXT, description="Why it was corrected")


class ParallelProcessRequest(Strict):
    kind: ParallelProcessKind
    reference: str | None = Field(
        default=None, min_length=1, max_length=200, description="External reference; erasable store only"
    )
    started_on: date | None = None
    status: Literal["ongoing", "concluded"] = "ongoing"


class ParallelProcessUpdateRequest(Strict):
    status: Literal["ongoing", "concluded"]
    on: date


class HoldRequest(Strict):
    reason: Literal["criminal_trial", "inquest", "other"]
    linked_process: UUID | None = None
    set_on: date


class LiftRequest(Strict):
    lifted_on: date


class FinalReportRequest(Strict):
    report: str = Field(min_length=1, max_length=REPORT, description="Kept in the erasable store")
    received_on: date


class PublishRequest(Strict):
    published_on: date


class CloseRequest(Strict):
    closed_on: date


class Recorded(BaseModel):
    """The event a command recorded (its payload holds any new id: entry_id, link_id, hold_id, version)."""

    review_id: UUID
    event: dict[str, Any]
