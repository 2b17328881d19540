"""Claims shared by both backends: which due outbox row another process leaves alone.

Written with :now and :holder placeholders; each backend puts in its own.
"""

from __future__ import annotations

# Telegram's limits per chat hold across processes: a due row `o` is claimable
# unless another holder has a row of its chat in flight, or sent it one within the
# chat's interval (a second; a minute for groups, whose 20 a minute the holder's
# own limiter then keeps). Parameters: :holder, :now (both backends name them so).
OUTBOX_CLAIM_FILTER = """NOT EXISTS (
        SELECT 1 FROM outbox s WHERE s.chat_id = o.chat_id AND s.status = 'sending'
          AND s.claim_expires_at > :now AND s.claimed_by <> :holder)
      AND NOT EXISTS (
        SELECT 1 FROM outbox s WHERE s.chat_id = o.chat_id AND s.status = 'sent'
          AND s.finished_at >= :now - CASE WHEN o.chat_id < 0 THEN 60 ELSE 1 END
          AND s.claimed_by <> :holder)"""


def claim_window(limit: int) -> int:
    """How many due rows, in order, a claim of `limit` looks at. The chat filter runs on
    these only, so a claim costs the same on any backlog; rows past the window wait
    for a later claim. (A window full of one busy chat another process holds leaves
    this claim empty for that chat's interval; that process sends them meanwhile.)"""
    return max(limit * 8, 64)
