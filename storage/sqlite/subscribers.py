"""Readers (chats) and what they follow: topics and keyword alerts."""

from __future__ import annotations

from storage.rowmap import subscriber_row
from storage.rows import (
    KeywordAlertRow,
    SubscriberRow,
)
from storage.sqlite.connection import Connection

_SUBSCRIBER_COLUMNS = """chat_id, chat_type, language, timezone, mode, digest_hour, quiet_start,
    quiet_end, active, inactive_reason, last_digest_on, digest_minute, silent_alerts"""


def _json_ints(values: list[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


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


class SqliteSubscribers:
    def __init__(self, db: Connection) -> None:
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

    async def get_subscriber(self, chat_id: int) -> SubscriberRow | None:
        async with self._db.reader.execute(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE chat_id = ?",  # noqa: S608
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return subscriber_row(row) if row else None

    async def get_subscribers(self, chat_ids: list[int]) -> dict[int, SubscriberRow]:
        async with self._db.reader.execute(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers "  # noqa: S608
            "WHERE chat_id IN (SELECT value FROM json_each(?))",
            (_json_ints(chat_ids),),
        ) as cursor:
            return {r["chat_id"]: subscriber_row(r) for r in await cursor.fetchall()}

    async def update_settings(self, chat_id: int, *, now: int, **values: object) -> None:
        """Change some of a reader's settings: language, mode, digest hour, quiet hours, zone."""
        unknown = set(values) - _SETTABLE
        if unknown:
            raise ValueError(f"not a reader setting: {sorted(unknown)}")
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        async with self._db.write() as conn:
            await conn.execute(
                f"UPDATE subscribers SET {assignments}, updated_at = ? WHERE chat_id = ?",  # noqa: S608
                (*values.values(), now, chat_id),
            )

    async def set_mode(self, chat_id: int, mode: str, *, now: int) -> None:
        await self.update_settings(chat_id, mode=mode, now=now)

    async def begin_digests(self, chat_id: int, *, since: int | None, done_on: str | None) -> None:
        """The next digest covers from since on, and done_on (a local date) counts as
        already sent; None keeps what is stored."""
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE subscribers SET digest_since = coalesce(?, digest_since),
                       last_digest_on = coalesce(?, last_digest_on) WHERE chat_id = ?""",
                (since, done_on, chat_id),
            )

    async def deactivate(self, chat_id: int, reason: str, *, now: int) -> int:
        """Mark a reader inactive (blocked the bot, chat gone) and drop their pending pushes.

        Returns how many pending outbox rows were dropped.
        """
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE subscribers SET active = 0, blocked_at = ?, inactive_reason = ?,
                       updated_at = ? WHERE chat_id = ?""",
                (now, reason, now, chat_id),
            )
            cursor = await conn.execute(
                """UPDATE outbox SET status = 'dropped', failure_kind = 'chat_gone',
                       last_error = ?, finished_at = ?
                   WHERE chat_id = ? AND status IN ('pending', 'sending')""",
                (f"chat gone: {reason}", now, chat_id),
            )
            return cursor.rowcount

    async def forget(self, chat_id: int) -> None:
        """Delete everything we keep about a reader (/stop): settings, topics, alerts,
        digests and every message queued or sent to them."""
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
            await conn.execute("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,))

    async def topic_subscriptions(self, chat_id: int) -> list[str]:
        async with self._db.reader.execute(
            """SELECT topic_slug FROM topic_subscriptions WHERE chat_id = ?
               ORDER BY created_at, topic_slug""",
            (chat_id,),
        ) as cursor:
            return [r[0] for r in await cursor.fetchall()]

    async def subscribe_topic(self, chat_id: int, topic_slug: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT OR IGNORE INTO topic_subscriptions (chat_id, topic_slug, created_at)
                   VALUES (?, ?, ?)""",
                (chat_id, topic_slug, now),
            )
            return cursor.rowcount > 0

    async def unsubscribe_topic(self, chat_id: int, topic_slug: str) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM topic_subscriptions WHERE chat_id = ? AND topic_slug = ?",
                (chat_id, topic_slug),
            )
            return cursor.rowcount > 0

    async def add_keyword_alert(self, chat_id: int, phrase: str, folded: str, *, now: int) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT OR IGNORE INTO keyword_alerts (chat_id, phrase, folded, created_at)
                   VALUES (?, ?, ?, ?)""",
                (chat_id, phrase, folded, now),
            )
            return cursor.rowcount > 0

    async def remove_keyword_alert(
        self, chat_id: int, *, alert_id: int | None = None, folded: str | None = None
    ) -> bool:
        """Remove one of the reader's alerts, by id or by folded phrase."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM keyword_alerts WHERE chat_id = ? AND (id = ? OR folded = ?)",
                (chat_id, alert_id, folded),
            )
            return cursor.rowcount > 0

    async def keyword_alerts(self, chat_id: int) -> list[KeywordAlertRow]:
        async with self._db.reader.execute(
            "SELECT id, chat_id, phrase, folded FROM keyword_alerts WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [KeywordAlertRow(r["id"], r["chat_id"], r["phrase"], r["folded"]) for r in rows]

    async def instant_keyword_alerts(self) -> list[KeywordAlertRow]:
        """Keyword alerts of active instant-mode readers: what a new article is matched against."""
        async with self._db.reader.execute(
            """SELECT k.id, k.chat_id, k.phrase, k.folded FROM keyword_alerts k
               JOIN subscribers s ON s.chat_id = k.chat_id
               WHERE s.active = 1 AND s.mode = 'instant'"""
        ) as cursor:
            rows = await cursor.fetchall()
        return [KeywordAlertRow(r["id"], r["chat_id"], r["phrase"], r["folded"]) for r in rows]

    async def count_subscribers(self) -> dict[str, int]:
        async with self._db.reader.execute(
            """SELECT count(*) FILTER (WHERE active = 1) AS active,
                      count(*) FILTER (WHERE active = 0) AS inactive FROM subscribers"""
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return {"active": row["active"], "inactive": row["inactive"]}

    async def active_by_mode(self) -> dict[str, int]:
        # The subscribers_active_mode index answers this alone.
        async with self._db.reader.execute(
            "SELECT mode, count(*) AS n FROM subscribers WHERE active = 1 GROUP BY mode"
        ) as cursor:
            return {r["mode"]: int(r["n"]) for r in await cursor.fetchall()}

    async def move_chat(self, old_chat_id: int, new_chat_id: int, *, now: int) -> None:
        """A group became a supergroup: its settings, topics, alerts and queue follow it."""
        async with self._db.write() as conn:
            exists = await conn.execute(
                "SELECT 1 FROM subscribers WHERE chat_id = ?", (new_chat_id,)
            )
            taken = await exists.fetchone()
            await exists.close()
            if taken is not None:
                # The new id already talked to us: keep its row, drop the old one.
                await conn.execute("DELETE FROM subscribers WHERE chat_id = ?", (old_chat_id,))
            else:
                # Copy, re-point the children, delete: foreign keys forbid changing the key.
                await conn.execute(
                    """INSERT INTO subscribers (chat_id, chat_type, language, timezone, mode,
                           digest_hour, digest_minute, silent_alerts, quiet_start, quiet_end,
                           active, last_digest_on, created_at, updated_at)
                       SELECT ?, 'supergroup', language, timezone, mode, digest_hour,
                           digest_minute, silent_alerts, quiet_start, quiet_end, active,
                           last_digest_on, created_at, ?
                       FROM subscribers WHERE chat_id = ?""",
                    (new_chat_id, now, old_chat_id),
                )
                for table in ("topic_subscriptions", "keyword_alerts", "digests"):
                    await conn.execute(
                        f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?",  # noqa: S608
                        (new_chat_id, old_chat_id),
                    )
                await conn.execute("DELETE FROM subscribers WHERE chat_id = ?", (old_chat_id,))
            await conn.execute(
                """UPDATE OR IGNORE outbox SET chat_id = ?, not_before = ?
                   WHERE chat_id = ? AND status IN ('pending', 'sending')""",
                (new_chat_id, now, old_chat_id),
            )

    async def topic_counts(self) -> dict[str, int]:
        """Active readers per topic."""
        async with self._db.reader.execute(
            """SELECT t.topic_slug, count(*) AS n FROM topic_subscriptions t
               JOIN subscribers s ON s.chat_id = t.chat_id WHERE s.active = 1
               GROUP BY t.topic_slug ORDER BY n DESC"""
        ) as cursor:
            return {r["topic_slug"]: r["n"] for r in await cursor.fetchall()}
