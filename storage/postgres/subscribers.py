"""Readers (chats) and what they follow: topics and keyword alerts."""

from __future__ import annotations

import asyncpg

from storage.postgres.connection import Pool, affected
from storage.rowmap import subscriber_row
from storage.rows import KeywordAlertRow, SubscriberRow


def _alert(r: asyncpg.Record) -> KeywordAlertRow:
    return KeywordAlertRow(r["id"], r["chat_id"], r["phrase"], r["folded"])


_SUBSCRIBER_COLUMNS = """chat_id, chat_type, language, timezone, mode, digest_hour, quiet_start,
    quiet_end, active, inactive_reason, last_digest_on, digest_minute, silent_alerts"""

_SETTABLE = frozenset(
    {
        "language",
        "mode",
        "digest_hour",
        "digest_minute",
        "quiet_start",
        "quiet_end",
        "timezone",
        "silent_alerts",
    }
)

# The children that follow a reader to a new chat id, each with the column that,
# with chat_id, must stay unique.
_CHAT_CHILDREN = (
    ("topic_subscriptions", "topic_slug"),
    ("keyword_alerts", "folded"),
    ("digests", "local_date"),
)


class PostgresSubscribers:
    def __init__(self, db: Pool) -> None:
        self._db = db

    async def ensure_subscriber(
        self,
        chat_id: int,
        *,
        now: int,
        chat_type: str = "private",
        language: str = "vi",
        timezone: str = "Asia/Ho_Chi_Minh",
    ) -> bool:
        """Create the reader if unknown, reactivating one who had left. True if created
        or reactivated."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """INSERT INTO subscribers (chat_id, chat_type, language, timezone, created_at,
                                            updated_at)
                   VALUES ($1, $2, $3, $4, $5, $5)
                   ON CONFLICT (chat_id) DO UPDATE SET active = TRUE, blocked_at = NULL,
                       inactive_reason = NULL, updated_at = excluded.updated_at
                   WHERE NOT subscribers.active""",
                chat_id,
                chat_type,
                language,
                timezone,
                now,
            )
        return affected(status) > 0

    async def get_subscriber(self, chat_id: int) -> SubscriberRow | None:
        row = await self._db.fetchrow(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE chat_id = $1",  # noqa: S608
            chat_id,
        )
        return subscriber_row(row) if row else None

    async def get_subscribers(self, chat_ids: list[int]) -> dict[int, SubscriberRow]:
        rows = await self._db.fetch(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers "  # noqa: S608
            "WHERE chat_id = ANY($1::bigint[])",
            [int(c) for c in chat_ids],
        )
        return {r["chat_id"]: subscriber_row(r) for r in rows}

    async def update_settings(self, chat_id: int, *, now: int, **values: object) -> None:
        """Change some of a reader's settings: language, mode, digest hour, quiet hours, zone."""
        unknown = set(values) - _SETTABLE
        if unknown:
            raise ValueError(f"not a reader setting: {sorted(unknown)}")
        if not values:
            return
        names = list(values)
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, 1))
        n = len(names)
        async with self._db.write() as conn:
            await conn.execute(
                f"UPDATE subscribers SET {assignments}, updated_at = ${n + 1} "  # noqa: S608
                f"WHERE chat_id = ${n + 2}",
                *values.values(),
                now,
                chat_id,
            )

    async def set_mode(self, chat_id: int, mode: str, *, now: int) -> None:
        await self.update_settings(chat_id, mode=mode, now=now)

    async def begin_digests(self, chat_id: int, *, since: int | None, done_on: str | None) -> None:
        """The next digest covers from since on, and done_on (a local date) counts as
        already sent; None keeps what is stored."""
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE subscribers SET digest_since = coalesce($1, digest_since),
                       last_digest_on = coalesce($2, last_digest_on) WHERE chat_id = $3""",
                since,
                done_on,
                chat_id,
            )

    async def deactivate(self, chat_id: int, reason: str, *, now: int) -> int:
        """Mark a reader inactive (blocked the bot, chat gone) and drop their pending pushes.

        Returns how many pending outbox rows were dropped.
        """
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE subscribers SET active = FALSE, blocked_at = $1, inactive_reason = $2,
                       updated_at = $1 WHERE chat_id = $3""",
                now,
                reason,
                chat_id,
            )
            status = await conn.execute(
                """UPDATE outbox SET status = 'dropped', failure_kind = 'chat_gone',
                       last_error = $1, finished_at = $2
                   WHERE chat_id = $3 AND status IN ('pending', 'sending')""",
                f"chat gone: {reason}",
                now,
                chat_id,
            )
        return affected(status)

    async def forget(self, chat_id: int) -> None:
        """Delete everything we keep about a reader (/stop): settings, topics, alerts,
        digests and every message queued or sent to them."""
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM outbox WHERE chat_id = $1", chat_id)
            await conn.execute("DELETE FROM subscribers WHERE chat_id = $1", chat_id)

    async def topic_subscriptions(self, chat_id: int) -> list[str]:
        rows = await self._db.fetch(
            """SELECT topic_slug FROM topic_subscriptions WHERE chat_id = $1
               ORDER BY created_at, topic_slug COLLATE "C" """,
            chat_id,
        )
        return [r[0] for r in rows]

    async def subscribe_topic(self, chat_id: int, topic_slug: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                """INSERT INTO topic_subscriptions (chat_id, topic_slug, created_at)
                   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
                chat_id,
                topic_slug,
                now,
            )
        return affected(status) > 0

    async def unsubscribe_topic(self, chat_id: int, topic_slug: str) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                "DELETE FROM topic_subscriptions WHERE chat_id = $1 AND topic_slug = $2",
                chat_id,
                topic_slug,
            )
        return affected(status) > 0

    async def add_keyword_alert(self, chat_id: int, phrase: str, folded: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            status = await conn.execute(
                """INSERT INTO keyword_alerts (chat_id, phrase, folded, created_at)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (chat_id, folded) DO NOTHING""",
                chat_id,
                phrase,
                folded,
                now,
            )
        return affected(status) > 0

    async def remove_keyword_alert(
        self, chat_id: int, *, alert_id: int | None = None, folded: str | None = None
    ) -> bool:
        """Remove one of the reader's alerts, by id or by folded phrase."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """DELETE FROM keyword_alerts
                   WHERE chat_id = $1 AND (id = $2::bigint OR folded = $3::text)""",
                chat_id,
                alert_id,
                folded,
            )
        return affected(status) > 0

    async def keyword_alerts(self, chat_id: int) -> list[KeywordAlertRow]:
        rows = await self._db.fetch(
            "SELECT id, chat_id, phrase, folded FROM keyword_alerts WHERE chat_id = $1 ORDER BY id",
            chat_id,
        )
        return [_alert(r) for r in rows]

    async def instant_keyword_alerts(self) -> list[KeywordAlertRow]:
        """Keyword alerts of active instant-mode readers: what a new article is matched against."""
        rows = await self._db.fetch(
            """SELECT k.id, k.chat_id, k.phrase, k.folded FROM keyword_alerts k
               JOIN subscribers s ON s.chat_id = k.chat_id
               WHERE s.active AND s.mode = 'instant' ORDER BY k.id"""
        )
        return [_alert(r) for r in rows]

    async def count_subscribers(self) -> dict[str, int]:
        row = await self._db.fetchrow(
            """SELECT count(*) FILTER (WHERE active) AS active,
                      count(*) FILTER (WHERE NOT active) AS inactive FROM subscribers"""
        )
        assert row is not None
        return {"active": row["active"], "inactive": row["inactive"]}

    async def active_by_mode(self) -> dict[str, int]:
        """Active readers per mode ('instant', 'digest'); a mode no one uses is left out."""
        rows = await self._db.fetch(
            "SELECT mode, count(*) AS n FROM subscribers WHERE active GROUP BY mode"
        )
        return {r["mode"]: int(r["n"]) for r in rows}

    async def move_chat(self, old_chat_id: int, new_chat_id: int, *, now: int) -> None:
        """A group became a supergroup: its settings, topics, alerts and queue follow it."""
        async with self._db.write() as conn:
            taken = await conn.fetchval(
                "SELECT 1 FROM subscribers WHERE chat_id = $1 FOR UPDATE", new_chat_id
            )
            if taken is not None:
                # The new id already talked to us: keep its row, drop the old one.
                await conn.execute("DELETE FROM subscribers WHERE chat_id = $1", old_chat_id)
            else:
                # Copy, re-point the children, delete: the children's foreign keys
                # need the new row first. A child the new id already has stays behind
                # and goes with the old row, as SQLite's UPDATE OR IGNORE leaves it.
                await conn.execute(
                    """INSERT INTO subscribers (chat_id, chat_type, language, timezone, mode,
                           digest_hour, digest_minute, silent_alerts, quiet_start, quiet_end,
                           active, last_digest_on, created_at, updated_at)
                       SELECT $1, 'supergroup', language, timezone, mode, digest_hour,
                           digest_minute, silent_alerts, quiet_start, quiet_end, active,
                           last_digest_on, created_at, $2
                       FROM subscribers WHERE chat_id = $3""",
                    new_chat_id,
                    now,
                    old_chat_id,
                )
                for table, key in _CHAT_CHILDREN:
                    await conn.execute(
                        f"""UPDATE {table} AS c SET chat_id = $1
                            WHERE c.chat_id = $2 AND NOT EXISTS (
                                SELECT 1 FROM {table} n
                                WHERE n.chat_id = $1 AND n.{key} = c.{key})""",  # noqa: S608
                        new_chat_id,
                        old_chat_id,
                    )
                await conn.execute("DELETE FROM subscribers WHERE chat_id = $1", old_chat_id)
            # Unsent messages follow the chat, except one the new id already has.
            await conn.execute(
                """UPDATE outbox AS o SET chat_id = $1, not_before = $2
                   WHERE o.chat_id = $3 AND o.status IN ('pending', 'sending')
                     AND NOT EXISTS (SELECT 1 FROM outbox n
                                     WHERE n.chat_id = $1 AND n.dedup_key = o.dedup_key)""",
                new_chat_id,
                now,
                old_chat_id,
            )

    async def topic_counts(self) -> dict[str, int]:
        """Active readers per topic."""
        rows = await self._db.fetch(
            """SELECT t.topic_slug, count(*) AS n FROM topic_subscriptions t
               JOIN subscribers s ON s.chat_id = t.chat_id WHERE s.active
               GROUP BY t.topic_slug ORDER BY n DESC, t.topic_slug COLLATE "C" """
        )
        return {r["topic_slug"]: r["n"] for r in rows}
