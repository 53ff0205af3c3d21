"""The work loop of relays and followers backs off while idle, and work or a wake-up starts it over."""

from __future__ import annotations

import asyncio

import pytest

from lif.delivery import loop


async def _ticks(
    monkeypatch: pytest.MonkeyPatch, results: list[int], woken_at: set[int], notified: list[bool] | None = None
) -> list[float]:
    """Run `work_forever` over `results` (what each step returns); the pauses it asked for, in order."""
    asked: list[float] = []

    async def fake_wait(wakeup: asyncio.Event, idle_interval: float) -> bool:
        asked.append(idle_interval)
        return len(asked) in woken_at

    remaining = list(results)

    async def step() -> int:
        if not remaining:
            raise asyncio.CancelledError
        return remaining.pop(0)

    monkeypatch.setattr(loop, "wait_or_tick", fake_wait)
    with pytest.raises(asyncio.CancelledError):
        await loop.work_forever(
            step,
            asyncio.Event(),
            idle_interval=0.05,
            name="test",
            idle_ceiling=0.5,
            notified=None if notified is None else (lambda: notified[0]),
        )
    return asked


async def test_an_idle_loop_doubles_its_pause_up_to_the_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _ticks(monkeypatch, [0] * 6, set()) == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]


async def test_work_or_a_wake_up_starts_the_pause_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # idle, idle, work (back to 0.05), idle, idle (woken here), idle
    asked = await _ticks(monkeypatch, [0, 0, 3, 0, 0, 0], woken_at={5})
    assert asked == [0.1, 0.2, 0.05, 0.1, 0.2, 0.1]


async def test_wait_or_tick_says_whether_it_was_woken() -> None:
    event = asyncio.Event()
    assert await loop.wait_or_tick(event, 0.001) is False
    event.set()
    assert await loop.wait_or_tick(event, 5.0) is True
    assert not event.is_set()


async def test_a_loop_told_of_every_commit_waits_the_ceiling_even_after_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # work, idle, work (woken here), idle: never a fast look, a wake-up is what brings the next one
    assert await _ticks(monkeypatch, [3, 0, 3, 0], woken_at={3}, notified=[True]) == [0.5, 0.5, 0.5, 0.5]


async def test_a_loop_no_longer_told_of_commits_polls_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # the LISTEN session is down: back to polling, fast after work
    assert await _ticks(monkeypatch, [3, 0, 0], woken_at=set(), notified=[False]) == [0.05, 0.1, 0.2]
