"""The database layer: one writer, a reader that always sees the latest commit."""

from __future__ import annotations

from storage.sqlite import SqliteDatabase

NOW = 1_790_000_000


async def test_reads_never_see_an_old_snapshot(db: SqliteDatabase) -> None:
    """A read left half-fetched must not pin its snapshot for other readers."""
    for chat in range(1, 200):
        await db.subscribers.ensure_subscriber(chat, now=NOW)
    async with db.sql.reader.execute("SELECT chat_id FROM subscribers") as slow_read:
        first = await slow_read.fetchone()
        await db.subscribers.ensure_subscriber(999, now=NOW)  # commits meanwhile

        fresh = await db.subscribers.get_subscriber(999)

    assert first is not None
    assert fresh is not None and fresh.chat_id == 999
