"""OutboxStore: one row per (chat, message), claimed, sent, failed, retried or released."""

from __future__ import annotations

from storage.api import Database
from storage.rows import FailureKind, OutboxRow, Priority
from tests.storage.support import NOW, add_feed, article, enqueue_reply


async def test_enqueue_stores_the_message(db: Database) -> None:
    feed_id = await add_feed(db)
    [article_id] = (await db.articles.store(feed_id, [article("a1")], now=NOW)).new_ids

    queued = await db.outbox.enqueue(
        chat_id=7,
        kind="alert",
        priority=Priority.ALERT,
        dedup_key=f"article:{article_id}",
        payload={"text": "Tin mới: bão số 3", "buttons": [["Đọc", "https://x"]], "n": 1},
        now=NOW,
        article_id=article_id,
    )

    assert queued is True
    assert await db.outbox.rows_for_chat(7) == [
        OutboxRow(
            id=(await db.outbox.rows_for_chat(7))[0].id,
            chat_id=7,
            kind="alert",
            priority=Priority.ALERT,
            dedup_key=f"article:{article_id}",
            article_id=article_id,
            broadcast_id=None,
            payload={"text": "Tin mới: bão số 3", "buttons": [["Đọc", "https://x"]], "n": 1},
            status="pending",
            attempts=0,
        )
    ]


async def test_enqueue_without_a_payload(db: Database) -> None:
    await db.outbox.enqueue(
        chat_id=7, kind="reply", priority=Priority.REPLY, dedup_key="k", payload=None, now=NOW
    )

    [row] = await db.outbox.pending()
    assert row.payload is None and row.article_id is None and row.broadcast_id is None


async def test_enqueue_dedups_per_chat_and_key(db: Database) -> None:
    first = await db.outbox.enqueue(
        chat_id=1, kind="reply", priority=0, dedup_key="k", payload={"text": "a"}, now=NOW
    )
    again = await db.outbox.enqueue(
        chat_id=1, kind="reply", priority=0, dedup_key="k", payload={"text": "b"}, now=NOW + 1
    )
    other_chat = await db.outbox.enqueue(
        chat_id=2, kind="reply", priority=0, dedup_key="k", payload={"text": "c"}, now=NOW
    )
    other_key = await db.outbox.enqueue(
        chat_id=1, kind="reply", priority=0, dedup_key="k2", payload={"text": "d"}, now=NOW
    )

    assert (first, again, other_chat, other_key) == (True, False, True, True)
    assert [r.payload for r in await db.outbox.rows_for_chat(1)] == [{"text": "a"}, {"text": "d"}]


async def test_enqueue_dedups_even_after_the_message_was_sent(db: Database) -> None:
    row_id = await enqueue_reply(db, 1, "k")
    await db.outbox.claim_due(now=NOW, limit=1)
    await db.outbox.mark_sent(row_id, message_id=1, now=NOW)

    again = await db.outbox.enqueue(
        chat_id=1, kind="reply", priority=0, dedup_key="k", payload=None, now=NOW + 60
    )

    assert again is False
    assert await db.outbox.pending() == []


async def test_claim_due_takes_best_priority_then_oldest(db: Database) -> None:
    broadcast = await enqueue_reply(db, 1, "b", priority=Priority.BROADCAST, now=NOW - 50)
    alert_late = await enqueue_reply(db, 1, "a2", priority=Priority.ALERT, now=NOW - 10)
    alert_early = await enqueue_reply(db, 2, "a1", priority=Priority.ALERT, now=NOW - 20)
    reply = await enqueue_reply(db, 3, "r", priority=Priority.REPLY, now=NOW)
    alert_tied = await enqueue_reply(db, 3, "a3", priority=Priority.ALERT, now=NOW - 10)
    not_yet = await enqueue_reply(db, 4, "later", priority=Priority.REPLY, now=NOW + 1)

    first = await db.outbox.claim_due(now=NOW, limit=3)
    rest = await db.outbox.claim_due(now=NOW, limit=10)
    nothing = await db.outbox.claim_due(now=NOW, limit=10)
    later = await db.outbox.claim_due(now=NOW + 1, limit=10)

    # chosen by priority, then not_before, then id ...
    assert {r.id for r in first} == {reply, alert_early, alert_late}
    assert {r.id for r in rest} == {alert_tied, broadcast}
    # ... and handed back by priority, then id
    assert [r.id for r in first] == [reply, alert_late, alert_early]
    assert [r.id for r in rest] == [alert_tied, broadcast]
    assert nothing == []
    assert [r.id for r in later] == [not_yet]
    assert all(r.status == "sending" and r.attempts == 1 for r in [*first, *rest, *later])
    assert await db.outbox.counts_by_status() == {"sending": 6}


async def test_claim_due_returns_rows_in_priority_order(db: Database) -> None:
    low = await enqueue_reply(db, 1, "low", priority=Priority.BROADCAST, now=NOW - 100)
    high = await enqueue_reply(db, 1, "high", priority=Priority.REPLY, now=NOW)

    claimed = await db.outbox.claim_due(now=NOW, limit=10)

    assert [r.id for r in claimed] == [high, low]


async def test_pending_lists_rows_in_the_order_they_will_be_taken(db: Database) -> None:
    broadcast = await enqueue_reply(db, 1, "b", priority=Priority.BROADCAST, now=NOW - 50)
    later = await enqueue_reply(db, 1, "r2", priority=Priority.REPLY, now=NOW + 100)
    reply = await enqueue_reply(db, 1, "r1", priority=Priority.REPLY, now=NOW)
    claimed = await enqueue_reply(db, 2, "c", priority=Priority.REPLY, now=NOW - 999)
    await db.outbox.claim_due(now=NOW, limit=1)

    assert [r.id for r in await db.outbox.pending()] == [reply, later, broadcast]
    assert [r.id for r in await db.outbox.pending(limit=2)] == [reply, later]
    assert claimed not in {r.id for r in await db.outbox.pending()}


async def test_mark_sent(db: Database) -> None:
    row_id = await enqueue_reply(db, 1, "k")
    await db.outbox.claim_due(now=NOW, limit=1)

    await db.outbox.mark_sent(row_id, message_id=4242, now=NOW + 5)

    [row] = await db.outbox.rows_for_chat(1)
    assert (row.status, row.attempts) == ("sent", 1)
    assert await db.outbox.counts_by_status() == {"sent": 1}
    assert await db.outbox.sent_since(NOW + 5) == 1
    assert await db.outbox.sent_since(NOW + 6) == 0


async def test_mark_sent_many(db: Database) -> None:
    ids = [await enqueue_reply(db, chat, "k") for chat in (1, 2, 3)]
    await db.outbox.claim_due(now=NOW, limit=10)

    await db.outbox.mark_sent_many([(ids[0], 10), (ids[2], None)], now=NOW + 1)

    assert {r.chat_id: r.status for r in await db.outbox.claim_due(now=NOW, limit=10)} == {}
    statuses = [(await db.outbox.rows_for_chat(chat))[0].status for chat in (1, 2, 3)]
    assert statuses == ["sent", "sending", "sent"]
    assert await db.outbox.sent_since(NOW) == 2
    await db.outbox.mark_sent_many([], now=NOW + 2)
    assert await db.outbox.sent_since(NOW) == 2


async def test_mark_failed_with_each_kind(db: Database) -> None:
    ids = {kind: await enqueue_reply(db, 1, kind.value) for kind in FailureKind}
    await db.outbox.claim_due(now=NOW, limit=10)

    for kind, row_id in ids.items():
        await db.outbox.mark_failed(row_id, f"because {kind.value}", kind=kind, now=NOW + 1)

    assert {r.status for r in await db.outbox.rows_for_chat(1)} == {"failed"}
    assert await db.outbox.counts_by_status() == {"failed": len(FailureKind)}
    assert await db.outbox.pending() == []
    assert await db.outbox.sent_since(0) == 0


async def test_retry_later_requeues_a_claimed_row_after_not_before(db: Database) -> None:
    row_id = await enqueue_reply(db, 1, "k")
    await db.outbox.claim_due(now=NOW, limit=1)

    await db.outbox.retry_later(row_id, "429 Too Many Requests", not_before=NOW + 30)

    [row] = await db.outbox.pending()
    assert (row.id, row.status, row.attempts) == (row_id, "pending", 1)
    assert await db.outbox.claim_due(now=NOW + 29, limit=10) == []
    [again] = await db.outbox.claim_due(now=NOW + 30, limit=10)
    assert (again.id, again.attempts) == (row_id, 2)


async def test_retry_later_leaves_rows_that_are_not_claimed(db: Database) -> None:
    pending = await enqueue_reply(db, 1, "pending")
    sent = await enqueue_reply(db, 1, "sent", priority=-1)
    await db.outbox.claim_due(now=NOW, limit=1)
    await db.outbox.mark_sent(sent, message_id=1, now=NOW)

    await db.outbox.retry_later(pending, "late", not_before=NOW + 999)
    await db.outbox.retry_later(sent, "late", not_before=NOW + 999)

    assert [r.id for r in await db.outbox.claim_due(now=NOW, limit=10)] == [pending]
    assert {r.id: r.status for r in await db.outbox.rows_for_chat(1)}[sent] == "sent"


async def test_release_puts_claimed_rows_back_as_they_were(db: Database) -> None:
    first = await enqueue_reply(db, 1, "a")
    second = await enqueue_reply(db, 1, "b")
    sent = await enqueue_reply(db, 1, "c")
    await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(sent, message_id=1, now=NOW)

    await db.outbox.release([first, second, sent])

    rows = {r.id: r for r in await db.outbox.rows_for_chat(1)}
    assert (rows[first].status, rows[first].attempts) == ("pending", 0)
    assert (rows[second].status, rows[second].attempts) == ("pending", 0)
    assert (rows[sent].status, rows[sent].attempts) == ("sent", 1)
    assert [r.id for r in await db.outbox.claim_due(now=NOW, limit=10)] == [first, second]
    await db.outbox.release([])


async def test_rows_for_chat_holds_every_status_in_id_order(db: Database) -> None:
    ids = [await enqueue_reply(db, 1, f"k{i}") for i in range(4)]
    await enqueue_reply(db, 2, "other")
    await db.outbox.claim_due(now=NOW, limit=3)
    await db.outbox.mark_sent(ids[0], message_id=None, now=NOW)
    await db.outbox.mark_failed(ids[1], "400", kind=FailureKind.REJECTED, now=NOW)

    rows = await db.outbox.rows_for_chat(1)

    assert [r.id for r in rows] == ids
    assert [r.status for r in rows] == ["sent", "failed", "sending", "pending"]
    assert await db.outbox.rows_for_chat(99) == []


async def test_counts_by_status(db: Database) -> None:
    assert await db.outbox.counts_by_status() == {}
    ids = [await enqueue_reply(db, chat, "k") for chat in range(1, 6)]
    await db.outbox.claim_due(now=NOW, limit=4)
    await db.outbox.mark_sent(ids[0], message_id=1, now=NOW)
    await db.outbox.mark_sent(ids[1], message_id=2, now=NOW)
    await db.outbox.mark_failed(ids[2], "gave up", kind=FailureKind.GAVE_UP, now=NOW)

    assert await db.outbox.counts_by_status() == {
        "sent": 2,
        "failed": 1,
        "sending": 1,
        "pending": 1,
    }


async def test_sent_since_counts_messages_finished_from_then(db: Database) -> None:
    ids = [await enqueue_reply(db, chat, "k") for chat in (1, 2, 3)]
    await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(ids[0], message_id=1, now=NOW - 100)
    await db.outbox.mark_sent(ids[1], message_id=2, now=NOW)
    await db.outbox.mark_failed(ids[2], "x", kind=FailureKind.GAVE_UP, now=NOW)

    assert await db.outbox.sent_since(NOW - 100) == 2
    assert await db.outbox.sent_since(NOW - 99) == 1
    assert await db.outbox.sent_since(NOW + 1) == 0
