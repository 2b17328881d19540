"""Delivery benchmarks: fan-out of one article through the outbox and the sender.

    python -m bench.delivery [--limited-readers 10000] [--readers 10000]
                             [--memory-readers 100000] [--search-readers 10000]

1. limited: one article to N readers, the stand-in enforcing Telegram's flood
   limits (30 messages/s overall): the achieved rate as a fraction of the
   limit, and how many 429s the bot provoked. Targets: ≥ 0.97, 0.
2. unlimited: the same with limits off, the stand-in in its own process:
   messages/s from the poll that finds the article (loopback feed, real
   poller) to the last message acknowledged. Target: ≥ 1,000/s on 2 cores.
   Then the peak memory of the bot process while doing it for 100,000
   readers. Target: under 200 MB.
3. search during a broadcast: the real Application answers /search from
   different readers while a broadcast to N readers is being sent at 30/s:
   reply latency p50/p95. Target: p95 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from bench.procstat import proc_cpu_seconds, self_cpu_seconds, self_peak_rss_mb
from bench.report import Report
from bot.botapi_standin import BotApiStandIn
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.delivery.telegram_bot import NewsBot
from bot.delivery.telegram_http import AiohttpRequest
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.poller import Poller
from bot.runtime.app import build_application, running
from bot.runtime.background import Background
from bot.runtime.context import BotServices
from bot.runtime.feeds_config import FeedsConfig
from bot.runtime.settings import load_settings
from bot.runtime.throttle import CommandThrottle
from bot.text.vietnamese import fold
from handlers.app import install as install_handlers
from storage.rows import ArticleInput, FeedSpec, TopicRow
from storage.sqlite import SqliteDatabase
from tests.support.feed_server import FeedServer
from tests.support.rss import Item, rss

TOPIC = TopicRow("kinh-te", "Kinh tế", "Business", ())
CONCURRENCY = 32
START = datetime(2026, 9, 24, 1, 0, tzinfo=UTC)


class Clock:
    """A fixed start moved by hand, then running in real time: a message told to
    retry after N seconds becomes due N real seconds later."""

    def __init__(self) -> None:
        self.now = START
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._started)


async def add_readers(db: SqliteDatabase, count: int, *, first: int = 1_000_000) -> None:
    """count instant-mode readers following TOPIC (plain SQL: setting up, not measuring)."""
    now = int(START.timestamp()) - 3600
    rows = [(first + i, now, now) for i in range(count)]
    async with db.sql.write() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, created_at, updated_at) VALUES (?, ?, ?)", rows
        )
        await conn.executemany(
            "INSERT INTO topic_subscriptions (chat_id, topic_slug, created_at) VALUES (?, ?, ?)",
            [(chat, TOPIC.slug, now) for chat, _, _ in rows],
        )


def item(n: int, published: datetime) -> Item:
    return Item(
        title=f"Ngân hàng Nhà nước điều chỉnh lãi suất điều hành lần {n}",
        link=f"https://bao.example.vn/lai-suat-{n}.html",
        guid=f"lai-suat-{n}",
        description="<p>Lãi suất tái cấp vốn giảm 0,5 điểm phần trăm từ ngày mai.</p>",
        published=published,
    )


def bot_for(base_url: str, rate: TelegramRateLimiter) -> NewsBot:
    request = AiohttpRequest(connection_limit=CONCURRENCY + 16)
    return NewsBot("123456:STANDIN", base_url=base_url, rate_limiter=rate, request=request)


async def drain(sender: Sender, db: SqliteDatabase) -> None:
    """Until every queued message is sent, waiting out any retry_after."""
    while True:
        if await sender.drain():
            continue
        counts = await db.outbox.counts_by_status()
        if not counts.get("pending") and not counts.get("sending"):
            return
        await asyncio.sleep(0.2)


@asynccontextmanager
async def article_world(
    readers: int,
) -> AsyncIterator[tuple[SqliteDatabase, Poller, FeedServer, Clock]]:
    """A database with readers, a loopback feed already polled once, a poller and a clock."""
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            await SqliteDatabase.open(Path(tmp) / "bench.db") as db,
            FeedServer() as feeds,
            Fetcher(FetchLimits(allow_private=True)) as fetcher,
        ):
            clock = Clock()
            await db.feeds.sync_topics([TOPIC])
            await add_readers(db, readers)
            feeds.set_feed("/rss", rss([item(1, START - timedelta(hours=1))]))
            await db.feeds.add_feed(FeedSpec(feeds.url("/rss"), "Báo", (TOPIC.slug,)), now=0)
            poller = Poller(db, fetcher, clock=clock)
            await poller.poll_due()  # the feed's first poll alerts no one
            feeds.set_feed(
                "/rss",
                rss([item(2, START - timedelta(minutes=5)), item(1, START - timedelta(hours=1))]),
            )
            clock.now = START + timedelta(days=1)
            yield db, poller, feeds, clock


async def fanout_limited(readers: int, report: Report) -> None:
    report.say(
        f"\n[1] fan-out to {readers:,} readers, stand-in (own process) enforcing 30 messages/s"
    )
    async with (
        article_world(readers) as (db, poller, _, clock),
        standin_elsewhere(flood_limits=True) as (url, conn, _),
    ):
        polled = await poller.poll_due()
        async with bot_for(url, TelegramRateLimiter()) as bot:
            sender = Sender(db, bot, clock=clock, concurrency=CONCURRENCY)
            started = time.perf_counter()
            await drain(sender, db)
            elapsed = time.perf_counter() - started
        conn.send("count")
        sent, flood_429 = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    rate = sent / elapsed
    report.say(
        f"  queued {polled.alerts_queued:,}; sent {sent:,} in {elapsed:.1f} s = {rate:.2f}/s "
        f"({rate / 30:.3f} of the limit); 429 answers: {flood_429}"
    )
    report.target(f"achieved rate ≥ 0.97 of 30/s (got {rate / 30:.3f})", rate / 30 >= 0.97)
    report.target(f"no 429s (got {flood_429})", flood_429 == 0)


def _standin_process(conn: Connection, flood_limits: bool) -> None:
    """Runs in a child process: a stand-in (with or without Telegram's flood limits);
    reports its port, then, when asked, how many messages it took and how many 429s
    it answered."""

    async def serve() -> None:
        async with BotApiStandIn() as standin:
            standin.set_flood_limits(flood_limits)
            conn.send(standin.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send((len(standin.sent), standin.flood_429_count))

    asyncio.run(serve())


@asynccontextmanager
async def standin_elsewhere(
    *, flood_limits: bool = False
) -> AsyncIterator[tuple[str, Connection, int]]:
    """The stand-in in a process of its own: its URL, its control pipe, its pid."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_standin_process, args=(child, flood_limits)
    )
    process.start()
    try:
        port = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        assert process.pid is not None
        yield f"http://127.0.0.1:{port}/bot", parent, process.pid
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


async def fanout_unlimited(readers: int, report: Report, *, label: str) -> tuple[float, float]:
    """Runs in a fresh process of its own, so its peak memory is its own alone
    (not the high-water mark of whatever this process ran before)."""
    report.say(
        f"\n[2{label}] fan-out to {readers:,} readers, limits off, stand-in in its own process"
    )
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_fanout_process, args=(readers, child))
    process.start()
    line, rate_per_s, peak = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    process.join()
    report.say(line)
    return rate_per_s, peak


def _fanout_process(readers: int, conn: Connection) -> None:
    conn.send(asyncio.run(_fanout(readers)))


async def _fanout(readers: int) -> tuple[str, float, float]:
    async with (
        article_world(readers) as (db, poller, _, clock),
        standin_elsewhere() as (url, conn, standin_pid),
    ):
        rate = TelegramRateLimiter(per_second=1_000_000, chat_interval=0.0)
        async with bot_for(url, rate) as bot:
            sender = Sender(db, bot, clock=clock, concurrency=CONCURRENCY)
            bot_cpu, standin_cpu = self_cpu_seconds(), proc_cpu_seconds(standin_pid)
            started = time.perf_counter()
            polled = await poller.poll_due()
            queued_at = time.perf_counter()
            await drain(sender, db)
            elapsed = time.perf_counter() - started
            bot_cpu = self_cpu_seconds() - bot_cpu
            standin_cpu = proc_cpu_seconds(standin_pid) - standin_cpu
        conn.send("count")
        delivered, _ = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    rate_per_s = delivered / elapsed
    peak = self_peak_rss_mb()
    per_1000 = 1000 / max(delivered, 1)
    cores = os.cpu_count() or 1
    ceiling = cores * max(delivered, 1) / max(bot_cpu + standin_cpu, 1e-9)
    line = (
        f"  poll + queue {polled.alerts_queued:,} rows: {queued_at - started:.2f} s; "
        f"{delivered:,} delivered in {elapsed:.1f} s in all = {rate_per_s:,.0f} messages/s; "
        f"bot process peak RSS {peak:.0f} MB\n"
        f"  CPU per 1,000 messages: bot {bot_cpu * per_1000:.3f} s (all its threads), "
        f"stand-in {standin_cpu * per_1000:.3f} s; on {cores} cores of their own the two "
        f"could send at most {ceiling:,.0f} messages/s; machine load {os.getloadavg()[0]:.1f}"
    )
    return line, rate_per_s, peak


async def search_during_broadcast(readers: int, report: Report, samples: int = 40) -> None:
    report.say(f"\n[3] /search replies while a broadcast to {readers:,} readers is sent at 30/s")
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            await SqliteDatabase.open(Path(tmp) / "bench.db") as db,
            BotApiStandIn() as standin,
        ):
            standin.set_flood_limits(True)
            clock = Clock()
            await db.feeds.sync_topics([TOPIC])
            await add_readers(db, readers)
            await _store_articles(db, 2_000)
            settings = load_settings({}, env_file=None)
            services = BotServices(
                settings=settings,
                db=db,
                config=FeedsConfig((TOPIC,), ()),
                clock=clock,
                throttle=CommandThrottle(),
            )
            app = build_application(
                services,
                install_handlers=install_handlers,
                token=standin.token,
                api_base_url=standin.base_url.removesuffix("/bot"),
                background=Background(poller=None, housekeeping_interval=3600),
                rate_limiter=TelegramRateLimiter(),
            )
            broadcast_id = await db.broadcasts.create_draft(
                admin_id=1,
                text="Thông báo bảo trì hệ thống",
                parse_mode="HTML",
                topic=None,
                now=int(clock.now.timestamp()),
            )
            await db.broadcasts.confirm(
                broadcast_id,
                progress_chat_id=1,
                progress_message_id=1,
                now=int(clock.now.timestamp()),
            )
            latencies: list[float] = []
            async with running(app):
                await asyncio.sleep(3.0)  # the broadcast is well under way
                queries = ["lai suat", "ngan hang", "ha noi", "kinh te", "chung khoan"]
                for n in range(samples):
                    chat = 5_000_000 + n
                    started = time.perf_counter()
                    standin.user_message(chat, f"/search {queries[n % len(queries)]}")
                    await standin.wait_for(_answered(standin, chat), timeout=30)
                    latencies.append(time.perf_counter() - started)
                    await asyncio.sleep(0.25)
                progress = await db.broadcasts.progress(broadcast_id)
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    report.say(
        f"  {samples} searches during the broadcast ({progress.sent:,} of {progress.total:,} "
        f"sent meanwhile): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms; 429 answers: {standin.flood_429_count}"
    )
    report.target(f"/search p95 under 1 s during a broadcast (got {p95 * 1000:.0f} ms)", p95 < 1.0)


def _answered(standin: BotApiStandIn, chat: int) -> Callable[[], bool]:
    return lambda: bool(standin.messages_to(chat))


async def _store_articles(db: SqliteDatabase, count: int) -> None:
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=0)
    words = ["lãi suất", "ngân hàng", "Hà Nội", "kinh tế", "chứng khoán", "giá vàng", "xuất khẩu"]
    articles = []
    for n in range(count):
        title = f"{words[n % 7].capitalize()} và {words[(n * 3) % 7]} trong tuần {n}"
        body = f"{title}. {words[(n + 1) % 7]} {words[(n + 2) % 7]} tăng trưởng ổn định."
        articles.append(
            ArticleInput(
                f"a{n}",
                f"https://bao.example.vn/{n}.html",
                title,
                body,
                body,
                None,
                None,
                START - timedelta(minutes=n),
                (),
                fold(title),
                fold(body),
                f"https://bao.example.vn/{n}.html",
            )
        )
    await db.articles.store(feed_id, articles, now=0, alert_keys=frozenset(), keyword_chats={})


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    if args.limited_readers:
        await fanout_limited(args.limited_readers, report)
    if args.readers:
        rate, _ = await fanout_unlimited(args.readers, report, label="a")
        report.target(f"≥ 1,000 messages/s through the pipeline (got {rate:,.0f})", rate >= 1000)
    if args.memory_readers:
        _, peak = await fanout_unlimited(args.memory_readers, report, label="b")
        report.target(
            f"peak memory under 200 MB for {args.memory_readers:,} readers (got {peak:.0f} MB)",
            peak < 200,
        )
    if args.search_readers:
        await search_during_broadcast(args.search_readers, report)
    return report


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__)
    parser.add_argument("--limited-readers", type=int, default=10_000)
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--memory-readers", type=int, default=100_000)
    parser.add_argument("--search-readers", type=int, default=10_000)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
