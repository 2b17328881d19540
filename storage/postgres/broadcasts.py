"""Admin broadcasts: a draft, its recipients queued in one transaction, its progress."""

from __future__ import annotations

import json

from storage.postgres.connection import Pool, affected
from storage.rowmap import BROADCAST_COLUMNS, broadcast_row
from storage.rows import BroadcastRow, Priority, Progress


def _recipients(topic_param: str) -> str:
    """Active readers, or those following the topic in the given parameter when not NULL."""
    return f"""
        SELECT s.chat_id FROM subscribers s
        WHERE s.active AND ({topic_param}::text IS NULL OR s.chat_id IN (
            SELECT chat_id FROM topic_subscriptions WHERE topic_slug = {topic_param}::text))
    """  # noqa: S608 - the parameter's number, never a value


def _destinations(topic_param: str) -> str:
    """Unpaused destinations, or those routed the topic in the parameter when not NULL."""
    return f"""
        SELECT d.id, d.chat_id FROM destinations d
        WHERE d.paused_at IS NULL AND ({topic_param}::text IS NULL OR d.id IN (
            SELECT destination_id FROM destination_topics WHERE topic_slug = {topic_param}::text))
    """  # noqa: S608 - the parameter's number, never a value


class PostgresBroadcasts:
    def __init__(self, db: Pool) -> None:
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
            broadcast_id = await conn.fetchval(
                """INSERT INTO broadcasts (admin_id, text, parse_mode, topic_slug, created_at,
                       audience)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                admin_id,
                text,
                parse_mode,
                topic,
                now,
                audience,
            )
        return int(broadcast_id)

    async def get(self, broadcast_id: int) -> BroadcastRow | None:
        row = await self._db.fetchrow(
            f"SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1",  # noqa: S608 - constant SQL
            broadcast_id,
        )
        return broadcast_row(row) if row else None

    async def active(self) -> list[BroadcastRow]:
        """Broadcasts queued or sending: the ones whose progress is still being reported."""
        rows = await self._db.fetch(
            f"""SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE status IN ('queued', 'sending')
                ORDER BY id"""  # noqa: S608 - constant SQL
        )
        return [broadcast_row(r) for r in rows]

    async def count_recipients(self, topic: str | None, *, audience: str = "readers") -> int:
        return int(
            await self._db.fetchval(
                f"""SELECT CASE WHEN $2::text = 'destinations' THEN 0
                                ELSE (SELECT count(*) FROM ({_recipients("$1")}) AS r) END
                         + CASE WHEN $2::text = 'readers' THEN 0
                                ELSE (SELECT count(*) FROM ({_destinations("$1")}) AS d) END""",  # noqa: S608
                topic,
                audience,
            )
        )

    async def confirm(
        self, broadcast_id: int, *, progress_chat_id: int, progress_message_id: int, now: int
    ) -> int | None:
        """Queue the broadcast to every recipient, once. None when it was not a draft.

        The status change and every outbox row commit together; the unique
        (chat, 'broadcast:<id>') key means a second confirm queues no one twice.
        """
        async with self._db.write() as conn:
            row = await conn.fetchrow(
                """UPDATE broadcasts SET status = 'queued', confirmed_at = $1,
                       progress_chat_id = $2, progress_message_id = $3
                   WHERE id = $4 AND status = 'draft'
                   RETURNING text, parse_mode, topic_slug, audience""",
                now,
                progress_chat_id,
                progress_message_id,
                broadcast_id,
            )
            if row is None:
                return None
            payload = json.dumps(
                {"text": row["text"], "parse_mode": row["parse_mode"]}, ensure_ascii=False
            )
            queued = 0
            if row["audience"] != "destinations":
                status = await conn.execute(
                    f"""INSERT INTO outbox (chat_id, kind, priority, dedup_key, broadcast_id,
                            payload, not_before, created_at)
                        SELECT r.chat_id, 'broadcast', $1, $2, $3, $4::jsonb, $5, $5
                        FROM ({_recipients("$6")}) AS r ORDER BY r.chat_id
                        ON CONFLICT (chat_id, dedup_key) DO NOTHING""",  # noqa: S608
                    int(Priority.BROADCAST),
                    f"broadcast:{broadcast_id}",
                    broadcast_id,
                    payload,
                    now,
                    row["topic_slug"],
                )
                queued += affected(status)
            if row["audience"] != "readers":
                status = await conn.execute(
                    f"""INSERT INTO outbox (chat_id, kind, priority, dedup_key, broadcast_id,
                            destination_id, payload, not_before, created_at)
                        SELECT d.chat_id, 'broadcast', $1, $2 || d.id, $3, d.id, $4::jsonb,
                               $5, $5
                        FROM ({_destinations("$6")}) AS d ORDER BY d.id
                        ON CONFLICT (chat_id, dedup_key) DO NOTHING""",  # noqa: S608
                    int(Priority.BROADCAST),
                    f"broadcast:{broadcast_id}:post:",
                    broadcast_id,
                    payload,
                    now,
                    row["topic_slug"],
                )
                queued += affected(status)
        return queued

    async def cancel(self, broadcast_id: int, *, now: int) -> int | None:
        """Stop a draft or a running broadcast; returns how many queued messages were dropped."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE broadcasts SET status = 'cancelled', finished_at = $1
                   WHERE id = $2 AND status IN ('draft', 'queued', 'sending')""",
                now,
                broadcast_id,
            )
            if affected(status) == 0:
                return None
            status = await conn.execute(
                """UPDATE outbox SET status = 'dropped', last_error = 'broadcast cancelled',
                       finished_at = $1
                   WHERE broadcast_id = $2 AND status = 'pending'""",
                now,
                broadcast_id,
            )
        return affected(status)

    async def latest_running(self, admin_id: int | None = None) -> BroadcastRow | None:
        row = await self._db.fetchrow(
            f"""SELECT {BROADCAST_COLUMNS} FROM broadcasts
                WHERE status IN ('draft', 'queued', 'sending')
                  AND ($1::bigint IS NULL OR admin_id = $1::bigint)
                ORDER BY id DESC LIMIT 1""",  # noqa: S608 - constant SQL
            admin_id,
        )
        return broadcast_row(row) if row else None

    async def progress(self, broadcast_id: int) -> Progress:
        """Counts by outcome; blocked counts readers who left (blocked the bot, chat gone)."""
        r = await self._db.fetchrow(
            """SELECT count(*) AS total,
                      count(*) FILTER (WHERE status = 'sent') AS sent,
                      count(*) FILTER (WHERE status IN ('failed', 'dropped')
                                       AND failure_kind = 'chat_gone') AS blocked,
                      count(*) FILTER (WHERE status = 'failed'
                                       AND failure_kind IS DISTINCT FROM 'chat_gone') AS failed,
                      count(*) FILTER (WHERE status IN ('pending', 'sending')) AS pending
               FROM outbox WHERE broadcast_id = $1""",
            broadcast_id,
        )
        assert r is not None
        return Progress(r["total"], r["sent"], r["blocked"], r["failed"], r["pending"])

    async def set_status(self, broadcast_id: int, status: str, *, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE broadcasts SET status = $1::text, finished_at =
                       CASE WHEN $1::text IN ('done', 'cancelled') THEN $2 ELSE finished_at END
                   WHERE id = $3""",
                status,
                now,
                broadcast_id,
            )
