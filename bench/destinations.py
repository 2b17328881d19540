"""Destinations beside private readers: Telegram's 20 messages a minute per channel or
group kept, without slowing readers' alerts.

    python -m bench.destinations [--destinations 4] [--readers 20] [--articles 25]

One feed's articles queue a post for each destination (channels and groups routed the
topic) and an alert for each reader, together, as a poll does. The real sender and
rate limiter (30/s overall, 1/s per chat, 20/min per group or channel) deliver them
to the Bot API stand-in, which enforces the same limits and answers 429 to anything
over them. Printed: posts per destination in any 60 s, 429 answers, when the last
post went, and the gaps between one reader's consecutive alerts (their own 1/s limit
is the floor). Targets: at most 20 posts per destination in any minute, no 429, every
post delivered, and no reader's alerts more than 1.5 s apart.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bench.delivery import START, TOPIC, Clock, add_readers, bot_for
from bench.report import Report
from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.text.vietnamese import fold
from storage.rows import ArticleInput, DestinationSpec, FeedSpec
from storage.sqlite import SqliteDatabase

FIRST_READER = 1_000_000
FIRST_DESTINATION = -1_001_000_000_000


def articles(count: int) -> list[ArticleInput]:
    made = []
    for n in range(count):
        title = f"Ngân hàng điều chỉnh lãi suất lần {n}"
        body = "Lãi suất tái cấp vốn giảm 0,5 điểm phần trăm từ ngày mai."
        made.append(
            ArticleInput(
                f"a{n}",
                f"https://bao.example.vn/lai-suat-{n}.html",
                title,
                body,
                body,
                None,
                f"https://img.example.vn/{n}.jpg" if n % 2 else None,
                START - timedelta(minutes=n),
                (TOPIC.slug,),
                fold(title),
                fold(body),
                f"https://bao.example.vn/lai-suat-{n}.html",
            )
        )
    return made


def most_in_a_minute(times: Sequence[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 60.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def measure(destinations: int, readers: int, count: int, report: Report) -> None:
    report.say(
        f"\n[destinations] {count} articles to {destinations} destinations and "
        f"{readers} readers at once, Telegram's limits enforced by the stand-in"
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            await SqliteDatabase.open(Path(tmp) / "bench.db") as db,
            BotApiStandIn() as standin,
        ):
            standin.set_flood_limits(True)
            for n in range(destinations):
                chat = FIRST_DESTINATION - n
                standin.set_chat(chat, "channel" if n % 2 == 0 else "supergroup")
                spec = DestinationSpec(chat, "channel", f"Kênh {n}", topics=(TOPIC.slug,))
                await db.destinations.add(spec, added_by=None, now=0)
            await db.feeds.sync_topics([TOPIC])
            await add_readers(db, readers, first=FIRST_READER)
            feed_id, _ = await db.feeds.add_feed(
                FeedSpec("https://bao.example.vn/rss", "Báo", (TOPIC.slug,)), now=0
            )
            batch = articles(count)
            clock = Clock()
            await db.articles.store(
                feed_id,
                batch,
                now=int(clock().timestamp()),
                alert_keys=frozenset(a.item_key for a in batch),
            )
            limiter = TelegramRateLimiter()
            async with bot_for(standin.base_url, limiter) as bot:
                sender = Sender(db, bot, clock=clock)
                stop = asyncio.Event()
                started = time.monotonic()
                task = asyncio.create_task(sender.run_forever(stop, idle=0.2))
                expected = destinations * count + readers * count
                await standin.wait_for(lambda: len(standin.sent) >= expected, timeout=180)
                stop.set()
                await task
    sent: list[SentMessage] = standin.sent
    posts = {
        c: [m.at for m in sent if m.chat_id == c]
        for c in {m.chat_id for m in sent if m.chat_id < 0}
    }
    busiest = max(most_in_a_minute(times) for times in posts.values())
    last_post = max(max(times) for times in posts.values()) - started
    gaps = []
    for chat in range(FIRST_READER, FIRST_READER + readers):
        times = sorted(m.at for m in sent if m.chat_id == chat)
        gaps += [b - a for a, b in itertools.pairwise(times)]
    gaps.sort()
    p99 = gaps[int(len(gaps) * 0.99) - 1]
    report.say(
        f"  posts: {sum(len(t) for t in posts.values())} to {len(posts)} destinations, at most "
        f"{busiest} to one in any 60 s, the last at {last_post:.1f} s; "
        f"429 answers: {standin.flood_429_count}"
    )
    report.say(
        f"  alerts: {len(gaps) + readers} to {readers} readers; gap between one reader's "
        f"alerts p50 {statistics.median(gaps):.2f} s, p99 {p99:.2f} s, max {gaps[-1]:.2f} s"
    )
    report.target(f"at most 20 posts a minute per destination (got {busiest})", busiest <= 20)
    report.target(
        f"no 429 from the stand-in (got {standin.flood_429_count})", standin.flood_429_count == 0
    )
    report.target(
        f"every post delivered ({sum(len(t) for t in posts.values())} of {destinations * count})",
        sum(len(t) for t in posts.values()) == destinations * count,
    )
    report.target(
        f"a reader's alerts at most 1.5 s apart while destinations wait (max {gaps[-1]:.2f} s)",
        gaps[-1] <= 1.5,
    )


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.destinations", description=__doc__)
    parser.add_argument("--destinations", type=int, default=4)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--articles", type=int, default=25)
    args = parser.parse_args(argv)
    report = Report()
    asyncio.run(measure(args.destinations, args.readers, args.articles, report))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
