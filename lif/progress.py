"""A plain progress bar on stderr for long work (rebuilds, replays); quiet when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(
        self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 30, *, unit: str = "events"
    ) -> None:
        """`total` and `advance` count positions of what is read (`unit`), so the bar ends at 100%."""
        self.total = max(total, 0)
        self.label = label
        self.stream = stream
        self.width = width
        self.unit = unit
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self.interactive = stream.isatty()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.interactive and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._draw(end="\r")
            self._last_draw = now

    def finish(self) -> None:
        self._draw(end="\n")

    def _draw(self, end: str) -> None:
        fraction = 1.0 if self.total == 0 else min(self.done / self.total, 1.0)
        filled = int(fraction * self.width)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        counts = f"{self.done}/{self.total} {self.unit}"
        eta = f"ETA {_duration((self.total - self.done) / rate)}" if 0 < rate and self.done < self.total else (
            f"in {_duration(elapsed)}"
        )
        self.stream.write(f"{self.label} [{bar}] {counts} ({fraction:4.0%}, {rate:,.0f}/s, {eta}){end}")
        self.stream.flush()


def _duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
