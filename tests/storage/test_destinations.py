"""DestinationStore: channels, groups and forum topics; their posts queued with articles."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from storage.api import Database
from storage.rows import ArticleInput, DestinationSpec, StoryRule
from tests.storage.support import DAY, HOUR, NOW, add_feed, add_reader, article

CHANNEL = -1001000000001
FORUM = -1001000000002
GROUP = -4001
ADMIN = 42


def channel(**changes: object) -> DestinationSpec:
    values: dict[str, object] = {
        "chat_id": CHANNEL,
        "chat_type": "channel",
        "title": "Kênh Báo",
        "topics": ("kinh-te",),
    }
    values.update(changes)
    return DestinationSpec(**values)  # type: ignore[arg-type]


async def store_new(db: Database, feed_id: int, key: str, *, topics: tuple[str, ...]) -> int:
    outcome = await db.articles.store(
        feed_id, [article(key, topics=topics)], now=NOW, alert_keys=frozenset({key})
    )
    [article_id] = outcome.new_ids
    return article_id


async def test_add_find_and_list(db: Database) -> None:
    destination_id, new = await db.destinations.add(channel(), added_by=ADMIN, now=NOW)

    assert new is True
    found = await db.destinations.find(CHANNEL)
    assert found is not None and found.id == destination_id
    assert (found.chat_type, found.title, found.origin) == ("channel", "Kênh Báo", "telegram")
    assert (found.thread_id, found.topics, found.feed_ids) == (None, ("kinh-te",), ())
    assert (found.style, found.hashtags, found.silent) == ("photo", False, False)
    assert (found.added_by, found.paused_at, found.last_post_at) == (ADMIN, None, None)
    assert await db.destinations.get(destination_id) == found
    assert await db.destinations.list_all() == [found]
    assert await db.destinations.find(CHANNEL, 5) is None
    assert await db.destinations.get(destination_id + 1) is None


async def test_adding_a_known_destination_keeps_its_topics_and_lifts_a_pause(db: Database) -> None:
    destination_id, _ = await db.destinations.add(channel(), added_by=ADMIN, now=NOW)
    await db.destinations.pause(destination_id, "bot was kicked", now=NOW)

    again, new = await db.destinations.add(
        channel(title="Kênh mới", topics=()), added_by=None, now=NOW + 1
    )

    row = await db.destinations.get(destination_id)
    assert (again, new) == (destination_id, False)
    assert row is not None
    assert (row.title, row.topics, row.paused_at, row.added_by) == (
        "Kênh mới",
        ("kinh-te",),
        None,
        ADMIN,
    )


async def test_forum_topics_of_one_chat_are_separate_destinations(db: Database) -> None:
    first, _ = await db.destinations.add(
        DestinationSpec(FORUM, "supergroup", "Diễn đàn", thread_id=11), added_by=ADMIN, now=NOW
    )
    second, _ = await db.destinations.add(
        DestinationSpec(FORUM, "supergroup", "Diễn đàn", thread_id=12), added_by=ADMIN, now=NOW
    )

    assert first != second
    found = await db.destinations.find(FORUM, 12)
    assert found is not None and (found.id, found.thread_id) == (second, 12)
    assert await db.destinations.find(FORUM) is None


async def test_sync_config_adds_updates_and_removes_only_its_own(db: Database) -> None:
    feed_id = await add_feed(db, "https://bao.example.vn/rss")
    from_chat, _ = await db.destinations.add(
        DestinationSpec(GROUP, "group", "Nhóm"), added_by=ADMIN, now=NOW
    )
    specs = [
        channel(feed_urls=("https://bao.example.vn/rss", "https://unknown.example/rss")),
        DestinationSpec(FORUM, "supergroup", "Diễn đàn", thread_id=7, topics=("the-gioi",)),
    ]

    assert await db.destinations.sync_config(specs, now=NOW) == 2
    row = await db.destinations.find(CHANNEL)
    assert row is not None
    assert (row.origin, row.topics, row.feed_ids) == ("config", ("kinh-te",), (feed_id,))
    await db.destinations.pause(row.id, "not enough rights", now=NOW)

    changed = [channel(topics=("the-gioi", "kinh-te"), style="text", hashtags=True, silent=True)]
    assert await db.destinations.sync_config(changed, now=NOW + 10) == 0

    kept = await db.destinations.find(CHANNEL)
    assert kept is not None and kept.id == row.id
    assert (kept.topics, kept.feed_ids) == (("kinh-te", "the-gioi"), ())
    assert (kept.style, kept.hashtags, kept.silent) == ("text", True, True)
    assert kept.pause_reason == "not enough rights"  # the file does not lift a pause
    assert await db.destinations.find(FORUM, 7) is None  # left the file
    assert await db.destinations.get(from_chat) is not None  # added in Telegram: untouched


async def test_a_new_article_is_queued_once_per_routed_destination(db: Database) -> None:
    feed_id = await add_feed(db, "https://bao.example.vn/rss", topics=("kinh-te",))
    other_feed = await add_feed(db, "https://khac.example.vn/rss")
    by_topic, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    await db.destinations.sync_config(
        [DestinationSpec(GROUP, "group", feed_urls=("https://khac.example.vn/rss",))], now=NOW
    )
    topic_11, _ = await db.destinations.add(
        DestinationSpec(FORUM, "supergroup", thread_id=11, topics=("kinh-te",)),
        added_by=None,
        now=NOW,
    )
    topic_12, _ = await db.destinations.add(
        DestinationSpec(FORUM, "supergroup", thread_id=12, topics=("the-gioi",)),
        added_by=None,
        now=NOW,
    )
    await add_reader(db, 7, topics=["kinh-te"])

    economy = await store_new(db, feed_id, "a1", topics=("kinh-te",))
    from_source = await store_new(db, other_feed, "b1", topics=("the-thao",))

    posts = [r for r in await db.outbox.pending() if r.destination_id is not None]
    group = await db.destinations.find(GROUP)
    assert group is not None
    assert sorted((r.destination_id, r.chat_id, r.article_id) for r in posts) == sorted(
        [
            (by_topic, CHANNEL, economy),
            (topic_11, FORUM, economy),
            (group.id, GROUP, from_source),
        ]
    )
    assert topic_12 not in {r.destination_id for r in posts}
    reader_rows = await db.outbox.rows_for_chat(7)
    assert [(r.article_id, r.destination_id) for r in reader_rows] == [(economy, None)]

    # The same article stored again (an edit) queues nothing more.
    await db.articles.store(feed_id, [article("a1", topics=("kinh-te",), title="sửa")], now=NOW)
    assert len([r for r in await db.outbox.pending() if r.destination_id]) == 3


async def test_no_posts_without_alert_keys_or_while_paused(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)

    first_poll = await db.articles.store(feed_id, [article("a1", topics=("kinh-te",))], now=NOW)
    await db.destinations.pause(destination_id, "kicked", now=NOW)
    later = await store_new(db, feed_id, "a2", topics=("kinh-te",))

    assert first_poll.posts_queued == 0
    assert later and await db.outbox.pending() == []


async def test_pause_drops_queued_posts_and_reports_only_the_first_time(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    await store_new(db, feed_id, "a1", topics=("kinh-te",))

    assert await db.destinations.pause(destination_id, "not enough rights", now=NOW) is True
    assert await db.destinations.pause(destination_id, "again", now=NOW + 1) is False

    row = await db.destinations.get(destination_id)
    assert row is not None and (row.paused_at, row.pause_reason) == (NOW, "not enough rights")
    [dropped] = await db.outbox.rows_for_chat(CHANNEL)
    assert dropped.status == "dropped"
    assert await db.destinations.resume(destination_id) is True
    assert await db.destinations.resume(destination_id) is False
    resumed = await db.destinations.get(destination_id)
    assert resumed is not None and resumed.paused_at is None
    await store_new(db, feed_id, "a2", topics=("kinh-te",))
    assert len(await db.outbox.pending()) == 1


async def test_pause_chat_pauses_every_route_of_that_chat_only(db: Database) -> None:
    ids = [
        (
            await db.destinations.add(
                DestinationSpec(FORUM, "supergroup", thread_id=n), added_by=None, now=NOW
            )
        )[0]
        for n in (11, 12)
    ]
    other, _ = await db.destinations.add(channel(), added_by=None, now=NOW)

    assert await db.destinations.pause_chat(FORUM, "bot was kicked", now=NOW) == sorted(ids)
    assert await db.destinations.pause_chat(FORUM, "bot was kicked", now=NOW) == []
    still = await db.destinations.get(other)
    assert still is not None and still.paused_at is None


async def test_remove_forgets_the_destination_and_its_posts(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    await store_new(db, feed_id, "a1", topics=("kinh-te",))

    assert await db.destinations.remove(destination_id) is True
    assert await db.destinations.remove(destination_id) is False
    assert await db.destinations.list_all() == []
    assert await db.outbox.rows_for_chat(CHANNEL) == []


async def test_move_chat_takes_destinations_and_queued_posts_along(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(
        DestinationSpec(GROUP, "group", topics=("kinh-te",)), added_by=None, now=NOW
    )
    await store_new(db, feed_id, "a1", topics=("kinh-te",))

    assert await db.destinations.move_chat(GROUP, FORUM) == 1

    moved = await db.destinations.get(destination_id)
    assert moved is not None and (moved.chat_id, moved.chat_type) == (FORUM, "supergroup")
    assert await db.outbox.rows_for_chat(GROUP) == []
    [post] = await db.outbox.rows_for_chat(FORUM)
    assert post.destination_id == destination_id


async def test_last_post_is_the_latest_sent(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    await store_new(db, feed_id, "a1", topics=("kinh-te",))
    [post] = await db.outbox.claim_due(now=NOW, limit=10)

    await db.outbox.mark_sent_many([(post.id, 9)], now=NOW + 30)

    row = await db.destinations.get(destination_id)
    assert row is not None and row.last_post_at == NOW + 30


async def test_broadcast_audiences(db: Database) -> None:
    await add_reader(db, 1, topics=["kinh-te"])
    await add_reader(db, 2, topics=["the-gioi"])
    economy, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    world, _ = await db.destinations.add(
        DestinationSpec(FORUM, "supergroup", thread_id=3, topics=("the-gioi",)),
        added_by=None,
        now=NOW,
    )
    paused, _ = await db.destinations.add(DestinationSpec(GROUP, "group"), added_by=None, now=NOW)
    await db.destinations.pause(paused, "kicked", now=NOW)

    count = db.broadcasts.count_recipients
    assert await count(None) == 2
    assert await count(None, audience="all") == 4
    assert await count(None, audience="destinations") == 2
    assert await count("kinh-te", audience="all") == 2

    queued = {}
    for audience in ("readers", "all", "destinations"):
        broadcast_id = await db.broadcasts.create_draft(
            admin_id=ADMIN, text="Tin", parse_mode=None, topic=None, now=NOW, audience=audience
        )
        row = await db.broadcasts.get(broadcast_id)
        assert row is not None and row.audience == audience
        queued[audience] = await db.broadcasts.confirm(
            broadcast_id, progress_chat_id=ADMIN, progress_message_id=1, now=NOW
        )
        again = await db.broadcasts.confirm(
            broadcast_id, progress_chat_id=ADMIN, progress_message_id=1, now=NOW
        )
        assert again is None
    assert queued == {"readers": 2, "all": 4, "destinations": 2}
    posts = [r for r in await db.outbox.pending(limit=50) if r.destination_id is not None]
    assert sorted(r.destination_id or 0 for r in posts) == sorted([economy, world] * 2)
    assert {r.kind for r in posts} == {"broadcast"}


async def test_sync_config_can_keep_entries_it_could_not_look_up(db: Database) -> None:
    await db.destinations.sync_config([channel(), DestinationSpec(GROUP, "group")], now=NOW)

    await db.destinations.sync_config([channel()], now=NOW + 1, remove_missing=False)

    assert {d.chat_id for d in await db.destinations.list_all()} == {CHANNEL, GROUP}


async def test_set_options_changes_only_what_is_given(db: Database) -> None:
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)

    assert await db.destinations.set_options(destination_id, style="text", silent=True)
    assert await db.destinations.set_options(destination_id + 1, hashtags=True) is False

    row = await db.destinations.get(destination_id)
    assert row is not None and (row.style, row.hashtags, row.silent) == ("text", False, True)
    assert await db.destinations.set_options(destination_id, hashtags=True, silent=False)
    again = await db.destinations.get(destination_id)
    assert again is not None and (again.style, again.hashtags, again.silent) == (
        "text",
        True,
        False,
    )


def same_signature(signature: bytes, candidates: Sequence[tuple[int, bytes]]) -> int | None:
    return next((story for story, theirs in candidates if theirs == signature), None)


STORIES = StoryRule(match=same_signature, window=6 * HOUR, keep=2 * DAY)


def of_story(key: str, story: str) -> ArticleInput:
    return dataclasses.replace(
        article(key, topics=("kinh-te",)), story_signature=story.encode(), story_bands=(1, 2)
    )


async def test_a_story_from_several_outlets_is_posted_once(db: Database) -> None:
    feeds = [await add_feed(db, f"https://bao{i}.example.vn/rss") for i in range(3)]
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    stored = []
    for feed_id, key, story in zip(feeds, "abc", ["chay rung", "chay rung", "bao lu"], strict=True):
        outcome = await db.articles.store(
            feed_id, [of_story(key, story)], now=NOW, alert_keys=frozenset({key}), stories=STORIES
        )
        stored.append(outcome.new_ids[0])

    posts = [r.article_id for r in await db.outbox.rows_for_chat(CHANNEL)]
    assert posts == [stored[0], stored[2]]  # the second outlet's copy of the story is not
    assert all(r.destination_id == destination_id for r in await db.outbox.pending())


async def test_a_correction_edits_readers_alerts_and_destination_posts(db: Database) -> None:
    feed_id = await add_feed(db, topics=("kinh-te",))
    destination_id, _ = await db.destinations.add(channel(), added_by=None, now=NOW)
    await add_reader(db, 7, topics=["kinh-te"])
    await store_new(db, feed_id, "a1", topics=("kinh-te",))
    sent = await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent_many([(row.id, 100 + row.id) for row in sent], now=NOW)

    fixed = dataclasses.replace(article("a1", topics=("kinh-te",)), title="tieu de da sua")
    outcome = await db.articles.store(feed_id, [fixed], now=NOW + HOUR, edits_since=NOW - DAY)

    assert outcome.edits_queued == 2
    edits = {(r.chat_id, r.destination_id, r.edits_message_id) for r in await db.outbox.pending()}
    assert edits == {(7, None, 100 + r.id) for r in sent if r.chat_id == 7} | {
        (CHANNEL, destination_id, 100 + r.id) for r in sent if r.chat_id == CHANNEL
    }
