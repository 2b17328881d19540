"""The outbox: every message the bot pushes, one row per (chat, message).

A row goes pending → sending → sent, or ends failed (with its reason) or
dropped (the chat left). Claiming marks rows 'sending' before any network
call, with the claiming process and when its claim runs out; the holder
renews it while it works. A claim left to expire (its process died) puts the
row back in the queue at the next claim, so at most the rows in flight at a
crash are sent twice, and a live process's rows are never taken.

Several processes may share one file: writes are serialized by SQLite, so
the claim sees every other process's committed claims and sends (see
CLAIM_FILTER)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from storage.claims import OUTBOX_CLAIM_FILTER, claim_window
from storage.rowmap import OUTBOX_COLUMNS, outbox_row
from storage.rows import CLAIM_TTL, LOCAL_HOLDER, FailureKind, OutboxRow
from storage.sqlite.connection import Connection, count_per_period


class SqliteOutbox:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def enqueue(
        self,
        *,
        chat_id: int,
        kind: str,
        priority: int,
        dedup_key: str,
        payload: Mapping[str, Any] | None,
        now: int,
        article_id: int | None = None,
        broadcast_id: int | None = None,
    ) -> bool:
        """Queue one message; False when (chat, dedup_key) was queued before."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                       broadcast_id, payload, not_before, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    chat_id,
                    kind,
                    priority,
                    dedup_key,
                    article_id,
                    broadcast_id,
                    json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                    now,
                    now,
                ),
            )
            return cursor.rowcount > 0

    async def claim_due(
        self, *, now: int, limit: int, holder: str = LOCAL_HOLDER, ttl: int = CLAIM_TTL
    ) -> list[OutboxRow]:
        """Take up to limit due rows, best priority first, and mark them 'sending' by holder
        until now + ttl. Rows whose claim expired are due again; a chat another holder
        is sending to, or sent to within its interval, is left to that holder."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'pending' "
                "WHERE status = 'sending' AND claim_expires_at <= ?",
                (now,),
            )
            cursor = await conn.execute(
                f"""UPDATE outbox SET status = 'sending', attempts = attempts + 1,
                       claimed_by = :holder, claim_expires_at = :until
                   WHERE id IN (SELECT o.id
                                FROM (SELECT id, chat_id, priority, not_before FROM outbox
                                      WHERE status = 'pending' AND not_before <= :now
                                      ORDER BY priority, not_before, id LIMIT :window) o
                                WHERE {OUTBOX_CLAIM_FILTER}
                                ORDER BY o.priority, o.not_before, o.id LIMIT :limit)
                   RETURNING {OUTBOX_COLUMNS}""",  # noqa: S608 - constant SQL
                {
                    "now": now,
                    "limit": limit,
                    "holder": holder,
                    "until": now + ttl,
                    "window": claim_window(limit),
                },
            )
            rows = [outbox_row(r) for r in await cursor.fetchall()]
            await cursor.close()
        rows.sort(key=lambda r: (r.priority, r.id))
        return rows

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still at work: its rows' claims last until `until`."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE outbox SET claim_expires_at = ? "
                "WHERE status = 'sending' AND claimed_by = ?",
                (until, holder),
            )
            return cursor.rowcount

    async def claim_holders(self, *, now: int) -> list[str]:
        """Who holds unexpired claims on rows being sent."""
        async with self._db.reader.execute(
            "SELECT DISTINCT claimed_by FROM outbox "
            "WHERE status = 'sending' AND claim_expires_at > ? AND claimed_by IS NOT NULL",
            (now,),
        ) as cursor:
            return sorted(str(r[0]) for r in await cursor.fetchall())

    async def release_holder(self, holder: str) -> int:
        """A holder known to be dead: its rows in flight go back to the queue now."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claimed_by = ?",
                (holder,),
            )
            return cursor.rowcount

    async def mark_sent(self, row_id: int, *, message_id: int | None, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'sent', telegram_message_id = ?, finished_at = ?,
                       last_error = NULL WHERE id = ?""",
                (message_id, now, row_id),
            )

    async def mark_sent_many(self, sent: Sequence[tuple[int, int | None]], *, now: int) -> None:
        """Mark several rows sent in one transaction: (row id, Telegram message id) pairs."""
        async with self._db.write() as conn:
            await conn.executemany(
                """UPDATE outbox SET status = 'sent', telegram_message_id = ?, finished_at = ?,
                       last_error = NULL WHERE id = ?""",
                [(message_id, now, row_id) for row_id, message_id in sent],
            )

    async def mark_failed(self, row_id: int, reason: str, *, kind: FailureKind, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'failed', failure_kind = ?, last_error = ?,
                       finished_at = ? WHERE id = ?""",
                (kind.value, reason, now, row_id),
            )

    async def retry_later(self, row_id: int, reason: str, *, not_before: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'pending', last_error = ?, not_before = ?
                   WHERE id = ? AND status = 'sending'""",
                (reason, not_before, row_id),
            )

    async def release(self, row_ids: Sequence[int]) -> None:
        """Claimed rows that were never sent go back to the queue as they were."""
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE outbox SET status = 'pending', attempts = attempts - 1 "
                "WHERE id = ? AND status = 'sending'",
                [(row_id,) for row_id in row_ids],
            )

    async def postpone(self, row_ids: Sequence[int], reason: str, *, not_before: int) -> None:
        """Claimed rows that could not be tried (the Bot API is down) wait, their try
        not counted: an outage of hours must not use up a message's attempts."""
        async with self._db.write() as conn:
            await conn.executemany(
                """UPDATE outbox SET status = 'pending', attempts = attempts - 1,
                       last_error = ?, not_before = ?
                   WHERE id = ? AND status = 'sending'""",
                [(reason, not_before, row_id) for row_id in row_ids],
            )

    async def pending(self, *, limit: int = 100) -> list[OutboxRow]:
        """Pending rows in the order the sender will take them."""
        async with self._db.reader.execute(
            f"""SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending'
                ORDER BY priority, not_before, id LIMIT ?""",  # noqa: S608 - constant SQL
            (limit,),
        ) as cursor:
            return [outbox_row(r) for r in await cursor.fetchall()]

    async def rows_for_chat(self, chat_id: int) -> list[OutboxRow]:
        async with self._db.reader.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE chat_id = ? ORDER BY id",  # noqa: S608
            (chat_id,),
        ) as cursor:
            return [outbox_row(r) for r in await cursor.fetchall()]

    async def counts_by_status(self) -> dict[str, int]:
        async with self._db.reader.execute(
            "SELECT status, count(*) AS n FROM outbox GROUP BY status"
        ) as cursor:
            return {r["status"]: r["n"] for r in await cursor.fetchall()}

    async def sent_since(self, since: int) -> int:
        async with self._db.reader.execute(
            "SELECT count(*) FROM outbox WHERE status = 'sent' AND finished_at >= ?", (since,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def sent_per_period(self, bounds: Sequence[int]) -> list[int]:
        return await count_per_period(
            self._db.reader, "outbox", "finished_at", bounds, where="status = 'sent'"
        )

    async def backlog(self, *, now: int) -> dict[str, tuple[int, int | None]]:
        # status = 'pending' is the outbox_due index's condition: only queued rows are read.
        async with self._db.reader.execute(
            """SELECT kind, count(*) AS n,
                      min(CASE WHEN not_before <= ? THEN not_before END) AS due_since
               FROM outbox WHERE status = 'pending' GROUP BY kind""",
            (now,),
        ) as cursor:
            rows = await cursor.fetchall()
        return {r["kind"]: (int(r["n"]), r["due_since"]) for r in rows}
