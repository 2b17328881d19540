"""Daily digests on an injected clock: due at the reader's hour, once a day, never empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.digest import one_per_story, queue_due_digests, render_digest
from bot.delivery.render import utf16_len
from bot.readers.service import set_digest_hour, set_digest_time, set_mode
from bot.readers.times import DigestTime
from bot.text.vietnamese import fold
from storage.rows import ArticleInput, ArticleRow, FeedSpec, TopicRow
from storage.sqlite import SqliteDatabase

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
READER = 700


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = HCM) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)


@pytest.fixture
async def world(db: SqliteDatabase) -> int:
    await db.feeds.sync_topics(
        [
            TopicRow("kinh-te", "Kinh tế", "Business", ()),
            TopicRow("the-gioi", "Thế giới", "World", ()),
        ],
    )
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=int(at(1, 0).timestamp())
    )
    await db.subscribers.ensure_subscriber(READER, now=int(at(1, 0).timestamp()))
    await db.subscribers.update_settings(
        READER, mode="digest", digest_hour=7, now=int(at(1, 0).timestamp())
    )
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=int(at(1, 0).timestamp()))
    return feed_id


async def publish(
    db: SqliteDatabase, feed_id: int, key: str, title: str, topic: str, seen: datetime
) -> None:
    article = ArticleInput(
        key,
        f"https://bao.example.vn/{key}.html",
        title,
        "Tóm tắt.",
        "",
        None,
        None,
        seen,
        (topic,),
        fold(title),
        "tom tat",
        f"https://bao.example.vn/{key}.html",
    )
    await db.articles.store(
        feed_id,
        [article],
        now=int(seen.timestamp()),
        alert_keys=frozenset(),
        keyword_chats={},
    )


async def digests(db: SqliteDatabase) -> list[str]:
    return [
        str(r.payload["text"])
        for r in await db.outbox.pending()
        if r.kind == "digest" and r.payload
    ]


async def test_due_at_the_readers_hour_exactly_once(db: SqliteDatabase, world: int) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(2, 20))
    await publish(db, world, "w1", "Bầu cử ở Đức", "the-gioi", at(2, 21))

    early = await queue_due_digests(db, now=at(3, 6, 59))
    on_time = await queue_due_digests(db, now=at(3, 7, 0))
    again = await queue_due_digests(db, now=at(3, 7, 1))
    later = await queue_due_digests(db, now=at(3, 22, 0))

    assert (early.queued, on_time.queued, again.queued, later.queued) == (0, 1, 0, 0)
    [text] = await digests(db)
    assert "<b>Kinh tế</b>" in text and "Giá vàng tăng" in text
    assert "Bầu cử" not in text  # not one of the reader's topics
    assert "03/03/2026" in text


async def test_next_day_has_only_what_is_new(db: SqliteDatabase, world: int) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(2, 20))
    await queue_due_digests(db, now=at(3, 7))
    await publish(db, world, "a2", "Lãi suất giảm", "kinh-te", at(3, 12))

    run = await queue_due_digests(db, now=at(4, 7))

    assert run.queued == 1
    texts = await digests(db)
    assert len(texts) == 2
    assert "Lãi suất giảm" in texts[1] and "Giá vàng" not in texts[1]


async def test_nothing_new_sends_nothing(db: SqliteDatabase, world: int) -> None:
    run = await queue_due_digests(db, now=at(3, 7))

    assert (run.queued, run.empty) == (0, 1)
    assert await digests(db) == []
    assert (await queue_due_digests(db, now=at(3, 8))).empty == 0  # recorded for the day


async def test_late_start_still_sends_todays_digest(db: SqliteDatabase, world: int) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 1))

    run = await queue_due_digests(db, now=at(3, 11, 30))

    assert run.queued == 1


async def test_keyword_alerts_join_the_digest(db: SqliteDatabase, world: int) -> None:
    await db.subscribers.add_keyword_alert(READER, "Đức", "duc", now=int(at(1, 0).timestamp()))
    await publish(db, world, "w1", "Bầu cử ở Đức", "the-gioi", at(2, 21))

    await queue_due_digests(db, now=at(3, 7))

    [text] = await digests(db)
    assert "🔔 Đức" in text and "Bầu cử ở Đức" in text


async def test_daylight_saving_change_elsewhere_still_once_a_day(
    db: SqliteDatabase, world: int
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    await db.subscribers.update_settings(
        READER, timezone="Europe/Berlin", now=int(at(1, 0).timestamp())
    )
    # Europe springs forward on 29 March 2026 at 02:00 local time.
    sent_days = []
    moment = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)
    for step in range(4 * 24 * 4):  # every 15 minutes for four days
        now = moment + timedelta(minutes=15 * step)
        await publish(db, world, f"x{step}", f"Tin {step}", "kinh-te", now - timedelta(minutes=1))
        run = await queue_due_digests(db, now=now)
        if run.queued:
            sent_days.append(now.astimezone(berlin).strftime("%d %H:%M"))

    assert sent_days == ["27 07:00", "28 07:00", "29 07:00", "30 07:00"]


def row(n: int, title: str) -> ArticleRow:
    return ArticleRow(
        n, 1, "Báo", str(n), f"https://bao.example.vn/{n}.html", title, "", None, None, 0, 0, ()
    )


def test_long_digest_splits_between_entries_and_repeats_the_heading() -> None:
    groups = {
        "Kinh tế": [row(n, f"Tin kinh tế số {n} " + "rất dài " * 20) for n in range(60)],
        "Thế giới": [row(100 + n, f"Tin thế giới {n} & <b>") for n in range(5)],
    }

    parts = render_digest(groups, language="vi", day=at(3, 7))

    assert len(parts) > 1
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert parts[1].startswith("<i>(tiếp theo)</i>\n\n<b>Kinh tế</b>")
    text = "".join(parts)
    assert all(f"Tin kinh tế số {n} " in text for n in range(60))
    assert "Tin thế giới 4 &amp; &lt;b&gt;" in text
    assert text.count("<a ") == text.count("</a>") == 65


# ---- the digest keeps its promise -------------------------------------------------------


async def instant_reader(db: SqliteDatabase) -> None:
    await db.subscribers.update_settings(
        READER, mode="instant", digest_hour=12, now=int(at(1, 0).timestamp())
    )


async def test_switching_after_the_hour_sends_the_first_digest_tomorrow(
    db: SqliteDatabase, world: int
) -> None:
    await instant_reader(db)
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 9))
    # 13:36, the hour (12:00) has passed today: "a digest at 12:00 every day" starts tomorrow.
    assert await set_mode(db, READER, "bản tin", now=int(at(3, 13, 36).timestamp()))
    assert (await queue_due_digests(db, now=at(3, 13, 37))).queued == 0
    assert await digests(db) == []

    await publish(db, world, "a2", "Lãi suất giảm", "kinh-te", at(3, 20))
    assert (await queue_due_digests(db, now=at(4, 12))).queued == 1
    [text] = await digests(db)
    # From the switch on: what came before it was the reader's instant news.
    assert "Lãi suất giảm" in text and "Giá vàng" not in text


async def test_switching_before_the_hour_sends_it_today(db: SqliteDatabase, world: int) -> None:
    await instant_reader(db)
    assert await set_mode(db, READER, "digest", now=int(at(3, 9).timestamp()))
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 10))
    assert (await queue_due_digests(db, now=at(3, 12))).queued == 1


async def test_a_digest_leaves_out_what_the_reader_already_got(
    db: SqliteDatabase, world: int
) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(2, 20))
    await publish(db, world, "a2", "Lãi suất giảm", "kinh-te", at(2, 21))
    [sent] = [a for a in await db.articles.latest_articles() if a.item_key == "a1"]
    # a1 reached the reader as an instant alert (before they switched to digests).
    await db.outbox.enqueue(
        chat_id=READER, kind="alert", priority=20, dedup_key=f"article:{sent.id}",
        article_id=sent.id, payload=None, now=int(at(2, 20).timestamp()),
    )  # fmt: skip
    await queue_due_digests(db, now=at(3, 7))
    [text] = await digests(db)
    assert "Lãi suất giảm" in text and "Giá vàng" not in text


async def test_a_new_hour_already_past_today_starts_tomorrow(
    db: SqliteDatabase, world: int
) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 9))
    assert await set_digest_hour(db, READER, 6, now=int(at(3, 6, 30).timestamp()))
    assert (await queue_due_digests(db, now=at(3, 6, 31))).queued == 0
    assert (await queue_due_digests(db, now=at(4, 6))).queued == 1


async def test_a_digest_at_18_30_comes_at_18_30(db: SqliteDatabase, world: int) -> None:
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 9))
    assert await set_digest_time(db, READER, DigestTime(18, 30), now=int(at(3, 10).timestamp()))
    assert (await queue_due_digests(db, now=at(3, 18, 29))).queued == 0
    assert (await queue_due_digests(db, now=at(3, 18, 30))).queued == 1


async def test_switching_at_18_40_to_a_digest_at_18_30_starts_tomorrow(
    db: SqliteDatabase, world: int
) -> None:
    await instant_reader(db)
    await set_digest_time(db, READER, DigestTime(18, 30), now=int(at(3, 8).timestamp()))
    assert await set_mode(db, READER, "bản tin", now=int(at(3, 18, 40).timestamp()))
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 19))
    assert (await queue_due_digests(db, now=at(3, 18, 41))).queued == 0
    assert (await queue_due_digests(db, now=at(4, 18, 29))).queued == 0
    assert (await queue_due_digests(db, now=at(4, 18, 30))).queued == 1


async def test_switching_at_18_20_to_a_digest_at_18_30_sends_it_today(
    db: SqliteDatabase, world: int
) -> None:
    await instant_reader(db)
    await set_digest_time(db, READER, DigestTime(18, 30), now=int(at(3, 8).timestamp()))
    assert await set_mode(db, READER, "digest", now=int(at(3, 18, 20).timestamp()))
    await publish(db, world, "a1", "Giá vàng tăng", "kinh-te", at(3, 18, 25))
    assert (await queue_due_digests(db, now=at(3, 18, 30))).queued == 1


def test_a_story_from_several_outlets_is_listed_once_with_its_sources() -> None:
    def row(article_id: int, story: int, feed: str, title: str) -> ArticleRow:
        return ArticleRow(
            article_id, 1, feed, f"k{article_id}", f"https://bao.vn/{article_id}.html", title,
            "", None, None, 1_790_000_000, 1_790_000_000, ("kinh-te",), story_id=story,
        )  # fmt: skip

    articles = one_per_story(
        [
            row(3, 1, "SGGP", "Cháy xưởng gỗ ở Bình Dương"),
            row(1, 1, "VnExpress", "Cháy lớn tại xưởng gỗ"),
            row(2, 1, "VietNamNet", "Xưởng gỗ cháy dữ dội"),
            row(4, 4, "SGGP", "Giá vàng tăng"),
        ]
    )
    [text] = render_digest(
        {"Kinh tế": articles}, language="vi", day=datetime(2026, 9, 24, tzinfo=UTC)
    )

    assert [a.id for a in articles] == [3, 4]
    assert text.count("xưởng gỗ") == 1
    assert "Cháy xưởng gỗ ở Bình Dương</a> <i>(SGGP, VnExpress, VietNamNet)</i>" in text
    assert "Giá vàng tăng</a>\n" in text + "\n"
