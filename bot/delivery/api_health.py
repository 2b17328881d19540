"""Whether the Bot API answers, seen from every request the bot makes.

An outage is logged twice, not once per failed request: when it starts
(WARNING, with the reason) and when the Bot API answers again (INFO, with
how long it was gone). Retrying is left to the caller (PTB's polling loop
backs off by itself; the sender waits, see bot.delivery.sender).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class BotApiHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.down_since: float | None = None
        self.last_answer: float | None = None

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def answered(self) -> None:
        """The Bot API answered (any answer short of a server error)."""
        now = self._clock()
        if self.down_since is not None:
            log.info("Bot API reachable again after %.0f s", now - self.down_since)
            self.down_since = None
        self.last_answer = now

    def failed(self, reason: str) -> None:
        """No answer (connection refused, reset, timed out) or a server error."""
        if self.down_since is None:
            if self.last_answer is not None:
                # Before the first answer, the start-up itself reports the failure.
                log.warning("Bot API unreachable (%s); retrying with backoff", reason)
            self.down_since = self._clock()
