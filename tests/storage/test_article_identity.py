"""One article per canonical URL across feeds; one article per story inside a feed whose
guids change; search pages fixed to what was stored when the search began."""

from __future__ import annotations

from storage.api import Database
from tests.storage.support import DAY, HOUR, NOW, add_feed, add_reader, article

LINK = "https://vnexpress.net/gia-vang-4790123.html"


async def _two_feeds(db: Database) -> tuple[int, int]:
    one = await add_feed(db, "https://vnexpress.net/rss/kinh-te.rss", topics=("kinh-te",))
    two = await add_feed(db, "https://vnexpress.net/rss/tin-moi-nhat.rss", topics=("thoi-su",))
    return one, two


async def test_the_same_url_from_two_feeds_is_one_article_in_both_feeds_topics(
    db: Database,
) -> None:
    one, two = await _two_feeds(db)
    first = await db.articles.store(one, [article("k-1", url=LINK, topics=("kinh-te",))], now=NOW)

    second = await db.articles.store(
        two, [article("t-9", url=LINK, topics=("thoi-su",))], now=NOW + 60
    )

    [article_id] = first.new_ids
    assert second.new_ids == [] and second.merged_ids == [article_id]
    assert await db.articles.count_articles() == 1
    row = await db.articles.get_article(article_id)
    assert row is not None
    assert row.topics == ("kinh-te", "thoi-su")
    assert row.feed_id == one and row.item_key == "k-1"  # the feed that stored it first
    assert await db.articles.existing_keys(two, ["t-9"]) == {"t-9"}
    assert [a.id for a in await db.articles.latest_articles(topic="thoi-su")] == [article_id]
    assert [a.id for a in await db.articles.search_articles(["tieu"])] == [article_id]


async def test_the_second_feed_alerts_only_readers_the_first_did_not(db: Database) -> None:
    one, two = await _two_feeds(db)
    await add_reader(db, 1, topics=["kinh-te"])
    await add_reader(db, 2, topics=["thoi-su"])
    await add_reader(db, 3, topics=["kinh-te", "thoi-su"])
    first = await db.articles.store(
        one, [article("k-1", url=LINK, topics=("kinh-te",))], now=NOW, alert_keys=frozenset({"k-1"})
    )

    second = await db.articles.store(
        two,
        [article("t-9", url=LINK, topics=("thoi-su",))],
        now=NOW + 60,
        alert_keys=frozenset({"t-9"}),
    )

    [article_id] = first.new_ids
    assert (first.alerts_queued, second.alerts_queued) == (2, 1)
    for chat in (1, 2, 3):
        assert [r.dedup_key for r in await db.outbox.rows_for_chat(chat)] == [
            f"article:{article_id}"
        ]


async def test_one_url_twice_in_one_document_is_one_article(db: Database) -> None:
    one, _ = await _two_feeds(db)
    await add_reader(db, 1, topics=["kinh-te"])

    outcome = await db.articles.store(
        one,
        [article("guid-a", url=LINK, topics=("kinh-te",)), article("guid-b", url=LINK)],
        now=NOW,
        alert_keys=frozenset({"guid-a", "guid-b"}),
    )

    assert len(outcome.new_ids) == 1 and outcome.merged_ids == outcome.new_ids
    assert outcome.alerts_queued == 1
    assert await db.articles.count_articles() == 1
    assert await db.articles.existing_keys(one, ["guid-a", "guid-b"]) == {"guid-a", "guid-b"}


async def test_new_guids_for_stored_links_merge_silently(db: Database) -> None:
    # A CMS migration: every guid changes, the links stay.
    one, _ = await _two_feeds(db)
    await add_reader(db, 1, topics=["kinh-te"])
    old = [
        article(f"old-{i}", title=f"tin {i}", url=f"https://vnexpress.net/a-{i}.html")
        for i in range(3)
    ]
    await db.articles.store(one, old, now=NOW)
    moved = [
        article(
            f"new-{i}",
            title=f"tin {i}",
            url=f"https://vnexpress.net/a-{i}.html",
            topics=("kinh-te",),
        )
        for i in range(3)
    ]

    assert await db.articles.known_items(one, moved) == {"new-0", "new-1", "new-2"}
    outcome = await db.articles.store(
        one, moved, now=NOW + HOUR, alert_keys=frozenset(a.item_key for a in moved)
    )

    assert outcome.new_ids == [] and len(outcome.merged_ids) == 3
    assert outcome.alerts_queued == 0 and outcome.alerted_articles == 0
    assert await db.articles.count_articles() == 3
    assert await db.outbox.rows_for_chat(1) == []
    again = await db.articles.store(one, moved, now=NOW + 2 * HOUR)
    assert again.new_ids == [] and again.merged_ids == [] and again.updated == 0


async def test_new_guids_and_links_match_this_feeds_titles_of_the_same_hours(
    db: Database,
) -> None:
    one, two = await _two_feeds(db)
    await db.articles.store(
        one,
        [article("old-1", title="gia vang tang", url="https://vnexpress.net/old/1")],
        now=NOW,
    )
    moved = article(
        "new-1", title="gia vang tang", url="https://vnexpress.net/new/1", published_at=NOW
    )
    next_day = article(
        "new-2", title="gia vang tang", url="https://vnexpress.net/new/2", published_at=NOW + DAY
    )
    elsewhere = article("x-1", title="gia vang tang", url="https://vietnamnet.vn/x/1")

    assert await db.articles.known_items(one, [moved, next_day]) == {"new-1"}
    assert await db.articles.known_items(two, [elsewhere]) == set()
    outcome = await db.articles.store(one, [moved, next_day], now=NOW + HOUR)
    assert len(outcome.merged_ids) == 1 and len(outcome.new_ids) == 1
    # The same title still listed under its old key is another story, not a migration.
    still_there = article("old-1", title="gia vang tang", url="https://vnexpress.net/old/1")
    twin = article("twin", title="gia vang tang", url="https://vnexpress.net/twin")
    assert await db.articles.known_items(one, [still_there, twin]) == {"old-1"}


async def test_one_new_item_with_an_old_title_is_a_new_story(db: Database) -> None:
    # A normal poll: one new story among known ones, titled like an older one that has
    # left the document. Only a document mostly new (a migration) is matched by title.
    one, _ = await _two_feeds(db)
    await add_reader(db, 1, topics=["kinh-te"])
    listed = [article(f"k{i}", url=f"https://vnexpress.net/k{i}") for i in range(4)]
    await db.articles.store(
        one, [article("old", title="gia vang tang", url="https://vnexpress.net/old"), *listed],
        now=NOW,
    )  # fmt: skip
    update = article(
        "new", title="gia vang tang", url="https://vnexpress.net/new", topics=("kinh-te",),
        published_at=NOW,
    )  # fmt: skip

    assert await db.articles.known_items(one, [update, *listed]) == {f"k{i}" for i in range(4)}
    outcome = await db.articles.store(
        one, [update, *listed], now=NOW + HOUR, alert_keys=frozenset({"new"})
    )
    assert len(outcome.new_ids) == 1 and outcome.merged_ids == []
    assert outcome.alerts_queued == 1


async def test_an_item_without_a_link_is_stored_by_its_key(db: Database) -> None:
    one, two = await _two_feeds(db)
    outcome = await db.articles.store(one, [article("miss-c", url="")], now=NOW)

    [article_id] = outcome.new_ids
    row = await db.articles.get_article(article_id)
    assert row is not None and row.url == ""
    # Another linkless item elsewhere is another article: no URL, no identity to share.
    other = await db.articles.store(two, [article("miss-c", url="", title="khac")], now=NOW)
    assert len(other.new_ids) == 1


async def test_only_the_first_feed_edits_a_shared_article(db: Database) -> None:
    one, two = await _two_feeds(db)
    [article_id] = (
        await db.articles.store(one, [article("k-1", url=LINK, title="ban goc")], now=NOW)
    ).new_ids
    await db.articles.store(two, [article("t-9", url=LINK, title="ban khac")], now=NOW)

    # The other feed's wording never overwrites it, poll after poll.
    again = await db.articles.store(two, [article("t-9", url=LINK, title="ban khac")], now=NOW)
    assert again.updated == 0
    edited = await db.articles.store(
        one, [article("k-1", url=LINK, title="ban sua")], now=NOW + HOUR
    )
    assert edited.updated == 1
    row = await db.articles.get_article(article_id)
    assert row is not None and row.title == "ban sua"


async def test_search_pages_exclude_articles_stored_after_the_first_page(db: Database) -> None:
    # Page 1, then the poller stores better and newer matches, then page 2: the
    # reader pages through the results as they were, none repeated, none skipped.
    feed_id = await add_feed(db)
    await db.articles.store(
        feed_id,
        [
            article(f"a{i}", title="gia vang", body="gia vang " * (i + 1), published_at=NOW + i)
            for i in range(6)
        ],
        now=NOW,
    )
    everything = [a.id for a in await db.articles.search_articles(["vang"])]
    as_of = await db.articles.newest_article_id()
    first = await db.articles.search_articles(["vang"], limit=3, as_of=as_of)
    await db.articles.store(
        feed_id,
        [
            article(f"late{i}", title="gia vang gia vang", body="vang", published_at=NOW + DAY)
            for i in range(4)
        ],
        now=NOW + 1,
    )
    second = await db.articles.search_articles(["vang"], limit=3, offset=3, as_of=as_of)

    assert [a.id for a in first + second] == everything
    assert len(await db.articles.search_articles(["vang"])) == 10


async def test_newest_article_id(db: Database) -> None:
    assert await db.articles.newest_article_id() == 0
    feed_id = await add_feed(db)
    ids = (await db.articles.store(feed_id, [article("a"), article("b")], now=NOW)).new_ids
    assert await db.articles.newest_article_id() == max(ids)
