"""The event loop of the long-running servers (`lif run`, `lif serve`): uvloop's.

The servers' own Python CPU is what bounds them (HTTP, the followers, the relays all share one event loop
and one GIL), and uvloop runs the loop's own work (sockets, callbacks, timers) in C. uvicorn parses HTTP
with httptools for the same reason (`HTTP_PARSER`). Behaviour is asyncio's: `asyncio.Runner` still turns
Ctrl-C into a cancel of the main task, so the stop runs to its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import uvloop

HTTP_PARSER = "httptools"
"""uvicorn's `http` setting for every server."""


def run_server(main: Coroutine[Any, Any, None]) -> None:
    """Run a server's main coroutine to its end on a uvloop event loop (as `asyncio.run` otherwise)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
