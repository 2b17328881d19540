"""Readers (chats) and what they follow: topics and keyword alerts."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class KeywordAlertRow:
    id: int
    chat_id: int
    phrase: str
    folded: str


async def ensure_subscriber(
    db: Database,
    chat_id: int,
    *,
    now: int,
    chat_type: str = "private",
    language: str = "vi",
    timezone: str = "Asia/Ho_Chi_Minh",
) -> bool:
    """Create the reader if unknown, reactivating one who had left. True if created."""
    async with db.write() as conn:
        cursor = await conn.execute(
            """INSERT INTO subscribers (chat_id, chat_type, language, timezone, created_at,
                                        updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET active = 1, blocked_at = NULL,
                   inactive_reason = NULL, updated_at = excluded.updated_at
               WHERE active = 0""",
            (chat_id, chat_type, language, timezone, now, now),
        )
        return cursor.rowcount > 0


async def set_mode(db: Database, chat_id: int, mode: str, *, now: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            "UPDATE subscribers SET mode = ?, updated_at = ? WHERE chat_id = ?",
            (mode, now, chat_id),
        )


async def subscribe_topic(db: Database, chat_id: int, topic_slug: str, *, now: int) -> bool:
    async with db.write() as conn:
        cursor = await conn.execute(
            """INSERT OR IGNORE INTO topic_subscriptions (chat_id, topic_slug, created_at)
               VALUES (?, ?, ?)""",
            (chat_id, topic_slug, now),
        )
        return cursor.rowcount > 0


async def add_keyword_alert(
    db: Database, chat_id: int, phrase: str, folded: str, *, now: int
) -> bool:
    async with db.write() as conn:
        cursor = await conn.execute(
            """INSERT OR IGNORE INTO keyword_alerts (chat_id, phrase, folded, created_at)
               VALUES (?, ?, ?, ?)""",
            (chat_id, phrase, folded, now),
        )
        return cursor.rowcount > 0


async def instant_keyword_alerts(db: Database) -> list[KeywordAlertRow]:
    """Keyword alerts of active instant-mode readers: what a new article is matched against."""
    async with db.reader.execute(
        """SELECT k.id, k.chat_id, k.phrase, k.folded FROM keyword_alerts k
           JOIN subscribers s ON s.chat_id = k.chat_id
           WHERE s.active = 1 AND s.mode = 'instant'"""
    ) as cursor:
        rows = await cursor.fetchall()
    return [KeywordAlertRow(r["id"], r["chat_id"], r["phrase"], r["folded"]) for r in rows]


async def count_subscribers(db: Database) -> dict[str, int]:
    async with db.reader.execute(
        """SELECT count(*) FILTER (WHERE active = 1) AS active,
                  count(*) FILTER (WHERE active = 0) AS inactive FROM subscribers"""
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return {"active": row["active"], "inactive": row["inactive"]}
