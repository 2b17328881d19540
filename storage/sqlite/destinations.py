"""Destinations: the publisher's channels, groups and forum topics, and what feeds them.

thread_id is 0 in the table for a whole chat (so that UNIQUE (chat_id, thread_id)
holds: SQLite treats NULLs as distinct); rows hand it out as None.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite

from storage.rowmap import DESTINATION_COLUMNS, destination_row
from storage.rows import DestinationRow, DestinationSpec
from storage.sqlite.connection import Connection

_SELECT = f"""
    SELECT {DESTINATION_COLUMNS},
        (SELECT json_group_array(topic_slug) FROM (SELECT topic_slug FROM destination_topics t
            WHERE t.destination_id = d.id ORDER BY topic_slug)) AS topics,
        (SELECT json_group_array(feed_id) FROM (SELECT feed_id FROM destination_feeds f
            WHERE f.destination_id = d.id ORDER BY feed_id)) AS feeds,
        (SELECT max(o.finished_at) FROM outbox o
            WHERE o.destination_id = d.id AND o.status = 'sent') AS last_post_at
    FROM destinations d
"""  # noqa: S608 - constant SQL


def _row(r: aiosqlite.Row) -> DestinationRow:
    return destination_row(
        r, tuple(json.loads(r["topics"])), tuple(json.loads(r["feeds"])), r["last_post_at"]
    )


async def _write_topics(
    conn: aiosqlite.Connection, destination_id: int, topics: Sequence[str]
) -> None:
    await conn.execute("DELETE FROM destination_topics WHERE destination_id = ?", (destination_id,))
    await conn.executemany(
        "INSERT OR IGNORE INTO destination_topics (destination_id, topic_slug) VALUES (?, ?)",
        [(destination_id, slug) for slug in topics],
    )


async def _write_feeds(
    conn: aiosqlite.Connection, destination_id: int, urls: Sequence[str]
) -> None:
    await conn.execute("DELETE FROM destination_feeds WHERE destination_id = ?", (destination_id,))
    await conn.execute(
        """INSERT OR IGNORE INTO destination_feeds (destination_id, feed_id)
           SELECT ?, id FROM feeds WHERE url IN (SELECT value FROM json_each(?))""",
        (destination_id, json.dumps(list(urls), ensure_ascii=False)),
    )


async def _drop_queued(
    conn: aiosqlite.Connection, destination_ids: Sequence[int], reason: str
) -> None:
    await conn.execute(
        """UPDATE outbox SET status = 'dropped', failure_kind = 'chat_gone', last_error = ?
           WHERE status = 'pending' AND destination_id IN (SELECT value FROM json_each(?))""",
        (f"chat gone: destination paused: {reason}"[:200], json.dumps(list(destination_ids))),
    )


class SqliteDestinations:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def add(
        self, spec: DestinationSpec, *, added_by: int | None, now: int
    ) -> tuple[int, bool]:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "SELECT id FROM destinations WHERE chat_id = ? AND thread_id = ?",
                (spec.chat_id, spec.thread_id or 0),
            )
            known = await cursor.fetchone()
            await cursor.close()
            if known is not None:
                await conn.execute(
                    """UPDATE destinations SET title = ?, chat_type = ?, paused_at = NULL,
                           pause_reason = NULL, added_by = coalesce(?, added_by) WHERE id = ?""",
                    (spec.title, spec.chat_type, added_by, known[0]),
                )
                return int(known[0]), False
            cursor = await conn.execute(
                """INSERT INTO destinations (chat_id, thread_id, chat_type, title, origin, style,
                       hashtags, silent, added_by, created_at)
                   VALUES (?, ?, ?, ?, 'telegram', ?, ?, ?, ?, ?) RETURNING id""",
                (
                    spec.chat_id,
                    spec.thread_id or 0,
                    spec.chat_type,
                    spec.title,
                    spec.style,
                    spec.hashtags,
                    spec.silent,
                    added_by,
                    now,
                ),
            )
            row = await cursor.fetchone()
            await cursor.close()
            assert row is not None
            destination_id = int(row[0])
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
                cursor = await conn.execute(
                    "SELECT 1 FROM destinations WHERE chat_id = ? AND thread_id = ?",
                    (spec.chat_id, spec.thread_id or 0),
                )
                added += await cursor.fetchone() is None
                await cursor.close()
                cursor = await conn.execute(
                    """INSERT INTO destinations (chat_id, thread_id, chat_type, title, origin,
                           style, hashtags, silent, created_at)
                       VALUES (?, ?, ?, ?, 'config', ?, ?, ?, ?)
                       ON CONFLICT (chat_id, thread_id) DO UPDATE SET
                           chat_type = excluded.chat_type, title = excluded.title,
                           origin = 'config', style = excluded.style,
                           hashtags = excluded.hashtags, silent = excluded.silent
                       RETURNING id""",
                    (
                        spec.chat_id,
                        spec.thread_id or 0,
                        spec.chat_type,
                        spec.title,
                        spec.style,
                        spec.hashtags,
                        spec.silent,
                        now,
                    ),
                )
                row = await cursor.fetchone()
                await cursor.close()
                assert row is not None
                destination_id = int(row[0])
                keep.append(destination_id)
                await _write_topics(conn, destination_id, spec.topics)
                await _write_feeds(conn, destination_id, spec.feed_urls)
            if remove_missing:
                await conn.execute(
                    """DELETE FROM destinations WHERE origin = 'config'
                       AND id NOT IN (SELECT value FROM json_each(?))""",
                    (json.dumps(keep),),
                )
        return added

    async def get(self, destination_id: int) -> DestinationRow | None:
        async with self._db.reader.execute(
            f"{_SELECT} WHERE d.id = ?", (destination_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _row(row) if row else None

    async def find(self, chat_id: int, thread_id: int | None = None) -> DestinationRow | None:
        async with self._db.reader.execute(
            f"{_SELECT} WHERE d.chat_id = ? AND d.thread_id = ?", (chat_id, thread_id or 0)
        ) as cursor:
            row = await cursor.fetchone()
        return _row(row) if row else None

    async def list_all(self) -> list[DestinationRow]:
        async with self._db.reader.execute(f"{_SELECT} ORDER BY d.id") as cursor:
            return [_row(r) for r in await cursor.fetchall()]

    async def set_topics(self, destination_id: int, topics: Sequence[str]) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM destinations WHERE id = ?", (destination_id,)
            )
            found = await cursor.fetchone()
            await cursor.close()
            if found is None:
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
            cursor = await conn.execute(
                """UPDATE destinations SET style = coalesce(?, style),
                       hashtags = coalesce(?, hashtags), silent = coalesce(?, silent)
                   WHERE id = ?""",
                (style, hashtags, silent, destination_id),
            )
            return cursor.rowcount > 0

    async def pause(self, destination_id: int, reason: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE destinations SET paused_at = ?, pause_reason = ?
                   WHERE id = ? AND paused_at IS NULL""",
                (now, reason[:200], destination_id),
            )
            if cursor.rowcount == 0:
                return False
            await _drop_queued(conn, [destination_id], reason)
        return True

    async def pause_chat(self, chat_id: int, reason: str, *, now: int) -> list[int]:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE destinations SET paused_at = ?, pause_reason = ?
                   WHERE chat_id = ? AND paused_at IS NULL RETURNING id""",
                (now, reason[:200], chat_id),
            )
            ids = sorted(int(r[0]) for r in await cursor.fetchall())
            await cursor.close()
            if ids:
                await _drop_queued(conn, ids, reason)
        return ids

    async def resume(self, destination_id: int) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE destinations SET paused_at = NULL, pause_reason = NULL
                   WHERE id = ? AND paused_at IS NOT NULL""",
                (destination_id,),
            )
            return cursor.rowcount > 0

    async def remove(self, destination_id: int) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute("DELETE FROM destinations WHERE id = ?", (destination_id,))
            return cursor.rowcount > 0

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE OR IGNORE destinations SET chat_id = ?, chat_type = 'supergroup'
                   WHERE chat_id = ?""",
                (new_chat_id, old_chat_id),
            )
            moved = cursor.rowcount
            await conn.execute(
                """UPDATE OR IGNORE outbox SET chat_id = ?
                   WHERE chat_id = ? AND destination_id IS NOT NULL
                     AND status IN ('pending', 'sending')""",
                (new_chat_id, old_chat_id),
            )
        return moved
