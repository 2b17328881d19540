"""Daily digests: who is due, what goes in, and recording one digest per reader per day."""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.postgres.articles import ARTICLE_COLUMNS, article_row
from storage.postgres.connection import Conn, Pool, affected, sql_limit
from storage.postgres.search import phrase_term
from storage.rowmap import digest_reader
from storage.rows import ArticleRow, DigestReader, Priority


class PostgresDigests:
    def __init__(self, db: Pool) -> None:
        self._db = db

    async def digest_timezones(self) -> list[str]:
        rows = await self._db.fetch(
            """SELECT timezone FROM subscribers WHERE active AND mode = 'digest'
               GROUP BY timezone ORDER BY timezone COLLATE "C" """
        )
        return [r[0] for r in rows]

    async def due_readers(
        self, *, timezone: str, local_date: str, local_hour: int, local_minute: int = 0
    ) -> list[DigestReader]:
        """Digest readers in this time zone whose time (hour and minute) has come and who
        have no digest today."""
        rows = await self._db.fetch(
            """SELECT s.chat_id, s.language, s.timezone, s.digest_hour, s.digest_minute,
                      nullif(greatest(coalesce((SELECT max(created_at) FROM digests d
                                                WHERE d.chat_id = s.chat_id), 0),
                                      coalesce(s.digest_since, 0)), 0) AS last_at
               FROM subscribers s
               WHERE s.active AND s.mode = 'digest' AND s.timezone = $1
                 AND s.digest_hour * 60 + s.digest_minute <= $2
                 AND (s.last_digest_on IS NULL OR s.last_digest_on < $3 COLLATE "C")
               ORDER BY s.chat_id""",
            timezone,
            local_hour * 60 + local_minute,
            local_date,
        )
        return [digest_reader(r) for r in rows]

    async def reader(self, chat_id: int) -> DigestReader | None:
        r = await self._db.fetchrow(
            """SELECT s.chat_id, s.language, s.timezone, s.digest_hour, s.digest_minute,
                      nullif(greatest(coalesce((SELECT max(created_at) FROM digests d
                                                WHERE d.chat_id = s.chat_id), 0),
                                      coalesce(s.digest_since, 0)), 0) AS last_at
               FROM subscribers s WHERE s.chat_id = $1 AND s.active""",
            chat_id,
        )
        if r is None:
            return None
        return digest_reader(r)

    async def queue_now(self, chat_id: int, *, parts: Sequence[str], now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE subscribers SET digest_since = $1 WHERE chat_id = $2", now, chat_id
            )
            await _queue_parts(conn, chat_id, f"digest-now:{now}", parts, now)

    async def topic_articles(
        self, chat_id: int, *, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] in the reader's topics, newest first,
        minus those whose story was already pushed to the reader (as alerts)."""
        rows = await self._db.fetch(
            f"""SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id
                WHERE a.fetched_at > $1 AND a.fetched_at <= $2 AND a.id IN (
                    SELECT x.article_id FROM article_topics x
                    JOIN topic_subscriptions s ON s.topic_slug = x.topic_slug
                    WHERE s.chat_id = $3)
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = $3
                                  AND o.dedup_key IN (
                                      SELECT 'article:' || m.id::text FROM articles m
                                      WHERE m.id = coalesce(a.story_id, a.id)
                                         OR m.story_id = coalesce(a.story_id, a.id)))
                ORDER BY a.published_at DESC, a.id LIMIT $4""",  # noqa: S608 - constant SQL
            since,
            until,
            chat_id,
            sql_limit(limit),
        )
        return [article_row(r) for r in rows]

    async def phrase_articles(
        self, words: Sequence[str], *, chat_id: int, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] holding these folded words as a phrase,
        minus those whose story was already pushed to the reader."""
        phrase = phrase_term(words)
        if phrase is None:
            return []
        rows = await self._db.fetch(
            f"""SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id
                WHERE a.search @@ phraseto_tsquery('simple', $1)
                  AND a.fetched_at > $2 AND a.fetched_at <= $3
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = $5
                                  AND o.dedup_key IN (
                                      SELECT 'article:' || m.id::text FROM articles m
                                      WHERE m.id = coalesce(a.story_id, a.id)
                                         OR m.story_id = coalesce(a.story_id, a.id)))
                ORDER BY a.published_at DESC, a.id LIMIT $4""",  # noqa: S608 - constant SQL
            phrase,
            since,
            until,
            sql_limit(limit),
            chat_id,
        )
        return [article_row(r) for r in rows]

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
            status = await conn.execute(
                """INSERT INTO digests (chat_id, local_date, created_at, articles)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (chat_id, local_date) DO NOTHING""",
                chat_id,
                local_date,
                now,
                article_count,
            )
            if affected(status) == 0:
                return False
            await conn.execute(
                "UPDATE subscribers SET last_digest_on = $1 WHERE chat_id = $2",
                local_date,
                chat_id,
            )
            await _queue_parts(conn, chat_id, f"digest:{local_date}", parts, now)
            return True


async def _queue_parts(conn: Conn, chat_id: int, key: str, parts: Sequence[str], now: int) -> None:
    """A digest's messages in the outbox, keyed "<key>:<n>" so none is queued twice."""
    if not parts:
        return
    await conn.execute(
        """INSERT INTO outbox (chat_id, kind, priority, dedup_key, payload,
               not_before, created_at)
           SELECT $1, 'digest', $2, x.dedup_key, x.payload::jsonb, $3, $3
           FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS x(dedup_key, payload, n)
           ORDER BY x.n
           ON CONFLICT (chat_id, dedup_key) DO NOTHING""",
        chat_id,
        int(Priority.DIGEST),
        now,
        [f"{key}:{number}" for number in range(1, len(parts) + 1)],
        [json.dumps({"text": text, "parse_mode": "HTML"}, ensure_ascii=False) for text in parts],
    )
