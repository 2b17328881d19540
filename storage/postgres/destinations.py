"""Destinations: the publisher's channels, groups and forum topics, and what feeds them.

thread_id is 0 in the table for a whole chat, as in SQLite; rows hand it out as None.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from storage.postgres.connection import Conn, Pool, affected
from storage.rowmap import DESTINATION_COLUMNS, destination_row
from storage.rows import DestinationRow, DestinationSpec

_SELECT = f"""
    SELECT {DESTINATION_COLUMNS},
        ARRAY(SELECT topic_slug FROM destination_topics t WHERE t.destination_id = d.id
              ORDER BY topic_slug COLLATE "C") AS topics,
        ARRAY(SELECT feed_id FROM destination_feeds f WHERE f.destination_id = d.id
              ORDER BY feed_id) AS feeds,
        (SELECT max(o.finished_at) FROM outbox o
            WHERE o.destination_id = d.id AND o.status = 'sent') AS last_post_at
    FROM destinations d
"""  # noqa: S608 - constant SQL


def _row(r: asyncpg.Record) -> DestinationRow:
    return destination_row(
        r, tuple(r["topics"]), tuple(int(f) for f in r["feeds"]), r["last_post_at"]
    )


async def _write_topics(conn: Conn, destination_id: int, topics: Sequence[str]) -> None:
    await conn.execute("DELETE FROM destination_topics WHERE destination_id = $1", destination_id)
    await conn.execute(
        """INSERT INTO destination_topics (destination_id, topic_slug)
           SELECT $1, slug FROM unnest($2::text[]) AS slug ON CONFLICT DO NOTHING""",
        destination_id,
        list(topics),
    )


async def _write_feeds(conn: Conn, destination_id: int, urls: Sequence[str]) -> None:
    await conn.execute("DELETE FROM destination_feeds WHERE destination_id = $1", destination_id)
    await conn.execute(
        """INSERT INTO destination_feeds (destination_id, feed_id)
           SELECT $1, id FROM feeds WHERE url = ANY($2::text[]) ON CONFLICT DO NOTHING""",
        destination_id,
        list(urls),
    )


async def _drop_queued(conn: Conn, destination_ids: Sequence[int], reason: str) -> None:
    await conn.execute(
        """UPDATE outbox SET status = 'dropped', failure_kind = 'chat_gone', last_error = $1
           WHERE status = 'pending' AND destination_id = ANY($2::bigint[])""",
        f"chat gone: destination paused: {reason}"[:200],
        list(destination_ids),
    )


class PostgresDestinations:
    def __init__(self, db: Pool) -> None:
        self._db = db

    async def add(
        self, spec: DestinationSpec, *, added_by: int | None, now: int
    ) -> tuple[int, bool]:
        async with self._db.write() as conn:
            known = await conn.fetchval(
                "SELECT id FROM destinations WHERE chat_id = $1 AND thread_id = $2",
                spec.chat_id,
                spec.thread_id or 0,
            )
            if known is not None:
                await conn.execute(
                    """UPDATE destinations SET title = $1, chat_type = $2, paused_at = NULL,
                           pause_reason = NULL, added_by = coalesce($3, added_by) WHERE id = $4""",
                    spec.title,
                    spec.chat_type,
                    added_by,
                    known,
                )
                return int(known), False
            destination_id = int(
                await conn.fetchval(
                    """INSERT INTO destinations (chat_id, thread_id, chat_type, title, origin,
                           style, hashtags, silent, added_by, created_at)
                       VALUES ($1, $2, $3, $4, 'telegram', $5, $6, $7, $8, $9) RETURNING id""",
                    spec.chat_id,
                    spec.thread_id or 0,
                    spec.chat_type,
                    spec.title,
                    spec.style,
                    spec.hashtags,
                    spec.silent,
                    added_by,
                    now,
                )
            )
            await _write_topics(conn, destination_id, spec.topics)
            await _write_feeds(conn, destination_id, spec.feed_urls)
        return destination_id, True

    async def sync_config(
        self, specs: Sequence[DestinationSpec], *, now: int, remove_missing: bool = True
    ) -> int:
        added = 0
        async with self._db.write() as conn:
            keep: list[int] = []
            for spec in specs:
                known = await conn.fetchval(
                    "SELECT 1 FROM destinations WHERE chat_id = $1 AND thread_id = $2",
                    spec.chat_id,
                    spec.thread_id or 0,
                )
                added += known is None
                destination_id = int(
                    await conn.fetchval(
                        """INSERT INTO destinations (chat_id, thread_id, chat_type, title, origin,
                               style, hashtags, silent, created_at)
                           VALUES ($1, $2, $3, $4, 'config', $5, $6, $7, $8)
                           ON CONFLICT (chat_id, thread_id) DO UPDATE SET
                               chat_type = excluded.chat_type, title = excluded.title,
                               origin = 'config', style = excluded.style,
                               hashtags = excluded.hashtags, silent = excluded.silent
                           RETURNING id""",
                        spec.chat_id,
                        spec.thread_id or 0,
                        spec.chat_type,
                        spec.title,
                        spec.style,
                        spec.hashtags,
                        spec.silent,
                        now,
                    )
                )
                keep.append(destination_id)
                await _write_topics(conn, destination_id, spec.topics)
                await _write_feeds(conn, destination_id, spec.feed_urls)
            if remove_missing:
                await conn.execute(
                    """DELETE FROM destinations
                       WHERE origin = 'config' AND NOT id = ANY($1::bigint[])""",
                    keep,
                )
        return added

    async def get(self, destination_id: int) -> DestinationRow | None:
        row = await self._db.fetchrow(f"{_SELECT} WHERE d.id = $1", destination_id)
        return _row(row) if row else None

    async def find(self, chat_id: int, thread_id: int | None = None) -> DestinationRow | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE d.chat_id = $1 AND d.thread_id = $2", chat_id, thread_id or 0
        )
        return _row(row) if row else None

    async def list_all(self) -> list[DestinationRow]:
        return [_row(r) for r in await self._db.fetch(f"{_SELECT} ORDER BY d.id")]

    async def set_topics(self, destination_id: int, topics: Sequence[str]) -> bool:
        async with self._db.write() as conn:
            if (
                await conn.fetchval("SELECT 1 FROM destinations WHERE id = $1", destination_id)
                is None
            ):
                return False
            await _write_topics(conn, destination_id, topics)
        return True

    async def set_options(
        self,
        destination_id: int,
        *,
        style: str | None = None,
        hashtags: bool | None = None,
        silent: bool | None = None,
    ) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE destinations SET style = coalesce($1::text, style),
                       hashtags = coalesce($2::boolean, hashtags),
                       silent = coalesce($3::boolean, silent)
                   WHERE id = $4""",
                style,
                hashtags,
                silent,
                destination_id,
            )
        return affected(status) > 0

    async def pause(self, destination_id: int, reason: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE destinations SET paused_at = $1, pause_reason = $2
                   WHERE id = $3 AND paused_at IS NULL""",
                now,
                reason[:200],
                destination_id,
            )
            if affected(status) == 0:
                return False
            await _drop_queued(conn, [destination_id], reason)
        return True

    async def pause_chat(self, chat_id: int, reason: str, *, now: int) -> list[int]:
        async with self._db.write() as conn:
            rows = await conn.fetch(
                """UPDATE destinations SET paused_at = $1, pause_reason = $2
                   WHERE chat_id = $3 AND paused_at IS NULL RETURNING id""",
                now,
                reason[:200],
                chat_id,
            )
            ids = sorted(int(r["id"]) for r in rows)
            if ids:
                await _drop_queued(conn, ids, reason)
        return ids

    async def resume(self, destination_id: int) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE destinations SET paused_at = NULL, pause_reason = NULL
                   WHERE id = $1 AND paused_at IS NOT NULL""",
                destination_id,
            )
        return affected(status) > 0

    async def remove(self, destination_id: int) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute("DELETE FROM destinations WHERE id = $1", destination_id)
        return affected(status) > 0

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        async with self._db.write() as conn:
            moved = affected(
                await conn.execute(
                    """UPDATE destinations d SET chat_id = $1, chat_type = 'supergroup'
                       WHERE chat_id = $2 AND NOT EXISTS (SELECT 1 FROM destinations n
                           WHERE n.chat_id = $1 AND n.thread_id = d.thread_id)""",
                    new_chat_id,
                    old_chat_id,
                )
            )
            await conn.execute(
                """UPDATE outbox o SET chat_id = $1
                   WHERE chat_id = $2 AND destination_id IS NOT NULL
                     AND status IN ('pending', 'sending') AND NOT EXISTS (
                         SELECT 1 FROM outbox n WHERE n.chat_id = $1
                             AND n.dedup_key = o.dedup_key)""",
                new_chat_id,
                old_chat_id,
            )
        return moved
