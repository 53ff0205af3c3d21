"""The HTTP floor: `POST /v1/incidents` on LIF's HTTP stack doing no work, as the least an incident can cost.

The same framework, server, parser, event loop and request model as `lif run` (FastAPI on uvicorn with
httptools and uvloop, `IncidentNotification` validated from the body), answering 202 with a fresh case id:
no token check, nothing stored, no consumer. B1 prints its rate, measured in the same run with the same
client, so B1's figure can be read against what any intake on this stack could reach on this machine.

Run as `python -m bench.http_floor`, on 127.0.0.1:`LIF_PORT` as `lif run` serves.
"""

from __future__ import annotations

import os
import uuid

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from events.incidents import IncidentNotification
from lif.runtime.eventloop import HTTP_PARSER, run_server


def floor_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/incidents", status_code=202)
    async def submit_incident(notification: IncidentNotification) -> JSONResponse:
        """Validate the notification as LIF does, and answer as LIF does; nothing else."""
        return JSONResponse(status_code=202, content={"case_id": str(uuid.uuid4()), "status": "accepted"})

    return app


def main(port: int) -> None:
    config = uvicorn.Config(
        floor_app(), host="127.0.0.1", port=port, log_level="warning", server_header=False, http=HTTP_PARSER
    )
    run_server(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main(int(os.environ["LIF_PORT"]))
