"""The bench's keep-alive client does not reuse a connection the server has closed while it was idle."""

from __future__ import annotations

import asyncio

from bench.http_client import KeepAliveClient
from tests.polling import eventually

ANSWER = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


async def test_a_connection_closed_while_idle_is_replaced_not_reused() -> None:
    accepted = 0

    async def one_request_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
        )
        await reader.readexactly(length)
        writer.write(ANSWER)  # keep-alive by default in HTTP/1.1, then closed as an idle timeout would
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(one_request_then_close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with KeepAliveClient(f"http://127.0.0.1:{port}", {}, timeout=5.0) as client:
            assert await client.post_json("/v1/incidents", {"n": 1}) == (202, b'{"ok":true}')
            (reader, _), _since = client.idle[0]

            async def closed() -> bool:
                return reader.at_eof()

            await eventually(closed, timeout=5, what="the server's close to reach the idle connection")
            assert await client.post_json("/v1/incidents", {"n": 2}) == (202, b'{"ok":true}')
        assert accepted == 2
    finally:
        server.close()
        await server.wait_closed()
