"""Virtual time for code that takes `clock` and `sleep` callables: sleeps finish
instantly, in order, and the clock jumps to each wake-up time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Drive awaitable to completion, advancing time whenever everyone is asleep."""
        task = asyncio.ensure_future(awaitable)
        while not task.done():
            for _ in range(20):
                await asyncio.sleep(0)
                if task.done():
                    break
            if task.done():
                break
            if not self._sleepers:
                continue
            wake_at, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake_at)
            if not future.cancelled():
                future.set_result(None)
        return task.result()
