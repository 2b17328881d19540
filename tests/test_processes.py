"""Several `newsbot run` processes on one PostgreSQL database, as real processes.

They split the sending, keep Telegram's limits together (the stand-in counts
every 429), let exactly one of them call getUpdates (it counts every 409),
and when one is killed with kill -9 the other takes over its roles and its
claimed messages: nothing lost, duplicates at most what was in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import storage
from bot.botapi_standin import BotApiStandIn
from bot.runtime.background import LEASE_NAME, MEMBER_PREFIX, UPDATES_LEASE
from storage.api import Database
from tests.support.bot_processes import BotProcess, bots_running, eventually
from tests.support.postgres import PostgresCluster

ADMIN = 1
SENDER_CONCURRENCY = 32  # Background's default: the most rows one process has in flight


@pytest.fixture
async def database_url(postgres_cluster: PostgresCluster) -> AsyncIterator[str]:
    async with postgres_cluster.database() as url:
        yield url


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        running.set_flood_limits()  # Telegram's 30/s, 1/s per chat, 20/min per group
        yield running


async def queue_broadcast(db: Database, readers: range) -> int:
    now = int(time.time())
    for chat in readers:
        await db.subscribers.ensure_subscriber(chat, now=now)
    broadcast_id = await db.broadcasts.create_draft(
        admin_id=ADMIN, text="Thông báo bảo trì", parse_mode="HTML", topic=None, now=now
    )
    queued = await db.broadcasts.confirm(
        broadcast_id, progress_chat_id=ADMIN, progress_message_id=1, now=now
    )
    assert queued == len(readers)
    return broadcast_id


def deliveries(standin: BotApiStandIn, readers: range) -> Counter[int]:
    wanted = set(readers)
    return Counter(m.chat_id for m in standin.sent if not m.edited and m.chat_id in wanted)


async def roles(db: Database) -> tuple[str | None, str | None, list[str]]:
    now = int(time.time())
    return (
        await db.leases.holder(UPDATES_LEASE, now=now),
        await db.leases.holder(LEASE_NAME, now=now),
        await db.leases.holders(MEMBER_PREFIX, now=now),
    )


async def all_joined(db: Database, bots: list[BotProcess]) -> bool:
    updates, background, members = await roles(db)
    return (
        updates is not None
        and background is not None
        and sorted(m.split(":")[1] for m in members) == sorted(str(b.pid) for b in bots)
    )


async def updates_reader_first(db: Database, bots: list[BotProcess]) -> list[BotProcess]:
    """The processes, the one that reads updates (long polling) first."""
    updates, _, _ = await roles(db)
    return sorted(bots, key=lambda b: not b.holds(updates))


async def holds_every_role(db: Database, bot: BotProcess, *, since: float) -> float:
    """Seconds from `since` (time.monotonic) until bot reads updates and runs the
    background work; fails after 10 s."""

    async def has_them() -> bool:
        updates, background, _ = await roles(db)
        return bot.holds(updates) and bot.holds(background)

    await eventually(has_them, within=10)
    return time.monotonic() - since


async def answers(standin: BotApiStandIn, user: int) -> None:
    """A reader who writes now is answered (by whichever process reads updates)."""
    standin.user_message(user, "/help", language_code="en")
    await standin.wait_for(lambda: bool(standin.messages_to(user)), timeout=10)


async def test_two_processes_share_the_work_and_one_reads_updates(
    tmp_path: Path, database_url: str, standin: BotApiStandIn
) -> None:
    readers = range(10_001, 10_201)
    db = await storage.open_database(database_url)
    try:
        async with bots_running(tmp_path, database_url, standin, 2) as bots:
            await eventually(lambda: all_joined(db, bots), within=30)
            await queue_broadcast(db, readers)

            # Readers write while the broadcast goes out: each is answered once.
            for user in range(500, 520):
                standin.user_message(user, "/help", language_code="en")
            await standin.wait_for(
                lambda: len(deliveries(standin, readers)) == len(readers), timeout=40
            )
            await standin.wait_for(
                lambda: all(standin.messages_to(u) for u in range(500, 520)), timeout=10
            )
            await asyncio.sleep(2)  # room for a duplicate to show up

            assert [await bot.stop() for bot in bots] == [0, 0]
        sent = deliveries(standin, readers)
        assert set(sent.values()) == {1}
        assert all(len(standin.messages_to(u)) == 1 for u in range(500, 520))
        # Both sent a share of the broadcast, within Telegram's limits together.
        rows = [row for chat in readers for row in await db.outbox.rows_for_chat(chat)]
        senders = Counter(bots[0].holds(row.claimed_by) for row in rows)
        assert senders[True] > 20 and senders[False] > 20, senders
        assert standin.flood_429_count == 0
        assert standin.conflict_409_count == 0
        assert await db.leases.holders(MEMBER_PREFIX, now=int(time.time())) == []
    finally:
        await db.close()


async def test_kill_9_hands_the_roles_and_the_messages_in_flight_over(
    tmp_path: Path, database_url: str, standin: BotApiStandIn
) -> None:
    readers = range(20_001, 20_401)
    db = await storage.open_database(database_url)
    try:
        async with bots_running(tmp_path, database_url, standin, 2) as bots:
            await eventually(lambda: all_joined(db, bots), within=30)
            victim, survivor = await updates_reader_first(db, bots)
            await queue_broadcast(db, readers)
            await standin.wait_for(lambda: len(standin.sent) >= 100, timeout=30)

            victim.kill_9()
            killed_at = time.monotonic()
            await victim.process.wait()
            sent_at_kill = len(standin.sent)
            assert sent_at_kill < len(readers), "the kill came too late to test anything"

            took_over = await holds_every_role(db, survivor, since=killed_at)
            # The survivor now reads updates: a reader who writes is answered.
            await answers(standin, 777)
            await standin.wait_for(
                lambda: len(deliveries(standin, readers)) == len(readers), timeout=60
            )
            await asyncio.sleep(2)
            assert await survivor.stop() == 0

        received = deliveries(standin, readers)
        duplicated = [chat for chat, n in received.items() if n > 1]
        print(f"roles taken over after {took_over:.1f} s; duplicated {len(duplicated)}")
        assert [chat for chat in readers if received[chat] == 0] == []
        assert len(duplicated) <= SENDER_CONCURRENCY
        assert took_over < 10
        counts = await db.outbox.counts_by_status()
        assert counts.get("sent") == len(readers) and "sending" not in counts
        assert standin.flood_429_count == 0
        assert standin.conflict_409_count == 0
    finally:
        await db.close()


async def test_a_clean_stop_hands_long_polling_over_without_a_conflict(
    tmp_path: Path, database_url: str, standin: BotApiStandIn
) -> None:
    """An operator restarting one of two processes (SIGTERM, as systemd does): it lets
    go of getUpdates and its leases as it stops, so the other reads updates at once,
    not after the lease would have run out, and Telegram never sees two readers."""
    db = await storage.open_database(database_url)
    try:
        async with bots_running(tmp_path, database_url, standin, 2) as bots:
            await eventually(lambda: all_joined(db, bots), within=30)
            leaving, staying = await updates_reader_first(db, bots)

            assert await leaving.stop() == 0
            stopped_at = time.monotonic()

            took_over = await holds_every_role(db, staying, since=stopped_at)
            await answers(standin, 778)
            assert await staying.stop() == 0

        assert took_over < 5
        assert len(standin.messages_to(778)) == 1
        assert standin.conflict_409_count == 0
        assert await db.leases.holders(MEMBER_PREFIX, now=int(time.time())) == []
    finally:
        await db.close()
