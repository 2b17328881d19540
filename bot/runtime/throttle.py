"""Per-user command rate limit: a sliding window, with one polite warning per window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum


class Verdict(StrEnum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit: tell the user once
    DROP = "drop"  # still over the limit: say nothing more


class CommandThrottle:
    def __init__(
        self,
        *,
        max_commands: int = 20,
        window: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_commands
        self._window = window
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned_at: dict[int, float] = {}
        self._next_prune = 0.0

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        if len(self._seen) > 10_000 and now >= self._next_prune:
            self.forget_idle()
            self._next_prune = now + self._window
        seen = self._seen.setdefault(user_id, deque())
        while seen and seen[0] <= now - self._window:
            seen.popleft()
        if len(seen) < self._max:
            seen.append(now)
            self._warned_at.pop(user_id, None)
            return Verdict.ALLOW
        warned = self._warned_at.get(user_id)
        if warned is not None and warned > now - self._window:
            return Verdict.DROP
        self._warned_at[user_id] = now
        return Verdict.WARN

    def forget_idle(self) -> None:
        """Drop users with no recent commands, so the map does not grow forever."""
        cutoff = self._clock() - self._window
        for user_id in [u for u, seen in self._seen.items() if not seen or seen[-1] <= cutoff]:
            del self._seen[user_id]
            self._warned_at.pop(user_id, None)
