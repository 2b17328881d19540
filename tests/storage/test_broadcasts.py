"""BroadcastStore: drafts, queueing every recipient once, cancelling, counting progress."""

from __future__ import annotations

from storage.api import Database
from storage.rows import BroadcastRow, FailureKind, Priority, Progress
from tests.storage.support import NOW, add_reader

ADMIN = 42


async def draft(db: Database, *, topic: str | None = None, admin_id: int = ADMIN) -> int:
    return await db.broadcasts.create_draft(
        admin_id=admin_id, text="<b>Thông báo</b> bảo trì", parse_mode="HTML", topic=topic, now=NOW
    )


async def confirm(db: Database, broadcast_id: int, *, now: int = NOW) -> int | None:
    return await db.broadcasts.confirm(
        broadcast_id, progress_chat_id=ADMIN, progress_message_id=1, now=now
    )


async def test_create_draft(db: Database) -> None:
    broadcast_id = await draft(db, topic="kinh-te")

    assert await db.broadcasts.get(broadcast_id) == BroadcastRow(
        id=broadcast_id,
        admin_id=ADMIN,
        text="<b>Thông báo</b> bảo trì",
        parse_mode="HTML",
        topic_slug="kinh-te",
        status="draft",
        progress_chat_id=None,
        progress_message_id=None,
        created_at=NOW,
    )
    assert await db.broadcasts.get(broadcast_id + 1) is None
    assert await db.broadcasts.active() == []  # a draft is not running yet
    assert await db.outbox.pending() == []


async def test_count_recipients(db: Database) -> None:
    await add_reader(db, 1, topics=["kinh-te"])
    await add_reader(db, 2, mode="digest", topics=["kinh-te"])
    await add_reader(db, 3, topics=["the-thao"])
    await add_reader(db, 4, topics=["kinh-te"])
    await db.subscribers.deactivate(4, "blocked", now=NOW)

    assert await db.broadcasts.count_recipients(None) == 3
    assert await db.broadcasts.count_recipients("kinh-te") == 2
    assert await db.broadcasts.count_recipients("khong-co") == 0


async def test_confirm_queues_every_active_reader_once(db: Database) -> None:
    await add_reader(db, 1)
    await add_reader(db, 2, mode="digest")
    await add_reader(db, 3)
    await db.subscribers.deactivate(3, "blocked", now=NOW)
    broadcast_id = await draft(db)

    queued = await db.broadcasts.confirm(
        broadcast_id, progress_chat_id=ADMIN, progress_message_id=555, now=NOW + 60
    )
    again = await db.broadcasts.confirm(
        broadcast_id, progress_chat_id=ADMIN, progress_message_id=556, now=NOW + 120
    )

    assert queued == 2
    assert again is None
    row = await db.broadcasts.get(broadcast_id)
    assert row is not None
    assert (row.status, row.progress_chat_id, row.progress_message_id) == ("queued", ADMIN, 555)
    pending = await db.outbox.pending()
    assert sorted(r.chat_id for r in pending) == [1, 2]
    for r in pending:
        assert (r.kind, r.priority) == ("broadcast", Priority.BROADCAST)
        assert r.dedup_key == f"broadcast:{broadcast_id}"
        assert r.broadcast_id == broadcast_id
        assert r.payload == {"text": "<b>Thông báo</b> bảo trì", "parse_mode": "HTML"}
    assert [b.id for b in await db.broadcasts.active()] == [broadcast_id]


async def test_confirm_a_topic_broadcast_queues_its_followers(db: Database) -> None:
    await add_reader(db, 1, topics=["kinh-te"])
    await add_reader(db, 2, topics=["the-thao"])
    await add_reader(db, 3, mode="digest", topics=["kinh-te", "the-thao"])
    broadcast_id = await db.broadcasts.create_draft(
        admin_id=ADMIN, text="plain", parse_mode=None, topic="kinh-te", now=NOW
    )

    queued = await db.broadcasts.confirm(
        broadcast_id, progress_chat_id=ADMIN, progress_message_id=1, now=NOW
    )

    assert queued == 2
    pending = await db.outbox.pending()
    assert sorted(r.chat_id for r in pending) == [1, 3]
    assert pending[0].payload == {"text": "plain", "parse_mode": None}


async def test_confirm_with_no_recipients_queues_nothing(db: Database) -> None:
    broadcast_id = await draft(db)

    assert await confirm(db, broadcast_id) == 0
    row = await db.broadcasts.get(broadcast_id)
    assert row is not None and row.status == "queued"


async def test_confirm_of_an_unknown_or_cancelled_broadcast_is_none(db: Database) -> None:
    await add_reader(db, 1)
    broadcast_id = await draft(db)
    await db.broadcasts.cancel(broadcast_id, now=NOW)

    assert await confirm(db, broadcast_id) is None
    assert await confirm(db, 9999) is None
    assert await db.outbox.pending() == []


async def test_cancel_a_draft(db: Database) -> None:
    broadcast_id = await draft(db)

    assert await db.broadcasts.cancel(broadcast_id, now=NOW) == 0
    assert await db.broadcasts.cancel(broadcast_id, now=NOW) is None
    assert await db.broadcasts.cancel(9999, now=NOW) is None
    row = await db.broadcasts.get(broadcast_id)
    assert row is not None and row.status == "cancelled"


async def test_cancel_a_running_broadcast_drops_what_is_still_queued(db: Database) -> None:
    for chat in (1, 2, 3, 4):
        await add_reader(db, chat)
    await db.outbox.enqueue(
        chat_id=ADMIN, kind="reply", priority=Priority.REPLY, dedup_key="r", payload=None, now=NOW
    )
    broadcast_id = await draft(db)
    await confirm(db, broadcast_id)
    await db.outbox.claim_due(now=NOW, limit=1)  # the reply
    sent, sending = await db.outbox.claim_due(now=NOW, limit=2)
    await db.outbox.mark_sent(sent.id, message_id=1, now=NOW)

    dropped = await db.broadcasts.cancel(broadcast_id, now=NOW + 60)

    assert dropped == 2  # the two still pending; the one being sent goes on
    row = await db.broadcasts.get(broadcast_id)
    assert row is not None and row.status == "cancelled"
    assert await db.broadcasts.active() == []
    assert await db.broadcasts.latest_running() is None
    assert [r.id for r in await db.outbox.pending()] == []
    assert {r.chat_id: r.status for r in await db.outbox.rows_for_chat(sending.chat_id)} == {
        sending.chat_id: "sending"
    }
    assert await db.outbox.counts_by_status() == {"sent": 1, "sending": 2, "dropped": 2}
    # dropped by the cancel: neither sent, blocked, failed nor pending
    assert await db.broadcasts.progress(broadcast_id) == Progress(
        total=4, sent=1, blocked=0, failed=0, pending=1
    )


async def test_progress_counts_each_outcome(db: Database) -> None:
    for chat in range(1, 9):
        await add_reader(db, chat)
    broadcast_id = await draft(db)
    await confirm(db, broadcast_id)
    rows = {r.chat_id: r for r in await db.outbox.claim_due(now=NOW, limit=7)}
    await db.outbox.mark_sent(rows[1].id, message_id=1, now=NOW)
    await db.outbox.mark_sent(rows[2].id, message_id=2, now=NOW)
    await db.outbox.mark_failed(rows[3].id, "blocked", kind=FailureKind.CHAT_GONE, now=NOW)
    await db.outbox.mark_failed(rows[4].id, "gave up", kind=FailureKind.GAVE_UP, now=NOW)
    await db.outbox.mark_failed(rows[5].id, "400", kind=FailureKind.REJECTED, now=NOW)
    await db.subscribers.deactivate(6, "chat not found", now=NOW)  # was being sent: dropped
    # 7 still sending, 8 still pending

    progress = await db.broadcasts.progress(broadcast_id)

    assert progress == Progress(total=8, sent=2, blocked=2, failed=2, pending=2)
    assert progress.finished is False


async def test_progress_finishes_when_nothing_is_left_to_send(db: Database) -> None:
    await add_reader(db, 1)
    await add_reader(db, 2)
    broadcast_id = await draft(db)
    await confirm(db, broadcast_id)
    first, second = await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(first.id, message_id=1, now=NOW)
    await db.outbox.mark_failed(second.id, "gone", kind=FailureKind.CHAT_GONE, now=NOW)

    progress = await db.broadcasts.progress(broadcast_id)

    assert progress == Progress(total=2, sent=1, blocked=1, failed=0, pending=0)
    assert progress.finished is True
    assert await db.broadcasts.progress(9999) == Progress(0, 0, 0, 0, 0)


async def test_set_status_and_active(db: Database) -> None:
    queued = await draft(db)
    sending = await draft(db)
    done = await draft(db)
    await draft(db)  # stays a draft
    for broadcast_id in (queued, sending, done):
        await confirm(db, broadcast_id)

    await db.broadcasts.set_status(sending, "sending", now=NOW)
    await db.broadcasts.set_status(done, "done", now=NOW)

    assert [b.id for b in await db.broadcasts.active()] == [queued, sending]
    row = await db.broadcasts.get(done)
    assert row is not None and row.status == "done"
    assert await db.broadcasts.cancel(done, now=NOW) is None


async def test_latest_running_is_the_newest_unfinished_one(db: Database) -> None:
    older = await draft(db)
    newer = await draft(db)
    theirs = await draft(db, admin_id=7)
    await confirm(db, older)

    latest_any = await db.broadcasts.latest_running()
    latest_mine = await db.broadcasts.latest_running(ADMIN)
    await db.broadcasts.cancel(newer, now=NOW)
    after_cancel = await db.broadcasts.latest_running(ADMIN)
    await db.broadcasts.set_status(older, "done", now=NOW)

    assert latest_any is not None and latest_any.id == theirs
    assert latest_mine is not None and latest_mine.id == newer
    assert after_cancel is not None and after_cancel.id == older
    assert await db.broadcasts.latest_running(ADMIN) is None
    assert await db.broadcasts.latest_running(12345) is None
