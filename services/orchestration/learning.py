"""The Learning Summary (rules.md section 6, Appendix B): every field, stored as one erasable document.

The event keeps only what collation needs without reading text (reference code, themes, dates, review
type); the whole summary is JSON in the erasable store and is served as JSON for learning collation.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events.fields import Date, Line, Text
from events.orchestration import MONTH_PATTERN, LearningSummaryRecordedPayload
from services.orchestration.completion import LearningSummaryFacts
from services.orchestration.state import ReviewState
from services.orchestration.texts import PendingTexts, Texts

TEXT = 20000
REFERENCE_CODE = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{1,59}$"
ThemeId = Annotated[Line, Field(min_length=1, max_length=100)]
Recommendation = Annotated[Text, Field(max_length=TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TypeOfReview(_Strict):
    methodology: Line = Field(min_length=1, max_length=200, description="e.g. Intensive SCR, SILP")
    chairing_and_authoring: Text = Field(min_length=1, max_length=TEXT, description="Who chaired and authored")
    how_selected: Text = Field(min_length=1, max_length=TEXT, description="How the review type was selected")


class LearningAboutTheCase(_Strict):
    themes: list[ThemeId] = Field(min_length=1, max_length=50, description="Theme ids of the board's typology")
    concerns: Text = Field(min_length=1, max_length=TEXT)
    good_practice: Text = Field(min_length=1, max_length=TEXT)


class LearningSummaryDocument(_Strict):
    """Every Appendix B field."""

    lscb_area: Line = Field(min_length=1, max_length=200)
    date_completed: Date
    type_of_review: TypeOfReview
    incident_month: str = Field(pattern=MONTH_PATTERN, description="Month and year of the incident, YYYY-MM")
    review_reference_code: str = Field(pattern=REFERENCE_CODE)
    learning_about_the_case: LearningAboutTheCase
    learning_about_the_review_method: Text = Field(min_length=1, max_length=TEXT)
    key_single_agency_recommendations: list[Recommendation] = Field(max_length=100)
    key_multi_agency_recommendations: list[Recommendation] = Field(max_length=100)
    how_changes_will_be_made: Text = Field(min_length=1, max_length=TEXT, description="Who does what")
    how_impact_will_be_audited: Text = Field(min_length=1, max_length=TEXT)
    other_comments: Text = Field(max_length=TEXT)


class LearningSummaryRequest(LearningSummaryDocument):
    """As the document, but the LSCB area defaults to the review's board."""

    lscb_area: Line | None = Field(default=None, max_length=200, description="Default: the name of the review's board")  # type: ignore[assignment]


def summary_facts(pending: PendingTexts, document: LearningSummaryDocument) -> LearningSummaryFacts:
    """The whole summary goes to the erasable store; the facts the event keeps point to it."""
    ref = pending.ref("learning_summary", document.model_dump_json())
    return LearningSummaryFacts(
        summary=ref,
        reference_code=document.review_reference_code,
        themes=list(document.learning_about_the_case.themes),
        completed_on=document.date_completed,
        incident_month=document.incident_month,
    )


class LearningSummaryView(BaseModel):
    """The summary as learning collation reads it; `summary` is None once its text was erased."""

    review_id: UUID
    case_id: UUID
    lscb: str
    reference_code: str
    themes: list[str]
    typology: str | None
    typology_version: str | None
    completed_on: date
    incident_month: str
    review_kind: str
    method: str
    summary: LearningSummaryDocument | None


def summary_view(state: ReviewState, recorded: LearningSummaryRecordedPayload, texts: Texts) -> LearningSummaryView:
    text = texts.read(state.lscb, recorded.summary)
    document = None
    if text is not None:
        try:
            document = LearningSummaryDocument.model_validate_json(text)
        except ValidationError:
            document = None
    return LearningSummaryView(
        review_id=state.review_id,
        case_id=state.case_id,
        lscb=state.lscb,
        reference_code=recorded.reference_code,
        themes=recorded.themes,
        typology=recorded.typology,
        typology_version=recorded.typology_version,
        completed_on=recorded.completed_on,
        incident_month=recorded.incident_month,
        review_kind=recorded.review_kind,
        method=recorded.method,
        summary=document,
    )
