"""Claims that carry their holder and expire: several processes on one database.

Outbox rows and feeds are claimed by a named holder until a time; a claim
its holder renews stays its own, one left to expire (the process died) goes
to whoever claims next, and Telegram's per-chat limits hold across holders.
"""

from __future__ import annotations

import asyncio

from storage.api import Database
from storage.rows import PollFailure, PollSuccess
from tests.storage.support import NOW, add_feed, enqueue_reply

TTL = 6


async def claim(db: Database, holder: str, *, now: int = NOW, limit: int = 10) -> list[int]:
    rows = await db.outbox.claim_due(now=now, limit=limit, holder=holder, ttl=TTL)
    assert all(r.claimed_by == holder and r.status == "sending" for r in rows)
    return [r.id for r in rows]


# ---- the outbox --------------------------------------------------------------------------


async def test_a_live_holders_rows_are_never_taken(db: Database) -> None:
    ids = [await enqueue_reply(db, chat, "k") for chat in (1, 2, 3)]
    assert await claim(db, "a") == ids

    assert await claim(db, "b", now=NOW + TTL - 1) == []
    assert await db.outbox.renew_claims(holder="a", until=NOW + TTL + 10) == 3
    assert await claim(db, "b", now=NOW + TTL + 5) == []
    assert await db.outbox.claim_holders(now=NOW + TTL + 5) == ["a"]


async def test_an_expired_claim_goes_to_the_next_claimer_and_counts_as_a_try(
    db: Database,
) -> None:
    ids = [await enqueue_reply(db, chat, "k") for chat in (1, 2)]
    await claim(db, "a")
    await db.outbox.mark_sent(ids[0], message_id=1, now=NOW)

    rows = await db.outbox.claim_due(now=NOW + TTL, limit=10, holder="b", ttl=TTL)

    assert [(r.id, r.attempts, r.claimed_by) for r in rows] == [(ids[1], 2, "b")]
    assert await db.outbox.claim_holders(now=NOW + TTL) == ["b"]
    assert await db.outbox.counts_by_status() == {"sent": 1, "sending": 1}


async def test_renewal_covers_only_the_holders_rows_in_flight(db: Database) -> None:
    first = await enqueue_reply(db, 1, "k")
    await claim(db, "a")
    await enqueue_reply(db, 2, "k")
    await claim(db, "b")
    await db.outbox.mark_sent(first, message_id=1, now=NOW)

    assert await db.outbox.renew_claims(holder="a", until=NOW + 100) == 0
    assert await db.outbox.renew_claims(holder="b", until=NOW + 100) == 1
    assert await db.outbox.renew_claims(holder="nobody", until=NOW + 100) == 0


async def test_release_holder_frees_a_dead_holders_rows_at_once(db: Database) -> None:
    ids = [await enqueue_reply(db, chat, "k") for chat in (1, 2, 3)]
    await claim(db, "dead", limit=2)
    await claim(db, "alive", limit=1)

    assert await db.outbox.release_holder("dead") == 2

    assert await db.outbox.claim_holders(now=NOW) == ["alive"]
    assert await claim(db, "new") == ids[:2]


async def test_a_chat_in_another_holders_hands_waits(db: Database) -> None:
    ours = await enqueue_reply(db, 1, "first")
    second = await enqueue_reply(db, 1, "second")
    other_chat = await enqueue_reply(db, 2, "k")
    assert await claim(db, "a", limit=1) == [ours]

    # b may not send to chat 1 while a has a message to it in flight ...
    assert await claim(db, "b") == [other_chat]
    # ... nor within a second of a's send, however the seconds fall.
    await db.outbox.mark_sent(ours, message_id=1, now=NOW + 3)
    assert await claim(db, "b", now=NOW + 4) == []
    assert await claim(db, "b", now=NOW + 5) == [second]


async def test_one_holder_takes_several_messages_to_one_chat(db: Database) -> None:
    ids = [await enqueue_reply(db, 1, f"k{i}") for i in range(3)]
    first = await claim(db, "a", limit=1)
    await db.outbox.mark_sent(first[0], message_id=1, now=NOW)

    # Its own rate limiter spaces them; the database only keeps others away.
    assert await claim(db, "a") == ids[1:]


async def test_a_group_another_holder_sent_to_waits_a_minute(db: Database) -> None:
    group = -1001234
    sent = await enqueue_reply(db, group, "first")
    later = await enqueue_reply(db, group, "second")
    await claim(db, "a", limit=1)
    await db.outbox.mark_sent(sent, message_id=1, now=NOW)

    assert await claim(db, "b", now=NOW + 60) == []
    assert await claim(db, "b", now=NOW + 61) == [later]


async def test_a_dead_holders_in_flight_row_does_not_block_its_chat(db: Database) -> None:
    stuck = await enqueue_reply(db, 1, "first")
    following = await enqueue_reply(db, 1, "second")
    await claim(db, "dead", limit=1)

    assert await claim(db, "b", now=NOW + TTL) == [stuck, following]


async def test_concurrent_claimers_never_take_a_row_twice(db: Database) -> None:
    ids = {await enqueue_reply(db, chat, "k") for chat in range(1, 301)}

    async def claimer(holder: str) -> list[int]:
        taken: list[int] = []
        while batch := await claim(db, holder, limit=16):
            taken += batch
        return taken

    results = await asyncio.gather(*(claimer(f"p{i}") for i in range(6)))

    every = [row_id for batch in results for row_id in batch]
    assert sorted(every) == sorted(ids)
    assert await db.outbox.claim_holders(now=NOW) == sorted(
        f"p{i}" for i, batch in enumerate(results) if batch
    )


# ---- feeds ---------------------------------------------------------------------------------


async def add_feeds(db: Database, n: int) -> list[int]:
    return [await add_feed(db, f"https://bao{i}.example.vn/rss") for i in range(n)]


def success(next_poll_at: int) -> PollSuccess:
    return PollSuccess(
        etag=None, last_modified=None, body_hash=None, ttl_minutes=None, next_poll_at=next_poll_at
    )


async def feed_ids(db: Database, holder: str, *, now: int = NOW, limit: int = 10) -> list[int]:
    feeds = await db.feeds.claim_due(now=now, holder=holder, limit=limit, ttl=TTL)
    return [f.id for f in feeds]


async def test_processes_split_the_due_feeds_and_none_is_polled_twice(db: Database) -> None:
    ids = await add_feeds(db, 5)

    first = await feed_ids(db, "a", limit=3)
    second = await feed_ids(db, "b", limit=3)

    assert first == ids[:3]
    assert second == ids[3:]
    assert await feed_ids(db, "c") == []


async def test_recording_a_poll_ends_its_claim(db: Database) -> None:
    ok, failing = await add_feeds(db, 2)
    await feed_ids(db, "a")

    await db.feeds.record_poll_success(ok, success(NOW + 60), now=NOW)
    failure = PollFailure(kind="timeout", detail="slow", next_poll_at=NOW + 60, pause=False)
    await db.feeds.record_poll_failure(failing, failure, now=NOW)

    assert await db.feeds.renew_claims(holder="a", until=NOW + 100) == 0
    assert await feed_ids(db, "b", now=NOW + 60) == [ok, failing]


async def test_a_feed_claim_lasts_while_renewed_and_expires_after(db: Database) -> None:
    [feed] = await add_feeds(db, 1)
    await feed_ids(db, "a")
    assert await db.feeds.next_claimable_at(now=NOW) == NOW + TTL

    assert await db.feeds.renew_claims(holder="a", until=NOW + 20) == 1
    assert await feed_ids(db, "b", now=NOW + 19) == []
    assert await db.feeds.next_claimable_at(now=NOW + 19) == NOW + 20
    assert await feed_ids(db, "b", now=NOW + 20) == [feed]


async def test_released_feeds_are_due_to_anyone_at_once(db: Database) -> None:
    ids = await add_feeds(db, 3)
    await feed_ids(db, "a")

    assert await db.feeds.release_claims(holder="a", feed_ids=[ids[0]]) == 1
    assert await feed_ids(db, "b") == [ids[0]]
    assert await db.feeds.release_claims(holder="a") == 2
    assert await feed_ids(db, "b") == ids[1:]
    assert await db.feeds.next_claimable_at(now=NOW) == NOW + TTL


async def test_next_claimable_at_is_next_poll_at_for_unclaimed_feeds(db: Database) -> None:
    assert await db.feeds.next_claimable_at(now=NOW) is None
    [feed] = await add_feeds(db, 1)
    await db.feeds.record_poll_success(feed, success(NOW + 300), now=NOW)

    assert await db.feeds.next_claimable_at(now=NOW) == NOW + 300


# ---- who is running --------------------------------------------------------------------------


async def test_holders_lists_the_live_leases_under_a_prefix(db: Database) -> None:
    await db.leases.acquire("member:a", holder="a", ttl=6, now=NOW)
    await db.leases.acquire("member:b", holder="b", ttl=6, now=NOW + 3)
    await db.leases.acquire("updates", holder="a", ttl=6, now=NOW)

    assert await db.leases.holders("member:", now=NOW + 5) == ["a", "b"]
    assert await db.leases.holders("member:", now=NOW + 6) == ["b"]
    assert await db.leases.holders("member:", now=NOW + 9) == []
