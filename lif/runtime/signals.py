"""Signal handling shared by the runtimes that serve HTTP with uvicorn."""

from __future__ import annotations

import signal


def keep_running_after_uvicorn_on_sigterm() -> None:
    """uvicorn handles SIGTERM, then restores the previous handler and raises the signal again; with the
    default handler that kills the process before our clean-up runs, so make the previous one a no-op."""
    signal.signal(signal.SIGTERM, lambda *_: None)
