"""Learning collation's internal routes: the learning inputs of a board's annual report and of the
regional digest, for the reporting service, with a service credential (lif.auth.service).

Not in the public route table, so the reverse proxy never forwards them; each read is logged.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from lif.auth.service import ServiceCredentials, service_caller
from lif.clock import Today, today_london
from services.learning.report_inputs import report_inputs

REPORT_INPUT_READERS = ("projections", "reporting")
"""The services that may read report inputs (whichever assembles the annual report and the digest)."""
From = Annotated[date, Query(alias="from", description="YYYY-MM-DD")]
To = Annotated[date, Query(alias="to", description="YYYY-MM-DD, inclusive")]


def build_internal_router(
    pool: asyncpg.Pool, credentials: ServiceCredentials, today: Today = today_london
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    caller = service_caller(credentials, REPORT_INPUT_READERS)

    def bad_period(period_from: date, period_to: date) -> JSONResponse | None:
        if period_from > period_to:
            return JSONResponse(status_code=422, content={"detail": [{"field": "from", "message": "from is after to"}]})
        return None

    @router.get("/internal/v1/learning/region/report-inputs")
    async def region_inputs(period_from: From, period_to: To, reader: str = Depends(caller)) -> Any:
        """Every board's sources and recommendations of the period, without case or review ids."""
        return bad_period(period_from, period_to) or await report_inputs(
            pool, reader, None, period_from, period_to, today()
        )

    @router.get("/internal/v1/learning/{lscb}/report-inputs")
    async def board_inputs(
        lscb: Annotated[str, Path(pattern=r"^[A-Z]{3}$")],
        period_from: From,
        period_to: To,
        reader: str = Depends(caller),
    ) -> Any:
        """One board's sources and recommendations of the period."""
        return bad_period(period_from, period_to) or await report_inputs(
            pool, reader, lscb, period_from, period_to, today()
        )

    return router
