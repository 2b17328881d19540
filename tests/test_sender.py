"""The sender against the local Bot API stand-in: every Telegram answer and its policy."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.botapi_standin import BotApiStandIn
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.delivery.telegram_bot import NewsBot
from storage.rows import CLAIM_TTL, ArticleInput, FeedSpec, OutboxRow, TopicRow
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock

READER = 501


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        yield running


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[NewsBot]:
    rate = TelegramRateLimiter(per_second=1000, chat_interval=0.0)
    async with NewsBot(standin.token, base_url=standin.base_url, rate_limiter=rate) as ext_bot:
        yield ext_bot


@pytest.fixture
def sender(db: SqliteDatabase, bot: NewsBot, clock: ManualClock) -> Sender:
    return Sender(db, bot, clock=clock, max_attempts=3)


async def reader(
    db: SqliteDatabase, clock: ManualClock, chat_id: int = READER, **settings: Any
) -> None:
    await db.subscribers.ensure_subscriber(chat_id, now=clock.ts)
    if settings:
        await db.subscribers.update_settings(chat_id, now=clock.ts, **settings)


async def queue_text(
    db: SqliteDatabase,
    clock: ManualClock,
    text: str,
    *,
    chat_id: int = READER,
    key: str = "m1",
    kind: str = "broadcast",
    parse_mode: str | None = "HTML",
) -> None:
    await db.outbox.enqueue(
        chat_id=chat_id,
        kind=kind,
        priority=40,
        dedup_key=key,
        payload={"text": text, "parse_mode": parse_mode},
        now=clock.ts,
    )


async def row_of(db: SqliteDatabase, chat_id: int = READER) -> OutboxRow:
    [row] = await db.outbox.rows_for_chat(chat_id)
    return row


async def status_of(db: SqliteDatabase, chat_id: int = READER) -> tuple[str, str | None]:
    async with db.sql.reader.execute(
        "SELECT status, last_error FROM outbox WHERE chat_id = ?", (chat_id,)
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row["status"], row["last_error"]


async def test_alert_is_rendered_in_the_readers_language_and_sent(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await db.feeds.sync_topics([TopicRow("kinh-te", "Kinh tế", "Business", ())])
    await reader(db, clock, language="en")
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=clock.ts)
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://bao.example.vn/rss", "Báo", ("kinh-te",)), now=clock.ts
    )
    published = int(datetime(2026, 9, 24, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp())
    article = ArticleInput(
        "k1",
        "https://bao.example.vn/a.html",
        "Lãi suất <giảm>",
        "Tóm tắt & chi tiết.",
        "",
        None,
        None,
        datetime.fromtimestamp(published, UTC),
        ("kinh-te",),
        "lai suat giam",
        "tom tat",
        "https://bao.example.vn/a.html",
    )
    await db.articles.store(
        feed_id, [article], now=clock.ts, alert_keys=frozenset({"k1"}), keyword_chats={}
    )

    assert await sender.drain() == 1

    [message] = standin.messages_to(READER)
    assert message.text.startswith("<b>Lãi suất &lt;giảm&gt;</b>")
    # Published at 08:00 the reader's today (their zone), so said as such.
    assert "Read more" in message.text and "🕒 today 08:00" in message.text
    assert "Business" in message.text
    # The buttons and the large preview of the article arrive as objects.
    assert message.button_data() and message.reply_markup is not None
    assert message.params["link_preview_options"] == {
        "url": "https://bao.example.vn/a.html",
        "prefer_large_media": True,
    }
    assert await status_of(db) == ("sent", None)
    assert (await row_of(db)).status == "sent"


async def test_blocked_reader_is_deactivated_and_their_queue_dropped(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    standin.block(READER)
    await queue_text(db, clock, "một", key="a")
    clock.advance(seconds=1)
    await queue_text(db, clock, "hai", key="b")

    await sender.drain()

    # Both rows were in flight together: each ends failed or dropped, none is retried.
    async with db.sql.reader.execute("SELECT status, last_error FROM outbox") as cursor:
        rows = list(await cursor.fetchall())
    assert len(rows) == 2
    assert all(r["status"] in ("failed", "dropped") for r in rows)
    assert all(r["last_error"].startswith("chat gone:") for r in rows)
    subscriber = await db.subscribers.get_subscriber(READER)
    assert subscriber is not None and not subscriber.active
    assert subscriber.inactive_reason and "blocked" in subscriber.inactive_reason
    assert await sender.drain() == 0  # nothing left to try


async def test_chat_not_found_deactivates(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    standin.chat_not_found(READER)
    await queue_text(db, clock, "xin chào")

    await sender.drain()

    status, reason = await status_of(db)
    assert status == "failed" and reason is not None and reason.startswith("chat gone:")
    subscriber = await db.subscribers.get_subscriber(READER)
    assert subscriber is not None and not subscriber.active


async def test_group_upgraded_to_supergroup_moves_and_resends(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    group, supergroup = -4001, -1001234567890
    await reader(db, clock, chat_id=group)
    await db.subscribers.subscribe_topic(group, "kinh-te", now=clock.ts)
    standin.migrate(group, supergroup)
    await queue_text(db, clock, "Thông báo", chat_id=group)

    await sender.drain()
    await sender.drain()

    assert [m.text for m in standin.messages_to(supergroup)] == ["Thông báo"]
    assert await db.subscribers.get_subscriber(group) is None
    moved = await db.subscribers.get_subscriber(supergroup)
    assert moved is not None and moved.chat_type == "supergroup"
    assert await db.subscribers.topic_subscriptions(supergroup) == ["kinh-te"]


async def test_bad_html_is_resent_as_plain_text(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    await queue_text(db, clock, "<b>Tin nóng &amp; mới<i>")

    await sender.drain()

    [message] = standin.messages_to(READER)
    assert message.parse_mode is None
    assert message.text == "Tin nóng & mới"
    assert (await status_of(db))[0] == "sent"


async def test_too_long_message_is_resent_shortened(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    await queue_text(db, clock, "Tin dài. " * 700, parse_mode=None)

    await sender.drain()

    [message] = standin.messages_to(READER)
    assert message.text.endswith("…")
    assert len(message.text) <= 4096
    assert (await status_of(db))[0] == "sent"


async def test_server_errors_retry_with_backoff_then_give_up(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    standin.fail_next("sendMessage", status=502, description="Bad Gateway", count=10)
    await queue_text(db, clock, "Thông báo")

    await sender.drain()
    first = await status_of(db)
    assert first[0] == "pending"
    assert await sender.drain() == 0  # backing off: not due yet
    clock.advance(seconds=5)
    await sender.drain()
    clock.advance(seconds=10)
    await sender.drain()

    status, reason = await status_of(db)
    assert status == "failed"
    assert reason is not None and reason.startswith("gave up after 3 tries")
    assert standin.messages_to(READER) == []


async def test_flood_limit_waits_and_loses_nothing(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    standin.fail_next("sendMessage", status=429, description="Too Many Requests", retry_after=7)
    await queue_text(db, clock, "Thông báo")

    await sender.drain()
    assert await status_of(db) == ("pending", "flood limit, retry after 7s")
    clock.advance(seconds=7)
    assert await sender.drain() == 0
    clock.advance(seconds=1)
    await sender.drain()

    assert [m.text for m in standin.messages_to(READER)] == ["Thông báo"]
    assert (await status_of(db))[0] == "sent"


async def test_rows_another_process_had_in_flight_are_sent_once_its_claim_expires(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    await queue_text(db, clock, "Thông báo")
    claimed = await db.outbox.claim_due(now=clock.ts, limit=10, holder="elsewhere:1:dead")
    assert [r.status for r in claimed] == ["sending"]  # then that process dies

    assert await sender.drain() == 0  # its claim still runs: the row is its own
    clock.advance(seconds=CLAIM_TTL)
    await sender.drain()

    assert [m.text for m in standin.messages_to(READER)] == ["Thông báo"]


async def test_alerts_wait_for_quiet_hours_to_end(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    clock.now = datetime(2026, 9, 24, 23, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    await reader(db, clock, quiet_start=22, quiet_end=6)
    await queue_text(db, clock, "Tin khuya", kind="alert")

    await sender.drain()

    morning = datetime(2026, 9, 25, 6, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    async with db.sql.reader.execute("SELECT status, not_before FROM outbox") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    assert (row["status"], row["not_before"]) == ("pending", int(morning.timestamp()))
    assert standin.messages_to(READER) == []


async def test_inactive_reader_is_not_sent_to(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock)
    await db.subscribers.deactivate(READER, "blocked", now=clock.ts)
    await queue_text(db, clock, "Thông báo")

    await sender.drain()

    assert standin.messages_to(READER) == []
    assert (await status_of(db))[0] == "failed"


async def test_stopping_mid_broadcast_is_prompt_and_leaves_the_rest_queued(
    db: SqliteDatabase, standin: BotApiStandIn, clock: ManualClock
) -> None:
    slow = TelegramRateLimiter(per_second=30, chat_interval=0.0)
    async with NewsBot(standin.token, base_url=standin.base_url, rate_limiter=slow) as slow_bot:
        for chat in range(1, 301):
            await reader(db, clock, chat_id=chat)
            await queue_text(db, clock, "Thông báo", chat_id=chat)
        sender = Sender(db, slow_bot, clock=clock)
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run_forever(stop))
        await standin.wait_for(lambda: len(standin.sent) >= 5)

        stop.set()
        await asyncio.wait_for(running, timeout=3)  # not the 10 s the rest would take

    counts = await db.outbox.counts_by_status()
    assert counts.get("sending", 0) == 0
    assert counts["sent"] == len(standin.sent)
    assert counts["pending"] == 300 - len(standin.sent)


async def test_corrections_edit_the_sent_alert_even_in_quiet_hours(
    db: SqliteDatabase, sender: Sender, standin: BotApiStandIn, clock: ManualClock
) -> None:
    """Two corrections queued before the sender runs: the first edit shows the latest
    text, the second finds it 'not modified' and counts as done; no new message."""
    await reader(db, clock)
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=clock.ts)
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://bao.example.vn/rss", "Báo", ("kinh-te",)), now=clock.ts
    )
    article = ArticleInput(
        "k1", "https://bao.example.vn/a.html", "Giá xăng giảm 500 đồng", "Tóm tắt.", "",
        None, None, clock.now, ("kinh-te",), "gia xang giam 500 dong", "tom tat",
        "https://bao.example.vn/a.html",
    )  # fmt: skip
    await db.articles.store(feed_id, [article], now=clock.ts, alert_keys=frozenset({"k1"}))
    assert await sender.drain() == 1
    [alert] = standin.messages_to(READER)
    await db.subscribers.update_settings(READER, now=clock.ts, quiet_start=0, quiet_end=23)
    for n, title in enumerate(["Giá xăng giảm 600 đồng", "Giá xăng giảm 620 đồng"], start=1):
        fixed = ArticleInput(
            "k1", article.url, title, "Tóm tắt.", "", None, None, clock.now, ("kinh-te",),
            title, "tom tat", article.canonical_url,
        )  # fmt: skip
        outcome = await db.articles.store(
            feed_id, [fixed], now=clock.ts + n, edits_since=clock.ts - 3600
        )
        assert outcome.edits_queued == 1
    clock.advance(seconds=5)

    assert await sender.drain() == 2

    sent = standin.messages_to(READER)
    assert [m.method for m in sent] == ["sendMessage", "editMessageText"]
    assert sent[1].message_id == alert.message_id
    current = standin.message(READER, alert.message_id)
    assert current is not None and "620 đồng" in current["text"]
    statuses = [r.status for r in await db.outbox.rows_for_chat(READER)]
    assert statuses == ["sent", "sent", "sent"]


async def test_a_silent_alert_stays_silent_and_keeps_its_buttons_when_resent_plain(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    await reader(db, clock, silent_alerts="always")
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=clock.ts)
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://bao.example.vn/rss", "Báo", ("kinh-te",)), now=clock.ts
    )
    article = ArticleInput(
        "k1", "https://bao.example.vn/a.html", "Lãi suất giảm", "Tóm tắt.", "", None, None,
        clock.now, ("kinh-te",), "lai suat giam", "tom tat",
        "https://bao.example.vn/a.html",
    )  # fmt: skip
    await db.articles.store(feed_id, [article], now=clock.ts, alert_keys=frozenset({"k1"}))
    standin.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities: x")

    assert await sender.drain() == 1

    [message] = standin.messages_to(READER)
    assert message.parse_mode is None  # the plain-text resend
    assert message.params.get("disable_notification") is True
    assert [data[:6] for data in message.button_data()] == ["al:ut:", "al:rel"]


async def test_text_and_buttons_arrive_exactly_as_queued(
    db: SqliteDatabase, standin: BotApiStandIn, sender: Sender, clock: ManualClock
) -> None:
    # The characters a form or a JSON body must escape, and text that is not ASCII.
    text = 'Giá "vàng" 5+5=10 & 100% \\ tăng\nxuống dòng 🇻🇳 <b>đậm</b> a=b&c=d'
    buttons = {"inline_keyboard": [[{"text": "Xem 👀 & đọc", "callback_data": "a=1&b=2"}]]}
    await reader(db, clock)
    await db.outbox.enqueue(
        chat_id=READER,
        kind="broadcast",
        priority=40,
        dedup_key="m1",
        payload={"text": text, "parse_mode": None, "reply_markup": buttons},
        now=clock.ts,
    )

    assert await sender.drain() == 1

    [message] = standin.messages_to(READER)
    assert message.text == text
    assert message.reply_markup == buttons


async def test_a_holder_whose_claim_lapsed_leaves_the_row_to_the_next_claimer(
    db: SqliteDatabase, standin: BotApiStandIn, bot: NewsBot, clock: ManualClock
) -> None:
    """A process stalls mid-send past its claims' expiry (its renewals late); another
    claims the rows meanwhile. The stalled one must not send what it no longer holds."""
    for chat_id in (601, 602):
        await reader(db, clock, chat_id)
        await queue_text(db, clock, "Thông báo", chat_id=chat_id)
    stalled = Sender(db, bot, clock=clock, concurrency=1, holder="here:1:stalled")
    standin.fail_next("sendMessage", status=200, delay=0.5)  # the stall
    stalling = asyncio.create_task(stalled.drain())
    # Its first send is under way (and the stand-in holds its answer back).
    await standin.wait_for(lambda: any(name == "sendMessage" for name, _ in standin.calls))

    clock.advance(seconds=CLAIM_TTL + 1)
    rate = TelegramRateLimiter(per_second=1000, chat_interval=0.0)
    async with NewsBot(standin.token, base_url=standin.base_url, rate_limiter=rate) as other:
        await Sender(db, other, clock=clock, holder="here:2:other").drain()
    await stalling

    copies = {c: len(standin.messages_to(c)) for c in (601, 602)}
    assert copies[602] == 1  # the stalled holder had not started it: left to the other
    assert copies[601] in (1, 2)  # in flight at the stall: at most one more copy
    assert stalled.late_sends == copies[601] - 1
    assert [(await row_of(db, c)).status for c in (601, 602)] == ["sent", "sent"]


async def test_a_delivered_message_whose_sent_mark_fails_once_is_not_sent_again(
    db: SqliteDatabase,
    standin: BotApiStandIn,
    sender: Sender,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that fails once (a deadlock victim on PostgreSQL, a dropped connection)
    must not turn a delivered message into a retried one."""
    await reader(db, clock)
    await queue_text(db, clock, "Thông báo")
    mark = db.outbox.mark_sent_many
    failures = [RuntimeError("deadlock detected")]

    async def failing_once(sent: Any, *, now: int) -> None:
        if failures:
            raise failures.pop()
        await mark(sent, now=now)

    monkeypatch.setattr(db.outbox, "mark_sent_many", failing_once)
    await sender.drain()
    clock.advance(seconds=600)
    await sender.drain()

    assert [m.text for m in standin.messages_to(READER)] == ["Thông báo"]
    assert (await status_of(db))[0] == "sent"


async def test_at_hundreds_a_second_sent_marks_share_their_writes(
    db: SqliteDatabase, sender: Sender, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write per delivered message would cost a process sending a share of a high
    rate more than the sends; at 1,000/s the marks wait a little for each other."""
    for chat in range(1, 201):
        await reader(db, clock, chat_id=chat)
        await queue_text(db, clock, "Thông báo", chat_id=chat)
    mark = db.outbox.mark_sent_many
    writes: list[int] = []

    async def counting(sent: Any, *, now: int) -> None:
        writes.append(len(sent))
        await mark(sent, now=now)

    monkeypatch.setattr(db.outbox, "mark_sent_many", counting)
    assert await sender.drain() == 200

    assert sum(writes) == 200
    assert len(writes) <= 200 / 8
    assert {(await status_of(db, chat))[0] for chat in range(1, 201)} == {"sent"}


async def test_with_no_budget_a_broadcast_goes_to_everyone_once(
    db: SqliteDatabase, standin: BotApiStandIn, clock: ManualClock
) -> None:
    """NEWSBOT_SEND_RATE=unlimited (a load test against a stand-in): the claim window
    and the sent marks' linger must not depend on a finite rate."""
    readers = range(1, 301)
    for chat in readers:
        await reader(db, clock, chat_id=chat)
        await queue_text(db, clock, "Thông báo", chat_id=chat)
    rate = TelegramRateLimiter(per_second=math.inf)
    async with NewsBot(standin.token, base_url=standin.base_url, rate_limiter=rate) as bot:
        assert await Sender(db, bot, clock=clock).drain() == 300

    assert sorted(m.chat_id for m in standin.sent) == list(readers)
    assert {(await status_of(db, chat))[0] for chat in readers} == {"sent"}
