"""The shared rate budget, in virtual time: spacing, per-chat and group limits, priority."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Sequence

import pytest

from bot.delivery.ratelimit import TelegramRateLimiter
from storage.rows import Priority
from tests.support.virtual_time import VirtualTime


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


def limiter(time: VirtualTime, **kwargs: float) -> TelegramRateLimiter:
    return TelegramRateLimiter(clock=time.clock, sleep=time.sleep, **kwargs)  # type: ignore[arg-type]


async def grants(
    time: VirtualTime, rate: TelegramRateLimiter, requests: Sequence[tuple[int, int]]
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


async def test_overall_rate_stays_just_under_thirty_per_second(time: VirtualTime) -> None:
    start = time.now
    requests = [(Priority.BROADCAST, chat) for chat in range(1, 301)]
    result = await grants(time, limiter(time), requests)

    times = [t for _, t in result]
    rate = (len(times) - 1) / (times[-1] - start)
    assert 29.0 <= rate <= 30.0
    # Never more than 30 in any second, with a margin for the network's jitter:
    # the 31st message after any message leaves at least 1.01 s after it.
    windows = zip(times, times[30:], strict=False)
    assert all(later - earlier >= 1.01 - 1e-9 for earlier, later in windows)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 30 - 1e-9


@pytest.mark.parametrize("processes", [2, 3, 4, 7])
async def test_processes_sharing_a_token_keep_thirty_a_second_together(
    processes: int,
) -> None:
    rates = []
    for index in range(processes):
        time = VirtualTime()
        rate = limiter(time)
        rate.set_share(processes, index)
        requests = [(Priority.BROADCAST, chat) for chat in range(1, 121)]
        times = [t for _, t in await grants(time, rate, requests)]
        mine = 30 // processes + (1 if index < 30 % processes else 0)
        # This process: no more than its whole-message share in any 1.01 s ...
        windows = zip(times, times[mine:], strict=False)
        assert all(later - earlier >= 1.01 - 1e-9 for earlier, later in windows)
        rates.append((len(times) - 1) / (times[-1] - times[0]))
    # ... so all of them together never more than 30, and nearly all of it used.
    assert 0.97 * 30 <= sum(rates) <= 30


async def test_the_whole_budget_returns_when_the_others_leave(time: VirtualTime) -> None:
    rate = limiter(time)
    rate.set_share(2)
    rate.set_share(1)
    start = time.now
    result = await grants(time, rate, [(Priority.BROADCAST, chat) for chat in range(1, 151)])

    times = [t for _, t in result]
    assert 29.0 <= (len(times) - 1) / (times[-1] - start) <= 30.0


async def test_a_late_wake_up_is_caught_up_not_carried_forward() -> None:
    late = VirtualTime()

    async def oversleeping(seconds: float) -> None:
        await late.sleep(seconds + 0.005)  # every wake-up 5 ms late

    rate = TelegramRateLimiter(clock=late.clock, sleep=oversleeping)
    start = late.now
    granted: list[float] = []

    async def one(chat: int) -> None:
        await rate.acquire(Priority.BROADCAST, chat)
        granted.append(late.now)

    async def all_of() -> None:
        await asyncio.gather(*(one(chat) for chat in range(1, 301)))

    await late.run(all_of())

    # 5 ms late on a 33 ms slot would lose 15% if every slot moved; catching up keeps it.
    assert (len(granted) - 1) / (granted[-1] - start) >= 28.5


async def test_one_message_per_second_to_a_chat(time: VirtualTime) -> None:
    start = time.now
    result = await grants(time, limiter(time), [(Priority.BROADCAST, 7)] * 3)

    assert [round(t - start, 3) for _, t in result] == [0.0, 1.0, 2.0]


async def test_twenty_per_minute_to_a_group(time: VirtualTime) -> None:
    start = time.now
    result = await grants(
        time, limiter(time, chat_interval=0.0), [(Priority.BROADCAST, -100123)] * 22
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
        bulk = [asyncio.create_task(send(f"b{i}", Priority.BROADCAST, i)) for i in range(1, 61)]
        await time.sleep(0.5)  # the broadcast is well under way
        reply = asyncio.create_task(send("reply", Priority.REPLY, 999))
        await asyncio.gather(*bulk, reply)

    await time.run(scenario())

    # The reply goes out in the next free slot, not after the 45 broadcasts still queued.
    assert order.index("reply") <= 17


async def test_pause_after_flood_error_holds_everyone(time: VirtualTime) -> None:
    rate = limiter(time)
    start = time.now
    rate.pause(5.0)

    result = await grants(time, rate, [(Priority.REPLY, 1)])

    assert result[0][1] - start >= 5.0


async def test_a_chats_next_message_waits_from_when_the_last_one_really_left(
    time: VirtualTime,
) -> None:
    # A chat's message queues behind a 3 s flood pause; its next message must still go a
    # full second after it, not at once because both were booked before the pause.
    rate = limiter(time)
    rate.pause(3.0)
    result = await grants(
        time, rate, [(Priority.REPLY, 7), (Priority.REPLY, 7), (Priority.REPLY, 7)]
    )
    times = [t for _, t in sorted(result)]
    assert times[0] >= 3.0
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in itertools.pairwise(times))


async def test_a_chats_gap_counts_from_telegrams_answer(time: VirtualTime) -> None:
    # The first message's answer takes 2 s: the second may go only a second after that.
    rate = limiter(time)
    sent: list[float] = []

    async def slow_send(*args: object, **kwargs: object) -> bool:
        sent.append(time.now)
        await time.sleep(2.0)
        return True

    async def both() -> None:
        await asyncio.gather(
            *(
                rate.process_request(slow_send, (), {}, "sendMessage", {"chat_id": 7}, None)
                for _ in range(2)
            )
        )

    await time.run(both())
    assert sent[1] - sent[0] >= 3.0 - 1e-9


async def test_one_chat_waiting_never_holds_up_another(time: VirtualTime) -> None:
    start = time.now
    result = await grants(time, limiter(time), [(Priority.REPLY, 7)] * 5 + [(Priority.REPLY, 8)])
    granted_at = dict(result)
    assert granted_at[5] - start < 1.0  # chat 8 is not behind chat 7's four waiting messages


async def test_chat_wait_says_when_a_group_or_channel_may_receive_again(
    time: VirtualTime,
) -> None:
    rate = limiter(time)
    channel, reader = -1001, 42
    assert rate.chat_wait(channel) == 0.0  # never sent to: now

    await grants(time, rate, [(Priority.ALERT, channel)] * 20 + [(Priority.ALERT, reader)])
    first = time.now - 19.0  # the 20 went a second apart

    # Twenty in the last minute: the next waits until the first is a minute old.
    assert rate.chat_wait(channel) == pytest.approx(first + 60.0 - time.now)
    assert rate.chat_wait(reader) == 0.0  # a private chat: only its 1 s, long past
    # With posts already on their way there, later still.
    assert rate.chat_wait(-1002, ahead=2) == pytest.approx(2.0)
    time.now += 61.0
    assert rate.chat_wait(channel) == 0.0


async def test_a_high_rate_grants_several_messages_at_one_wake_up(time: VirtualTime) -> None:
    # 500/s: slots 2 ms apart, closer than a wake-up is worth. Every one due in the
    # next GRANT_HORIZON goes at once, yet no window holds more than the budget.
    rate = limiter(time, per_second=500)
    requests = [(Priority.BROADCAST, chat) for chat in range(1, 2001)]
    times = [t for _, t in await grants(time, rate, requests)]
    wake_ups = len(set(times))
    assert wake_ups <= len(times) / 4
    windows = zip(times, times[500:], strict=False)
    assert all(later - earlier >= 1.01 - 1e-9 for earlier, later in windows)
    assert 0.97 * 500 <= (len(times) - 1) / (times[-1] - times[0]) <= 500


async def test_at_thirty_a_second_every_message_has_its_own_slot(time: VirtualTime) -> None:
    rate = limiter(time)
    requests = [(Priority.BROADCAST, chat) for chat in range(1, 61)]
    times = [t for _, t in await grants(time, rate, requests)]
    assert len(set(times)) == len(times)


async def test_unlimited_grants_at_once_but_keeps_chats_limits_and_telegrams_pauses(
    time: VirtualTime,
) -> None:
    # NEWSBOT_SEND_RATE=unlimited (a load test against a stand-in): no budget of our own.
    rate = limiter(time, per_second=math.inf)
    rate.set_share(4, 1)  # several processes: a share of no budget is no budget
    assert rate.per_second == math.inf
    start = time.now

    fan_out = await grants(time, rate, [(Priority.BROADCAST, chat) for chat in range(5_000)])
    assert {t for _, t in fan_out} == {start}

    one_chat = await grants(time, rate, [(Priority.BROADCAST, 7)] * 3)
    times = sorted(t for _, t in one_chat)
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in itertools.pairwise(times))

    rate.pause(5.0)
    paused_at = time.now
    after_429 = await grants(time, rate, [(Priority.REPLY, 8)])
    assert after_429[0][1] - paused_at >= 5.0
    assert rate.budget_in_use() == 0.0


async def test_a_big_fan_out_forgets_chats_whose_limits_no_longer_bind(
    time: VirtualTime,
) -> None:
    # 30,000 readers at 1,000/s: each private chat's state is needed for a second
    # after its message, a group's for a minute. Keeping all of them cost 100 MB
    # in a fan-out to 100,000 readers.
    rate = limiter(time, per_second=1000)
    group = -1001
    await grants(time, rate, [(Priority.ALERT, group)] * 20)
    minute_began = time.now - 19.0

    readers = iter(range(1, 30_001))
    most = 0

    async def worker() -> None:  # as the sender's: one message at a time
        nonlocal most
        for chat in readers:
            await rate.acquire(Priority.BROADCAST, chat)
            most = max(most, rate.chats_tracked)

    async def fan_out() -> None:
        await asyncio.gather(*(worker() for _ in range(32)))

    await time.run(fan_out())
    assert next(readers, None) is None
    # Over 10,000, the chats of the last second or so and the group's.
    assert most <= 10_000 + 2_100 + 1
    # The group's minute outlived the pruning: its 21st message waits for it.
    [(_, at)] = await grants(time, rate, [(Priority.ALERT, group)])
    assert at >= minute_began + 60.0
