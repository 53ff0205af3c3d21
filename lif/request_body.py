"""The HTTP edge's guard on request bodies: a size cap counted while reading, and strict JSON.

The cap is the reverse proxy's (`REQUEST_BODY_LIMIT_BYTES`), so the embedded runtime and a service
reached without the proxy answer the same 413.

Checked before any route parses the body. The size is counted on the bytes as they arrive, so a missing
or false `Content-Length` (chunked uploads) gets the same 413. A JSON body with a duplicate key gets a
422 naming it (see `lif.json_input`); malformed JSON is left to the route's own 422.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from lif.http_routes import REQUEST_BODY_LIMIT_BYTES
from lif.json_input import JsonInputError, parse_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestBodyGuard:
    """ASGI middleware: 413 above `max_bytes`, 422 for JSON with duplicate keys, else the app as usual."""

    def __init__(self, app: ASGIApp, max_bytes: int = REQUEST_BODY_LIMIT_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value for key, value in scope.get("headers", ())}
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and b"json" in headers.get(b"content-type", b""):
            try:
                parse_json(body)
            except JsonInputError as error:
                await _answer(send, 422, {"detail": error.errors})
                return
            except ValueError:
                pass  # malformed JSON: the route answers with its own 422
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _answer(send, 413, {"detail": f"request body larger than {self.max_bytes} bytes"})  # as the proxy says


async def _answer(send: Send, status: int, content: dict[str, Any]) -> None:
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
