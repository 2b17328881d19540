"""Admin broadcasts: a draft, its recipients queued in one transaction, its progress."""

from __future__ import annotations

import json

from storage.rowmap import BROADCAST_COLUMNS, broadcast_row
from storage.rows import (
    BroadcastRow,
    Priority,
    Progress,
)
from storage.sqlite.connection import Connection

_RECIPIENTS = """
    SELECT s.chat_id FROM subscribers s
    WHERE s.active = 1 AND (? IS NULL OR s.chat_id IN (
        SELECT chat_id FROM topic_subscriptions WHERE topic_slug = ?))
"""
# Unpaused destinations, or those routed the topic when one is given.
_DESTINATIONS = """
    SELECT d.id, d.chat_id FROM destinations d
    WHERE d.paused_at IS NULL AND (? IS NULL OR d.id IN (
        SELECT destination_id FROM destination_topics WHERE topic_slug = ?))
"""


class SqliteBroadcasts:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def create_draft(
        self,
        *,
        admin_id: int,
        text: str,
        parse_mode: str | None,
        topic: str | None,
        now: int,
        audience: str = "readers",
    ) -> int:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT INTO broadcasts (admin_id, text, parse_mode, topic_slug, created_at,
                       audience)
                   VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
                (admin_id, text, parse_mode, topic, now, audience),
            )
            row = await cursor.fetchone()
            await cursor.close()
        assert row is not None
        return int(row[0])

    async def get(self, broadcast_id: int) -> BroadcastRow | None:
        async with self._db.reader.execute(
            f"SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = ?",  # noqa: S608 - constant SQL
            (broadcast_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return broadcast_row(row) if row else None

    async def active(self) -> list[BroadcastRow]:
        """Broadcasts queued or sending: the ones whose progress is still being reported."""
        async with self._db.reader.execute(
            f"""SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE status IN ('queued', 'sending')
                ORDER BY id"""  # noqa: S608 - constant SQL
        ) as cursor:
            return [broadcast_row(r) for r in await cursor.fetchall()]

    async def count_recipients(self, topic: str | None, *, audience: str = "readers") -> int:
        async with self._db.reader.execute(
            f"""SELECT CASE WHEN ? = 'destinations' THEN 0
                            ELSE (SELECT count(*) FROM ({_RECIPIENTS})) END
                     + CASE WHEN ? = 'readers' THEN 0
                            ELSE (SELECT count(*) FROM ({_DESTINATIONS})) END""",  # noqa: S608
            (audience, topic, topic, audience, topic, topic),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def confirm(
        self, broadcast_id: int, *, progress_chat_id: int, progress_message_id: int, now: int
    ) -> int | None:
        """Queue the broadcast to every recipient, once. None when it was not a draft.

        The status change and every outbox row commit together; the unique
        (chat, 'broadcast:<id>') key means a second confirm queues no one twice.
        """
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE broadcasts SET status = 'queued', confirmed_at = ?, progress_chat_id = ?,
                       progress_message_id = ?
                   WHERE id = ? AND status = 'draft'
                   RETURNING text, parse_mode, topic_slug, audience""",
                (now, progress_chat_id, progress_message_id, broadcast_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return None
            payload = json.dumps(
                {"text": row["text"], "parse_mode": row["parse_mode"]}, ensure_ascii=False
            )
            queued = 0
            if row["audience"] != "destinations":
                cursor = await conn.execute(
                    f"""INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key,
                            broadcast_id, payload, not_before, created_at)
                        SELECT chat_id, 'broadcast', ?, ?, ?, ?, ?, ? FROM ({_RECIPIENTS})""",  # noqa: S608
                    (
                        Priority.BROADCAST,
                        f"broadcast:{broadcast_id}",
                        broadcast_id,
                        payload,
                        now,
                        now,
                        row["topic_slug"],
                        row["topic_slug"],
                    ),
                )
                queued += cursor.rowcount
            if row["audience"] != "readers":
                cursor = await conn.execute(
                    f"""INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key,
                            broadcast_id, destination_id, payload, not_before, created_at)
                        SELECT chat_id, 'broadcast', ?, ? || id, ?, id, ?, ?, ?
                        FROM ({_DESTINATIONS})""",  # noqa: S608
                    (
                        Priority.BROADCAST,
                        f"broadcast:{broadcast_id}:post:",
                        broadcast_id,
                        payload,
                        now,
                        now,
                        row["topic_slug"],
                        row["topic_slug"],
                    ),
                )
                queued += cursor.rowcount
            return queued

    async def cancel(self, broadcast_id: int, *, now: int) -> int | None:
        """Stop a draft or a running broadcast; returns how many queued messages were dropped."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE broadcasts SET status = 'cancelled', finished_at = ?
                   WHERE id = ? AND status IN ('draft', 'queued', 'sending')""",
                (now, broadcast_id),
            )
            if cursor.rowcount == 0:
                return None
            cursor = await conn.execute(
                """UPDATE outbox SET status = 'dropped', last_error = 'broadcast cancelled',
                       finished_at = ?
                   WHERE broadcast_id = ? AND status = 'pending'""",
                (now, broadcast_id),
            )
            return cursor.rowcount

    async def latest_running(self, admin_id: int | None = None) -> BroadcastRow | None:
        async with self._db.reader.execute(
            f"""SELECT {BROADCAST_COLUMNS} FROM broadcasts
                WHERE status IN ('draft', 'queued', 'sending') AND (? IS NULL OR admin_id = ?)
                ORDER BY id DESC LIMIT 1""",  # noqa: S608 - constant SQL
            (admin_id, admin_id),
        ) as cursor:
            row = await cursor.fetchone()
        return broadcast_row(row) if row else None

    async def progress(self, broadcast_id: int) -> Progress:
        """Counts by outcome; blocked counts readers who left (blocked the bot, chat gone)."""
        async with self._db.reader.execute(
            """SELECT count(*) AS total,
                      count(*) FILTER (WHERE status = 'sent') AS sent,
                      count(*) FILTER (WHERE status IN ('failed', 'dropped')
                                       AND failure_kind = 'chat_gone') AS blocked,
                      count(*) FILTER (WHERE status = 'failed'
                                       AND failure_kind IS NOT 'chat_gone') AS failed,
                      count(*) FILTER (WHERE status IN ('pending', 'sending')) AS pending
               FROM outbox WHERE broadcast_id = ?""",
            (broadcast_id,),
        ) as cursor:
            r = await cursor.fetchone()
        assert r is not None
        return Progress(r["total"], r["sent"], r["blocked"], r["failed"], r["pending"])

    async def set_status(self, broadcast_id: int, status: str, *, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE broadcasts SET status = ?, finished_at =
                       CASE WHEN ? IN ('done', 'cancelled') THEN ? ELSE finished_at END
                   WHERE id = ?""",
                (status, status, now, broadcast_id),
            )
