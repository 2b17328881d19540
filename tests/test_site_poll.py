"""Site sources end to end: a news site without a feed, served on loopback, polled into SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.freshness import PollPolicy
from bot.ingest.poller import Poller, PollerOptions, parse_pool
from bot.ingest.sites.crawl import SiteOptions
from bot.ingest.topics import TopicMatcher
from bot.readers.search import search
from storage.rows import FeedRow, FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, Route
from tests.support.site import (
    HTML,
    NOT_ARTICLES,
    SAMPLE_PATH,
    Story,
    fresh_story,
    sample_story,
    serve_listing,
    serve_story,
)

TOPIC = "so-huu-tri-tue"
READER = 2001
OTHER_READER = 2002  # follows another topic: never alerted
SAMPLE_TITLE = "Sở Khoa học và Công nghệ Hà Nội: Những kết quả đạt được sau 5 tháng đầu năm 2023"
GONE = "/bai-da-go-d40404.html"
MOVED = "/bai-cu-d30001.html"


def make_poller(
    db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock, *, max_articles_per_poll: int = 20
) -> Poller:
    return Poller(
        db,
        fetcher,
        matcher=TopicMatcher.from_keywords({"khoa-hoc-cong-nghe": ["khoa học và công nghệ"]}),
        options=PollerOptions(
            max_alerts_per_poll=5,
            policy=PollPolicy(pause_after_failures=3),
            # No pause between requests in tests: the loopback site is ours.
            site=SiteOptions(request_delay=0.0, max_articles_per_poll=max_articles_per_poll),
        ),
        clock=clock,
    )


@pytest.fixture
def poller(db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock) -> Poller:
    return make_poller(db, fetcher, clock)


async def add_site(
    db: SqliteDatabase, server: FeedServer, clock: ManualClock, path: str = "/tin-tuc", **rules: str
) -> int:
    spec = FeedSpec(server.url(path), "Sở hữu trí tuệ", (TOPIC,), kind="site", **rules)
    feed_id, _ = await db.feeds.add_feed(spec, now=clock.ts)
    return feed_id


async def feed(db: SqliteDatabase, feed_id: int) -> FeedRow:
    row = await db.feeds.get_feed(feed_id)
    assert row is not None
    return row


async def readers(db: SqliteDatabase, clock: ManualClock) -> None:
    for chat in (READER, OTHER_READER):
        await db.subscribers.ensure_subscriber(chat, now=clock.ts)
    await db.subscribers.subscribe_topic(READER, TOPIC, now=clock.ts)
    await db.subscribers.subscribe_topic(OTHER_READER, "kinh-te", now=clock.ts)


async def alerted_titles(db: SqliteDatabase) -> list[tuple[int, str]]:
    rows = []
    for row in await db.outbox.pending():
        async with db.sql.reader.execute(
            "SELECT title FROM articles WHERE id = ?", (row.article_id,)
        ) as cursor:
            found = await cursor.fetchone()
        assert found is not None
        rows.append((row.chat_id, str(found[0])))
    return sorted(rows)


async def content_text(db: SqliteDatabase, article_id: int) -> str:
    async with db.sql.reader.execute(
        "SELECT content_text FROM articles WHERE id = ?", (article_id,)
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


def fresh(clock: ManualClock, n: int, minutes_ago: int = 30) -> Story:
    return fresh_story(n, clock.now - timedelta(minutes=minutes_ago))


def article_hits(server: FeedServer) -> list[str]:
    return [path for path, _ in server.requests if path.endswith(".html")]


@pytest.mark.parametrize("meta", [True, False], ids=["with-meta", "text-only"])
async def test_sample_article_arrives_clean_from_its_web_page(
    db: SqliteDatabase,
    server: FeedServer,
    poller: Poller,
    clock: ManualClock,
    samples: Path,
    meta: bool,
) -> None:
    sample = sample_story(samples)
    others = [fresh(clock, 1), fresh(clock, 2)]
    serve_story(server, sample, meta=meta)
    for story in others:
        serve_story(server, story, meta=meta)
    serve_listing(server, "/tin-tuc", [sample, *others])
    older = fresh(clock, 8, minutes_ago=600)
    serve_story(server, older, meta=meta)
    serve_listing(server, "/tin-tuc/trang-2", [older])  # page two of the section
    await add_site(db, server, clock)

    report = await poller.poll_due()

    assert [(f.outcome, f.new_articles) for f in report.feeds] == [("new", 3)]
    [hit] = await search(db, "so khoa hoc va cong nghe ha noi nhung ket qua")
    assert hit.title == SAMPLE_TITLE
    assert hit.url == server.url(SAMPLE_PATH)
    assert hit.author == "Khánh An"
    assert hit.published_at == 1685834580  # 06:23, 04/06/2023 in Hà Nội = 2023-06-03T23:23Z
    assert hit.summary.startswith("Năm 2023 là năm bản lề của giai đoạn phát triển")
    assert hit.summary.endswith("tạo nền tảng có 7 tháng cuối năm.")
    text = await content_text(db, hit.id)
    for chrome in ("SO HUU TRI TUE", "Thứ ba", "25/06/2024", "Click", "16.11", "16.13", "Tin khác"):
        assert chrome not in hit.summary
        assert chrome not in text
    assert "Khánh An" not in text
    assert "thẻ căn cước" not in text  # a "Tin khác" teaser
    assert text.rstrip().endswith("tổ chức triển khai thực hiện tốt các nhiệm vụ được giao.")
    assert hit.topics == ("khoa-hoc-cong-nghe", TOPIC)
    # Words only in the body, typed without accents.
    [body_hit] = await search(db, "san giao dich cong nghe techfest vung thu do")
    assert body_hit.id == hit.id
    # Linked twice (picture and title, one with utm_ and a fragment): fetched once.
    assert server.hits(SAMPLE_PATH) == 1
    # Sections, the tag, login, paging and the other site's links are never fetched.
    for path, _ in NOT_ARTICLES:
        if path.startswith("/") and path != "/tin-tuc?page=2":
            assert server.hits(path) == (1 if path == "/tin-tuc" else 0)
    # Paging is not followed: new stories appear on page one.
    assert (server.hits("/tin-tuc/trang-2"), server.hits(older.path)) == (0, 0)
    assert server.hits("/tin-khac-so-0-d9000.html") == 0


async def test_listing_change_alerts_only_the_new_article(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    stories = [fresh(clock, 1), fresh(clock, 2)]
    for story in stories:
        serve_story(server, story)
    serve_listing(server, "/tin-tuc", stories, etag='"v1"')
    feed_id = await add_site(db, server, clock)

    first = await poller.poll_due()
    assert first.new_articles == 2
    assert await alerted_titles(db) == []  # the first poll floods no one

    clock.advance(minutes=15)
    newcomer = fresh(clock, 3, minutes_ago=5)
    serve_story(server, newcomer)
    serve_listing(server, "/tin-tuc", [newcomer, *stories], etag='"v2"')
    second = await poller.poll_due()

    assert [(f.outcome, f.new_articles, f.alerts_queued) for f in second.feeds] == [("new", 1, 1)]
    assert await alerted_titles(db) == [(READER, newcomer.title)]
    assert [server.hits(s.path) for s in [*stories, newcomer]] == [1, 1, 1]

    # Unchanged listing: a conditional GET, a 304, and no article page touched.
    clock.advance(minutes=15)
    before = len(article_hits(server))
    third = await poller.poll_due()
    assert [f.outcome for f in third.feeds] == ["not_modified"]
    assert server.last_headers("/tin-tuc").get("if-none-match") == '"v2"'
    assert len(article_hits(server)) == before
    assert (await feed(db, feed_id)).failures == 0


async def test_first_poll_over_the_cap_takes_the_rest_quietly_later(
    db: SqliteDatabase, fetcher: Fetcher, server: FeedServer, clock: ManualClock
) -> None:
    poller = make_poller(db, fetcher, clock, max_articles_per_poll=2)
    await readers(db, clock)
    backlog = [fresh(clock, n, minutes_ago=10 * n) for n in range(1, 6)]
    for story in backlog:
        serve_story(server, story)
    serve_listing(server, "/tin-tuc", backlog, etag='"v1"')
    feed_id = await add_site(db, server, clock)

    first = await poller.poll_due()
    assert first.new_articles == 2
    row = await feed(db, feed_id)
    # Work is left: no validators kept, so the same listing is read again.
    assert (row.etag, row.body_hash) == (None, None)
    assert sorted(row.site_links.values()) == ["b", "b", "b"]

    clock.advance(minutes=15)
    newcomer = fresh(clock, 9, minutes_ago=1)
    serve_story(server, newcomer)
    serve_listing(server, "/tin-tuc", [newcomer, *backlog], etag='"v2"')
    second = await poller.poll_due()

    # The new story goes first and alone alerts; the backlog fills in quietly.
    assert second.new_articles == 2
    assert await alerted_titles(db) == [(READER, newcomer.title)]
    clock.advance(minutes=15)
    third = await poller.poll_due()
    assert third.new_articles == 2
    assert await alerted_titles(db) == [(READER, newcomer.title)]
    row = await feed(db, feed_id)
    assert (row.etag, row.site_links) == ('"v2"', {})
    assert all(server.hits(s.path) == 1 for s in [*backlog, newcomer])


async def test_missing_and_moved_articles(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    kept = fresh(clock, 1)
    serve_story(server, kept)
    moved = Story(
        **{**fresh(clock, 2).__dict__, "path": "/bai-moi-d30002.html", "title": "Bài đã chuyển"}
    )
    serve_story(server, moved)
    server.redirect(MOVED, moved.path, status=301)
    gone = replace(fresh(clock, 3), path=GONE, title="Bài lên mạng muộn")
    serve_listing(server, "/tin-tuc", [kept, gone, replace(moved, path=MOVED)])
    feed_id = await add_site(db, server, clock)
    await poller.poll_due()

    # The redirect's target is the article's address and key.
    [hit] = await search(db, "bai da chuyen")
    assert hit.url == server.url(moved.path)
    assert server.hits(GONE) == 1
    assert (await feed(db, feed_id)).site_links == {server.url(MOVED): "d", server.url(GONE): "b"}

    # The listing changes, the missing page is now online: it is fetched again,
    # but it was listed when we started watching, so it is stored quietly.
    clock.advance(minutes=15)
    newcomer = fresh(clock, 4, minutes_ago=1)
    serve_story(server, newcomer)
    serve_story(server, gone)
    serve_listing(server, "/tin-tuc", [newcomer, kept, gone, replace(moved, path=MOVED)])
    second = await poller.poll_due()

    assert second.new_articles == 2
    assert await alerted_titles(db) == [(READER, newcomer.title)]
    assert server.hits(MOVED) == 1  # remembered: never fetched again
    assert server.hits(GONE) == 2


async def test_a_new_article_that_404s_alerts_once_it_is_online(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    kept = fresh(clock, 1)
    serve_story(server, kept)
    serve_listing(server, "/tin-tuc", [kept])
    await add_site(db, server, clock)
    await poller.poll_due()

    clock.advance(minutes=10)
    early = fresh(clock, 2, minutes_ago=1)  # listed before its page is online
    serve_listing(server, "/tin-tuc", [early, kept])
    assert (await poller.poll_due()).new_articles == 0

    clock.advance(minutes=10)
    serve_story(server, early)
    serve_listing(server, "/tin-tuc", [fresh(clock, 3), early, kept])  # changed again
    serve_story(server, fresh(clock, 3))
    await poller.poll_due()

    assert [title for _, title in await alerted_titles(db)] == sorted(
        [early.title, fresh(clock, 3).title]
    )


async def test_server_errors_leave_the_article_for_the_next_poll(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    await readers(db, clock)
    kept = fresh(clock, 1)
    serve_story(server, kept)
    serve_listing(server, "/tin-tuc", [kept], etag='"v1"')
    feed_id = await add_site(db, server, clock)
    await poller.poll_due()

    clock.advance(minutes=10)
    flaky = fresh(clock, 2, minutes_ago=1)
    server.set(flaky.path, Route(status=502))
    serve_listing(server, "/tin-tuc", [flaky, kept], etag='"v2"')
    second = await poller.poll_due()
    row = await feed(db, feed_id)
    assert (second.new_articles, row.etag, row.failures) == (0, None, 0)
    assert row.site_links == {server.url(flaky.path): "f1"}

    clock.advance(minutes=10)
    serve_story(server, flaky)
    third = await poller.poll_due()

    assert server.last_headers("/tin-tuc").get("if-none-match") is None  # read afresh
    assert third.new_articles == 1
    assert await alerted_titles(db) == [(READER, flaky.title)]
    assert (await feed(db, feed_id)).etag == '"v2"'


async def test_a_site_that_is_down_backs_off_like_a_failing_feed(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    server.set("/tin-tuc", Route(status=503, body=b"<html>Bao tri</html>", headers=HTML))
    feed_id = await add_site(db, server, clock)

    first = await poller.poll_due()
    row = await feed(db, feed_id)
    assert (first.feeds[0].outcome, first.feeds[0].error_kind) == ("failed", "http_status")
    assert (row.failures, row.next_poll_at) == (1, clock.ts + 300)
    assert (await poller.poll_due()).feeds == []  # not due during the backoff

    clock.advance(seconds=300)
    await poller.poll_due()
    assert (await feed(db, feed_id)).next_poll_at == clock.ts + 600
    clock.advance(seconds=600)
    assert (await poller.poll_due()).feeds[0].paused

    # A robots.txt that answers 5xx means the rules are unknown: the round is skipped.
    server.set("/robots.txt", Route(status=500))
    serve_listing(server, "/tin-tuc", [fresh(clock, 1)])
    clock.advance(days=1)  # past the lifetime of the robots.txt answer cached so far
    await db.feeds.resume_feed(str(feed_id), now=clock.ts)
    report = await poller.poll_due()
    assert report.feeds[0].error_kind == "http_status"
    assert str(report.feeds[0].error).startswith("robots.txt: HTTP 500")
    assert server.hits("/tin-tuc") == 3


async def test_robots_txt_is_honoured(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    allowed = fresh(clock, 1)
    private = replace(fresh(clock, 2), path="/noi-bo/bai-rieng-d50001.html")
    for story in (allowed, private):
        serve_story(server, story)
    serve_listing(server, "/tin-tuc", [allowed, private])
    server.set(
        "/robots.txt",
        Route(body=b"User-agent: *\nDisallow: /noi-bo/\n\nUser-agent: newsbot\nDisallow: /kin/\n"),
    )
    # The newsbot group is the one that applies to us: /noi-bo/ is then allowed.
    await add_site(db, server, clock)
    await poller.poll_due()
    assert server.hits(private.path) == 1

    server.set(
        "/robots.txt",
        Route(body=b"User-agent: newsbot\nDisallow: /noi-bo/\nDisallow: /chuyen-muc/\n"),
    )
    clock.advance(days=1)  # past the cache's lifetime
    other = fresh(clock, 3)
    private2 = replace(fresh(clock, 4), path="/noi-bo/bai-rieng-d50002.html")
    for story in (other, private2):
        serve_story(server, story)
    serve_listing(server, "/tin-tuc", [other, private2, allowed, private])
    report = await poller.poll_due()
    assert report.new_articles == 1
    assert server.hits(private2.path) == 0
    assert server.hits("/robots.txt") == 2  # cached between polls, asked again after a day

    blocked = await add_site(db, server, clock, "/chuyen-muc/tin-tuc")
    report = await poller.poll_feeds([await feed(db, blocked)])
    assert (report.feeds[0].error_kind, server.hits("/chuyen-muc/tin-tuc")) == (
        "robots_disallowed",
        0,
    )


async def test_link_selector_and_pattern_choose_the_links(
    db: SqliteDatabase, server: FeedServer, poller: Poller, clock: ManualClock
) -> None:
    stories = [fresh(clock, n) for n in (1, 2, 3)]
    for story in stories:
        serve_story(server, story)
    odd = replace(fresh(clock, 4), path="/bai-viet/12")  # no numeric id suffix
    serve_story(server, odd)
    serve_listing(server, "/tin-tuc", [*stories, odd])
    serve_listing(server, "/muc-khac", [*stories, odd])

    by_selector = await add_site(db, server, clock, "/tin-tuc", link_selector=".list h3")
    by_pattern = await add_site(db, server, clock, "/muc-khac", article_pattern=r"/bai-viet/\d+$")
    report = await poller.poll_due()

    # The selector takes all four stories, the pattern only the odd one: one article
    # per page, whichever source stored it first.
    assert sum(f.new_articles for f in report.feeds) == 4
    assert await db.articles.count_articles() == 4
    assert server.hits(odd.path) == 2
    odd_url = server.url(odd.path)
    assert await db.articles.existing_keys(by_pattern, [odd_url]) == {odd_url}
    assert await db.articles.existing_keys(by_selector, [odd_url]) == {odd_url}


@pytest.fixture
async def process_poller(
    db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock
) -> AsyncIterator[Poller]:
    with parse_pool(1) as pool:
        yield Poller(
            db,
            fetcher,
            executor=pool,
            clock=clock,
            options=PollerOptions(site=SiteOptions(request_delay=0.0)),
        )


async def test_pages_are_read_in_worker_processes(
    db: SqliteDatabase, server: FeedServer, process_poller: Poller, clock: ManualClock
) -> None:
    stories = [fresh(clock, 1), fresh(clock, 2)]
    for story in stories:
        serve_story(server, story, meta=False)
    serve_listing(server, "/tin-tuc", stories)
    await add_site(db, server, clock)

    report = await process_poller.poll_due()

    assert report.new_articles == 2
    [hit] = await search(db, "san ung dung so 2")
    assert hit.url == server.url(stories[1].path)
