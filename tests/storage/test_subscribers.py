"""SubscriberStore: readers, their settings, the topics and keywords they follow."""

from __future__ import annotations

import pytest

from storage.api import Database
from storage.rows import LOCAL_HOLDER, KeywordAlertRow, SubscriberRow
from tests.storage.support import NOW, add_reader, enqueue_reply


async def test_ensure_subscriber_creates_a_reader_with_defaults(db: Database) -> None:
    assert await db.subscribers.ensure_subscriber(1, now=NOW) is True

    assert await db.subscribers.get_subscriber(1) == SubscriberRow(
        chat_id=1,
        chat_type="private",
        language="vi",
        timezone="Asia/Ho_Chi_Minh",
        mode="instant",
        digest_hour=7,
        quiet_start=None,
        quiet_end=None,
        active=True,
        inactive_reason=None,
        last_digest_on=None,
    )


async def test_ensure_subscriber_takes_type_language_and_zone(db: Database) -> None:
    await db.subscribers.ensure_subscriber(
        -100, now=NOW, chat_type="group", language="en", timezone="Europe/Berlin"
    )

    reader = await db.subscribers.get_subscriber(-100)
    assert reader is not None
    assert (reader.chat_type, reader.language, reader.timezone) == (
        "group",
        "en",
        "Europe/Berlin",
    )


async def test_ensure_subscriber_of_a_known_reader_changes_nothing(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)
    await db.subscribers.update_settings(1, mode="digest", now=NOW)
    before = await db.subscribers.get_subscriber(1)

    again = await db.subscribers.ensure_subscriber(1, now=NOW + 60, language="en")

    assert again is False
    assert await db.subscribers.get_subscriber(1) == before


async def test_ensure_subscriber_reactivates_a_reader_who_left(db: Database) -> None:
    await add_reader(db, 1, mode="digest", topics=["kinh-te"])
    await db.subscribers.deactivate(1, "blocked", now=NOW)

    back = await db.subscribers.ensure_subscriber(1, now=NOW + 60, language="en")

    assert back is True
    reader = await db.subscribers.get_subscriber(1)
    assert reader is not None
    assert reader.active is True and reader.inactive_reason is None
    assert reader.mode == "digest" and reader.language == "vi"  # settings kept
    assert await db.subscribers.topic_subscriptions(1) == ["kinh-te"]


async def test_get_subscriber_of_an_unknown_chat_is_none(db: Database) -> None:
    assert await db.subscribers.get_subscriber(77) is None


async def test_get_subscribers_gives_the_known_ones(db: Database) -> None:
    for chat in (1, 2, 3):
        await db.subscribers.ensure_subscriber(chat, now=NOW)

    found = await db.subscribers.get_subscribers([3, 1, 99])

    assert sorted(found) == [1, 3]
    assert found[3] == await db.subscribers.get_subscriber(3)
    assert await db.subscribers.get_subscribers([]) == {}


async def test_update_settings_changes_the_named_ones(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)

    await db.subscribers.update_settings(
        1,
        now=NOW + 60,
        language="en",
        mode="digest",
        digest_hour=21,
        digest_minute=45,
        quiet_start=22,
        quiet_end=6,
        timezone="Asia/Tokyo",
        silent_alerts="night",
    )
    all_set = await db.subscribers.get_subscriber(1)
    await db.subscribers.update_settings(1, now=NOW + 120, quiet_start=None, quiet_end=None)
    cleared = await db.subscribers.get_subscriber(1)
    await db.subscribers.update_settings(1, now=NOW + 180)  # nothing to change

    assert all_set is not None
    assert (all_set.language, all_set.mode, all_set.digest_hour) == ("en", "digest", 21)
    assert (all_set.quiet_start, all_set.quiet_end, all_set.timezone) == (22, 6, "Asia/Tokyo")
    assert (all_set.digest_minute, all_set.silent_alerts) == (45, "night")
    assert cleared is not None
    assert (cleared.quiet_start, cleared.quiet_end) == (None, None)
    assert cleared.language == "en" and cleared.digest_hour == 21
    assert await db.subscribers.get_subscriber(1) == cleared


async def test_update_settings_refuses_what_is_not_a_setting(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)
    before = await db.subscribers.get_subscriber(1)

    with pytest.raises(ValueError, match="not a reader setting"):
        await db.subscribers.update_settings(1, now=NOW, language="en", active=False)

    assert await db.subscribers.get_subscriber(1) == before


async def test_set_mode(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)

    await db.subscribers.set_mode(1, "digest", now=NOW)
    digest = await db.subscribers.get_subscriber(1)
    await db.subscribers.set_mode(1, "instant", now=NOW)
    instant = await db.subscribers.get_subscriber(1)

    assert digest is not None and digest.mode == "digest"
    assert instant is not None and instant.mode == "instant"


async def test_deactivate_drops_pending_and_in_flight_rows(db: Database) -> None:
    await add_reader(db, 1)
    await add_reader(db, 2)
    sent = await enqueue_reply(db, 1, "sent")
    await db.outbox.claim_due(now=NOW, limit=1)
    await db.outbox.mark_sent(sent, message_id=10, now=NOW)
    await enqueue_reply(db, 1, "sending")
    await db.outbox.claim_due(now=NOW, limit=1)
    await enqueue_reply(db, 1, "pending")
    await enqueue_reply(db, 2, "other reader")

    dropped = await db.subscribers.deactivate(1, "Forbidden: bot was blocked", now=NOW + 60)

    assert dropped == 2
    reader = await db.subscribers.get_subscriber(1)
    assert reader is not None
    assert reader.active is False and reader.inactive_reason == "Forbidden: bot was blocked"
    statuses = {r.dedup_key: r.status for r in await db.outbox.rows_for_chat(1)}
    assert statuses == {"sent": "sent", "sending": "dropped", "pending": "dropped"}
    assert [r.chat_id for r in await db.outbox.pending()] == [2]
    assert await db.subscribers.count_subscribers() == {"active": 1, "inactive": 1}


async def test_deactivate_with_nothing_queued_drops_nothing(db: Database) -> None:
    await add_reader(db, 1)

    assert await db.subscribers.deactivate(1, "chat not found", now=NOW) == 0


async def test_forget_deletes_everything_about_a_reader(db: Database) -> None:
    await add_reader(db, 1, mode="digest", topics=["kinh-te"])
    await db.subscribers.add_keyword_alert(1, "Bão", "bao", now=NOW)
    assert await db.digests.record_digest(
        1, local_date="2026-09-24", parts=["hôm nay"], article_count=1, now=NOW
    )
    sent = await enqueue_reply(db, 1, "sent")
    await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(sent, message_id=5, now=NOW)
    await add_reader(db, 2, topics=["kinh-te"])
    await enqueue_reply(db, 2, "kept")

    await db.subscribers.forget(1)

    assert await db.subscribers.get_subscriber(1) is None
    assert await db.subscribers.topic_subscriptions(1) == []
    assert await db.subscribers.keyword_alerts(1) == []
    assert await db.outbox.rows_for_chat(1) == []
    assert await db.subscribers.topic_counts() == {"kinh-te": 1}
    assert [r.dedup_key for r in await db.outbox.rows_for_chat(2)] == ["kept"]
    # a reader who comes back starts afresh, digest of the day included
    assert await db.subscribers.ensure_subscriber(1, now=NOW + 60) is True
    await db.subscribers.set_mode(1, "digest", now=NOW + 60)
    assert await db.digests.record_digest(
        1, local_date="2026-09-24", parts=["lần nữa"], article_count=1, now=NOW + 60
    )


async def test_forget_an_unknown_chat_is_harmless(db: Database) -> None:
    await db.subscribers.forget(404)

    assert await db.subscribers.count_subscribers() == {"active": 0, "inactive": 0}


async def test_topic_subscriptions(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)

    assert await db.subscribers.subscribe_topic(1, "the-thao", now=NOW) is True
    assert await db.subscribers.subscribe_topic(1, "kinh-te", now=NOW + 1) is True
    assert await db.subscribers.subscribe_topic(1, "xa-hoi", now=NOW) is True
    assert await db.subscribers.subscribe_topic(1, "kinh-te", now=NOW + 2) is False

    # in the order they were followed, then by slug
    assert await db.subscribers.topic_subscriptions(1) == ["the-thao", "xa-hoi", "kinh-te"]
    assert await db.subscribers.unsubscribe_topic(1, "the-thao") is True
    assert await db.subscribers.unsubscribe_topic(1, "the-thao") is False
    assert await db.subscribers.unsubscribe_topic(1, "khong-co") is False
    assert await db.subscribers.topic_subscriptions(1) == ["xa-hoi", "kinh-te"]
    assert await db.subscribers.topic_subscriptions(2) == []


async def test_topic_counts_count_active_readers(db: Database) -> None:
    await add_reader(db, 1, topics=["kinh-te", "the-thao"])
    await add_reader(db, 2, topics=["kinh-te"])
    await add_reader(db, 3, mode="digest", topics=["kinh-te"])
    await add_reader(db, 4, topics=["kinh-te", "xa-hoi"])
    await db.subscribers.deactivate(4, "blocked", now=NOW)

    assert await db.subscribers.topic_counts() == {"kinh-te": 3, "the-thao": 1}


async def test_keyword_alerts(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)
    await db.subscribers.ensure_subscriber(2, now=NOW)

    assert await db.subscribers.add_keyword_alert(1, "Bão số 3", "bao so 3", now=NOW) is True
    assert await db.subscribers.add_keyword_alert(1, "Giá vàng", "gia vang", now=NOW) is True
    assert await db.subscribers.add_keyword_alert(1, "BÃO SỐ 3", "bao so 3", now=NOW) is False
    assert await db.subscribers.add_keyword_alert(2, "bão số 3", "bao so 3", now=NOW) is True

    mine = await db.subscribers.keyword_alerts(1)
    assert [(a.chat_id, a.phrase, a.folded) for a in mine] == [
        (1, "Bão số 3", "bao so 3"),
        (1, "Giá vàng", "gia vang"),
    ]
    assert mine[0].id < mine[1].id
    [theirs] = await db.subscribers.keyword_alerts(2)
    assert theirs == KeywordAlertRow(theirs.id, 2, "bão số 3", "bao so 3")
    assert await db.subscribers.keyword_alerts(3) == []


async def test_remove_keyword_alert_by_id_or_folded_phrase(db: Database) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)
    await db.subscribers.ensure_subscriber(2, now=NOW)
    await db.subscribers.add_keyword_alert(1, "Bão", "bao", now=NOW)
    await db.subscribers.add_keyword_alert(1, "Lũ", "lu", now=NOW)
    await db.subscribers.add_keyword_alert(2, "Bão", "bao", now=NOW)
    storm, flood = await db.subscribers.keyword_alerts(1)
    [theirs] = await db.subscribers.keyword_alerts(2)

    assert await db.subscribers.remove_keyword_alert(1, alert_id=theirs.id) is False
    assert await db.subscribers.remove_keyword_alert(1, alert_id=storm.id) is True
    assert await db.subscribers.remove_keyword_alert(1, alert_id=storm.id) is False
    assert await db.subscribers.remove_keyword_alert(1, folded="khong") is False
    assert await db.subscribers.remove_keyword_alert(1) is False
    assert await db.subscribers.keyword_alerts(1) == [flood]
    assert await db.subscribers.remove_keyword_alert(1, folded="lu") is True

    assert await db.subscribers.keyword_alerts(1) == []
    assert await db.subscribers.keyword_alerts(2) == [theirs]


async def test_instant_keyword_alerts_are_those_of_active_instant_readers(db: Database) -> None:
    await add_reader(db, 1)
    await add_reader(db, 2, mode="digest")
    await add_reader(db, 3)
    await add_reader(db, 4)
    for chat in (1, 2, 3, 4):
        await db.subscribers.add_keyword_alert(chat, "Bão", "bao", now=NOW)
    await db.subscribers.add_keyword_alert(4, "Lũ", "lu", now=NOW)
    await db.subscribers.deactivate(3, "blocked", now=NOW)

    alerts = await db.subscribers.instant_keyword_alerts()

    assert sorted((a.chat_id, a.folded) for a in alerts) == [(1, "bao"), (4, "bao"), (4, "lu")]


async def test_count_subscribers(db: Database) -> None:
    assert await db.subscribers.count_subscribers() == {"active": 0, "inactive": 0}
    for chat in (1, 2, 3):
        await db.subscribers.ensure_subscriber(chat, now=NOW)
    await db.subscribers.deactivate(2, "blocked", now=NOW)

    assert await db.subscribers.count_subscribers() == {"active": 2, "inactive": 1}


async def test_move_chat_carries_the_reader_to_the_new_id(db: Database) -> None:
    old, new = -100, -1001000
    await db.subscribers.ensure_subscriber(old, now=NOW, chat_type="group", language="en")
    await db.subscribers.update_settings(old, now=NOW, mode="digest", digest_hour=9, quiet_start=23)
    await db.subscribers.update_settings(old, now=NOW, digest_minute=15, silent_alerts="always")
    await db.subscribers.subscribe_topic(old, "kinh-te", now=NOW)
    await db.subscribers.add_keyword_alert(old, "Bão", "bao", now=NOW)
    await db.digests.record_digest(
        old, local_date="2026-09-24", parts=["digest"], article_count=1, now=NOW
    )
    pending = await enqueue_reply(db, old, "pending", now=NOW)
    sent = await enqueue_reply(db, old, "sent", now=NOW)
    await db.outbox.claim_due(now=NOW, limit=10)
    await db.outbox.mark_sent(sent, message_id=1, now=NOW)
    await db.outbox.release_holder(LOCAL_HOLDER)  # "digest" and "pending" back to the queue

    await db.subscribers.move_chat(old, new, now=NOW + 60)

    assert await db.subscribers.get_subscriber(old) is None
    moved = await db.subscribers.get_subscriber(new)
    assert moved is not None
    assert moved.chat_type == "supergroup"
    assert (moved.language, moved.mode, moved.digest_hour) == ("en", "digest", 9)
    assert (moved.digest_minute, moved.silent_alerts) == (15, "always")
    assert (moved.quiet_start, moved.active, moved.last_digest_on) == (23, True, "2026-09-24")
    assert await db.subscribers.topic_subscriptions(new) == ["kinh-te"]
    assert [(a.chat_id, a.folded) for a in await db.subscribers.keyword_alerts(new)] == [
        (new, "bao")
    ]
    assert await db.subscribers.keyword_alerts(old) == []
    # the digest of the day moved with it: not queued again
    assert not await db.digests.record_digest(
        new, local_date="2026-09-24", parts=["again"], article_count=1, now=NOW + 60
    )
    # unsent messages follow the chat; sent ones stay where they were sent
    assert {r.id: r.status for r in await db.outbox.rows_for_chat(old)} == {sent: "sent"}
    queued = await db.outbox.rows_for_chat(new)
    assert {r.dedup_key for r in queued} == {"digest:2026-09-24:1", "pending"}
    assert pending in {r.id for r in queued}
    assert all(r.status == "pending" for r in queued)


async def test_move_chat_onto_a_known_chat_keeps_the_new_row(db: Database) -> None:
    old, new = -100, -1001000
    await add_reader(db, old, topics=["kinh-te"])
    await db.subscribers.add_keyword_alert(old, "Bão", "bao", now=NOW)
    await db.subscribers.ensure_subscriber(new, now=NOW, chat_type="supergroup", language="en")
    await db.subscribers.subscribe_topic(new, "the-thao", now=NOW)
    await enqueue_reply(db, old, "only-old", now=NOW)
    await enqueue_reply(db, old, "both", now=NOW)
    await enqueue_reply(db, new, "both", now=NOW)

    await db.subscribers.move_chat(old, new, now=NOW + 60)

    assert await db.subscribers.get_subscriber(old) is None
    kept = await db.subscribers.get_subscriber(new)
    assert kept is not None and kept.language == "en"
    assert await db.subscribers.topic_subscriptions(new) == ["the-thao"]
    assert await db.subscribers.topic_subscriptions(old) == []
    assert await db.subscribers.keyword_alerts(old) == []
    assert await db.subscribers.keyword_alerts(new) == []
    assert sorted(r.dedup_key for r in await db.outbox.rows_for_chat(new)) == [
        "both",
        "only-old",
    ]
    # a message the new chat already has stays queued under the old id
    assert [(r.dedup_key, r.status) for r in await db.outbox.rows_for_chat(old)] == [
        ("both", "pending")
    ]


async def test_moved_messages_are_due_at_once(db: Database) -> None:
    old, new = -100, -1001000
    await add_reader(db, old)
    row_id = await enqueue_reply(db, old, "later", now=NOW + 3600)  # not due until then

    await db.subscribers.move_chat(old, new, now=NOW + 60)

    [row] = await db.outbox.claim_due(now=NOW + 60, limit=10)
    assert (row.id, row.chat_id) == (row_id, new)
