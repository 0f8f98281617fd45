"""Time, injected: services take a :class:`Clock` so that heartbeats, timeouts, rule windows and
schedules are tested with :class:`ManualClock` instead of real sleeps."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and deadlines)."""

    def time(self) -> float:
        """Seconds since the epoch (for timestamps shown to people)."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told: ``advance`` wakes the sleepers whose time has come."""

    def __init__(self, start: float = 0.0, epoch: float = 1_700_000_000.0) -> None:
        self._now = start
        self._epoch = epoch
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + max(seconds, 0.0), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order and letting them run."""
        target = self._now + seconds
        while True:
            due = sorted(
                ((d, f) for d, f in self._sleepers if d <= target and not f.done()),
                key=lambda item: item[0],
            )
            if not due:
                break
            deadline, future = due[0]
            self._now = max(self._now, deadline)
            self._sleepers = [(d, f) for d, f in self._sleepers if f is not future]
            future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
        self._now = target
        for _ in range(5):
            await asyncio.sleep(0)
