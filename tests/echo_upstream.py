"""A stand-in service for testing the reverse proxy: a real uvicorn server that says who it is and what it got.

Each runs in a thread of the test process on a fixed loopback port, so it can be stopped (the port then
refuses connections, as a crashed service's does) and started again on the same port.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lif.infra.local_proxy import free_port

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def echo_app(service: str) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)  # every path is the echo's

    @app.api_route("/{path:path}", methods=METHODS)
    async def echo(request: Request) -> Any:
        """Echo the request; with `X-Echo-Status: <code>`, answer that code as the service's own error."""
        status = request.headers.get("x-echo-status")
        if status:
            return JSONResponse(status_code=int(status), content={"detail": f"{service} says {status}"})
        body = await request.body()
        return {
            "service": service,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body_bytes": len(body),
            "headers": {key: value for key, value in request.headers.items()},
        }

    return app


class EchoUpstream:
    """One echoing service at 127.0.0.1:`port`, started and stopped at will."""

    def __init__(self, service: str, port: int | None = None) -> None:
        self.service = service
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        server = uvicorn.Server(uvicorn.Config(echo_app(self.service), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"echo upstream {self.service} did not start on {self.address}")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None or self._socket is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        self._server = self._thread = self._socket = None
