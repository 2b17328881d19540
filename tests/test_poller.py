"""The poll path end to end: loopback HTTP feed → parse → SQLite file → outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import storage.sqlite.articles
from bot.ingest.fetch import Fetcher
from bot.ingest.freshness import PollPolicy
from bot.ingest.poller import Poller, PollerOptions, parse_pool
from bot.ingest.topics import TopicMatcher
from bot.readers.search import search
from bot.text.vietnamese import fold
from storage.rows import FeedRow, FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, Route
from tests.support.rss import Item, rss

READER = 1001
DIGEST_READER = 1002
KEYWORD_READER = 1003


def item(n: int, clock: ManualClock, **overrides: Any) -> Item:
    fields: dict[str, Any] = {
        "title": f"Tin số {n}: Hà Nội đẩy mạnh chuyển đổi số",
        "link": f"https://bao.example.vn/tin-{n}.html",
        "guid": f"https://bao.example.vn/tin-{n}.html",
        "description": f"<p>Bài viết số {n} về kinh tế Thủ đô. Câu thứ hai.</p>",
        "published": clock.now - timedelta(minutes=n),
    }
    fields.update(overrides)
    return Item(**fields)


@pytest.fixture
def poller(db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock) -> Poller:
    matcher = TopicMatcher.from_keywords({"khoa-hoc": ["chuyển đổi số"]})
    return Poller(
        db,
        fetcher,
        matcher=matcher,
        options=PollerOptions(max_alerts_per_poll=3, policy=PollPolicy(pause_after_failures=3)),
        clock=clock,
    )


async def add_feed(
    db: SqliteDatabase, server: FeedServer, clock: ManualClock, path: str = "/rss"
) -> int:
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec(server.url(path), "Báo thử", ("kinh-te",)), now=clock.ts
    )
    return feed_id


async def feed(db: SqliteDatabase, feed_id: int) -> FeedRow:
    row = await db.feeds.get_feed(feed_id)
    assert row is not None
    return row


async def readers(db: SqliteDatabase, clock: ManualClock) -> None:
    for chat in (READER, DIGEST_READER, KEYWORD_READER):
        await db.subscribers.ensure_subscriber(chat, now=clock.ts)
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=clock.ts)
    await db.subscribers.subscribe_topic(DIGEST_READER, "kinh-te", now=clock.ts)
    await db.subscribers.set_mode(DIGEST_READER, "digest", now=clock.ts)
    await db.subscribers.add_keyword_alert(KEYWORD_READER, "Thủ Đô", fold("Thủ Đô"), now=clock.ts)


async def queued(db: SqliteDatabase) -> list[tuple[int, int | None]]:
    return sorted((row.chat_id, row.article_id) for row in await db.outbox.pending())


async def test_first_poll_stores_everything_and_alerts_no_one(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(n, clock) for n in range(1, 6)]))
    feed_id = await add_feed(db, server, clock)

    report = await poller.poll_due()

    assert [f.outcome for f in report.feeds] == ["new"]
    assert report.new_articles == 5
    assert await queued(db) == []
    assert (await feed(db, feed_id)).first_polled_at == clock.ts


async def test_new_article_alerts_instant_readers_once(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()

    clock.advance(hours=1)
    server.set_feed("/rss", rss([item(0, clock), item(1, clock)]))
    report = await poller.poll_due()

    assert report.new_articles == 1
    rows = await queued(db)
    # The topic reader and the keyword reader ("Thủ Đô" ~ "Thủ đô"), never the digest reader.
    assert [chat for chat, _ in rows] == [READER, KEYWORD_READER]
    assert len({article for _, article in rows}) == 1

    # Polling the same document again queues nothing more.
    clock.advance(hours=1)
    await poller.poll_due()
    assert len(await queued(db)) == 2


async def test_reader_matching_topic_and_keyword_gets_one_message(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await db.subscribers.ensure_subscriber(READER, now=clock.ts)
    await db.subscribers.subscribe_topic(READER, "kinh-te", now=clock.ts)
    await db.subscribers.add_keyword_alert(READER, "ha noi", "ha noi", now=clock.ts)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    server.set_feed("/rss", rss([item(0, clock), item(1, clock)]))

    await poller.poll_due()

    assert [chat for chat, _ in await queued(db)] == [READER]


async def test_keyword_topics_join_feed_topics(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()

    [hit] = await search(db, "chuyen doi so")

    assert hit.topics == ("khoa-hoc", "kinh-te")


async def test_not_modified_and_identical_bodies_cost_no_parse(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set("/etag", Route(body=rss([item(1, clock)]), etag='"v1"'))
    server.set_feed("/plain", rss([item(2, clock)]))
    etag_feed = await add_feed(db, server, clock, "/etag")
    await add_feed(db, server, clock, "/plain")
    await poller.poll_due()

    clock.advance(days=1)
    report = await poller.poll_due()

    outcomes = {f.feed_id: f.outcome for f in report.feeds}
    assert outcomes[etag_feed] == "not_modified"
    assert sorted(outcomes.values()) == ["not_modified", "unchanged"]
    assert server.last_headers("/etag").get("if-none-match") == '"v1"'
    assert (await feed(db, etag_feed)).etag == '"v1"'


async def test_edited_article_updates_silently(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    server.set_feed("/rss", rss([item(1, clock, title="Tin số 1 (cập nhật): Đà Nẵng mở rộng")]))

    report = await poller.poll_due()

    assert report.feeds[0].updated_articles == 1
    assert report.new_articles == 0
    assert await queued(db) == []
    [hit] = await search(db, "da nang")
    assert hit.title == "Tin số 1 (cập nhật): Đà Nẵng mở rộng"
    assert await search(db, "chuyen doi so") == []


async def test_flood_of_new_ids_alerts_only_the_newest_few(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    flood = [item(n, clock, guid=f"new-id-{n}") for n in range(1, 21)]
    server.set_feed("/rss", rss(flood))

    report = await poller.poll_due()

    # Story 1 is the one stored before, under its old guid: known by its link.
    assert report.new_articles == 19
    alerted = {article for chat, article in await queued(db) if chat == READER}
    assert len(alerted) == 3
    newest = await search(db, "tin so 1")
    assert newest  # stored all the same


async def test_old_item_surfacing_late_is_stored_not_alerted(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    archive = item(9, clock, published=clock.now - timedelta(days=30))
    server.set_feed("/rss", rss([item(1, clock), archive]))

    report = await poller.poll_due()

    assert report.new_articles == 1
    assert await queued(db) == []


async def test_failures_back_off_then_pause_and_success_resets(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set("/rss", Route(status=500))
    feed_id = await add_feed(db, server, clock)

    first = await poller.poll_due()
    row = await feed(db, feed_id)
    assert first.feeds[0].error_kind == "http_status"
    assert (row.failures, row.last_error_kind) == (1, "http_status")
    assert row.next_poll_at == clock.ts + 300
    # Not due again until the backoff has passed.
    assert (await poller.poll_due()).feeds == []

    clock.advance(seconds=300)
    await poller.poll_due()
    assert (await feed(db, feed_id)).next_poll_at == clock.ts + 600
    clock.advance(seconds=600)
    third = await poller.poll_due()
    assert third.feeds[0].paused
    assert (await feed(db, feed_id)).paused_at == clock.ts
    clock.advance(days=2)
    assert (await poller.poll_due()).feeds == []

    server.set_feed("/rss", rss([item(1, clock)]))
    await db.feeds.resume_feed(str(feed_id), now=clock.ts)
    await poller.poll_due()
    row = await feed(db, feed_id)
    assert (row.failures, row.paused_at, row.last_error_kind) == (0, None, None)


async def test_html_page_instead_of_feed_is_recorded(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    page = b"<!doctype html><html><head><title>Trang chu</title></head><body>Xin chao</body></html>"
    server.set("/rss", Route(body=page, headers={"Content-Type": "text/html; charset=utf-8"}))
    feed_id = await add_feed(db, server, clock)

    await poller.poll_due()

    row = await feed(db, feed_id)
    assert row.last_error_kind == "not_a_feed"
    assert row.first_polled_at is None


async def test_ttl_and_cache_headers_set_next_poll(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/ttl", rss([item(1, clock)], ttl=60))
    server.set(
        "/cached",
        Route(body=rss([item(2, clock)]), headers={"Cache-Control": "max-age=1800"}),
    )
    ttl_feed = await add_feed(db, server, clock, "/ttl")
    cached_feed = await add_feed(db, server, clock, "/cached")

    await poller.poll_due()

    assert (await feed(db, ttl_feed)).next_poll_at == clock.ts + 3600
    assert (await feed(db, cached_feed)).next_poll_at == clock.ts + 1800


async def test_articles_and_alerts_commit_together(
    db: SqliteDatabase,
    server: FeedServer,
    poller: Poller,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await readers(db, clock)
    server.set_feed("/rss", rss([item(1, clock)]))
    await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    server.set_feed("/rss", rss([item(0, clock), item(1, clock)]))

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(storage.sqlite.articles, "record_poll_success", crash)
    failed = await poller.poll_due()
    monkeypatch.undo()

    assert [(f.outcome, f.error) for f in failed.feeds] == [("error", "RuntimeError")]

    # Nothing of the failed transaction is left: the article is still new next time.
    assert await queued(db) == []
    assert len(await search(db, "tin so 0")) == 0
    report = await poller.poll_due()
    assert report.new_articles == 1
    assert len(await queued(db)) == 2


async def test_duplicate_guids_fall_back_to_links(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    items = [item(n, clock, guid="https://bao.example.vn/") for n in (1, 2, 3)]
    server.set_feed("/rss", rss(items))
    await add_feed(db, server, clock)

    report = await poller.poll_due()

    assert report.new_articles == 3


@pytest.fixture
async def process_poller(
    db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock
) -> AsyncIterator[Poller]:
    with parse_pool(1) as pool:
        yield Poller(db, fetcher, executor=pool, clock=clock)


async def test_parsing_runs_in_worker_processes(
    db: SqliteDatabase, server: FeedServer, process_poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/rss", rss([item(n, clock) for n in range(1, 4)]))
    await add_feed(db, server, clock)

    report = await process_poller.poll_due()

    assert report.new_articles == 3
    [hit] = await search(db, "tin so 2")
    assert hit.url == "https://bao.example.vn/tin-2.html"


# ---- scheduling by the feed's rhythm --------------------------------------------------


def every(gap: timedelta, count: int, clock: ManualClock, **overrides: Any) -> list[Item]:
    """count items `gap` apart, the newest one `gap` ago."""
    return [item(n, clock, published=clock.now - gap * n, **overrides) for n in range(1, count + 1)]


async def test_a_busy_feed_is_polled_sooner_and_a_quiet_one_later(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/busy", rss(every(timedelta(minutes=3), 10, clock)))
    server.set_feed("/quiet", rss(every(timedelta(hours=12), 10, clock)))
    busy = await add_feed(db, server, clock, "/busy")
    quiet = await add_feed(db, server, clock, "/quiet")

    await poller.poll_due()

    busy_row, quiet_row = await feed(db, busy), await feed(db, quiet)
    # The first poll learns from the items' dates: a gap of 3 min → polled every 90 s;
    assert busy_row.next_poll_at == clock.ts + 90
    assert len(busy_row.recent_items) == 10 and busy_row.recent_items[-1] == clock.ts - 180
    # a gap of 12 h → every √(12 h × 10 min) ≈ 85 min, instead of 10 min for both.
    assert quiet_row.next_poll_at == clock.ts + int((12 * 3600 * 600) ** 0.5)
    assert busy_row.hourly_items == () == quiet_row.hourly_items  # hours count from now on


async def test_undated_items_teach_the_first_poll_nothing(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/rss", rss([item(n, clock, published=None) for n in range(1, 9)]))
    feed_id = await add_feed(db, server, clock)

    await poller.poll_due()

    row = await feed(db, feed_id)
    assert row.recent_items == ()
    assert row.next_poll_at == clock.ts + 600  # the default, as before


async def test_new_items_join_the_rhythm_within_the_poll_window(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    history = every(timedelta(minutes=10), 5, clock)
    server.set_feed("/rss", rss(history))
    feed_id = await add_feed(db, server, clock)
    await poller.poll_due()
    first = clock.ts

    clock.advance(hours=1)
    fresh = item(0, clock, published=clock.now - timedelta(seconds=30))
    # New to us but dated before the last poll (a late or back-dated item): it appeared
    # after that poll, so that is when it is counted.
    late = item(7, clock, guid="late", published=clock.now - timedelta(hours=3))
    server.set_feed("/rss", rss([fresh, late, *history]))
    await poller.poll_due()

    row = await feed(db, feed_id)
    assert row.recent_items[-2:] == (first, clock.ts - 30)
    assert len(row.recent_items) == 7
    hours = [round(h) for h in row.hourly_items]
    assert sum(hours) == 2  # the new items, by hour of day


async def test_a_flood_teaches_the_rhythm_only_what_it_alerts(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/rss", rss([item(1, clock)]))
    feed_id = await add_feed(db, server, clock)
    await poller.poll_due()
    clock.advance(hours=1)
    server.set_feed("/rss", rss([item(n, clock, guid=f"new-id-{n}") for n in range(1, 21)]))

    await poller.poll_due()

    # max_alerts_per_poll is 3: the first poll's item and the newest three of the flood.
    assert len((await feed(db, feed_id)).recent_items) == 4


async def test_what_a_busy_feed_asks_for_is_never_undercut(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    busy = rss(every(timedelta(minutes=2), 10, clock))
    server.set("/cached", Route(body=busy, headers={"Cache-Control": "max-age=300"}))
    server.set("/retry", Route(body=busy, headers={"Retry-After": "900"}))
    server.set_feed("/ttl", rss(every(timedelta(minutes=2), 10, clock), ttl=20))
    server.set_feed("/free", busy)
    ids = [await add_feed(db, server, clock, p) for p in ("/cached", "/retry", "/ttl", "/free")]

    await poller.poll_due()

    rows = [await feed(db, i) for i in ids]
    assert [r.next_poll_at - clock.ts for r in rows] == [300, 900, 1200, 60]


async def test_a_not_modified_answer_keeps_the_ttl_and_the_rhythm(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set("/rss", Route(body=rss(every(timedelta(minutes=2), 10, clock), ttl=60), etag='"a"'))
    feed_id = await add_feed(db, server, clock)
    await poller.poll_due()
    learnt = (await feed(db, feed_id)).recent_items
    assert (await feed(db, feed_id)).next_poll_at == clock.ts + 3600

    clock.advance(hours=1)
    report = await poller.poll_due()

    row = await feed(db, feed_id)
    assert [f.outcome for f in report.feeds] == ["not_modified"]
    # The 304 has no <ttl>; the one the feed gave is still honoured (it used to be 600 s).
    assert row.next_poll_at == clock.ts + 3600
    assert row.recent_items == learnt and row.ttl_minutes == 60


async def test_an_unchanged_feed_is_polled_less_often_as_its_silence_grows(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set("/rss", Route(body=rss(every(timedelta(minutes=2), 10, clock)), etag='"a"'))
    feed_id = await add_feed(db, server, clock)
    await poller.poll_due()
    intervals = []
    for _ in range(15):
        row = await feed(db, feed_id)
        clock.now = datetime.fromtimestamp(row.next_poll_at, UTC)
        await poller.poll_due()
        intervals.append((await feed(db, feed_id)).next_poll_at - clock.ts)
    assert intervals == sorted(intervals)
    assert intervals[0] == 60 and intervals[-1] > 10 * 60


async def test_failures_back_off_as_before_whatever_the_rhythm(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set_feed("/rss", rss(every(timedelta(minutes=2), 10, clock)))
    feed_id = await add_feed(db, server, clock)
    await poller.poll_due()
    learnt = await feed(db, feed_id)
    assert learnt.next_poll_at == clock.ts + 60

    clock.advance(seconds=60)
    server.set("/rss", Route(status=503, headers={"Retry-After": "120"}))
    await poller.poll_due()
    row = await feed(db, feed_id)
    assert row.next_poll_at == clock.ts + 300  # backoff_base, not the busy rhythm's 60 s
    clock.advance(seconds=300)
    await poller.poll_due()
    row = await feed(db, feed_id)
    assert (row.failures, row.next_poll_at) == (2, clock.ts + 600)
    assert row.recent_items == learnt.recent_items

    clock.advance(seconds=600)
    server.set_feed("/rss", rss(every(timedelta(minutes=2), 10, clock)))
    await poller.poll_due()
    row = await feed(db, feed_id)
    assert row.failures == 0
    assert row.next_poll_at - clock.ts < 600  # the busy rhythm again


async def test_a_json_feed_is_polled_like_rss(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Báo JSON",
        "items": [
            {
                "id": "j-1",
                "url": "https://bao.example.vn/json-1.html",
                "title": "Thủ đô mở thêm tuyến buýt",
                "content_html": "<p>Hà Nội mở thêm tuyến buýt điện. Câu thứ hai.</p>",
                "date_published": (clock.now - timedelta(hours=1)).isoformat(),
            }
        ],
    }
    body = json.dumps(document, ensure_ascii=False).encode()
    server.set_feed("/feed.json", body, headers={"Content-Type": "application/feed+json"})
    await add_feed(db, server, clock, "/feed.json")

    report = await poller.poll_due()

    assert [f.outcome for f in report.feeds] == ["new"]
    [found] = await search(db, "tuyen buyt")
    assert (found.item_key, found.url) == ("j-1", "https://bao.example.vn/json-1.html")
    assert "application/feed+json" in server.last_headers("/feed.json")["accept"]
