"""The load generator's HTTP client: HTTP/1.1 keep-alive over asyncio streams, requests built as bytes.

The load runs on the machine it measures. httpx took about half a core at 55 POSTs/s (top, in B1's closed
loop), CPU that LIF and PostgreSQL then lacked; this client does a POST in a fraction of that, so the figure
is LIF's and less the client's. It speaks only what the bench needs: JSON POSTs answered with a
Content-Length (uvicorn's JSON responses), on connections kept open and reused.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import orjson

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IDLE_REUSE = 4.0
"""Seconds a kept-alive connection may stay idle and still be reused: uvicorn closes one idle for 5 s, and a
request written as it closes is lost with it."""


class KeepAliveClient:
    def __init__(self, base_url: str, headers: dict[str, str], *, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        fixed = {"Host": f"{self.host}:{self.port}", "Content-Type": "application/json", **headers}
        self.header_block = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self.idle: list[tuple[Stream, float]] = []
        self.open: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for writer in list(self.open):
            writer.close()
        self.open.clear()
        self.idle.clear()

    async def _stream(self) -> Stream:
        while self.idle:
            (reader, writer), since = self.idle.pop()
            if not reader.at_eof() and time.monotonic() - since < IDLE_REUSE:
                return reader, writer
            self.open.discard(writer)
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.open.add(writer)
        return reader, writer

    async def post_json(self, path: str, document: Any) -> tuple[int, bytes]:
        """POST `document` as JSON; the status and the body."""
        body = orjson.dumps(document)
        head = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (path.encode(), self.header_block, len(body))
        request = head + body
        reader, writer = await self._stream()
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(request)
                status, length, keep = await _read_head(reader)
                answer = await reader.readexactly(length)
        except BaseException:
            self.open.discard(writer)
            writer.close()
            raise
        if keep:
            self.idle.append(((reader, writer), time.monotonic()))
        else:
            self.open.discard(writer)
            writer.close()
        return status, answer


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
        elif name == b"transfer-encoding":
            raise ValueError("the bench's client reads only responses with a Content-Length")
    return status, length, keep
