"""Updates from different chats handled concurrently; one chat's updates in arrival order.

python-telegram-bot hands every update to the processor as its own task, in
the order they arrived. Each task first waits its chat's turn, then a free
handling slot: a reader whose earlier message is still being answered holds
no slot while waiting, so one busy chat never holds up the others, and two
messages of one reader are never handled out of order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates waiting (for their chat's turn or a slot) before the fetcher waits too.
MAX_PENDING_UPDATES = 10_000
# Handlers running at once. Not fewer than the pending ones: a handler waiting for the
# send budget holds its slot, so a cap would queue a /search behind a burst of /start;
# the rate limiter's priority queue is where replies wait, in priority order.
MAX_RUNNING_HANDLERS = MAX_PENDING_UPDATES


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        *,
        max_running: int = MAX_RUNNING_HANDLERS,
        max_pending: int = MAX_PENDING_UPDATES,
        on_handled: Callable[[float], None] | None = None,
    ) -> None:
        """on_handled is told, per update, the seconds from its arrival here (waiting
        for its chat's turn included) to the end of its handling (bot.runtime.metrics)."""
        super().__init__(max_concurrent_updates=max_pending)
        self._on_handled = on_handled
        self._running = asyncio.Semaphore(max_running)
        self._turns: dict[int, _Turn] = {}
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self._in_flight += 1
        self._idle.clear()
        started = time.perf_counter()
        try:
            await self._in_turn(update, coroutine)
        finally:
            if self._on_handled is not None:
                self._on_handled(time.perf_counter() - started)
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def idle(self) -> None:
        """Return once no update is being handled or waiting for its turn."""
        await self._idle.wait()

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat_id = _chat_of(update)
        if chat_id is None:
            async with self._running:
                await coroutine
            return
        turn = self._turns.get(chat_id)
        if turn is None:
            turn = self._turns[chat_id] = _Turn()
        turn.users += 1
        try:
            async with turn.lock, self._running:
                await coroutine
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[chat_id]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class _Turn:
    """One chat's queue: asyncio.Lock wakes its waiters in the order they came."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _chat_of(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None
