"""HTTP routes of the reports: a board's annual report and reporting-year setting, the regional learning digest.

Every report is one document served four ways (`format`): `json` and `csv` for reporting consumers, `html`
and `pdf` to read and file. Access follows `lif.auth`: a role that never reads a board's reports gets 403,
another board (or an unknown one) 404, the same answer as nothing there; the digest is a regional view.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from events.fields import Date
from lif.auth import CurrentPrincipal, forbid, not_found
from lif.boards import get_board
from lif.clock import Today
from lif.http_security import html_response
from lif.pdf import PdfUnavailableError
from projections.reports.assemble import annual_report, regional_digest
from projections.reports.csv_export import report_csv
from projections.reports.document import render_html, render_report_pdf
from projections.reports.inputs import LearningUnavailableError, ReportInputs
from projections.reports.periods import FIRST_YEAR, LAST_YEAR, period, reporting_year_of
from projections.reports.settings import current_setting, set_start_month, setting_history

Format = Literal["json", "csv", "html", "pdf"]
FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {},
            "text/csv": {},
            "text/html": {},
            "application/pdf": {},
        },
        "description": "The report, in the format asked for",
    },
    503: {"description": "The learning service or the PDF renderer is not available; try again later"},
}


class ReportingYearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_month: StrictInt = Field(ge=1, le=12, description="The month the reporting year starts on the 1st of")


def build_router(pool: asyncpg.Pool, today: Today, inputs: ReportInputs | None) -> APIRouter:
    """`inputs` asks the learning service for findings and recommendations; None: no learning service in this
    deployment, and the reports say so."""
    router = APIRouter(tags=["reports"])

    def board_in_reach(principal: CurrentPrincipal, lscb: str) -> None:
        if not principal.reads_board_reports():
            raise forbid("this role does not read a board's reports")
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found()

    @router.get("/v1/lscbs/{lscb}/annual-report", responses=FORMATS)
    async def get_annual_report(
        lscb: str,
        principal: CurrentPrincipal,
        year: Annotated[
            int | None,
            Query(ge=FIRST_YEAR, le=LAST_YEAR, description="The calendar year the reporting year starts in "
                  "(default: the reporting year running today)"),
        ] = None,
        format: Format = "json",
    ) -> Response:
        """The board's annual report for a reporting year: notifications, recommendations and decisions by type,
        SCRs initiated and published, T1 and T2 timeliness, reviews in progress and overdue stages, and from the
        learning service the findings of non-SCR reviews, forums and audits and the recommendations' progress."""
        board_in_reach(principal, lscb)
        day = today()
        if year is None:
            year = reporting_year_of(day, (await current_setting(pool, lscb)).start_month)
        name = f"{lscb}-annual-report-{year}"
        return await _serve(lambda: annual_report(pool, inputs, lscb, year, day), format, name)

    @router.get("/v1/region/learning-digest", responses=FORMATS)
    async def get_learning_digest(
        principal: CurrentPrincipal,
        start: Annotated[Date, Query(alias="from", description="First day of the period (YYYY-MM-DD)")],
        end: Annotated[Date, Query(alias="to", description="Last day of the period (YYYY-MM-DD)")],
        format: Format = "json",
    ) -> Response:
        """The Business Managers Group's digest over any period (at most ten years): every board's figures and
        the region's collated learning, with no case identifier."""
        if not principal.sees_region_summary():
            raise forbid("the regional digest needs a region-scoped token")
        try:
            chosen = period(start, end)
        except ValueError as error:
            return _invalid("to", str(error))
        return await _serve(
            lambda: regional_digest(pool, inputs, chosen, today()), format, f"region-learning-digest-{start}-{end}"
        )

    @router.get("/v1/lscbs/{lscb}/reporting-year")
    async def get_reporting_year(lscb: str, principal: CurrentPrincipal) -> dict[str, Any]:
        """When the board's reporting year starts (default April), and every version it set."""
        board_in_reach(principal, lscb)
        return {
            **(await current_setting(pool, lscb)).as_json(),
            "history": [s.as_json() for s in await setting_history(pool, lscb)],
        }

    @router.put("/v1/lscbs/{lscb}/reporting-year")
    async def put_reporting_year(lscb: str, body: ReportingYearRequest, principal: CurrentPrincipal) -> dict[str, Any]:
        """Set the month the board's reporting year starts in: its business manager, or an admin. A new version
        is kept; the same month again changes nothing."""
        if not principal.sets_board_configuration():
            raise forbid("only the board's business manager or an admin sets the reporting year")
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found()
        return (await set_start_month(pool, lscb, body.start_month, principal.name)).as_json()

    return router


async def _serve(make: Any, format: str, filename: str) -> Response:
    try:
        report: dict[str, Any] = await make()
    except LearningUnavailableError as error:
        return _unavailable(str(error))
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    if format == "html":
        return html_response(render_html(report))
    if format == "pdf":
        try:
            document = await render_report_pdf(report)
        except PdfUnavailableError as error:
            return _unavailable(str(error))
        return Response(
            document,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}.pdf"'},
        )
    return JSONResponse(report)


def _invalid(field: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"field": field, "message": message}]})


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": detail}, headers={"Retry-After": "5"})
