"""Which outbox rows this process still certainly holds, and until when.

The database says a claim ends at `claim_expires_at`; another process takes the
row once its own clock reaches that second. A holder whose renewal came too late
(an event loop stalled, a pool busy) cannot tell which of its rows were taken
meanwhile, so it keeps the expiry it last *knows* it wrote for each row and
sends a row only while that expiry is comfortably ahead: a row whose claim may
have lapsed is left alone (never sent, never written), and whoever claims it
next sends it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


class ClaimBook:
    def __init__(self, ttl: int) -> None:
        self._ttl = ttl
        # A send must be able to start, wait for its rate slot and be answered
        # before the claim could lapse if renewals stopped right now.
        self.margin = max(1, ttl // 3)
        self._expires: dict[int, int] = {}
        self.lapsed = 0  # rows left alone because their claim may have lapsed

    def claimed(self, row_ids: Iterable[int], *, now: int) -> None:
        """Rows claimed by a statement that started at `now` (its expiry: now + ttl)."""
        for row_id in row_ids:
            self._expires[row_id] = now + self._ttl

    def renewing(self, *, now: int) -> list[int]:
        """A renewal is about to start at `now`: the rows it certainly still covers.
        A row whose known expiry is already reached may be another holder's by now."""
        return [row_id for row_id, until in self._expires.items() if until > now]

    def renewed(self, row_ids: Iterable[int], *, until: int) -> None:
        for row_id in row_ids:
            if row_id in self._expires:
                self._expires[row_id] = until

    def may_send(self, row_id: int, *, now: int) -> bool:
        until = self._expires.get(row_id)
        if until is not None and now + self.margin < until:
            return True
        self.lapsed += 1
        log.warning(
            "outbox row %s: its claim may have lapsed (known until %s, now %s); "
            "left to whoever claims it next",
            row_id,
            until,
            now,
        )
        return False

    def still_held(self, row_id: int, *, now: int) -> bool:
        """After a send: whether the claim surely held throughout it."""
        until = self._expires.get(row_id)
        return until is not None and now < until

    def done(self, row_id: int) -> None:
        self._expires.pop(row_id, None)
