"""What the learning service gives a report: its sources of learning and their recommendations, over a period.

The figures come from the read model; the findings of reviews, forums and audits and the recommendations'
progress belong to the learning collation service, which the projections never read in its tables. They ask
it: over HTTP (`GET /internal/v1/learning/{lscb}/report-inputs?from=&to=` and `.../region/report-inputs`,
with the projections' service credential) in the distributed runtime, or through a function of the learning
service in the embedded one (`InProcessReportInputs`). Both answer the same document, `LearningInputs`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

TIMEOUT_SECONDS = 10.0


class LearningUnavailableError(RuntimeError):
    """The learning service could not be asked, or answered something else than its report inputs."""


class _Input(BaseModel):
    # The learning service may add fields; a report reads only these.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Theme(_Input):
    typology: str
    version: str
    code: str


class LearningSource(_Input):
    """A source of learning: a closed review's summary, a forum, a multi-case audit or a pre-LIF review."""

    source_kind: Literal["review", "forum", "audit", "legacy_review"]
    source_id: str
    review_type: Literal["scr", "macr", "iar"] | None = None
    on: date
    lscb: str
    title: str | None = Field(default=None, description="None once the source's texts were erased")
    themes: list[Theme] = Field(default_factory=list)
    findings: str | None = Field(default="", description="None once the source's texts were erased")


class ActionsProgress(_Input):
    total: int = Field(ge=0)
    done: int = Field(ge=0)
    overdue: int = Field(ge=0)


class TrackedRecommendation(_Input):
    recommendation_id: str
    source_id: str
    scope: Literal["single_agency", "multi_agency"]
    agency: str | None = None
    themes: list[Theme] = Field(default_factory=list)
    actions: ActionsProgress
    impact_evidenced: bool
    text: str | None = Field(default=None, description="The recommendation as written (None: erased)")


class LearningInputs(_Input):
    """The learning service's answer for one board, or for the region, over a period."""

    sources: list[LearningSource] = Field(default_factory=list)
    recommendations: list[TrackedRecommendation] = Field(default_factory=list)


REGION = None
"""`lscb` of a regional request."""


class ReportInputs(Protocol):
    """The learning service's report inputs: for board `lscb`, or for the region when `lscb` is None."""

    async def __call__(self, lscb: str | None, start: date, end: date) -> LearningInputs: ...


def parse_inputs(document: Any) -> LearningInputs:
    try:
        return LearningInputs.model_validate(document)
    except ValidationError as error:
        raise LearningUnavailableError(
            f"the learning service answered report inputs that do not parse ({error.error_count()} errors)"
        ) from None


class HttpReportInputs:
    """Over the learning service's internal routes at `base_url` (LIF_LEARNING_URL), with a service credential."""

    def __init__(
        self, base_url: str, service_token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    async def __call__(self, lscb: str | None, start: date, end: date) -> LearningInputs:
        path = f"/internal/v1/learning/{'region' if lscb is None else lscb}/report-inputs"
        try:
            answer = await self.client.get(path, params={"from": start.isoformat(), "to": end.isoformat()})
        except httpx.HTTPError as error:
            raise LearningUnavailableError(
                f"the learning service could not be asked for report inputs ({type(error).__name__})"
            ) from None
        if answer.status_code != 200:
            raise LearningUnavailableError(f"the learning service answered {answer.status_code} for report inputs")
        try:
            document = answer.json()
        except ValueError:
            raise LearningUnavailableError("the learning service answered report inputs that are not JSON") from None
        return parse_inputs(document)

    async def close(self) -> None:
        await self.client.aclose()


class InProcessReportInputs:
    """The learning service's own function, called in this process (the embedded runtime).

    `inputs(lscb, start, end)` answers the document of the internal route (`lscb` None: the region). It may
    block on the database, so it runs in a worker thread; a coroutine function is awaited as it is.
    """

    def __init__(self, inputs: Callable[[str | None, date, date], Mapping[str, Any] | Any]) -> None:
        self.inputs = inputs

    async def __call__(self, lscb: str | None, start: date, end: date) -> LearningInputs:
        if asyncio.iscoroutinefunction(self.inputs):
            document = await self.inputs(lscb, start, end)
        else:
            document = await asyncio.to_thread(self.inputs, lscb, start, end)
        if isinstance(document, LearningInputs):
            return document
        if isinstance(document, BaseModel):
            document = document.model_dump(mode="json")
        return parse_inputs(document)
