"""ArticleStore: storing a poll's articles, the alerts they queue, reading and searching them."""

from __future__ import annotations

from storage.api import Database
from storage.rows import FeedSpec, PollSuccess, Priority, StoreOutcome
from tests.storage.support import DAY, HOUR, NOW, add_feed, add_reader, article


async def test_store_inserts_new_articles(db: Database) -> None:
    feed_id = await add_feed(db, name="Báo Mới")
    first = article(
        "a1",
        title="Lũ miền Trung",
        body="Mưa lớn kéo dài",
        published_at=NOW - 2 * HOUR,
        topics=("thoi-su", "moi-truong"),
        author="Phóng viên",
        image_url="https://bao.example.vn/a1.jpg",
    )

    outcome = await db.articles.store(feed_id, [first, article("a2")], now=NOW)

    assert len(outcome.new_ids) == 2
    assert (outcome.updated, outcome.alerts_queued, outcome.alerted_articles) == (0, 0, 0)
    assert await db.articles.count_articles() == 2
    row = await db.articles.get_article(outcome.new_ids[0])
    assert row is not None
    assert row.id == outcome.new_ids[0]
    assert row.feed_id == feed_id
    assert row.feed_name == "Báo Mới"
    assert row.item_key == "a1"
    assert row.url == "https://bao.example.vn/a1.html"
    assert row.title == "Lũ miền Trung"
    assert row.summary == "Mưa lớn kéo dài"
    assert row.author == "Phóng viên"
    assert row.image_url == "https://bao.example.vn/a1.jpg"
    assert row.published_at == NOW - 2 * HOUR
    assert row.fetched_at == NOW
    assert row.topics == ("moi-truong", "thoi-su")  # sorted
    second = await db.articles.get_article(outcome.new_ids[1])
    assert second is not None and second.item_key == "a2"
    assert second.topics == () and second.author is None and second.image_url is None


async def test_store_nothing_changes_nothing(db: Database) -> None:
    feed_id = await add_feed(db)

    outcome = await db.articles.store(feed_id, [], now=NOW)

    assert outcome == StoreOutcome()
    assert await db.articles.count_articles() == 0


async def test_store_updates_an_edited_article_silently(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te", "the-thao"])
    [article_id] = (
        await db.articles.store(
            feed_id,
            [article("a1", title="gia vang tang", published_at=NOW - HOUR, topics=("kinh-te",))],
            now=NOW,
            alert_keys=frozenset({"a1"}),
        )
    ).new_ids
    edited = article(
        "a1", title="gia xang giam", published_at=NOW - 10, topics=("the-thao", "kinh-te")
    )

    outcome = await db.articles.store(
        feed_id, [edited], now=NOW + HOUR, alert_keys=frozenset({"a1"})
    )

    assert outcome.new_ids == []
    assert outcome.updated == 1
    assert outcome.alerts_queued == 0 and outcome.alerted_articles == 0
    assert await db.articles.count_articles() == 1
    row = await db.articles.get_article(article_id)
    assert row is not None
    assert row.title == "gia xang giam"
    assert row.topics == ("kinh-te", "the-thao")
    assert row.published_at == NOW - HOUR  # an edit does not move a story back to the top
    assert row.fetched_at == NOW
    assert [r.dedup_key for r in await db.outbox.rows_for_chat(1)] == [f"article:{article_id}"]
    # the search index follows the edit
    assert await db.articles.search_articles(["vang"]) == []
    assert [a.id for a in await db.articles.search_articles(["xang"])] == [article_id]


async def test_store_of_an_unchanged_article_updates_nothing(db: Database) -> None:
    feed_id = await add_feed(db)
    same = article("a1", topics=("kinh-te",))
    await db.articles.store(feed_id, [same], now=NOW)

    outcome = await db.articles.store(feed_id, [same], now=NOW + HOUR)

    assert outcome == StoreOutcome()
    assert await db.articles.count_articles() == 1


async def test_store_mixes_new_and_edited_articles(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.articles.store(feed_id, [article("old", title="cu")], now=NOW)

    outcome = await db.articles.store(
        feed_id, [article("old", title="cu da sua"), article("new")], now=NOW + 60
    )

    assert len(outcome.new_ids) == 1
    assert outcome.updated == 1
    new = await db.articles.get_article(outcome.new_ids[0])
    assert new is not None and new.item_key == "new" and new.fetched_at == NOW + 60


async def test_first_poll_alerts_nobody_when_alert_keys_is_empty(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])

    outcome = await db.articles.store(
        feed_id,
        [article("a1", topics=("kinh-te",)), article("a2", topics=("kinh-te",))],
        now=NOW,
        keyword_chats={"a1": {1: "gia vang"}},
    )

    assert len(outcome.new_ids) == 2
    assert outcome.alerts_queued == 0 and outcome.alerted_articles == 0
    assert await db.outbox.pending() == []


async def test_alerts_go_only_to_active_instant_readers_who_follow_or_match(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])  # follows the topic
    await add_reader(db, 2, mode="digest", topics=["kinh-te"])  # digest reader
    await add_reader(db, 3, topics=["kinh-te"])  # left
    await db.subscribers.deactivate(3, "blocked", now=NOW)
    await add_reader(db, 4, topics=["the-thao"])  # another topic
    await add_reader(db, 5)  # matches a keyword
    await add_reader(db, 6, mode="digest")  # matches a keyword, but digest
    await add_reader(db, 7, topics=["kinh-te"])  # follows and matches: one message
    # 8 matches a keyword but never talked to us

    outcome = await db.articles.store(
        feed_id,
        [article("a1", topics=("kinh-te", "xa-hoi"))],
        now=NOW,
        alert_keys=frozenset({"a1"}),
        keyword_chats={"a1": {c: "gia vang" for c in (5, 6, 7, 8)}},
    )

    [article_id] = outcome.new_ids
    assert outcome.alerts_queued == 3
    assert outcome.alerted_articles == 1
    pending = await db.outbox.pending()
    assert sorted(r.chat_id for r in pending) == [1, 5, 7]
    for row in pending:
        assert row.kind == "alert"
        assert row.priority == Priority.ALERT
        assert row.dedup_key == f"article:{article_id}"
        assert row.article_id == article_id
        assert row.broadcast_id is None
        assert row.payload is None
        assert row.status == "pending"
        assert row.attempts == 0
    # The alert names the keyword only for a reader who matched by keyword alone.
    assert {r.chat_id: r.keyword for r in pending} == {1: None, 5: "gia vang", 7: None}


async def test_only_articles_in_alert_keys_queue_alerts(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])

    outcome = await db.articles.store(
        feed_id,
        [article("loud", topics=("kinh-te",)), article("quiet", topics=("kinh-te",))],
        now=NOW,
        alert_keys=frozenset({"loud"}),
    )

    assert outcome.alerts_queued == 1 and outcome.alerted_articles == 1
    [row] = await db.outbox.pending()
    loud = await db.articles.get_article(row.article_id or 0)
    assert loud is not None and loud.item_key == "loud"


async def test_alerted_article_with_no_readers_counts_but_queues_nothing(db: Database) -> None:
    feed_id = await add_feed(db)

    outcome = await db.articles.store(
        feed_id, [article("a1", topics=("kinh-te",))], now=NOW, alert_keys=frozenset({"a1"})
    )

    assert outcome.alerts_queued == 0
    assert outcome.alerted_articles == 1


async def test_a_second_store_of_the_same_articles_queues_nothing_twice(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])
    await add_reader(db, 2)
    batch = [article("a1", topics=("kinh-te",)), article("a2", topics=("kinh-te",))]
    keys = frozenset({"a1", "a2"})
    chats = {"a1": {2: "gia vang"}}
    first = await db.articles.store(feed_id, batch, now=NOW, alert_keys=keys, keyword_chats=chats)

    again = await db.articles.store(
        feed_id, batch, now=NOW + 60, alert_keys=keys, keyword_chats=chats
    )

    assert first.alerts_queued == 3
    assert again == StoreOutcome()
    assert len(await db.outbox.pending()) == 3
    assert await db.articles.count_articles() == 2


async def test_the_same_key_in_two_feeds_is_two_articles(db: Database) -> None:
    one = await add_feed(db, "https://mot.example.vn/rss")
    two = await add_feed(db, "https://hai.example.vn/rss")
    await db.articles.store(one, [article("a1", url="https://mot.example.vn/a1.html")], now=NOW)

    outcome = await db.articles.store(
        two, [article("a1", url="https://hai.example.vn/a1.html")], now=NOW
    )

    assert len(outcome.new_ids) == 1
    assert await db.articles.count_articles() == 2


async def test_store_records_the_poll_with_the_articles(db: Database) -> None:
    feed_id = await add_feed(db)
    poll = PollSuccess(
        etag='"v1"', last_modified="Mon", body_hash="h1", ttl_minutes=15, next_poll_at=NOW + 900
    )
    await db.articles.store(feed_id, [article("a1"), article("a2")], now=NOW, poll=poll)
    later = PollSuccess(
        etag='"v2"', last_modified=None, body_hash="h2", ttl_minutes=None, next_poll_at=NOW + 1800
    )

    await db.articles.store(feed_id, [article("a2"), article("a3")], now=NOW + 900, poll=later)

    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None
    assert feed.articles_total == 3
    assert feed.first_polled_at == NOW
    assert feed.last_polled_at == NOW + 900
    assert feed.last_success_at == NOW + 900
    assert (feed.etag, feed.last_modified, feed.body_hash) == ('"v2"', None, "h2")
    assert feed.next_poll_at == NOW + 1800


async def test_store_without_a_poll_leaves_the_feed_state(db: Database) -> None:
    feed_id = await add_feed(db)

    await db.articles.store(feed_id, [article("a1")], now=NOW)

    feed = await db.feeds.get_feed(feed_id)
    assert feed is not None
    assert feed.first_polled_at is None and feed.last_success_at is None
    assert feed.articles_total == 0


async def test_store_saves_and_clears_site_links(db: Database) -> None:
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://bao.example.vn/kinh-te", "Báo", (), kind="site"), now=NOW
    )
    links = {"https://bao.example.vn/x.html": "b", "https://bao.example.vn/y.html": "d"}

    await db.articles.store(feed_id, [], now=NOW, site_links=links)
    saved = await db.feeds.get_feed(feed_id)
    await db.articles.store(feed_id, [], now=NOW)  # None: left as it was
    kept = await db.feeds.get_feed(feed_id)
    await db.articles.store(feed_id, [], now=NOW, site_links={})
    cleared = await db.feeds.get_feed(feed_id)

    assert saved is not None and dict(saved.site_links) == links
    assert kept is not None and dict(kept.site_links) == links
    assert cleared is not None and dict(cleared.site_links) == {}


async def test_existing_keys_are_those_of_this_feed(db: Database) -> None:
    one = await add_feed(db, "https://mot.example.vn/rss")
    two = await add_feed(db, "https://hai.example.vn/rss")
    await db.articles.store(one, [article("a1"), article("a2")], now=NOW)
    await db.articles.store(two, [article("b1")], now=NOW)

    assert await db.articles.existing_keys(one, ["a1", "b1", "zz"]) == {"a1"}
    assert await db.articles.existing_keys(two, ["a1", "b1"]) == {"b1"}
    assert await db.articles.existing_keys(one, []) == set()


async def test_get_article_of_an_unknown_id_is_none(db: Database) -> None:
    assert await db.articles.get_article(12345) is None


async def test_latest_articles_are_newest_published_first_and_page(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.articles.store(
        feed_id,
        [
            article("old", published_at=NOW - 3 * HOUR),
            article("newest", published_at=NOW - HOUR),
            article("middle", published_at=NOW - 2 * HOUR),
            article("tie-first", published_at=NOW - 4 * HOUR),
            article("tie-second", published_at=NOW - 4 * HOUR),
        ],
        now=NOW,
    )

    everything = [a.item_key for a in await db.articles.latest_articles(limit=10)]
    page_one = [a.item_key for a in await db.articles.latest_articles(limit=2)]
    page_two = [a.item_key for a in await db.articles.latest_articles(limit=2, offset=2)]
    page_three = [a.item_key for a in await db.articles.latest_articles(limit=2, offset=4)]
    beyond = await db.articles.latest_articles(limit=2, offset=5)

    # equal times: the later stored (higher id) first
    assert everything == ["newest", "middle", "old", "tie-second", "tie-first"]
    assert page_one == ["newest", "middle"]
    assert page_two == ["old", "tie-second"]
    assert page_three == ["tie-first"]
    assert beyond == []


async def test_latest_articles_default_to_ten(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.articles.store(
        feed_id, [article(f"a{i}", published_at=NOW - i) for i in range(12)], now=NOW
    )

    latest = await db.articles.latest_articles()

    assert [a.item_key for a in latest] == [f"a{i}" for i in range(10)]


async def test_latest_articles_by_topic(db: Database) -> None:
    feed_id = await add_feed(db)
    await db.articles.store(
        feed_id,
        [
            article("k1", published_at=NOW - 3 * HOUR, topics=("kinh-te",)),
            article("both", published_at=NOW - 2 * HOUR, topics=("kinh-te", "the-thao")),
            article("t1", published_at=NOW - HOUR, topics=("the-thao",)),
            article("none", published_at=NOW),
        ],
        now=NOW,
    )

    economy = await db.articles.latest_articles(topic="kinh-te")
    sport_page = await db.articles.latest_articles(topic="the-thao", limit=1, offset=1)

    assert [a.item_key for a in economy] == ["both", "k1"]
    assert economy[0].topics == ("kinh-te", "the-thao")  # all its topics, not just the asked
    assert [a.item_key for a in sport_page] == ["both"]
    assert await db.articles.latest_articles(topic="khong-co") == []


async def _store_for_search(db: Database) -> dict[str, int]:
    feed_id = await add_feed(db)
    outcome = await db.articles.store(
        feed_id,
        [
            article(
                "in-body",
                title="tin ngan buoi sang",
                body="bao lu mien trung gay thiet hai nang",
                published_at=NOW - 100,
            ),
            article(
                "in-title",
                title="bao lu mien trung",
                body="tin ngan buoi sang gay thiet hai nang",
                published_at=NOW - 5000,
            ),
            article(
                "one-word",
                title="bao chi viet nam",
                body="ngay hoi bao chi toan quoc",
                published_at=NOW - 50,
            ),
        ],
        now=NOW,
    )
    keys = ("in-body", "in-title", "one-word")
    return dict(zip(keys, outcome.new_ids, strict=True))


async def test_search_ranks_title_matches_first(db: Database) -> None:
    ids = await _store_for_search(db)

    hits = await db.articles.search_articles(["bao", "lu"])

    assert [a.id for a in hits] == [ids["in-title"], ids["in-body"]]
    assert hits[0].item_key == "in-title" and hits[0].feed_name == "Báo"


async def test_search_requires_every_word(db: Database) -> None:
    ids = await _store_for_search(db)

    assert [a.id for a in await db.articles.search_articles(["bao", "chi"])] == [ids["one-word"]]
    assert await db.articles.search_articles(["bao", "khongco"]) == []
    assert {a.id for a in await db.articles.search_articles(["bao"])} == set(ids.values())


async def test_search_words_need_not_be_adjacent_or_in_order(db: Database) -> None:
    ids = await _store_for_search(db)

    hits = await db.articles.search_articles(["trung", "bao"])

    assert {a.id for a in hits} == {ids["in-title"], ids["in-body"]}


async def test_search_with_no_words_finds_nothing(db: Database) -> None:
    await _store_for_search(db)

    assert await db.articles.search_articles([]) == []


async def test_search_pages_with_limit_and_offset(db: Database) -> None:
    ids = await _store_for_search(db)

    first = await db.articles.search_articles(["bao", "lu"], limit=1)
    second = await db.articles.search_articles(["bao", "lu"], limit=1, offset=1)
    third = await db.articles.search_articles(["bao", "lu"], limit=1, offset=2)

    assert [a.id for a in first] == [ids["in-title"]]
    assert [a.id for a in second] == [ids["in-body"]]
    assert third == []


async def test_search_pages_of_equal_matches_cover_them_all_once(db: Database) -> None:
    feed_id = await add_feed(db)
    new_ids = (
        await db.articles.store(
            feed_id,
            [
                article(
                    f"same{i}", title="tin sang", body="thuy dien mua kho", published_at=NOW + i
                )
                for i in range(5)
            ],
            now=NOW,
        )
    ).new_ids

    pages = [
        await db.articles.search_articles(["thuy"], limit=2, offset=offset) for offset in (0, 2, 4)
    ]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(a.id for page in pages for a in page) == sorted(new_ids)
    # Equal scores: newest first across pages, not only within one.
    assert [a.item_key for page in pages for a in page] == [f"same{i}" for i in (4, 3, 2, 1, 0)]
    everything = await db.articles.search_articles(["thuy"])
    assert [a.item_key for a in everything] == [f"same{i}" for i in reversed(range(5))]


async def test_search_pages_stay_stable_while_articles_arrive(db: Database) -> None:
    # A reader pages while the poller stores an older match: the order is total
    # (rank, then newest, then id), so page 2 neither repeats page 1 nor skips one.
    feed_id = await add_feed(db)
    await db.articles.store(
        feed_id,
        [article(f"a{i}", title="gia vang", published_at=NOW + i) for i in range(4)],
        now=NOW,
    )
    first = await db.articles.search_articles(["vang"], limit=2, offset=0)
    await db.articles.store(
        feed_id, [article("late", title="gia vang", published_at=NOW - DAY)], now=NOW + 1
    )
    second = await db.articles.search_articles(["vang"], limit=3, offset=2)
    keys = [a.item_key for a in first + second]
    assert keys == ["a3", "a2", "a1", "a0", "late"]


async def test_search_treats_query_syntax_as_plain_words(db: Database) -> None:
    await _store_for_search(db)

    for words in (['"'], ["*"], ["and"], ["not"], ['a"b'], ["("], ["or", "not"], ["bao", "or"]):
        assert await db.articles.search_articles(words) == [], words
    # "*" is no prefix operator, and NOT no negation
    assert await db.articles.search_articles(["ba*"]) == []
    assert await db.articles.search_articles(["bao", "NOT", "lu"]) == []


async def test_count_articles(db: Database) -> None:
    assert await db.articles.count_articles() == 0
    feed_id = await add_feed(db)
    await db.articles.store(feed_id, [article("a"), article("b"), article("c")], now=NOW)

    assert await db.articles.count_articles() == 3
