"""Two bot processes on one database: only the lease holder polls and sends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.sqlite import SqliteDatabase
from tests.support.bot_world import open_world


async def test_one_holder_at_a_time_until_it_expires(db: SqliteDatabase) -> None:
    assert await db.leases.acquire("background", holder="a", ttl=30, now=100)
    assert not await db.leases.acquire("background", holder="b", ttl=30, now=110)
    assert await db.leases.acquire("background", holder="a", ttl=30, now=120)  # renewal
    assert not await db.leases.acquire("background", holder="b", ttl=30, now=149)
    assert await db.leases.acquire("background", holder="b", ttl=30, now=150)  # a went quiet
    assert not await db.leases.acquire("background", holder="a", ttl=30, now=151)


async def test_released_lease_is_free_at_once(db: SqliteDatabase) -> None:
    await db.leases.acquire("background", holder="a", ttl=30, now=100)
    await db.leases.release("background", holder="a")

    assert await db.leases.acquire("background", holder="b", ttl=30, now=101)


async def test_second_bot_on_the_same_database_stays_idle(tmp_path: Path) -> None:
    async with open_world(tmp_path) as first, open_world(tmp_path) as second:
        one = first.app.bot_data["background"]
        two = second.app.bot_data["background"]
        either = [asyncio.ensure_future(b.work_started.wait()) for b in (one, two)]
        await asyncio.wait(either, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        for waiter in either:
            waiter.cancel()

        assert [one.holds_lease, two.holds_lease].count(True) == 1
        assert [one.working, two.working].count(True) == 1
