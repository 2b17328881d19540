"""The database layer: one writer, a reader that always sees the latest commit."""

from __future__ import annotations

from storage import subscribers
from storage.db import Database

NOW = 1_790_000_000


async def test_reads_never_see_an_old_snapshot(db: Database) -> None:
    """A read left half-fetched must not pin its snapshot for other readers."""
    for chat in range(1, 200):
        await subscribers.ensure_subscriber(db, chat, now=NOW)
    async with db.reader.execute("SELECT chat_id FROM subscribers") as slow_read:
        first = await slow_read.fetchone()
        await subscribers.ensure_subscriber(db, 999, now=NOW)  # commits meanwhile

        fresh = await subscribers.get_subscriber(db, 999)

    assert first is not None
    assert fresh is not None and fresh.chat_id == 999
