"""ArticleStore stories and edits: grouping across feeds and calls, one alert per story,
and sent alerts queued for editing after a correction.

The rule here is a stand-in for bot.ingest.stories (equal signatures are one story),
so these tests hold the store's part: candidates by band and time, the story id kept,
the alerts held back, the signatures forgotten when old.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from storage.api import Database
from storage.rows import ArticleInput, StoryRule
from tests.storage.support import DAY, HOUR, NOW, add_feed, add_reader, article


def same_signature(signature: bytes, candidates: Sequence[tuple[int, bytes]]) -> int | None:
    return next((story for story, theirs in candidates if theirs == signature), None)


RULE = StoryRule(match=same_signature, window=6 * HOUR, keep=2 * DAY)


def told(key: str, story: str, *, published_at: int = NOW - HOUR, band: int = 1) -> ArticleInput:
    """An article whose signature names its story; all share band 1 unless told otherwise."""
    return dataclasses.replace(
        article(key, published_at=published_at, topics=("kinh-te",)),
        story_signature=story.encode(),
        story_bands=(band, 2**62 + 7),
    )


async def store(
    db: Database, feed_id: int, item: ArticleInput, *, now: int = NOW, alert: bool = True
) -> int:
    outcome = await db.articles.store(
        feed_id,
        [item],
        now=now,
        alert_keys=frozenset({item.item_key}) if alert else frozenset(),
        stories=RULE,
    )
    [article_id] = outcome.new_ids
    return article_id


async def story_of(db: Database, article_id: int) -> int | None:
    row = await db.articles.get_article(article_id)
    assert row is not None
    return row.story_id


async def test_three_outlets_one_story_one_alert(db: Database) -> None:
    feeds = [
        await add_feed(db, f"https://bao{i}.example.vn/rss", name=f"Báo {i}") for i in range(3)
    ]
    await add_reader(db, 1, topics=["kinh-te"])

    first = await store(db, feeds[0], told("a", "chay xuong go"))
    second = await store(db, feeds[1], told("b", "chay xuong go", published_at=NOW - 2 * HOUR))
    third = await store(db, feeds[2], told("c", "chay xuong go", published_at=NOW))

    assert [await story_of(db, i) for i in (first, second, third)] == [first, first, first]
    assert [r.article_id for r in await db.outbox.rows_for_chat(1)] == [first]


async def test_a_reader_not_yet_alerted_to_the_story_gets_it(db: Database) -> None:
    feed_a, feed_b = await add_feed(db, "https://a.vn/rss"), await add_feed(db, "https://b.vn/rss")
    await add_reader(db, 1, topics=["kinh-te"])
    first = await store(db, feed_a, told("a", "same"))
    await add_reader(db, 2, topics=["kinh-te"])  # subscribed after the first alert

    second = await store(db, feed_b, told("b", "same"))

    assert [r.article_id for r in await db.outbox.rows_for_chat(1)] == [first]
    assert [r.article_id for r in await db.outbox.rows_for_chat(2)] == [second]


async def test_different_stories_sharing_a_band_are_two_stories(db: Database) -> None:
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])

    first = await store(db, feed_id, told("a", "chay o hoang mai"))
    second = await store(db, feed_id, told("b", "chay o cau giay"))

    assert (await story_of(db, first), await story_of(db, second)) == (first, second)
    assert [r.article_id for r in await db.outbox.rows_for_chat(1)] == [first, second]


async def test_only_articles_published_close_together_are_one_story(db: Database) -> None:
    feed_id = await add_feed(db)
    first = await store(db, feed_id, told("a", "gia vang", published_at=NOW - 20 * HOUR))

    later = await store(db, feed_id, told("b", "gia vang", published_at=NOW))
    no_band = await store(db, feed_id, told("c", "gia vang", published_at=NOW - 20 * HOUR, band=5))

    assert await story_of(db, later) == later
    # "c" shares only the second band key with "a": still a candidate, and the same story
    assert await story_of(db, no_band) == first


async def test_candidates_share_as_many_bands_as_the_rule_asks(db: Database) -> None:
    feed_id = await add_feed(db)
    strict = dataclasses.replace(RULE, min_shared_bands=2)
    outcome = await db.articles.store(feed_id, [told("a", "x")], now=NOW, stories=strict)
    [first] = outcome.new_ids

    one_band = await db.articles.store(feed_id, [told("b", "x", band=5)], now=NOW, stories=strict)
    two_bands = await db.articles.store(feed_id, [told("c", "x")], now=NOW, stories=strict)
    in_batch = await db.articles.store(
        feed_id, [told("d", "y", band=9), told("e", "y", band=9)], now=NOW, stories=strict
    )

    assert [await story_of(db, i) for i in one_band.new_ids] == one_band.new_ids
    assert [await story_of(db, i) for i in two_bands.new_ids] == [first]
    d, e = in_batch.new_ids
    assert (await story_of(db, d), await story_of(db, e)) == (d, d)


async def test_a_story_in_one_batch_and_without_signature(db: Database) -> None:
    feed_id = await add_feed(db)
    outcome = await db.articles.store(
        feed_id,
        [told("a", "x"), told("b", "x"), article("c")],
        now=NOW,
        stories=RULE,
    )
    a, b, c = outcome.new_ids

    assert (await story_of(db, a), await story_of(db, b), await story_of(db, c)) == (a, a, c)
    assert outcome.joined_stories == 1


async def test_old_signatures_are_forgotten(db: Database) -> None:
    feed_id = await add_feed(db)
    await store(db, feed_id, told("a", "x", published_at=NOW))

    # Three days on, an article dated (wrongly) next to the first finds nothing to join.
    late = await store(db, feed_id, told("b", "x", published_at=NOW), now=NOW + 3 * DAY)

    assert await story_of(db, late) == late


async def test_without_a_rule_every_article_is_its_own_story(db: Database) -> None:
    feed_id = await add_feed(db)
    outcome = await db.articles.store(feed_id, [told("a", "x"), told("b", "x")], now=NOW)

    assert [await story_of(db, i) for i in outcome.new_ids] == outcome.new_ids


# edits


async def sent_alert(db: Database) -> tuple[int, int, int]:
    """A reader alerted to one article, the message sent: (feed, article, outbox row)."""
    feed_id = await add_feed(db)
    await add_reader(db, 1, topics=["kinh-te"])
    article_id = await store(db, feed_id, told("a", "x"))
    [row] = await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(row.id, message_id=555, now=NOW)
    return feed_id, article_id, row.id


def corrected(title: str = "tieu de da sua", *, summary: str | None = None) -> ArticleInput:
    original = told("a", "x")
    return dataclasses.replace(
        original, title=title, search_title=title, summary=summary or original.summary
    )


async def test_a_correction_queues_one_edit_of_each_sent_alert(db: Database) -> None:
    feed_id, article_id, row_id = await sent_alert(db)

    outcome = await db.articles.store(
        feed_id, [corrected()], now=NOW + HOUR, edits_since=NOW + HOUR - 2 * DAY
    )

    assert (outcome.updated, outcome.edits_queued) == (1, 1)
    [edit] = await db.outbox.pending()
    assert (edit.chat_id, edit.article_id, edit.edits_message_id) == (1, article_id, 555)
    assert edit.kind == "alert"
    # the same correction seen again, or the edit itself sent: nothing more to edit
    again = await db.articles.store(
        feed_id, [corrected()], now=NOW + 2 * HOUR, edits_since=NOW - DAY
    )
    assert again.edits_queued == 0
    [claimed] = await db.outbox.claim_due(now=NOW + 2 * HOUR, limit=10)
    await db.outbox.mark_sent(claimed.id, message_id=555, now=NOW + 2 * HOUR)
    lead = await db.articles.store(
        feed_id,
        [corrected(summary="mo dau moi")],
        now=NOW + 3 * HOUR,
        edits_since=NOW - DAY,
    )
    assert lead.edits_queued == 1  # a lead corrected: the original alert, not the edit row
    assert [r.edits_message_id for r in await db.outbox.pending()] == [555]
    assert row_id not in [r.id for r in await db.outbox.pending()]


async def test_no_edit_for_old_messages_or_other_changes(db: Database) -> None:
    feed_id, _, _ = await sent_alert(db)

    old = await db.articles.store(
        feed_id, [corrected()], now=NOW + 3 * DAY, edits_since=NOW + 3 * DAY - 2 * DAY
    )
    body = await db.articles.store(
        feed_id,
        [dataclasses.replace(corrected(), content_text="them mot doan")],
        now=NOW + 3 * DAY,
        edits_since=NOW - DAY,
    )
    silent = await db.articles.store(feed_id, [corrected("lan nua")], now=NOW + HOUR)

    assert (old.updated, old.edits_queued) == (1, 0)
    assert (body.updated, body.edits_queued) == (1, 0)  # only the text, not title or lead
    assert (silent.updated, silent.edits_queued) == (1, 0)  # no edits_since: no edits
    assert await db.outbox.pending() == []


# search and digests


async def test_search_shows_one_row_per_story_naming_the_other_outlets(db: Database) -> None:
    feed_a = await add_feed(db, "https://a.vn/rss", name="VnExpress")
    feed_b = await add_feed(db, "https://b.vn/rss", name="VietNamNet")
    feed_c = await add_feed(db, "https://c.vn/rss", name="SGGP")
    first = await store(db, feed_a, told("a", "same", published_at=NOW - 2 * HOUR))
    await store(db, feed_b, told("b", "same", published_at=NOW - HOUR))
    await store(db, feed_c, told("c", "same", published_at=NOW - 30))
    alone = await store(db, feed_c, told("d", "other"))

    found = await db.articles.search_articles(["tieu", "de"], limit=10)

    assert sorted(a.story_id for a in found if a.story_id is not None) == sorted([first, alone])
    [story] = [a for a in found if a.story_id == first]
    assert set((story.feed_name, *story.also_in)) == {"VnExpress", "VietNamNet", "SGGP"}
    assert story.feed_name not in story.also_in
    [single] = [a for a in found if a.id == alone]
    assert single.also_in == ()
    # paging counts stories: the second page holds nothing the first did
    page_1 = await db.articles.search_articles(["tieu", "de"], limit=1)
    page_2 = await db.articles.search_articles(["tieu", "de"], limit=1, offset=1)
    assert len(page_1) == len(page_2) == 1 and page_1[0].story_id != page_2[0].story_id


async def test_a_digest_leaves_out_a_story_already_alerted_from_another_outlet(
    db: Database,
) -> None:
    feed_a, feed_b = await add_feed(db, "https://a.vn/rss"), await add_feed(db, "https://b.vn/rss")
    await add_reader(db, 1, topics=["kinh-te"])
    await store(db, feed_a, told("a", "same"))  # reader 1 alerted
    await db.subscribers.set_mode(1, "digest", now=NOW)
    second = await store(db, feed_b, told("b", "same"), now=NOW + 60)
    other = await store(db, feed_b, told("c", "other"), now=NOW + 60)

    found = await db.digests.topic_articles(1, since=NOW, until=NOW + 60, limit=10)

    assert [a.id for a in found] == [other]
    assert second not in [a.id for a in found]
