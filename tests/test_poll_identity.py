"""Article identity through the poller, against feeds on a loopback server: one article
and one alert per reader for a link two feeds share, no second copy when a CMS changes
every guid, items without links, and feeds that move."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.admin.health import notify_moved_feeds
from bot.delivery.render import render_article, view_of
from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Poller, PollerOptions
from bot.readers.search import search
from storage.rows import FeedRow, FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer
from tests.support.rss import Item, rss

ECONOMY_READER = 1
NEWS_READER = 2
BOTH_READER = 3
ADMIN = 900

STORY = "https://vnexpress.net/gia-vang-lap-dinh-moi-4790123.html"


def story(clock: ManualClock, link: str, guid: str, **overrides: Any) -> Item:
    fields: dict[str, Any] = {
        "title": "Giá vàng lập đỉnh mới",
        "link": link,
        "guid": guid,
        "description": "<p>Giá vàng miếng sáng nay tăng mạnh. Người dân xếp hàng.</p>",
        "published": clock.now - timedelta(minutes=5),
    }
    fields.update(overrides)
    return Item(**fields)


def old_item(clock: ManualClock, n: int, **overrides: Any) -> Item:
    fields: dict[str, Any] = {
        "title": f"Tin cũ số {n}",
        "link": f"https://vnexpress.net/tin-cu-{n}.html",
        "guid": f"cms1-{n}",
        "description": f"<p>Bài cũ số {n}.</p>",
        "published": clock.now - timedelta(hours=n),
    }
    fields.update(overrides)
    return Item(**fields)


def make_poller(db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock, **options: Any) -> Poller:
    return Poller(db, fetcher, options=PollerOptions(**options), clock=clock)


async def add_feed(
    db: SqliteDatabase, server: FeedServer, clock: ManualClock, path: str, topic: str
) -> int:
    feed_id, _ = await db.feeds.add_feed(FeedSpec(server.url(path), path, (topic,)), now=clock.ts)
    return feed_id


async def add_readers(db: SqliteDatabase, clock: ManualClock) -> None:
    follows = {
        ECONOMY_READER: ["kinh-te"],
        NEWS_READER: ["thoi-su"],
        BOTH_READER: ["kinh-te", "thoi-su"],
    }
    for chat, topics in follows.items():
        await db.subscribers.ensure_subscriber(chat, now=clock.ts)
        for topic in topics:
            await db.subscribers.subscribe_topic(chat, topic, now=clock.ts)


async def feed_row(db: SqliteDatabase, feed_id: int) -> FeedRow:
    row = await db.feeds.get_feed(feed_id)
    assert row is not None
    return row


async def alerts(db: SqliteDatabase, chat: int) -> list[int | None]:
    return [r.article_id for r in await db.outbox.rows_for_chat(chat) if r.kind == "alert"]


# --- one article per URL across feeds ------------------------------------------------------


@pytest.mark.parametrize(
    ("economy_link", "news_link"),
    [
        (STORY, STORY),
        (STORY + "?utm_source=rss&utm_medium=kinh-te", STORY + "?utm_source=rss_tin_moi"),
        (STORY, "https://m.vnexpress.net/gia-vang-lap-dinh-moi-4790123.html?zarsrc=30#box"),
        ("https://www.vnexpress.net/gia-vang-lap-dinh-moi-4790123.html", STORY + "/amp"),
        (STORY + "?fbclid=IwAR0", "https://amp.vnexpress.net/gia-vang-lap-dinh-moi-4790123.html"),
    ],
)
async def test_one_link_in_two_feeds_is_one_article_and_one_alert_per_reader(
    db: SqliteDatabase,
    server: FeedServer,
    fetcher: Fetcher,
    clock: ManualClock,
    economy_link: str,
    news_link: str,
) -> None:
    await add_readers(db, clock)
    economy = await add_feed(db, server, clock, "/kinh-te.rss", "kinh-te")
    news = await add_feed(db, server, clock, "/tin-moi-nhat.rss", "thoi-su")
    server.set_feed("/kinh-te.rss", rss([old_item(clock, 1)]))
    server.set_feed("/tin-moi-nhat.rss", rss([old_item(clock, 2)]))
    poller = make_poller(db, fetcher, clock)
    await poller.poll_due()  # first polls: stored, no one alerted

    clock.advance(hours=1)
    server.set_feed("/kinh-te.rss", rss([story(clock, economy_link, "kt-555"), old_item(clock, 1)]))
    server.set_feed(
        "/tin-moi-nhat.rss", rss([story(clock, news_link, "tmn-999"), old_item(clock, 2)])
    )
    report = await poller.poll_due()

    assert report.new_articles == 1
    assert await db.articles.count_articles() == 3
    [found] = await search(db, "gia vang lap dinh")
    assert found.topics == ("kinh-te", "thoi-su")
    for chat in (ECONOMY_READER, NEWS_READER, BOTH_READER):
        assert await alerts(db, chat) == [found.id], chat
    assert await db.articles.existing_keys(economy, ["kt-555"]) == {"kt-555"}
    assert await db.articles.existing_keys(news, ["tmn-999"]) == {"tmn-999"}

    # Both feeds keep listing it: nothing more is stored or queued.
    clock.advance(hours=7)  # past both feeds' next poll
    server.set_feed(
        "/tin-moi-nhat.rss", rss([story(clock, news_link, "tmn-999"), old_item(clock, 2)], ttl=5)
    )  # new bytes, so the document is parsed and stored again, not skipped as unchanged
    again = await poller.poll_due()
    assert len(again.feeds) == 2
    assert (again.new_articles, again.alerts_queued) == (0, 0)
    assert len(await db.outbox.rows_for_chat(BOTH_READER)) == 1


async def test_different_links_in_two_feeds_stay_two_articles(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    await add_readers(db, clock)
    await add_feed(db, server, clock, "/kinh-te.rss", "kinh-te")
    await add_feed(db, server, clock, "/tin-moi-nhat.rss", "thoi-su")
    server.set_feed("/kinh-te.rss", rss([old_item(clock, 1)]))
    server.set_feed("/tin-moi-nhat.rss", rss([old_item(clock, 2)]))
    poller = make_poller(db, fetcher, clock)
    await poller.poll_due()

    clock.advance(hours=1)
    server.set_feed("/kinh-te.rss", rss([story(clock, STORY, "a")]))
    other = story(
        clock,
        STORY.replace("123", "124"),
        "b",
        title="Ngân hàng Nhà nước giữ nguyên lãi suất điều hành",
        description="<p>Lãi suất tái cấp vốn không đổi trong quý này. Thị trường bình ổn.</p>",
    )
    server.set_feed("/tin-moi-nhat.rss", rss([other]))
    report = await poller.poll_due()

    assert report.new_articles == 2
    assert len(await alerts(db, BOTH_READER)) == 2


# --- a CMS migration: every guid changes at once ---------------------------------------------


@pytest.mark.parametrize("links_change", [False, True])
async def test_a_guid_flood_stores_nothing_twice_and_alerts_no_one(
    db: SqliteDatabase,
    server: FeedServer,
    fetcher: Fetcher,
    clock: ManualClock,
    links_change: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_readers(db, clock)
    await add_feed(db, server, clock, "/kinh-te.rss", "kinh-te")
    server.set_feed("/kinh-te.rss", rss([old_item(clock, n) for n in range(1, 13)]))
    poller = make_poller(db, fetcher, clock)
    await poller.poll_due()
    published = {n: clock.now - timedelta(hours=n) for n in range(1, 13)}

    rhythm_before = (await feed_row(db, 1)).recent_items
    clock.advance(hours=7)  # past the next poll
    migrated = [
        old_item(
            clock,
            n,
            guid=f"urn:newcms:{1000 + n}",
            published=published[n],
            **({"link": f"https://vnexpress.net/kinh-te/{n}.html"} if links_change else {}),
        )
        for n in range(1, 13)
    ]
    server.set_feed("/kinh-te.rss", rss(migrated))
    caplog.set_level(logging.WARNING, logger="bot.ingest.poller")
    report = await poller.poll_due()

    [polled] = report.feeds
    assert (polled.outcome, polled.new_articles, polled.alerts_queued) == ("unchanged", 0, 0)
    assert polled.merged_articles == 12
    assert await db.articles.count_articles() == 12
    assert await db.outbox.pending() == []
    assert len(await search(db, "tin cu so", limit=20)) == 12
    # Known before the alerts are chosen: no flood, and the rhythm learns nothing new.
    assert not [r for r in caplog.records if "new items at once" in r.message]
    assert (await feed_row(db, 1)).recent_items == rhythm_before

    # A real new story after the migration still alerts.
    clock.advance(hours=7)
    server.set_feed("/kinh-te.rss", rss([story(clock, STORY, "urn:newcms:2000"), *migrated]))
    report = await poller.poll_due()
    assert (report.new_articles, report.alerts_queued) == (1, 2)


# --- items without a link ----------------------------------------------------------------


async def test_an_item_without_a_link_is_kept_and_alerted_without_one(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    await add_readers(db, clock)
    await add_feed(db, server, clock, "/kinh-te.rss", "kinh-te")
    server.set_feed("/kinh-te.rss", rss([old_item(clock, 1)]))
    poller = make_poller(db, fetcher, clock)
    await poller.poll_due()

    clock.advance(hours=1)
    no_link = (
        '<item><guid isPermaLink="false">miss-c</guid>'
        "<description><![CDATA[<p>Điện lực thông báo cắt điện khu vực Cầu Giấy từ 8h "
        "đến 11h ngày mai.</p>]]></description></item>"
    )
    body = rss([old_item(clock, 1)]).replace(b"</channel>", no_link.encode() + b"</channel>")
    server.set_feed("/kinh-te.rss", body)
    report = await poller.poll_due()

    assert (report.new_articles, report.alerts_queued) == (1, 2)
    [article_id] = await alerts(db, ECONOMY_READER)
    assert article_id is not None
    row = await db.articles.get_article(article_id)
    assert row is not None
    assert row.url == "" and row.item_key == "miss-c"
    assert row.title.startswith("Điện lực thông báo cắt điện khu vực Cầu Giấy")
    message = render_article(view_of(row), language="vi", tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert "<a " not in message.text and "miss-c" not in message.text


# --- feeds that move -----------------------------------------------------------------------


async def _moving_feed(
    db: SqliteDatabase, server: FeedServer, clock: ManualClock, status: int
) -> int:
    feed_id = await add_feed(db, server, clock, "/cu.rss", "kinh-te")
    server.set_feed("/moi.rss", rss([old_item(clock, 1)]))
    server.redirect("/cu.rss", server.url("/moi.rss"), status)
    return feed_id


async def _poll_times(poller: Poller, clock: ManualClock, times: int) -> list[str | None]:
    moves: list[str | None] = []
    for _ in range(times):
        report = await poller.poll_due()
        moves.extend(f.moved_to for f in report.feeds)
        clock.advance(hours=7)  # past any next_poll_at
    return moves


@pytest.mark.parametrize("status", [301, 308])
async def test_three_permanent_redirects_in_a_row_move_the_feed(
    db: SqliteDatabase,
    server: FeedServer,
    fetcher: Fetcher,
    clock: ManualClock,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_id = await _moving_feed(db, server, clock, status)
    poller = make_poller(db, fetcher, clock, allow_private_moves=True)

    caplog.set_level(logging.WARNING, logger="bot.ingest.poller")
    moves = await _poll_times(poller, clock, 2)
    assert moves == [None, None]
    row = await feed_row(db, feed_id)
    assert (row.url, row.redirect_target, row.redirect_polls) == (
        server.url("/cu.rss"),
        server.url("/moi.rss"),
        2,
    )
    assert await _poll_times(poller, clock, 1) == [server.url("/moi.rss")]

    row = await feed_row(db, feed_id)
    assert (row.url, row.previous_url) == (server.url("/moi.rss"), server.url("/cu.rss"))
    assert (row.redirect_target, row.redirect_polls) == (None, 0)
    assert [r.message for r in caplog.records if "moved" in r.message] == [
        f"feed {feed_id} moved: 3 polls in a row answered a permanent redirect, "
        f"to {server.url('/moi.rss')}"
    ]
    old_hits = server.hits("/cu.rss")
    await _poll_times(poller, clock, 1)
    assert server.hits("/cu.rss") == old_hits  # the new address is asked directly
    assert await db.articles.count_articles() == 1
    # feeds.toml still naming the old URL finds the moved feed, adds no second one.
    assert await db.feeds.sync_config_feeds([FeedSpec(server.url("/cu.rss"), "x", ())], now=0) == 0
    assert len(await db.feeds.list_feeds()) == 1

    await db.subscribers.ensure_subscriber(ADMIN, now=clock.ts)
    assert await notify_moved_feeds(db, [ADMIN], language="vi", now=clock.ts) == 1
    assert await notify_moved_feeds(db, [ADMIN], language="vi", now=clock.ts) == 0
    [notice] = await db.outbox.rows_for_chat(ADMIN)
    assert notice.payload is not None
    assert server.url("/moi.rss") in notice.payload["text"]
    assert "đã chuyển địa chỉ" in notice.payload["text"]


@pytest.mark.parametrize("status", [302, 307, 303])
async def test_temporary_redirects_never_move_a_feed(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock, status: int
) -> None:
    feed_id = await _moving_feed(db, server, clock, status)
    poller = make_poller(db, fetcher, clock, allow_private_moves=True)

    assert await _poll_times(poller, clock, 4) == [None] * 4

    row = await feed_row(db, feed_id)
    assert (row.url, row.previous_url, row.redirect_polls) == (server.url("/cu.rss"), None, 0)
    assert await db.articles.count_articles() == 1


async def test_a_chain_with_one_temporary_hop_is_no_move(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    feed_id = await add_feed(db, server, clock, "/cu.rss", "kinh-te")
    server.redirect("/cu.rss", server.url("/tam.rss"), 301)
    server.redirect("/tam.rss", server.url("/moi.rss"), 302)
    server.set_feed("/moi.rss", rss([old_item(clock, 1)]))
    poller = make_poller(db, fetcher, clock, allow_private_moves=True)

    assert await _poll_times(poller, clock, 3) == [None] * 3
    assert (await feed_row(db, feed_id)).url == server.url("/cu.rss")


async def test_a_redirect_that_changes_target_starts_counting_again(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    feed_id = await _moving_feed(db, server, clock, 301)
    server.set_feed("/khac.rss", rss([old_item(clock, 1)]))
    poller = make_poller(db, fetcher, clock, allow_private_moves=True)
    await _poll_times(poller, clock, 2)

    server.redirect("/cu.rss", server.url("/khac.rss"), 301)
    assert await _poll_times(poller, clock, 2) == [None, None]
    row = await feed_row(db, feed_id)
    assert (row.url, row.redirect_target, row.redirect_polls) == (
        server.url("/cu.rss"),
        server.url("/khac.rss"),
        2,
    )
    # An answer without a redirect ends the count.
    server.set_feed("/cu.rss", rss([old_item(clock, 1)]))
    await _poll_times(poller, clock, 1)
    assert (await feed_row(db, feed_id)).redirect_polls == 0


async def test_a_feed_never_moves_to_a_private_address(
    db: SqliteDatabase,
    server: FeedServer,
    fetcher: Fetcher,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_id = await _moving_feed(db, server, clock, 301)
    poller = make_poller(db, fetcher, clock)  # the default: no private moves

    caplog.set_level(logging.WARNING, logger="bot.ingest.poller")
    assert await _poll_times(poller, clock, 4) == [None] * 4

    assert (await feed_row(db, feed_id)).url == server.url("/cu.rss")
    assert any("not moved to a private address" in r.message for r in caplog.records)


async def test_a_move_to_a_url_another_feed_has_is_refused(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    feed_id = await _moving_feed(db, server, clock, 301)
    other = await add_feed(db, server, clock, "/moi.rss", "thoi-su")
    poller = make_poller(db, fetcher, clock, allow_private_moves=True)

    assert set(await _poll_times(poller, clock, 3)) == {None}  # both feeds, three polls

    assert (await feed_row(db, feed_id)).url == server.url("/cu.rss")
    assert (await feed_row(db, other)).url == server.url("/moi.rss")
