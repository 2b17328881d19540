"""Two bot processes on one database: both send and poll, one holds each once-only role."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.holders import holder_is_dead, machine_name
from storage.sqlite import SqliteDatabase
from tests.support.bot_world import open_world
from tests.support.clock import ManualClock

REPO = Path(__file__).resolve().parents[1]


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


async def test_two_bots_on_one_database_both_send_and_one_holds_each_role(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path) as first, open_world(tmp_path) as second:
        one = first.app.bot_data["background"]
        two = second.app.bot_data["background"]
        for background in (one, two):
            await asyncio.wait_for(background.sharing_started.wait(), timeout=10)
        either = [asyncio.ensure_future(b.work_started.wait()) for b in (one, two)]
        await asyncio.wait(either, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        for waiter in either:
            waiter.cancel()

        assert [one.holds_lease, two.holds_lease].count(True) == 1
        assert [one.working, two.working].count(True) == 1
        assert [one.holds_updates, two.holds_updates].count(True) == 1
        assert (one.members, two.members) == (2, 2)
        # Each keeps half of the token's budget.
        assert one.limiter is not None and two.limiter is not None
        assert (one.limiter.share, two.limiter.share) == (2, 2)


# ---- after a crash: a dead holder's lease is taken at once -------------------------------

HOLD_LEASE = """
import asyncio, sys
from bot.runtime.background import LEASE_NAME, holder_name
from storage.sqlite import SqliteDatabase

async def main() -> None:
    async with await SqliteDatabase.open(sys.argv[1]) as db:
        now = int(sys.argv[2])
        assert await db.leases.acquire(LEASE_NAME, holder=holder_name(), ttl=3600, now=now)
        print("holding", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_restart_after_kill_9_takes_the_dead_holders_lease_at_once(
    tmp_path: Path,
) -> None:
    # The lease a killed process held would last an hour; a new process on the same
    # machine sees that its holder is gone and starts work at once.
    path = tmp_path / "newsbot.db"
    async with await SqliteDatabase.open(path):
        pass  # created and migrated before the holder writes to it
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LEASE, str(path), str(ManualClock().ts),
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), timeout=30) == b"holding\n"
    os.kill(holder.pid, signal.SIGKILL)
    await holder.wait()

    async with open_world(tmp_path) as world:
        background = world.app.bot_data["background"]
        await asyncio.wait_for(background.work_started.wait(), timeout=5)
        assert background.holds_lease


async def test_a_live_holders_lease_is_never_taken(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    async with await SqliteDatabase.open(path):
        pass
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LEASE, str(path), str(ManualClock().ts),
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), timeout=30) == b"holding\n"
        async with open_world(tmp_path) as world:
            background = world.app.bot_data["background"]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(background.work_started.wait(), timeout=1)
            assert not background.holds_lease
    finally:
        holder.kill()
        await holder.wait()


def test_holder_is_dead_only_for_a_gone_process_on_this_machine() -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = machine_name()
    assert holder_is_dead(f"{host}:{gone.stdout.strip()}:abcd1234")
    assert not holder_is_dead(f"{host}:{os.getpid()}:abcd1234")  # this very process
    assert not holder_is_dead(f"{host}:{os.getppid()}:abcd1234")  # alive
    assert not holder_is_dead(f"another-host:{gone.stdout.strip()}:abcd1234")
    # The same host name in another PID namespace (another container): not ours to judge.
    assert not holder_is_dead(f"{socket.gethostname()}/1:{gone.stdout.strip()}:abcd1234")
    assert not holder_is_dead("a")
    assert not holder_is_dead(f"{host}:not-a-pid:x")
