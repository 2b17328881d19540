"""The shared rate budget, in virtual time: spacing, per-chat and group limits, priority."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.ratelimit import PRIORITY_BROADCAST, PRIORITY_REPLY, TelegramRateLimiter
from tests.support.virtual_time import VirtualTime


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


def limiter(time: VirtualTime, **kwargs: float) -> TelegramRateLimiter:
    return TelegramRateLimiter(clock=time.clock, sleep=time.sleep, **kwargs)  # type: ignore[arg-type]


async def grants(
    time: VirtualTime, rate: TelegramRateLimiter, requests: list[tuple[int, int]]
) -> list[tuple[int, float]]:
    """Acquire for each (priority, chat_id) at once; return (index, grant time) in grant order."""
    granted: list[tuple[int, float]] = []

    async def one(index: int, priority: int, chat_id: int) -> None:
        await rate.acquire(priority, chat_id)
        granted.append((index, time.now))

    async def all_of() -> None:
        await asyncio.gather(*(one(i, p, c) for i, (p, c) in enumerate(requests)))

    await time.run(all_of())
    return granted


async def test_overall_rate_is_thirty_per_second(time: VirtualTime) -> None:
    start = time.now
    result = await grants(
        time, limiter(time), [(PRIORITY_BROADCAST, chat) for chat in range(1, 91)]
    )

    elapsed = result[-1][1] - start
    assert len(result) == 90
    assert 2.9 <= elapsed <= 3.0  # 90 messages at 30/s
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(result)]
    assert min(gaps) >= 1 / 30 - 1e-9


async def test_one_message_per_second_to_a_chat(time: VirtualTime) -> None:
    start = time.now
    result = await grants(time, limiter(time), [(PRIORITY_BROADCAST, 7)] * 3)

    assert [round(t - start, 3) for _, t in result] == [0.0, 1.0, 2.0]


async def test_twenty_per_minute_to_a_group(time: VirtualTime) -> None:
    start = time.now
    result = await grants(
        time, limiter(time, chat_interval=0.0), [(PRIORITY_BROADCAST, -100123)] * 22
    )

    times = sorted(t - start for _, t in result)
    assert times[19] < 60
    assert times[20] >= 60  # the 21st waits for the first to leave the minute window
    assert times[21] >= 60


async def test_replies_overtake_a_queued_broadcast(time: VirtualTime) -> None:
    rate = limiter(time)
    order: list[str] = []

    async def send(name: str, priority: int, chat_id: int) -> None:
        await rate.acquire(priority, chat_id)
        order.append(name)

    async def scenario() -> None:
        bulk = [asyncio.create_task(send(f"b{i}", PRIORITY_BROADCAST, i)) for i in range(1, 61)]
        await time.sleep(0.5)  # the broadcast is well under way
        reply = asyncio.create_task(send("reply", PRIORITY_REPLY, 999))
        await asyncio.gather(*bulk, reply)

    await time.run(scenario())

    # The reply goes out in the next free slot, not after the 45 broadcasts still queued.
    assert order.index("reply") <= 17


async def test_pause_after_flood_error_holds_everyone(time: VirtualTime) -> None:
    rate = limiter(time)
    start = time.now
    rate.pause(5.0)

    result = await grants(time, rate, [(PRIORITY_REPLY, 1)])

    assert result[0][1] - start >= 5.0
