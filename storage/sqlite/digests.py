"""Daily digests: who is due, what goes in, and recording one digest per reader per day."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite

from storage.rowmap import digest_reader
from storage.rows import (
    ArticleRow,
    DigestReader,
    Priority,
)
from storage.sqlite.articles import ARTICLE_COLUMNS, article_row, match_phrase
from storage.sqlite.connection import Connection


class SqliteDigests:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def digest_timezones(self) -> list[str]:
        async with self._db.reader.execute(
            "SELECT DISTINCT timezone FROM subscribers WHERE active = 1 AND mode = 'digest'"
        ) as cursor:
            return [r[0] for r in await cursor.fetchall()]

    async def due_readers(
        self, *, timezone: str, local_date: str, local_hour: int, local_minute: int = 0
    ) -> list[DigestReader]:
        """Digest readers in this time zone whose time (hour and minute) has come and who
        have no digest today."""
        async with self._db.reader.execute(
            """SELECT s.chat_id, s.language, s.timezone, s.digest_hour, s.digest_minute,
                      nullif(max(coalesce((SELECT max(created_at) FROM digests d
                                           WHERE d.chat_id = s.chat_id), 0),
                                 coalesce(s.digest_since, 0)), 0) AS last_at
               FROM subscribers s
               WHERE s.active = 1 AND s.mode = 'digest' AND s.timezone = ?
                 AND s.digest_hour * 60 + s.digest_minute <= ?
                 AND (s.last_digest_on IS NULL OR s.last_digest_on < ?)
               ORDER BY s.chat_id""",
            (timezone, local_hour * 60 + local_minute, local_date),
        ) as cursor:
            rows = await cursor.fetchall()
        return [digest_reader(r) for r in rows]

    async def reader(self, chat_id: int) -> DigestReader | None:
        async with self._db.reader.execute(
            """SELECT s.chat_id, s.language, s.timezone, s.digest_hour, s.digest_minute,
                      nullif(max(coalesce((SELECT max(created_at) FROM digests d
                                           WHERE d.chat_id = s.chat_id), 0),
                                 coalesce(s.digest_since, 0)), 0) AS last_at
               FROM subscribers s WHERE s.chat_id = ? AND s.active = 1""",
            (chat_id,),
        ) as cursor:
            r = await cursor.fetchone()
        if r is None:
            return None
        return digest_reader(r)

    async def queue_now(self, chat_id: int, *, parts: Sequence[str], now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE subscribers SET digest_since = ? WHERE chat_id = ?", (now, chat_id)
            )
            await _queue_parts(conn, chat_id, f"digest-now:{now}", parts, now)

    async def topic_articles(
        self, chat_id: int, *, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] in the reader's topics, newest first,
        minus those whose story was already pushed to the reader (as alerts)."""
        async with self._db.reader.execute(
            f"""SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id
                WHERE a.fetched_at > ? AND a.fetched_at <= ? AND a.id IN (
                    SELECT x.article_id FROM article_topics x
                    JOIN topic_subscriptions s ON s.topic_slug = x.topic_slug
                    WHERE s.chat_id = ?)
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = ?
                                  AND o.dedup_key IN (
                                      SELECT 'article:' || m.id FROM articles m
                                      WHERE m.id = coalesce(a.story_id, a.id)
                                         OR m.story_id = coalesce(a.story_id, a.id)))
                ORDER BY a.published_at DESC LIMIT ?""",  # noqa: S608 - constant SQL
            (since, until, chat_id, chat_id, limit),
        ) as cursor:
            return [article_row(r) for r in await cursor.fetchall()]

    async def phrase_articles(
        self, words: Sequence[str], *, chat_id: int, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] holding these folded words as a phrase,
        minus those whose story was already pushed to the reader."""
        if not words:
            return []
        async with self._db.reader.execute(
            f"""SELECT {ARTICLE_COLUMNS} FROM article_search s
                JOIN articles a ON a.id = s.rowid JOIN feeds f ON f.id = a.feed_id
                WHERE article_search MATCH ? AND a.fetched_at > ? AND a.fetched_at <= ?
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = ?
                                  AND o.dedup_key IN (
                                      SELECT 'article:' || m.id FROM articles m
                                      WHERE m.id = coalesce(a.story_id, a.id)
                                         OR m.story_id = coalesce(a.story_id, a.id)))
                ORDER BY a.published_at DESC LIMIT ?""",  # noqa: S608 - constant SQL
            (match_phrase(words), since, until, chat_id, limit),
        ) as cursor:
            return [article_row(r) for r in await cursor.fetchall()]

    async def record_digest(
        self,
        chat_id: int,
        *,
        local_date: str,
        parts: Sequence[str],
        article_count: int,
        now: int,
    ) -> bool:
        """Queue a reader's digest for the day, once. False when it was already recorded.

        The digests row, the reader's last_digest_on and the outbox rows commit
        together, so a crash can neither lose a digest nor queue it twice.
        """
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT OR IGNORE INTO digests (chat_id, local_date, created_at, articles)
                   VALUES (?, ?, ?, ?)""",
                (chat_id, local_date, now, article_count),
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute(
                "UPDATE subscribers SET last_digest_on = ? WHERE chat_id = ?", (local_date, chat_id)
            )
            await _queue_parts(conn, chat_id, f"digest:{local_date}", parts, now)
            return True


async def _queue_parts(
    conn: aiosqlite.Connection, chat_id: int, key: str, parts: Sequence[str], now: int
) -> None:
    """A digest's messages in the outbox, keyed "<key>:<n>" so none is queued twice."""
    await conn.executemany(
        """INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, payload,
               not_before, created_at)
           VALUES (?, 'digest', ?, ?, ?, ?, ?)""",
        [
            (
                chat_id,
                Priority.DIGEST,
                f"{key}:{number}",
                json.dumps({"text": text, "parse_mode": "HTML"}, ensure_ascii=False),
                now,
                now,
            )
            for number, text in enumerate(parts, 1)
        ],
    )
