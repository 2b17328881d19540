"""Telegram's flood limits as sliding windows, and scripted faults.

The limits are the ones Telegram documents for bots: about 30 messages a
second overall, one a second to one chat, 20 a minute to one group. Time
comes from the clock the stand-in was given, so a test can move it by hand.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FloodLimits:
    global_per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20


def _wait(window: deque[float], limit: int, span: float, now: float) -> float:
    """Seconds until one more event fits in `window` (0 when it fits now)."""
    while window and window[0] <= now - span:
        window.popleft()
    if limit <= 0:
        return span
    if len(window) < limit:
        return 0.0
    return window[-limit] + span - now


class FloodLimiter:
    """Counts accepted sends; says how long to wait when one more would break a limit."""

    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self._per_group: dict[int, deque[float]] = {}

    def retry_after(self, chat_id: int, *, is_group: bool, now: float) -> int | None:
        """Whole seconds to wait (at least 1), or None when the send may go now."""
        limits = self.limits
        waits = [
            _wait(self._global, limits.global_per_second, 1.0, now),
            _wait(
                self._per_chat.setdefault(chat_id, deque()), limits.per_chat_per_second, 1.0, now
            ),
        ]
        if is_group:
            group = self._per_group.setdefault(chat_id, deque())
            waits.append(_wait(group, limits.per_group_per_minute, 60.0, now))
        longest = max(waits)
        if longest <= 0:
            return None
        return max(1, math.ceil(longest))

    def record(self, chat_id: int, *, is_group: bool, now: float) -> None:
        self._global.append(now)
        self._per_chat.setdefault(chat_id, deque()).append(now)
        if is_group:
            self._per_group.setdefault(chat_id, deque()).append(now)


@dataclass(slots=True)
class Fault:
    """One scripted answer: wait `delay` seconds, then fail with `status`.

    A status below 300 means "answer normally, only late" (a slow server).
    """

    status: int
    description: str
    delay: float
    retry_after: int | None = None
