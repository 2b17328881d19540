"""Scheduling benchmark: a day of Vietnamese publishing replayed in virtual time.

    python -m bench.scheduling [--feeds 500] [--busy 0.15] [--sections 0.35] [--seed 1]

N synthetic feeds publish through two days in Asia/Ho_Chi_Minh: busy newsrooms
(an item every 2-10 min by day, nearly silent 00:00-05:00), sections (every
20-120 min by day, nearly silent 23:00-06:00) and magazines (1-6 items a day
between 07:00 and 21:00). Some feeds ask for a minimum through Cache-Control
max-age or an RSS ttl. The first day warms the schedulers up; the second is
measured.

A poll is an instantaneous read of the feed's latest 25 items published up to
now: no network, no sleeping. Two schedulers run over the same items:

- fixed: today's scheduler before adaptive polling, `next_poll_delay` (600 s,
  or longer when the feed asks) and a poll loop that looks for due feeds every
  30 s;
- adaptive: the poller's scheduling as it is now, `observe_new_items` and
  `adaptive_poll_delay` after every poll (the same calls, with the same
  arguments, as bot.ingest.poller), and a loop that sleeps `wake_delay` until
  the next feed is due (at most 60 s).

Printed per kind of feed: median and p95 of the delay from an item's appearance
to the poll that first sees it (its alert queued), the requests made on the
measured day, and checks: polls sooner than the 60 s floor or than the feed
asked, items that dropped out of the 25 before any poll saw them, and items
stored without an alert because one poll found more than the flood cap.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.ingest.freshness import (
    PollPolicy,
    Rhythm,
    adaptive_poll_delay,
    next_poll_delay,
    observe_new_items,
    stated_minimum,
)
from bot.ingest.poller import PollerOptions, wake_delay

TARGET_FEEDS = 500
TARGET_BUSY_MEDIAN = 90.0
TARGET_BUSY_P95 = 300.0
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# Day 1 warms the schedulers up, day 2 is measured (a Thursday; Việt Nam has no DST).
START = int(datetime(2026, 9, 23, tzinfo=ZONE).timestamp())
DAY = 86_400
MEASURED = (START + DAY, START + 2 * DAY)
# After the measured day, polling goes on this long so its last items are seen.
TAIL = 6 * 3600
DOC_ITEMS = 25  # what a feed document lists
FIXED_TICK = 30.0  # Poller.run_forever(idle=30) before adaptive polling
MAX_SLEEP = 60.0  # Poller.run_forever(max_sleep=60)

KINDS = ("busy", "section", "magazine")
LABELS = {"busy": "busy newsrooms", "section": "sections", "magazine": "quiet magazines"}
# Relative publishing rate by local hour, 00 … 23.
BUSY_PROFILE = (
    0.03, 0.03, 0.03, 0.03, 0.03, 0.3, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0,
    0.7, 0.7, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8, 0.8, 0.6, 0.4, 0.2,
)  # fmt: skip
SECTION_PROFILE = (
    0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0,
    0.7, 0.7, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8, 0.6, 0.5, 0.3, 0.02,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Feed:
    kind: str
    appeared: tuple[float, ...]  # when each item appears in the document, sorted
    published: tuple[int, ...]  # its pubDate: the minute it appeared (feeds give HH:MM)
    headers: dict[str, str]
    ttl_minutes: int | None

    def asked(self, policy: PollPolicy) -> float:
        """The shortest gap between two polls this feed allows: floor or its own ask."""
        now = datetime.fromtimestamp(START, UTC)
        ask = stated_minimum(headers=self.headers, ttl_minutes=self.ttl_minutes, now=now) or 0.0
        return max(policy.min_interval, min(ask, policy.max_interval))


@dataclass(slots=True)
class FeedState:
    """What the feeds table holds for one feed (and what of its items the bench has shown)."""

    seen: int = 0  # items [0, seen) are behind us (seen, or dropped out unseen)
    last_success: float | None = None
    last_poll: float | None = None
    rhythm: Rhythm = field(default_factory=Rhythm)


@dataclass
class KindFigures:
    feeds: int = 0
    delays: list[float] = field(default_factory=list)
    requests: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.delays) if self.delays else math.nan

    @property
    def p95(self) -> float:
        return _percentile(self.delays, 0.95)


@dataclass
class RunFigures:
    name: str
    kinds: dict[str, KindFigures]
    wakeups: int = 0
    too_soon: int = 0  # polls sooner than the floor or than the feed asked
    dropped: int = 0  # measured items that left the document before a poll saw them
    unalerted: int = 0  # measured items stored quietly: more new items than the flood cap
    unseen: int = 0  # measured items no poll saw before the end of the replay

    @property
    def requests(self) -> int:
        return sum(k.requests for k in self.kinds.values())


@dataclass
class SchedulingResult:
    feeds: int
    per_kind: dict[str, int]
    items: dict[str, int]
    fixed: RunFigures
    adaptive: RunFigures
    seconds: float
    targets: list[tuple[str, bool]] = field(default_factory=list)


def make_feeds(n: int, busy: float, sections: float, rng: random.Random) -> list[Feed]:
    counts = {"busy": round(n * busy), "section": round(n * sections)}
    counts["magazine"] = n - counts["busy"] - counts["section"]
    feeds = []
    for kind in KINDS:
        for _ in range(counts[kind]):
            appeared = _publishing(kind, rng)
            headers: dict[str, str] = {}
            ttl = None
            draw = rng.random()
            if kind == "busy" and draw < 0.2:
                headers["cache-control"] = "public, max-age=120"  # a CDN in front
            elif kind == "section" and draw < 0.1:
                headers["cache-control"] = "max-age=300"
            elif kind == "magazine" and draw < 0.1:
                ttl = 60
            feeds.append(
                Feed(
                    kind,
                    tuple(appeared),
                    tuple(int(t) // 60 * 60 for t in appeared),
                    headers,
                    ttl,
                )
            )
    return feeds


def _publishing(kind: str, rng: random.Random) -> list[float]:
    """Appearance times from a day before START to the end of the replay."""
    begin, end = START - DAY, MEASURED[1] + TAIL
    if kind == "magazine":
        times = []
        for day in range(-1, 3):
            midnight = START + day * DAY
            times += [midnight + rng.uniform(7 * 3600, 21 * 3600) for _ in range(rng.randint(1, 6))]
        return sorted(t for t in times if begin <= t < end)
    mean_gap = rng.uniform(120, 600) if kind == "busy" else rng.uniform(1200, 7200)
    profile = BUSY_PROFILE if kind == "busy" else SECTION_PROFILE
    times, t = [], float(begin)
    while True:  # a Poisson process at the daytime rate, thinned by the hour's profile
        t += rng.expovariate(1 / mean_gap)
        if t >= end:
            return times
        if rng.random() < profile[datetime.fromtimestamp(t, ZONE).hour]:
            times.append(t)


Schedule = Callable[[Feed, FeedState, float, Sequence[int], bool], float]


def fixed_schedule(policy: PollPolicy) -> Schedule:
    """Before adaptive polling: the default interval, or what the feed asks if longer."""

    def schedule(
        feed: Feed, state: FeedState, now: float, arrived: Sequence[int], first: bool
    ) -> float:
        when = datetime.fromtimestamp(now, UTC)
        return next_poll_delay(
            headers=feed.headers, ttl_minutes=feed.ttl_minutes, policy=policy, now=when
        )

    return schedule


def adaptive_schedule(policy: PollPolicy) -> Schedule:
    """What Poller._store and Poller._unchanged do after a successful poll."""

    def schedule(
        feed: Feed, state: FeedState, now: float, arrived: Sequence[int], first: bool
    ) -> float:
        when = datetime.fromtimestamp(now, UTC)
        seen_until = None if first or state.last_success is None else state.last_success
        state.rhythm = observe_new_items(
            state.rhythm,
            [datetime.fromtimestamp(p, UTC) for p in arrived],
            seen_until=None if seen_until is None else datetime.fromtimestamp(seen_until, UTC),
            now=when,
            policy=policy,
        )
        return adaptive_poll_delay(
            rhythm=state.rhythm,
            headers=feed.headers,
            ttl_minutes=feed.ttl_minutes,
            policy=policy,
            now=when,
        )

    return schedule


def replay(
    name: str,
    feeds: Sequence[Feed],
    schedule: Schedule,
    next_sleep: Callable[[float, float | None], float],
    options: PollerOptions,
) -> RunFigures:
    """Run one scheduler over every feed from START until the measured day's items are seen.

    next_sleep(now, earliest next poll) is the poll loop's sleep after a cycle.
    """
    run = RunFigures(name, {kind: KindFigures() for kind in KINDS})
    for feed in feeds:
        run.kinds[feed.kind].feeds += 1
    states = [FeedState() for _ in feeds]
    allowed = [feed.asked(options.policy) for feed in feeds]
    due: list[tuple[float, int]] = [(0.0, i) for i in range(len(feeds))]  # all due at once
    heapq.heapify(due)
    now = float(START)
    end = MEASURED[1] + TAIL
    while now < end:
        run.wakeups += MEASURED[0] <= now < MEASURED[1]
        while due and due[0][0] <= now:
            _, i = heapq.heappop(due)
            delay = _poll(feeds[i], states[i], now, schedule, run, allowed[i], options)
            heapq.heappush(due, (float(int(now + delay)), i))
        now += next_sleep(now, due[0][0] if due else None)
    for feed, state in zip(feeds, states, strict=True):
        lo = bisect.bisect_left(feed.appeared, MEASURED[0], lo=state.seen)
        hi = bisect.bisect_left(feed.appeared, MEASURED[1], lo=state.seen)
        run.unseen += max(0, hi - lo)
    return run


def _poll(
    feed: Feed,
    state: FeedState,
    now: float,
    schedule: Schedule,
    run: RunFigures,
    allowed: float,
    options: PollerOptions,
) -> float:
    figures = run.kinds[feed.kind]
    measured = MEASURED[0] <= now < MEASURED[1]
    if measured:
        figures.requests += 1
        if state.last_poll is not None and now - state.last_poll < allowed - 1e-6:
            run.too_soon += 1
    state.last_poll = now
    visible_end = bisect.bisect_right(feed.appeared, now)
    visible_start = max(0, visible_end - DOC_ITEMS)
    first = state.last_success is None
    if first:
        # The first poll stores the document and alerts no one; the poller learns
        # the rhythm from the items' dates (those before the fetch).
        arrived = [feed.published[j] for j in range(visible_start, visible_end)]
        arrived = [p for p in arrived if p < now]
    else:
        for j in range(state.seen, visible_start):  # left the document unseen
            run.dropped += MEASURED[0] <= feed.appeared[j] < MEASURED[1]
        new = list(range(max(state.seen, visible_start), visible_end))
        # More new items than the flood cap: the newest few alert, the rest are stored quietly.
        alerted = new[-options.max_alerts_per_poll :]
        for j in new:
            if not MEASURED[0] <= feed.appeared[j] < MEASURED[1]:
                continue
            if j in alerted:
                figures.delays.append(now - feed.appeared[j])
            else:
                run.unalerted += 1
        arrived = [feed.published[j] for j in alerted]
    delay = schedule(feed, state, now, arrived, first)
    state.seen = visible_end
    state.last_success = now
    return delay


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def run(n_feeds: int, busy: float, sections: float, seed: int) -> SchedulingResult:
    started = time.perf_counter()
    feeds = make_feeds(n_feeds, busy, sections, random.Random(seed))
    options = PollerOptions()
    policy = options.policy

    def tick(now: float, next_due: float | None) -> float:
        return FIXED_TICK

    def until_due(now: float, next_due: float | None) -> float:
        return wake_delay(next_due, now, max_sleep=MAX_SLEEP)

    fixed = replay("fixed", feeds, fixed_schedule(policy), tick, options)
    adaptive = replay("adaptive", feeds, adaptive_schedule(policy), until_due, options)
    items = {
        kind: sum(
            bisect.bisect_left(f.appeared, MEASURED[1])
            - bisect.bisect_left(f.appeared, MEASURED[0])
            for f in feeds
            if f.kind == kind
        )
        for kind in KINDS
    }
    result = SchedulingResult(
        feeds=len(feeds),
        per_kind={kind: fixed.kinds[kind].feeds for kind in KINDS},
        items=items,
        fixed=fixed,
        adaptive=adaptive,
        seconds=time.perf_counter() - started,
    )
    busy_figures = adaptive.kinds["busy"]
    result.targets = [
        (
            f"busy feeds: median delay < {TARGET_BUSY_MEDIAN:.0f} s",
            busy_figures.median < TARGET_BUSY_MEDIAN,
        ),
        (f"busy feeds: p95 delay < {TARGET_BUSY_P95:.0f} s", busy_figures.p95 < TARGET_BUSY_P95),
        ("requests no more than the fixed 600 s interval", adaptive.requests <= fixed.requests),
        ("no poll sooner than the floor or than the feed asked", adaptive.too_soon == 0),
    ]
    return result


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def report(r: SchedulingResult) -> str:
    mix = ", ".join(f"{r.per_kind[k]} {LABELS[k]}" for k in KINDS)
    lines = [
        f"scheduling: {r.feeds} feeds ({mix}); one day replayed after a day of warm-up, "
        f"virtual time, {r.seconds:.1f} s",
        f"  fixed = 600 s interval, loop checks every {FIXED_TICK:.0f} s; "
        f"adaptive = feed rhythm, loop sleeps until the next feed is due (<= {MAX_SLEEP:.0f} s)",
        "  delay = from an item's appearance to the poll that first sees it (alert queued)",
        "",
        f"  {'':<17}{'items':>7}  {'fixed: median':>14}{'p95':>10}{'requests':>10}"
        f"  {'adaptive: median':>17}{'p95':>10}{'requests':>10}",
    ]
    for kind in KINDS:
        f, a = r.fixed.kinds[kind], r.adaptive.kinds[kind]
        lines.append(
            f"  {LABELS[kind]:<17}{r.items[kind]:>7,}  {_duration(f.median):>14}"
            f"{_duration(f.p95):>10}{f.requests:>10,}  {_duration(a.median):>17}"
            f"{_duration(a.p95):>10}{a.requests:>10,}"
        )
    lines += [
        f"  {'all feeds':<17}{sum(r.items.values()):>7,}  {'':>14}{'':>10}"
        f"{r.fixed.requests:>10,}  {'':>17}{'':>10}{r.adaptive.requests:>10,}"
        f"   ({r.adaptive.requests / max(r.fixed.requests, 1):.0%} of fixed)",
        "",
        f"  {'':<52}{'fixed':>8}{'adaptive':>10}",
    ]
    for label, attr in (
        ("poll loop wake-ups on the measured day", "wakeups"),
        ("polls sooner than the 60 s floor or the feed's ask", "too_soon"),
        ("items that left the 25 before a poll saw them", "dropped"),
        ("items stored without alert (flood cap per poll)", "unalerted"),
        ("items no poll saw by the end of the replay", "unseen"),
    ):
        lines.append(f"  {label:<52}{getattr(r.fixed, attr):>8,}{getattr(r.adaptive, attr):>10,}")
    busy = r.adaptive.kinds["busy"]
    lines += [
        "",
        f"  target busy feeds median < {TARGET_BUSY_MEDIAN:.0f} s: {_duration(busy.median)}  "
        f"{_verdict(r.targets[0][1])}",
        f"  target busy feeds p95 < {TARGET_BUSY_P95:.0f} s: {_duration(busy.p95)}  "
        f"{_verdict(r.targets[1][1])}",
        f"  target requests <= fixed: {r.adaptive.requests:,} vs {r.fixed.requests:,}  "
        f"{_verdict(r.targets[2][1])}",
        f"  target no poll sooner than allowed: {r.adaptive.too_soon}  {_verdict(r.targets[3][1])}",
    ]
    if r.feeds != TARGET_FEEDS:
        lines.append(f"  (targets are set for {TARGET_FEEDS} feeds)")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduling", description=__doc__)
    parser.add_argument("--feeds", type=int, default=TARGET_FEEDS, help="number of feeds")
    parser.add_argument("--busy", type=float, default=0.15, help="share of busy newsrooms")
    parser.add_argument("--sections", type=float, default=0.35, help="share of sections")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the publishing")
    return parser


def main(argv: Sequence[str] | None = None) -> SchedulingResult:
    args = build_parser().parse_args(argv)
    if args.feeds < 1 or min(args.busy, args.sections) < 0 or args.busy + args.sections > 1:
        raise SystemExit("--feeds must be >= 1; --busy and --sections shares add up to at most 1")
    result = run(args.feeds, args.busy, args.sections, args.seed)
    print(report(result), flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
