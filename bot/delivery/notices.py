"""Status notices to admins: one outbox row per admin, kept to one per event by its key."""

from __future__ import annotations

from collections.abc import Iterable

from storage import Database
from storage.rows import Priority


async def queue_admin_notice(
    db: Database, admin_ids: Iterable[int], text: str, *, dedup_key: str, now: int
) -> int:
    """Queue an HTML notice to each admin once; returns how many rows were new (an
    admin already holding the same key, from an earlier pass, gets nothing)."""
    queued = 0
    for admin_id in dict.fromkeys(admin_ids):
        queued += await db.outbox.enqueue(
            chat_id=admin_id,
            kind="reply",
            priority=Priority.STATUS,
            dedup_key=dedup_key,
            payload={"text": text, "parse_mode": "HTML"},
            now=now,
        )
    return queued
