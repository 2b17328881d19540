"""The outbox: every message the bot pushes, one row per (chat, message).

A row goes pending → sending → sent, or ends failed (with its reason) or
dropped (the chat left). Claiming marks rows 'sending' before any network
call, with the claiming process and when its claim runs out; the holder
renews it while it works, and a claim left to expire (its process died) puts
the row back in the queue at the next claim. Claims are taken one process at
a time (a transaction-scoped advisory lock), so each sees the others'
committed claims and sends when it checks a chat's limits (CLAIM_FILTER);
`FOR UPDATE SKIP LOCKED` keeps a claim from waiting on a row being marked sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from storage.claims import OUTBOX_CLAIM_FILTER, claim_window
from storage.postgres.connection import Pool, affected, count_per_period, sql_limit
from storage.rowmap import OUTBOX_COLUMNS, outbox_row
from storage.rows import CLAIM_TTL, LOCAL_HOLDER, FailureKind, OutboxRow

# pg_advisory_xact_lock key serializing outbox claims across processes ('nbot').
_CLAIM_LOCK = 0x6E626F74
_FILTER = OUTBOX_CLAIM_FILTER.replace(":now", "$1").replace(":holder", "$3")


def payload_json(payload: Mapping[str, Any] | None) -> str | None:
    return json.dumps(payload, ensure_ascii=False) if payload is not None else None


class PostgresOutbox:
    def __init__(self, db: Pool) -> None:
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
            status = await conn.execute(
                """INSERT INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                       broadcast_id, payload, not_before, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)
                   ON CONFLICT (chat_id, dedup_key) DO NOTHING""",
                chat_id,
                kind,
                int(priority),
                dedup_key,
                article_id,
                broadcast_id,
                payload_json(payload),
                now,
            )
        return affected(status) > 0

    async def claim_due(
        self, *, now: int, limit: int, holder: str = LOCAL_HOLDER, ttl: int = CLAIM_TTL
    ) -> list[OutboxRow]:
        """Take up to limit due rows, best priority first, and mark them 'sending' by holder
        until now + ttl. Rows whose claim expired are due again; a chat another holder
        is sending to, or sent to within its interval, is left to that holder."""
        async with self._db.write() as conn:
            # The lock is a statement of its own, so the claim below sees every claim
            # committed before it. SKIP LOCKED: a row a hung process still holds a lock
            # on waits for the server to end that session, not this claim. Both in one
            # round trip (the simple protocol: no parameters, so `now` is written in).
            await conn.execute(
                f"""SELECT pg_advisory_xact_lock({_CLAIM_LOCK});
                   UPDATE outbox SET status = 'pending'
                   WHERE id IN (SELECT id FROM outbox
                                WHERE status = 'sending' AND claim_expires_at <= {int(now)}
                                FOR UPDATE SKIP LOCKED)"""  # noqa: S608 - two integers
            )
            # The chat filter looks only at the first rows in order (CLAIM_WINDOW): on a
            # backlog of 100,000 it must not run for every pending row.
            rows = await conn.fetch(
                f"""UPDATE outbox SET status = 'sending', attempts = attempts + 1,
                        claimed_by = $3, claim_expires_at = $4
                    WHERE id IN (SELECT o.id
                                 FROM (SELECT id, chat_id, priority, not_before FROM outbox
                                       WHERE status = 'pending' AND not_before <= $1
                                       ORDER BY priority, not_before, id LIMIT $5
                                       FOR UPDATE SKIP LOCKED) o
                                 WHERE {_FILTER}
                                 ORDER BY o.priority, o.not_before, o.id LIMIT $2)
                    RETURNING {OUTBOX_COLUMNS}""",  # noqa: S608 - constant SQL
                now,
                sql_limit(limit),
                holder,
                now + ttl,
                claim_window(limit),
            )
        claimed = [outbox_row(r) for r in rows]
        claimed.sort(key=lambda r: (r.priority, r.id))
        return claimed

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still at work: its rows' claims last until `until`."""
        # Rows locked in id order, as mark_sent_many locks them: the holder's own
        # renewal and sent marks, on two connections, must not deadlock.
        status = await self._db.execute_idempotent(
            """UPDATE outbox SET claim_expires_at = $1
               WHERE id IN (SELECT id FROM outbox WHERE status = 'sending' AND claimed_by = $2
                            ORDER BY id FOR UPDATE)""",
            until,
            holder,
        )
        return affected(status)

    async def claim_holders(self, *, now: int) -> list[str]:
        """Who holds unexpired claims on rows being sent."""
        rows = await self._db.fetch(
            "SELECT DISTINCT claimed_by FROM outbox "
            "WHERE status = 'sending' AND claim_expires_at > $1 AND claimed_by IS NOT NULL",
            now,
        )
        return sorted(str(r[0]) for r in rows)

    async def release_holder(self, holder: str) -> int:
        """A holder known to be dead: its rows in flight go back to the queue now."""
        async with self._db.write() as conn:
            status = await conn.execute(
                "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claimed_by = $1",
                holder,
            )
        return affected(status)

    async def mark_sent(self, row_id: int, *, message_id: int | None, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'sent', telegram_message_id = $1, finished_at = $2,
                       last_error = NULL WHERE id = $3""",
                message_id,
                now,
                row_id,
            )

    async def mark_sent_many(self, sent: Sequence[tuple[int, int | None]], *, now: int) -> None:
        """Mark several rows sent in one transaction: (row id, Telegram message id) pairs."""
        if not sent:
            return
        # The sender's hot path, one statement: no BEGIN and COMMIT round trips; rows
        # locked in id order (renew_claims locks them so too).
        await self._db.execute_idempotent(
            """UPDATE outbox o SET status = 'sent', telegram_message_id = x.message_id,
                   finished_at = $3, last_error = NULL
               FROM unnest($1::bigint[], $2::bigint[]) AS x(id, message_id)
               WHERE o.id = x.id
                 AND o.id IN (SELECT id FROM outbox WHERE id = ANY($1::bigint[])
                              ORDER BY id FOR UPDATE)""",
            [row_id for row_id, _ in sent],
            [message_id for _, message_id in sent],
            now,
        )

    async def mark_failed(self, row_id: int, reason: str, *, kind: FailureKind, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'failed', failure_kind = $1, last_error = $2,
                       finished_at = $3 WHERE id = $4""",
                FailureKind(kind).value,
                reason,
                now,
                row_id,
            )

    async def retry_later(self, row_id: int, reason: str, *, not_before: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'pending', last_error = $1, not_before = $2
                   WHERE id = $3 AND status = 'sending'""",
                reason,
                not_before,
                row_id,
            )

    async def release(self, row_ids: Sequence[int]) -> None:
        """Claimed rows that were never sent go back to the queue as they were."""
        if not row_ids:
            return
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'pending', attempts = attempts - 1
                   WHERE id = ANY($1::bigint[]) AND status = 'sending'""",
                list(row_ids),
            )

    async def postpone(self, row_ids: Sequence[int], reason: str, *, not_before: int) -> None:
        """Claimed rows that could not be tried (the Bot API is down) wait, their try
        not counted: an outage of hours must not use up a message's attempts."""
        if not row_ids:
            return
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE outbox SET status = 'pending', attempts = attempts - 1,
                       last_error = $1, not_before = $2
                   WHERE id = ANY($3::bigint[]) AND status = 'sending'""",
                reason,
                not_before,
                list(row_ids),
            )

    async def pending(self, *, limit: int = 100) -> list[OutboxRow]:
        """Pending rows in the order the sender will take them."""
        rows = await self._db.fetch(
            f"""SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending'
                ORDER BY priority, not_before, id LIMIT $1""",  # noqa: S608 - constant SQL
            sql_limit(limit),
        )
        return [outbox_row(r) for r in rows]

    async def rows_for_chat(self, chat_id: int) -> list[OutboxRow]:
        rows = await self._db.fetch(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE chat_id = $1 ORDER BY id",  # noqa: S608
            chat_id,
        )
        return [outbox_row(r) for r in rows]

    async def counts_by_status(self) -> dict[str, int]:
        rows = await self._db.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def sent_since(self, since: int) -> int:
        return int(
            await self._db.fetchval(
                "SELECT count(*) FROM outbox WHERE status = 'sent' AND finished_at >= $1", since
            )
        )

    async def sent_per_period(self, bounds: Sequence[int]) -> list[int]:
        """Messages sent in each period: rows marked sent with finished_at in
        [bounds[i], bounds[i + 1])."""
        return await count_per_period(
            self._db, "outbox", "finished_at", bounds, where="status = 'sent'"
        )

    async def backlog(self, *, now: int) -> dict[str, tuple[int, int | None]]:
        """Pending rows by kind: (how many, the earliest not_before among those already
        due at now, or None when none is due yet). Only pending rows are read (the
        outbox_due index holds them)."""
        rows = await self._db.fetch(
            """SELECT kind, count(*) AS n, min(not_before) FILTER (WHERE not_before <= $1)
                      AS due_since
               FROM outbox WHERE status = 'pending' GROUP BY kind""",
            now,
        )
        return {r["kind"]: (int(r["n"]), r["due_since"]) for r in rows}
