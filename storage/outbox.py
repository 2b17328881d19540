"""The outbox: every message the bot pushes, one row per (chat, message)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    kind: str
    priority: int
    dedup_key: str
    article_id: int | None
    status: str
    attempts: int


async def pending(db: Database, *, limit: int = 100) -> list[OutboxRow]:
    """Pending rows in the order the sender will take them."""
    async with db.reader.execute(
        """SELECT id, chat_id, kind, priority, dedup_key, article_id, status, attempts
           FROM outbox WHERE status = 'pending' ORDER BY priority, not_before, id LIMIT ?""",
        (limit,),
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        OutboxRow(
            r["id"],
            r["chat_id"],
            r["kind"],
            r["priority"],
            r["dedup_key"],
            r["article_id"],
            r["status"],
            r["attempts"],
        )
        for r in rows
    ]


async def counts_by_status(db: Database) -> dict[str, int]:
    async with db.reader.execute(
        "SELECT status, count(*) AS n FROM outbox GROUP BY status"
    ) as cursor:
        return {r["status"]: r["n"] for r in await cursor.fetchall()}
