"""kill -9 in the middle of a broadcast: nothing queued is lost, and at most the
messages in flight at the moment of the kill are sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.botapi_standin import BotApiStandIn
from storage.sqlite import SqliteDatabase

READERS = range(20_001, 20_401)
NOW = 1_790_000_000
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        yield running


async def queued_broadcast(path: Path) -> None:
    async with await SqliteDatabase.open(path) as db:
        for chat in READERS:
            await db.subscribers.ensure_subscriber(chat, now=NOW)
        broadcast_id = await db.broadcasts.create_draft(
            admin_id=1, text="Thông báo bảo trì", parse_mode="HTML", topic=None, now=NOW
        )
        await db.broadcasts.confirm(
            broadcast_id, progress_chat_id=1, progress_message_id=1, now=NOW
        )


async def start_sender(
    path: Path, standin: BotApiStandIn, concurrency: int
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.crash_sender",
        str(path),
        standin.base_url.removesuffix("/bot"),
        standin.token,
        str(concurrency),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), timeout=30) == b"ready\n"
    return process


def deliveries(standin: BotApiStandIn) -> Counter[int]:
    return Counter(m.chat_id for m in standin.sent if not m.edited)


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_kill_9_loses_nothing_and_repeats_at_most_the_in_flight(
    tmp_path: Path, standin: BotApiStandIn, concurrency: int
) -> None:
    path = tmp_path / "newsbot.db"
    await queued_broadcast(path)

    first = await start_sender(path, standin, concurrency)
    await standin.wait_for(lambda: len(standin.sent) >= 150, timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    await first.wait()
    killed_after = len(standin.sent)
    assert killed_after < len(READERS), "the kill came too late to test anything"

    second = await start_sender(path, standin, concurrency)
    assert await asyncio.wait_for(second.wait(), timeout=60) == 0

    received = deliveries(standin)
    lost = [chat for chat in READERS if received[chat] == 0]
    duplicated = [chat for chat, n in received.items() if n > 1]
    print(f"killed after {killed_after} sends; lost {len(lost)}, duplicated {len(duplicated)}")
    assert lost == []
    assert len(duplicated) <= concurrency
    async with await SqliteDatabase.open(path) as db:
        assert await db.outbox.counts_by_status() == {"sent": len(READERS)}
