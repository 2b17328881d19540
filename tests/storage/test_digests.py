"""DigestStore: who is due a digest, what goes in it, and queueing it once per day."""

from __future__ import annotations

from storage.api import Database
from storage.rows import DigestReader, Priority
from tests.storage.support import DAY, HOUR, NOW, add_feed, add_reader, article

ZONE = "Asia/Ho_Chi_Minh"
TODAY = "2026-09-24"
TOMORROW = "2026-09-25"


async def test_digest_timezones_are_those_of_active_digest_readers(db: Database) -> None:
    await add_reader(db, 1, mode="digest", timezone=ZONE)
    await add_reader(db, 2, mode="digest", timezone=ZONE)
    await add_reader(db, 3, mode="digest", timezone="Europe/Berlin")
    await add_reader(db, 4, mode="instant", timezone="Asia/Tokyo")
    await add_reader(db, 5, mode="digest", timezone="America/New_York")
    await db.subscribers.deactivate(5, "blocked", now=NOW)

    zones = await db.digests.digest_timezones()

    assert sorted(zones) == ["Asia/Ho_Chi_Minh", "Europe/Berlin"]


async def test_due_readers_are_digest_readers_whose_hour_has_come(db: Database) -> None:
    await add_reader(db, 3, mode="digest", digest_hour=7)
    await add_reader(db, 1, mode="digest", digest_hour=6)
    await add_reader(db, 2, mode="digest", digest_hour=8)  # not yet
    await add_reader(db, 4, mode="instant", digest_hour=6)  # no digest
    await add_reader(db, 5, mode="digest", digest_hour=6, timezone="Europe/Berlin")
    await add_reader(db, 6, mode="digest", digest_hour=6)
    await db.subscribers.deactivate(6, "blocked", now=NOW)
    await db.subscribers.update_settings(1, language="en", now=NOW)

    due = await db.digests.due_readers(timezone=ZONE, local_date=TODAY, local_hour=7)

    assert due == [
        DigestReader(1, "en", ZONE, 6, None),
        DigestReader(3, "vi", ZONE, 7, None),
    ]
    assert await db.digests.due_readers(timezone=ZONE, local_date=TODAY, local_hour=5) == []


async def test_a_digest_at_18_30_is_due_from_18_30(db: Database) -> None:
    await add_reader(db, 1, mode="digest", digest_hour=18)
    await db.subscribers.update_settings(1, digest_minute=30, now=NOW)
    await add_reader(db, 2, mode="digest", digest_hour=18)  # 18:00

    async def due_at(hour: int, minute: int) -> list[DigestReader]:
        return await db.digests.due_readers(
            timezone=ZONE, local_date=TODAY, local_hour=hour, local_minute=minute
        )

    assert [r.chat_id for r in await due_at(18, 29)] == [2]
    assert await due_at(18, 30) == [
        DigestReader(1, "vi", ZONE, 18, None, 30),
        DigestReader(2, "vi", ZONE, 18, None, 0),
    ]
    assert [r.chat_id for r in await due_at(19, 0)] == [1, 2]
    reader = await db.subscribers.get_subscriber(1)
    assert reader is not None and (reader.digest_hour, reader.digest_minute) == (18, 30)


async def test_record_digest_queues_the_parts_once_per_day(db: Database) -> None:
    await add_reader(db, 1, mode="digest", digest_hour=7)

    first = await db.digests.record_digest(
        1, local_date=TODAY, parts=["<b>Phần 1</b>", "Phần 2"], article_count=12, now=NOW
    )
    second = await db.digests.record_digest(
        1, local_date=TODAY, parts=["khác"], article_count=3, now=NOW + 60
    )

    assert (first, second) == (True, False)
    rows = await db.outbox.rows_for_chat(1)
    assert [(r.kind, r.priority, r.dedup_key, r.payload) for r in rows] == [
        (
            "digest",
            Priority.DIGEST,
            f"digest:{TODAY}:1",
            {"text": "<b>Phần 1</b>", "parse_mode": "HTML"},
        ),
        ("digest", Priority.DIGEST, f"digest:{TODAY}:2", {"text": "Phần 2", "parse_mode": "HTML"}),
    ]
    assert all(r.status == "pending" and r.article_id is None for r in rows)
    reader = await db.subscribers.get_subscriber(1)
    assert reader is not None and reader.last_digest_on == TODAY


async def test_a_recorded_digest_is_not_due_again_that_day(db: Database) -> None:
    await add_reader(db, 1, mode="digest", digest_hour=7)
    await add_reader(db, 2, mode="digest", digest_hour=7)
    await db.digests.record_digest(1, local_date=TODAY, parts=["x"], article_count=1, now=NOW)

    today = await db.digests.due_readers(timezone=ZONE, local_date=TODAY, local_hour=23)
    tomorrow = await db.digests.due_readers(timezone=ZONE, local_date=TOMORROW, local_hour=7)

    assert [r.chat_id for r in today] == [2]
    assert tomorrow == [
        DigestReader(1, "vi", ZONE, 7, NOW),  # when the previous digest was queued
        DigestReader(2, "vi", ZONE, 7, None),
    ]


async def test_record_digest_again_the_next_day(db: Database) -> None:
    await add_reader(db, 1, mode="digest")
    await db.digests.record_digest(1, local_date=TODAY, parts=["a"], article_count=1, now=NOW)

    again = await db.digests.record_digest(
        1, local_date=TOMORROW, parts=["b"], article_count=1, now=NOW + DAY
    )

    assert again is True
    assert [r.dedup_key for r in await db.outbox.rows_for_chat(1)] == [
        f"digest:{TODAY}:1",
        f"digest:{TOMORROW}:1",
    ]
    [reader] = await db.digests.due_readers(timezone=ZONE, local_date="2026-09-26", local_hour=7)
    assert reader.last_digest_at == NOW + DAY


async def test_record_digest_with_no_parts_still_counts_as_the_days_digest(db: Database) -> None:
    await add_reader(db, 1, mode="digest")

    recorded = await db.digests.record_digest(
        1, local_date=TODAY, parts=[], article_count=0, now=NOW
    )

    assert recorded is True
    assert await db.outbox.rows_for_chat(1) == []
    assert await db.digests.due_readers(timezone=ZONE, local_date=TODAY, local_hour=23) == []


async def test_topic_articles_are_new_in_the_window_and_in_the_readers_topics(
    db: Database,
) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, mode="digest", topics=["kinh-te", "the-thao"])
    since, until = NOW, NOW + DAY
    await db.articles.store(
        feed_id, [article("before", topics=("kinh-te",))], now=since
    )  # fetched at since: outside (since, until]
    await db.articles.store(
        feed_id,
        [
            article("old-news", published_at=NOW - 3 * HOUR, topics=("kinh-te",)),
            article("both", published_at=NOW - HOUR, topics=("kinh-te", "the-thao")),
            article("sport", published_at=NOW - 2 * HOUR, topics=("the-thao",)),
            article("other", published_at=NOW, topics=("xa-hoi",)),
            article("untagged", published_at=NOW),
        ],
        now=since + 1,
    )
    await db.articles.store(feed_id, [article("edge", topics=("kinh-te",))], now=until)
    await db.articles.store(feed_id, [article("after", topics=("kinh-te",))], now=until + 1)

    found = await db.digests.topic_articles(1, since=since, until=until, limit=10)
    limited = await db.digests.topic_articles(1, since=since, until=until, limit=2)

    assert [a.item_key for a in found] == ["both", "edge", "sport", "old-news"]
    assert [a.item_key for a in limited] == ["both", "edge"]
    assert await db.digests.topic_articles(2, since=since, until=until, limit=10) == []


async def test_phrase_articles_hold_the_words_together_and_in_order(db: Database) -> None:
    feed_id = await add_feed(db)
    since, until = NOW, NOW + DAY
    await db.articles.store(
        feed_id,
        [
            article("title", title="gia vang hom nay", body="thi truong", published_at=NOW - 10),
            article("body", title="thi truong", body="tin gia vang moi", published_at=NOW - 5),
            article("apart", title="gia xang va vang", body="x", published_at=NOW - 1),
            article("reversed", title="vang gia", body="x", published_at=NOW - 2),
        ],
        now=since + 60,
    )
    await db.articles.store(feed_id, [article("late", title="gia vang")], now=until + 1)

    found = await db.digests.phrase_articles(
        ["gia", "vang"], chat_id=1, since=since, until=until, limit=10
    )
    one = await db.digests.phrase_articles(
        ["gia", "vang"], chat_id=1, since=since, until=until, limit=1
    )

    assert [a.item_key for a in found] == ["body", "title"]  # newest published first
    assert [a.item_key for a in one] == ["body"]
    assert await db.digests.phrase_articles([], chat_id=1, since=since, until=until, limit=10) == []
