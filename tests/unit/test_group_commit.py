"""Group commit: what arrives while a call runs goes in the next call together; each caller gets its answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from lif.group_commit import GroupCommit

pytestmark = pytest.mark.asyncio


class Doubler:
    """Answers each item with twice its value, a ValueError for a negative one; the first call waits."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.first_started.set()
            assert self.release.wait(10)
        return [ValueError(f"negative {i}") if i < 0 else 2 * i for i in items]


async def test_what_waits_while_a_call_runs_goes_in_one_next_call_and_each_caller_gets_its_answer() -> None:
    many = Doubler()
    commit: GroupCommit[int, int] = GroupCommit(many)
    first = asyncio.create_task(commit(1))
    assert await asyncio.to_thread(many.first_started.wait, 10)
    rest = [asyncio.create_task(commit(i)) for i in (2, -3, 4)]
    await asyncio.sleep(0)  # the three are queued behind the running call
    many.release.set()

    assert await first == 2
    assert await rest[0] == 2 * 2 and await rest[2] == 2 * 4
    with pytest.raises(ValueError, match="negative -3"):
        await rest[1]
    assert many.calls == [[1], [2, -3, 4]]


async def test_a_batch_is_bounded_and_a_call_that_raises_fails_only_its_own_batch() -> None:
    calls: list[list[int]] = []

    def many(items: Sequence[int]) -> list[int | Exception]:
        calls.append(list(items))
        if 0 in items:
            raise RuntimeError("the database went away")
        return list(items)

    commit: GroupCommit[int, int] = GroupCommit(many, max_batch=2)
    results = await asyncio.gather(*(commit(i) for i in (0, 1, 2, 3)), return_exceptions=True)
    assert calls == [[0, 1], [2, 3]]
    assert [type(r) for r in results[:2]] == [RuntimeError, RuntimeError]
    assert results[2:] == [2, 3]
