"""FeedStore: topics and sources as configured, and each source's polling state and health."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.api import Database
from storage.rows import FeedSpec, PollFailure, PollSuccess, TopicRow
from tests.storage.support import HOUR, NOW, add_feed, article

RSS = "https://bao.example.vn/rss"
SITE = "https://bao.example.vn/kinh-te"


def success(next_poll_at: int = NOW + 900, etag: str | None = '"e1"') -> PollSuccess:
    return PollSuccess(
        etag=etag,
        last_modified="Mon, 01 Sep",
        body_hash="h1",
        ttl_minutes=None,
        next_poll_at=next_poll_at,
    )


def failure(next_poll_at: int = NOW + 600, *, pause: bool = False) -> PollFailure:
    return PollFailure(
        kind="http", detail="503 Service Unavailable", next_poll_at=next_poll_at, pause=pause
    )


async def test_sync_topics_matches_the_configuration(db: Database) -> None:
    await db.feeds.sync_topics(
        [
            TopicRow("the-thao", "Thể thao", "Sport", ("bóng đá", "V-League")),
            TopicRow("kinh-te", "Kinh tế", "Economy", ()),
            TopicRow("xa-hoi", "Xã hội", "Society", ("giáo dục",)),
        ]
    )
    first = await db.feeds.list_topics()

    await db.feeds.sync_topics(
        [
            TopicRow("xa-hoi", "Xã hội", "Society", ()),
            TopicRow("kinh-te", "Kinh tế", "Business", ("chứng khoán",), ("economy", "tài chính")),
        ]
    )
    second = await db.feeds.list_topics()

    assert first == [  # in configuration order
        TopicRow("the-thao", "Thể thao", "Sport", ("bóng đá", "V-League")),
        TopicRow("kinh-te", "Kinh tế", "Economy", ()),
        TopicRow("xa-hoi", "Xã hội", "Society", ("giáo dục",)),
    ]
    assert second == [
        TopicRow("xa-hoi", "Xã hội", "Society", ()),
        TopicRow("kinh-te", "Kinh tế", "Business", ("chứng khoán",), ("economy", "tài chính")),
    ]
    await db.feeds.sync_topics([])
    assert await db.feeds.list_topics() == []


async def test_sync_config_feeds_adds_new_feeds(db: Database) -> None:
    added = await db.feeds.sync_config_feeds(
        [
            FeedSpec(RSS, "Báo", ("the-thao", "kinh-te")),
            FeedSpec(
                SITE,
                "Báo Kinh tế",
                ("kinh-te",),
                kind="site",
                article_pattern=r"/\d+\.html$",
                link_selector="h3 a",
            ),
        ],
        now=NOW,
    )

    assert added == 2
    rss, site = await db.feeds.list_feeds()
    assert (rss.url, rss.name, rss.kind, rss.origin) == (RSS, "Báo", "feed", "config")
    assert rss.topics == ("kinh-te", "the-thao")
    assert rss.enabled is True
    assert rss.next_poll_at == 0  # due at once
    assert rss.failures == 0 and rss.paused_at is None and rss.articles_total == 0
    assert rss.etag is None and rss.last_modified is None and rss.body_hash is None
    assert rss.first_polled_at is None and rss.last_polled_at is None
    assert rss.last_success_at is None and rss.last_error_kind is None and rss.last_error is None
    assert rss.article_pattern is None and rss.link_selector is None
    assert dict(rss.site_links) == {}
    assert (site.kind, site.article_pattern, site.link_selector) == ("site", r"/\d+\.html$", "h3 a")
    assert await db.feeds.get_feed(rss.id) == rss


async def test_sync_config_feeds_refreshes_known_feeds(db: Database) -> None:
    await db.feeds.sync_config_feeds([FeedSpec(RSS, "Báo", ("the-thao",))], now=NOW)
    [before] = await db.feeds.list_feeds()

    added = await db.feeds.sync_config_feeds(
        [FeedSpec(RSS, "Báo Mới", ("kinh-te", "xa-hoi")), FeedSpec(SITE, "Khác", ())],
        now=NOW + HOUR,
    )

    assert added == 1
    after = await db.feeds.get_feed(before.id)
    assert after is not None
    assert after.name == "Báo Mới"
    assert after.topics == ("kinh-te", "xa-hoi")
    assert after.origin == "config"


async def test_sync_config_feeds_never_touches_the_enabled_flag(db: Database) -> None:
    await db.feeds.sync_config_feeds([FeedSpec(RSS, "Báo", ())], now=NOW)
    [feed] = await db.feeds.list_feeds()
    assert await db.feeds.disable_feed(RSS)

    added = await db.feeds.sync_config_feeds([FeedSpec(RSS, "Báo", ())], now=NOW + HOUR)
    left_out = await db.feeds.sync_config_feeds([], now=NOW + 2 * HOUR)

    assert added == 0 and left_out == 0
    synced = await db.feeds.get_feed(feed.id)
    assert synced is not None and synced.enabled is False
    assert [f.id for f in await db.feeds.list_feeds()] == [feed.id]  # a removed feed stays


async def test_changed_source_rules_forget_the_validators(db: Database) -> None:
    await db.feeds.sync_config_feeds([FeedSpec(SITE, "Báo", (), kind="site")], now=NOW)
    [feed] = await db.feeds.list_feeds()
    await db.feeds.record_poll_success(feed.id, success(), now=NOW)

    await db.feeds.sync_config_feeds([FeedSpec(SITE, "Báo Mới", (), kind="site")], now=NOW)
    same_rules = await db.feeds.get_feed(feed.id)
    await db.feeds.sync_config_feeds(
        [FeedSpec(SITE, "Báo Mới", (), kind="site", link_selector="h2 a")], now=NOW
    )
    new_rules = await db.feeds.get_feed(feed.id)

    assert same_rules is not None
    assert (same_rules.etag, same_rules.body_hash) == ('"e1"', "h1")
    assert new_rules is not None
    assert new_rules.link_selector == "h2 a"
    assert (new_rules.etag, new_rules.last_modified, new_rules.body_hash) == (None, None, None)


async def test_add_feed_adds_an_operator_feed(db: Database) -> None:
    feed_id, new = await db.feeds.add_feed(FeedSpec(RSS, "Báo", ("kinh-te",)), now=NOW)

    assert new is True
    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None
    assert (feed.url, feed.name, feed.origin, feed.kind) == (RSS, "Báo", "operator", "feed")
    assert feed.topics == ("kinh-te",) and feed.enabled is True


async def test_add_feed_of_a_known_url_re_enables_it(db: Database) -> None:
    await db.feeds.sync_config_feeds([FeedSpec(RSS, "Báo", ("kinh-te",))], now=NOW)
    [feed] = await db.feeds.list_feeds()
    await db.feeds.record_poll_failure(feed.id, failure(pause=True), now=NOW)
    await db.feeds.disable_feed(RSS)

    feed_id, new = await db.feeds.add_feed(FeedSpec(RSS, "Báo Mới", ("the-thao",)), now=NOW + 60)

    assert (feed_id, new) == (feed.id, False)
    again = await db.feeds.get_feed(feed_id)
    assert again is not None
    assert again.enabled is True and again.paused_at is None and again.failures == 0
    assert again.name == "Báo Mới" and again.topics == ("the-thao",)
    assert again.origin == "config"
    assert len(await db.feeds.list_feeds()) == 1


async def test_disable_feed_by_url_or_id_keeps_its_articles(db: Database) -> None:
    first = await add_feed(db, RSS)
    second = await add_feed(db, SITE)
    await db.articles.store(first, [article("a1")], now=NOW)

    assert await db.feeds.disable_feed(RSS) is True
    assert await db.feeds.disable_feed(str(second)) is True
    assert await db.feeds.disable_feed("https://khong.example.vn/rss") is False
    assert await db.feeds.disable_feed("999") is False

    assert await db.feeds.list_feeds(include_disabled=False) == []
    assert [f.enabled for f in await db.feeds.list_feeds()] == [False, False]
    assert await db.articles.count_articles() == 1
    assert await db.feeds.due_feeds(now=NOW + HOUR) == []


async def test_list_feeds_in_id_order_with_or_without_disabled(db: Database) -> None:
    ids = [await add_feed(db, f"https://f{i}.example.vn/rss") for i in range(3)]
    await db.feeds.disable_feed(str(ids[1]))

    assert [f.id for f in await db.feeds.list_feeds()] == ids
    assert [f.id for f in await db.feeds.list_feeds(include_disabled=False)] == [ids[0], ids[2]]


async def test_get_feed_of_an_unknown_id_is_none(db: Database) -> None:
    assert await db.feeds.get_feed(4242) is None


async def test_due_feeds_most_overdue_first(db: Database) -> None:
    later = await add_feed(db, "https://later.example.vn/rss")
    soon = await add_feed(db, "https://soon.example.vn/rss")
    tied = await add_feed(db, "https://tied.example.vn/rss")
    future = await add_feed(db, "https://future.example.vn/rss")
    paused = await add_feed(db, "https://paused.example.vn/rss")
    disabled = await add_feed(db, "https://disabled.example.vn/rss")
    await db.feeds.record_poll_success(later, success(NOW - 10), now=NOW - 100)
    await db.feeds.record_poll_success(soon, success(NOW - 50), now=NOW - 100)
    await db.feeds.record_poll_success(tied, success(NOW - 10), now=NOW - 100)
    await db.feeds.record_poll_success(future, success(NOW + 1), now=NOW - 100)
    await db.feeds.record_poll_failure(paused, failure(NOW - 60, pause=True), now=NOW - 100)
    await db.feeds.record_poll_success(disabled, success(NOW - 60), now=NOW - 100)
    await db.feeds.disable_feed(str(disabled))

    due = await db.feeds.due_feeds(now=NOW)
    limited = await db.feeds.due_feeds(now=NOW, limit=2)
    at_next = await db.feeds.due_feeds(now=NOW + 1)

    assert [f.id for f in due] == [soon, later, tied]
    assert [f.id for f in limited] == [soon, later]
    assert [f.id for f in at_next] == [soon, later, tied, future]  # next_poll_at <= now


async def test_record_poll_success(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.feeds.record_poll_failure(feed_id, failure(pause=True), now=NOW - 100)

    await db.feeds.record_poll_success(
        feed_id,
        PollSuccess(
            etag='"e1"',
            last_modified="Mon",
            body_hash="h1",
            ttl_minutes=30,
            next_poll_at=NOW + 1800,
        ),
        now=NOW,
    )
    await db.feeds.record_poll_success(
        feed_id,
        PollSuccess(
            etag=None, last_modified=None, body_hash="h2", ttl_minutes=None, next_poll_at=NOW + 3600
        ),
        now=NOW + 1800,
    )

    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None
    assert (feed.etag, feed.last_modified, feed.body_hash) == (None, None, "h2")
    assert feed.first_polled_at == NOW  # kept from the first success
    assert feed.last_polled_at == NOW + 1800
    assert feed.last_success_at == NOW + 1800
    assert feed.next_poll_at == NOW + 3600
    assert feed.failures == 0
    assert feed.last_error_kind is None and feed.last_error is None
    assert feed.paused_at is None
    assert feed.articles_total == 0


async def test_record_poll_failure_counts_and_pauses(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.feeds.record_poll_success(feed_id, success(), now=NOW - HOUR)

    await db.feeds.record_poll_failure(feed_id, failure(NOW + 600), now=NOW)
    once = await db.feeds.get_feed(feed_id)
    await db.feeds.record_poll_failure(
        feed_id,
        PollFailure(kind="parse", detail="not a feed", next_poll_at=NOW + 7200, pause=True),
        now=NOW + 600,
    )
    paused = await db.feeds.get_feed(feed_id)
    await db.feeds.record_poll_failure(feed_id, failure(NOW + 9000), now=NOW + 7200)
    still = await db.feeds.get_feed(feed_id)

    assert once is not None
    assert once.failures == 1
    assert (once.last_error_kind, once.last_error) == ("http", "503 Service Unavailable")
    assert once.last_polled_at == NOW and once.next_poll_at == NOW + 600
    assert once.last_success_at == NOW - HOUR
    assert once.paused_at is None
    assert (once.etag, once.body_hash) == ('"e1"', "h1")  # validators kept
    assert paused is not None
    assert paused.failures == 2 and paused.paused_at == NOW + 600
    assert (paused.last_error_kind, paused.last_error) == ("parse", "not a feed")
    assert still is not None
    assert still.failures == 3 and still.paused_at == NOW + 600  # a pause stays until resumed
    assert await db.feeds.due_feeds(now=NOW + 100_000) == []


async def test_resume_feed_unpauses_and_polls_at_once(db: Database) -> None:
    feed_id = await add_feed(db, RSS)
    other = await add_feed(db, SITE)
    await db.feeds.record_poll_failure(feed_id, failure(NOW + 99_999, pause=True), now=NOW)
    await db.feeds.record_poll_failure(other, failure(NOW + 99_999, pause=True), now=NOW)

    assert await db.feeds.resume_feed(RSS, now=NOW + 60) is True
    assert await db.feeds.resume_feed(str(other), now=NOW + 70) is True
    assert await db.feeds.resume_feed("https://khong.example.vn/rss", now=NOW) is False

    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None
    assert feed.paused_at is None and feed.failures == 0 and feed.enabled is True
    assert feed.next_poll_at == NOW + 60
    assert feed.last_error_kind == "http"  # the last error is kept until a success
    assert [f.id for f in await db.feeds.due_feeds(now=NOW + 70)] == [feed_id, other]


async def test_resume_feed_also_enables_a_disabled_feed(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.feeds.disable_feed(str(feed_id))

    assert await db.feeds.resume_feed(str(feed_id), now=NOW) is True

    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None and feed.enabled is True
    assert [f.id for f in await db.feeds.due_feeds(now=NOW)] == [feed_id]


async def test_next_poll_at_is_the_earliest_due_time_of_feeds_that_are_polled(
    db: Database,
) -> None:
    assert await db.feeds.next_poll_at() is None  # no feeds at all
    later = await add_feed(db, "https://later.example.vn/rss")
    soon = await add_feed(db, "https://soon.example.vn/rss")
    assert await db.feeds.next_poll_at() == 0  # new feeds are due at once

    await db.feeds.record_poll_success(later, success(NOW + 900), now=NOW)
    await db.feeds.record_poll_success(soon, success(NOW + 120), now=NOW)
    assert await db.feeds.next_poll_at() == NOW + 120

    await db.feeds.record_poll_failure(soon, failure(NOW + 60, pause=True), now=NOW)
    assert await db.feeds.next_poll_at() == NOW + 900  # a paused feed is not waited for
    await db.feeds.disable_feed(str(later))
    assert await db.feeds.next_poll_at() is None  # nor a disabled one

    await db.feeds.resume_feed(str(soon), now=NOW + 30)
    assert await db.feeds.next_poll_at() == NOW + 30
    await db.feeds.record_poll_success(soon, success(NOW - 50), now=NOW)
    assert await db.feeds.next_poll_at() == NOW - 50  # overdue: still the earliest


async def test_a_feeds_rhythm_and_ttl_are_kept_between_polls(db: Database) -> None:
    feed_id = await add_feed(db)
    fresh = await db.feeds.get_feed(feed_id)
    assert fresh is not None
    assert (fresh.recent_items, fresh.hourly_items, fresh.ttl_minutes) == ((), (), None)
    hours = tuple(float(h) / 4 for h in range(24))

    await db.feeds.record_poll_success(
        feed_id,
        replace(
            success(),
            ttl_minutes=30,
            recent_items=(NOW - 300, NOW - 120, NOW - 60),
            hourly_items=hours,
        ),
        now=NOW,
    )
    stored = await db.feeds.get_feed(feed_id)
    # None keeps what is stored: a 304 changes neither the rhythm nor the ttl.
    await db.feeds.record_poll_success(feed_id, success(NOW + 1800), now=NOW + 900)
    kept = await db.feeds.get_feed(feed_id)
    await db.articles.store(
        feed_id,
        [article("a1")],
        now=NOW + 1800,
        poll=replace(success(NOW + 2000), recent_items=(NOW + 1700,), hourly_items=()),
    )
    replaced = await db.feeds.get_feed(feed_id)

    assert stored is not None and kept is not None and replaced is not None
    assert stored.recent_items == (NOW - 300, NOW - 120, NOW - 60)
    assert stored.hourly_items == hours and stored.ttl_minutes == 30
    assert (kept.recent_items, kept.hourly_items, kept.ttl_minutes) == (
        stored.recent_items,
        hours,
        30,
    )
    assert (replaced.recent_items, replaced.hourly_items) == ((NOW + 1700,), ())
    assert (await db.feeds.list_feeds())[0] == replaced
    [due] = await db.feeds.due_feeds(now=NOW + 2000)
    assert due == replaced


async def test_add_feeds_adds_all_in_one_go(db: Database) -> None:
    specs = [FeedSpec(f"https://bao{i}.example.vn/rss", f"Báo {i}", ()) for i in range(3)]
    added = await db.feeds.add_feeds(specs, now=NOW)
    assert [new for _, new in added] == [True, True, True]
    assert [f.url for f in await db.feeds.list_feeds()] == [s.url for s in specs]
    again = await db.feeds.add_feeds(specs[:1], now=NOW)
    assert again == [(added[0][0], False)]


async def test_add_feeds_adds_nothing_when_one_fails(db: Database) -> None:
    # The second is of a kind the schema refuses; the first, already written in the
    # same transaction, is rolled back with it.
    good = FeedSpec("https://tot.example.vn/rss", "Tốt", ())
    bad = FeedSpec("https://xau.example.vn/rss", "Xấu", (), kind="podcast")
    with pytest.raises(Exception):  # noqa: B017 - each backend's own integrity error
        await db.feeds.add_feeds([good, bad], now=NOW)
    assert await db.feeds.list_feeds() == []


# --- moves ---------------------------------------------------------------------------------

MOVED = "https://bao-moi.example.vn/rss"


async def test_a_poll_records_the_permanent_redirect_it_followed(db: Database) -> None:
    feed_id = await add_feed(db, RSS)

    await db.feeds.record_poll_success(
        feed_id, replace(success(), redirect_target=MOVED, redirect_polls=2), now=NOW
    )
    row = await db.feeds.get_feed(feed_id)
    assert row is not None and (row.redirect_target, row.redirect_polls) == (MOVED, 2)

    await db.feeds.record_poll_success(feed_id, success(), now=NOW + HOUR)
    row = await db.feeds.get_feed(feed_id)
    assert row is not None and (row.redirect_target, row.redirect_polls) == (None, 0)


async def test_a_moved_feed_keeps_its_old_url_and_is_found_by_it(db: Database) -> None:
    feed_id = await add_feed(db, RSS, topics=("kinh-te",))
    await db.feeds.record_poll_success(
        feed_id, replace(success(), redirect_target=MOVED, redirect_polls=3), now=NOW
    )

    assert await db.feeds.move_feed(feed_id, MOVED) is True

    row = await db.feeds.get_feed(feed_id)
    assert row is not None
    assert (row.url, row.previous_url, row.redirect_target, row.redirect_polls) == (
        MOVED,
        RSS,
        None,
        0,
    )
    # feeds.toml, an OPML file or an operator naming the old URL reach the same feed.
    assert await db.feeds.sync_config_feeds([FeedSpec(RSS, "Báo", ("kinh-te",))], now=NOW) == 0
    assert await db.feeds.add_feed(FeedSpec(RSS, "Báo", ("kinh-te",)), now=NOW) == (
        feed_id,
        False,
    )
    assert [f.id for f in await db.feeds.list_feeds()] == [feed_id]
    assert await db.feeds.move_feed(feed_id, MOVED) is False  # already there


async def test_a_feed_never_moves_onto_another_feeds_url(db: Database) -> None:
    feed_id = await add_feed(db, RSS)
    other = await add_feed(db, MOVED)

    assert await db.feeds.move_feed(feed_id, MOVED) is False

    row = await db.feeds.get_feed(feed_id)
    assert row is not None and (row.url, row.previous_url) == (RSS, None)
    other_row = await db.feeds.get_feed(other)
    assert other_row is not None and other_row.url == MOVED
