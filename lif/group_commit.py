"""Group commit: the commands that arrive while one transaction commits go together in the next one.

A command that commits on its own pays a commit (and, in an event store, the table lock) each; under
concurrent load they queue for the lock one by one. `GroupCommit` gives each caller its own answer but
runs the blocking `many` (in a thread) on everything that is waiting, one call at a time: a lone command
goes at once, a burst goes in as few transactions as it can, up to `max_batch` each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 100


class GroupCommit(Generic[T, R]):
    def __init__(self, many: Callable[[Sequence[T]], Sequence[R | Exception]], *, max_batch: int = MAX_BATCH) -> None:
        """`many` answers each item in order, an exception in place of an item's answer when it fails alone
        (it raises only when none of them could be done)."""
        self.many = many
        self.max_batch = max_batch
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.running: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._drain())
        return await asyncio.shield(future)  # a caller that goes away leaves the batch to finish

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[: self.max_batch], self.waiting[self.max_batch :]
            try:
                answers = await asyncio.to_thread(self.many, [item for item, _ in batch])
            except Exception as exc:
                answers = [exc] * len(batch)
            for (_, future), answer in zip(batch, answers, strict=True):
                if future.done():
                    continue
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
