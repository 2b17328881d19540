"""The poll loop in virtual time: it sleeps until the next feed is due (no fixed tick),
wakes when told, sees a feed another process added within its cap, and follows each
feed's rhythm. Real HTTP on loopback and a real SQLite file; only time is virtual."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.ingest.fetch import Fetcher
from bot.ingest.freshness import PollPolicy
from bot.ingest.keyword_alerts import KeywordIndex
from bot.ingest.poller import FeedPollReport, Poller, PollerOptions, wake_delay
from storage.rows import FeedRow, FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, Route
from tests.support.rss import Item, rss


class LoopTime:
    """The poller's clock and sleep. A sleep moves the clock on by what was asked, at
    once (unless `hold` is set: then it lasts until cancelled), and ends the run at `end`."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.start = start
        self.sleeps: list[float] = []
        self.hold = False
        self.end: datetime | None = None
        self.stop = asyncio.Event()
        self.on_sleep: Callable[[], Awaitable[None]] | None = None

    def clock(self) -> datetime:
        return self.now

    @property
    def elapsed(self) -> float:
        return (self.now - self.start).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            await self.on_sleep()
        if self.hold:
            await asyncio.Event().wait()
        self.now += timedelta(seconds=seconds)
        if self.end is not None and self.now >= self.end:
            self.stop.set()
        await asyncio.sleep(0)


class RecordingPoller(Poller):
    """The real poller, noting when each feed is polled; feeds in `failing` raise (a bug)."""

    def __init__(self, db: SqliteDatabase, fetcher: Fetcher, time: LoopTime, **kwargs: Any):
        super().__init__(db, fetcher, clock=time.clock, sleep=time.sleep, **kwargs)
        self.time = time
        self.polls: list[tuple[int, float]] = []
        self.failing: set[int] = set()

    async def poll_feed(
        self, feed: FeedRow, keywords: KeywordIndex | None = None
    ) -> FeedPollReport:
        self.polls.append((feed.id, self.time.elapsed))
        if feed.id in self.failing:
            raise RuntimeError("a bug of ours")
        return await super().poll_feed(feed, keywords)

    def times(self, feed_id: int) -> list[float]:
        """Seconds after the start at which the feed was polled."""
        return [at for polled, at in self.polls if polled == feed_id]


async def run_loop(poller: RecordingPoller, *, seconds: float, **kwargs: Any) -> None:
    time = poller.time
    time.end = time.now + timedelta(seconds=seconds)
    async with asyncio.timeout(60):
        await poller.run_forever(time.stop, **kwargs)


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


def one_item(clock: ManualClock) -> bytes:
    link = "https://bao.example.vn/tin-1.html"
    return rss([Item("Tin số 1", link, "<p>Tin.</p>", link, clock.now - timedelta(hours=1))])


async def add(db: SqliteDatabase, server: FeedServer, path: str, clock: ManualClock) -> int:
    feed_id, _ = await db.feeds.add_feed(FeedSpec(server.url(path), path, ()), now=clock.ts)
    return feed_id


def poller_for(
    db: SqliteDatabase, fetcher: Fetcher, clock: ManualClock, **policy: Any
) -> RecordingPoller:
    options = PollerOptions(policy=PollPolicy(**policy))
    return RecordingPoller(db, fetcher, LoopTime(clock.now), options=options)


async def test_the_loop_wakes_exactly_when_the_next_feed_is_due(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set("/a", Route(body=one_item(clock), headers={"Cache-Control": "max-age=629"}))
    server.set("/b", Route(body=one_item(clock), headers={"Cache-Control": "max-age=1000"}))
    a, b = await add(db, server, "/a", clock), await add(db, server, "/b", clock)
    poller = poller_for(db, fetcher, clock)

    await run_loop(poller, seconds=1100)

    # Not at the next 30 s tick (630 s, 1020 s): at the second each is due.
    assert poller.times(a) == [0, 629]
    assert poller.times(b) == [0, 1000]
    # In between it slept at most the 60 s cap, so a feed added elsewhere is seen in time.
    assert max(poller.time.sleeps) == 60
    assert 629 - 60 < sum(poller.time.sleeps[:11]) <= 629


async def test_without_a_cap_the_loop_sleeps_the_whole_gap(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set("/a", Route(body=one_item(clock), headers={"Cache-Control": "max-age=629"}))
    server.set("/b", Route(body=one_item(clock), headers={"Cache-Control": "max-age=1000"}))
    await add(db, server, "/a", clock)
    await add(db, server, "/b", clock)
    poller = poller_for(db, fetcher, clock)

    await run_loop(poller, seconds=1100, max_sleep=86_400)

    assert poller.time.sleeps[:3] == [629, 371, 258]  # 629, 1000, then 1258


async def test_wake_cuts_the_sleep_short(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set_feed("/a", one_item(clock))
    server.set_feed("/b", one_item(clock))
    a = await add(db, server, "/a", clock)
    poller = poller_for(db, fetcher, clock)
    poller.time.hold = True  # every sleep lasts until something ends it
    wake, stop = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(poller.run_forever(stop, wake=wake))
    await eventually(lambda: len(poller.time.sleeps) == 1)
    assert poller.times(a) == [0] and poller.time.sleeps == [60]

    b = await add(db, server, "/b", clock)  # a feed added, or resumed, in this process
    wake.set()
    await eventually(lambda: bool(poller.times(b)))

    assert poller.times(b) == [0]  # polled at once, not after the sleep
    assert poller.times(a) == [0]
    stop.set()
    async with asyncio.timeout(5):
        await running


async def test_a_feed_added_by_another_process_is_polled_within_the_cap(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set_feed("/a", one_item(clock))
    server.set_feed("/cli", one_item(clock))
    await add(db, server, "/a", clock)
    poller = poller_for(db, fetcher, clock)
    added: list[int] = []

    async def newsbot_feeds_add() -> None:  # another process writes the database
        if not added:
            added.append(await add(db, server, "/cli", clock))

    poller.time.on_sleep = newsbot_feeds_add
    await run_loop(poller, seconds=120)

    # The first feed is due in 600 s; the loop looked again after 60 and found the new one.
    assert poller.times(added[0]) == [60]


async def test_a_feed_that_fails_by_our_fault_is_retried_after_a_pause_not_in_a_loop(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set_feed("/broken", one_item(clock))
    server.set_feed("/ok", one_item(clock))
    broken, ok = await add(db, server, "/broken", clock), await add(db, server, "/ok", clock)
    poller = poller_for(db, fetcher, clock, default_interval=100.0)
    poller.failing.add(broken)

    await run_loop(poller, seconds=250)

    # Its transaction rolled back, so it stays due; it is tried again every 30 s, as
    # before, while the healthy feed keeps its own times exactly.
    assert poller.times(broken) == [0, 30, 60, 90, 120, 150, 180, 210, 240]
    assert poller.times(ok) == [0, 100, 200]
    assert (await db.feeds.get_feed(broken)) is not None


async def test_a_cycle_that_fails_as_a_whole_waits_before_the_next(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    server.set_feed("/a", one_item(clock))
    await add(db, server, "/a", clock)
    poller = poller_for(db, fetcher, clock)
    failures = 0

    async def broken_due_feeds(*, now: int, limit: int | None = None) -> list[FeedRow]:
        nonlocal failures
        failures += 1
        raise RuntimeError("disk full")

    db.feeds.due_feeds = broken_due_feeds  # type: ignore[method-assign]
    await run_loop(poller, seconds=100)

    assert poller.time.sleeps == [30, 30, 30, 30]
    assert failures == 4


def test_wake_delay() -> None:
    assert wake_delay(None, 1000.0, max_sleep=60) == 60
    assert wake_delay(1030, 1000.0, max_sleep=60) == 30
    assert wake_delay(5000, 1000.0, max_sleep=60) == 60
    assert wake_delay(900, 1000.0, max_sleep=60) == 0  # overdue: at once
    assert wake_delay(1000, 999.5, max_sleep=60) == 0.5


class Publisher:
    """A feed document on the server, listing its latest 25 items: ten published `before`
    apart up to the start, then one every `after` of virtual time (None: no more)."""

    def __init__(
        self,
        server: FeedServer,
        path: str,
        time: LoopTime,
        before: timedelta,
        after: timedelta | None = None,
    ) -> None:
        self.server, self.path, self.time = server, path, time
        self.dates = [time.now - before * n for n in range(9, -1, -1)]
        self.after = after
        self.publish()

    async def __call__(self) -> None:
        self.publish()

    def publish(self) -> None:
        while self.after is not None and self.dates[-1] + self.after <= self.time.now:
            self.dates.append(self.dates[-1] + self.after)
        items = [
            Item(f"Tin số {n}", f"https://bao.example.vn{self.path}/{n}", "<p>Tin.</p>", None, d)
            for n, d in enumerate(self.dates)
        ][-25:]
        self.server.set(self.path, Route(body=rss(items[::-1]), etag=f'"{len(self.dates)}"'))


def intervals(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_a_busy_feed_is_polled_more_and_more_often_down_to_the_floor(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    poller = poller_for(db, fetcher, clock)
    # It published every 20 min (what the first poll reads), and every 90 s from now on.
    publisher = Publisher(
        server, "/busy", poller.time, timedelta(minutes=20), timedelta(seconds=90)
    )
    busy = await add(db, server, "/busy", clock)
    poller.time.on_sleep = publisher

    await run_loop(poller, seconds=2 * 3600)

    gaps = intervals(poller.times(busy))
    assert gaps[0] == 600  # half the 20 min rhythm
    assert gaps == sorted(gaps, reverse=True)
    assert min(gaps) == 60  # never below the floor
    assert gaps[-20:] == [60] * 20  # and there it stays while an item comes every 90 s


async def test_a_silent_feed_is_polled_less_and_less_often_up_to_six_hours(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    poller = poller_for(db, fetcher, clock)
    Publisher(server, "/quiet", poller.time, timedelta(minutes=10))  # then nothing
    quiet = await add(db, server, "/quiet", clock)

    await run_loop(poller, seconds=30 * 86_400, max_sleep=6 * 3600)

    times = poller.times(quiet)
    gaps = intervals(times)
    assert gaps == sorted(gaps)
    assert gaps[0] == 300  # half the 10 min gap
    assert max(b / a for a, b in itertools.pairwise(gaps)) < 1.26  # gradually (whole seconds)
    assert gaps[-1] == 6 * 3600
    assert len(times) < 200  # against 4,320 at a fixed 10 min
