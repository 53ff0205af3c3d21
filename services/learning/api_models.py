"""Request bodies of learning collation: every source's Appendix B-shaped learning, and the tracking of
recommendations to impact. Strict: unknown fields refused, the shared text and date rules (events/fields)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from events.fields import Date, Line, Text
from events.incidents import NotifyingAgency
from events.learning import MONTH_PATTERN, ActionStatus, ImpactResult, ReviewType

REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{1,59}$"
TEXT = 20000
Recommendation = Annotated[Text, Field(min_length=1, max_length=TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThemeInput(_Strict):
    """A theme: `code` of `typology` (default: the board's), at `version` (default: the newest)."""

    typology: Line | None = Field(default=None, max_length=100)
    version: Line | None = Field(default=None, max_length=20)
    code: Line = Field(min_length=1, max_length=100)


class _Source(_Strict):
    lscb: str = Field(pattern=r"^[A-Z]{3}$", description="The board recording it (the caller's)")
    reference: str = Field(pattern=REFERENCE, description="The board's own reference; the same again is a repeat")
    title: Line = Field(min_length=1, max_length=300)
    themes: list[ThemeInput] = Field(min_length=1, max_length=50)
    key_single_agency_recommendations: list[Recommendation] = Field(default_factory=list, max_length=100)
    key_multi_agency_recommendations: list[Recommendation] = Field(default_factory=list, max_length=100)


class ForumRequest(_Source):
    """A practitioner forum (rules.md 1 E4): its theme, when it was held, the agencies there, what was learnt."""

    held_on: Date
    agencies: list[NotifyingAgency] = Field(min_length=1, max_length=100)
    what_was_learnt: Text = Field(min_length=1, max_length=TEXT)


class AuditRequest(_Source):
    """A multi-case audit: its theme, the cases' count, its findings."""

    completed_on: Date
    cases_count: StrictInt = Field(ge=1, le=100000)
    findings: Text = Field(min_length=1, max_length=TEXT)


class LegacyReviewRequest(_Source):
    """A review that closed before LIF, imported as a source of learning (for repeat learning, rule E2)."""

    review_type: ReviewType
    closed_on: Date
    incident_month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    learning_about_the_case: Text = Field(min_length=1, max_length=TEXT, description="Concerns and good practice")
    how_impact_will_be_audited: Text | None = Field(default=None, max_length=TEXT)


class ActionRequest(_Strict):
    owning_agency: NotifyingAgency
    due: Date
    description: Text = Field(min_length=1, max_length=TEXT)


class ActionUpdateRequest(_Strict):
    status: ActionStatus | None = None
    due: Date | None = None
    on: Date | None = Field(default=None, description="When it changed (default today)")


class ImpactRequest(_Strict):
    audited_on: Date
    result: ImpactResult
    finding: Text = Field(min_length=1, max_length=TEXT)
    reaudit_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$", description="The re-audit it answers")


class ReauditRequest(_Strict):
    due: Date


SourceKindFilter = Literal["review", "forum", "audit", "legacy_review"]
