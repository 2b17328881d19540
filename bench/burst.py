"""Launch day: a burst of new readers sending /start to the real Application.

    python -m bench.burst [--readers 2000] [--spread 5] [--search-every 2]
                          [--searches N] [--articles 400] [--standin-in-process]

N distinct new readers send /start within `--spread` seconds to the real
Application (`bot.runtime.app.build_application` with the real handlers, the
real `TelegramRateLimiter` defaults: 30 messages/s overall, 1/s per chat),
talking to the Bot API stand-in with Telegram's flood limits on (it answers
429 when they are exceeded), in a process of its own. Meanwhile one existing
reader (subscribed before the burst) sends /search every `--search-every`
seconds. The database is a real SQLite file with a few hundred articles.

The stand-in has no HTTP hook for injecting users' messages (its routes are
the Bot API's own), so the burst is driven inside the stand-in's process: the
plan goes over the control pipe, and a driver there calls `user_message` on
schedule and times each chat's answer from the stand-in's own record of the
bot's sendMessage. `--standin-in-process` runs the same driver in the bot's
process instead.

Targets: every reader answered (one message each), 0 × 429, the last answer
within 1.15× the physical floor (N messages at 30/s), /search reply p95 < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from bench import vnsynth
from bench.procstat import self_cpu_seconds, self_peak_rss_mb
from bench.report import Report
from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.delivery.ratelimit import MESSAGES_PER_SECOND, TelegramRateLimiter
from bot.runtime.app import build_application, running
from bot.runtime.background import Background
from bot.runtime.context import BotServices
from bot.runtime.feeds_config import FeedsConfig, load_feeds_config
from bot.runtime.settings import load_settings
from bot.runtime.throttle import CommandThrottle
from bot.runtime.updates import PerChatUpdateProcessor
from bot.text.vietnamese import fold
from handlers.app import install as install_handlers
from storage.rows import ArticleInput, FeedSpec
from storage.sqlite import SqliteDatabase

FEEDS_TOML = Path(__file__).resolve().parents[1] / "feeds.toml"
FIRST_READER = 7_000_000
SEARCH_READER = 6_999_999
SEARCH_START = 1.0  # seconds into the burst: the first /search
QUERIES = ("lãi suất", "ngân hàng", "chứng khoán", "Hà Nội", "giá vàng", "xuất khẩu", "bóng đá")
ORDERED_WORDS = (*QUERIES, "kinh tế", "bất động sản", "thời tiết", "du lịch", "giáo dục")
LAST_TARGET = 1.15
SEARCH_P95_TARGET = 2.0


@dataclass(frozen=True, slots=True)
class Plan:
    readers: int
    spread: float
    searches: int
    search_every: float
    deadline: float  # seconds after the burst started to give up waiting


@dataclass(slots=True)
class Outcome:
    """What the driver saw, measured on the stand-in's clock (time.monotonic)."""

    reader_latency: list[float] = field(default_factory=list)  # answered readers only
    unanswered: int = 0
    extra_messages: int = 0  # messages to new readers beyond the first
    last_answer: float = 0.0  # seconds from the first /start to the last first answer
    injected_in: float = 0.0  # seconds from the first /start to the last
    search_latency: list[float] = field(default_factory=list)
    searches_sent: int = 0
    search_texts: list[str] = field(default_factory=list)
    flood_429: int = 0
    search_rejected: int = 0  # sendMessage calls to the searching reader not delivered
    send_calls: int = 0
    standin_cpu: float = 0.0


async def drive(standin: BotApiStandIn, plan: Plan) -> Outcome:
    """Runs on the stand-in's loop: inject the burst and the searches, time the answers."""
    injected: dict[int, float] = {}
    answered: dict[int, float] = {}
    extra = 0
    search_injected: list[float] = []
    search_answered: list[float] = []
    search_texts: list[str] = []
    done = asyncio.Event()

    def check_done() -> None:
        if len(answered) >= plan.readers and len(search_answered) >= plan.searches:
            done.set()

    def on_sent(message: SentMessage) -> None:
        nonlocal extra
        if message.method != "sendMessage":
            return
        chat = message.chat_id
        if chat == SEARCH_READER:
            search_answered.append(message.at)
            search_texts.append(message.visible_text[:60])
        elif chat in injected:
            if chat in answered:
                extra += 1
            else:
                answered[chat] = message.at
        check_done()

    standin.on_sent.append(on_sent)
    started = time.monotonic()

    async def burst() -> None:
        for i in range(plan.readers):
            due = started + i * plan.spread / max(plan.readers - 1, 1)
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            chat = FIRST_READER + i
            injected[chat] = time.monotonic()
            standin.user_message(chat, "/start", first_name=f"Độc giả {i}", language_code="vi")

    async def searches() -> None:
        for k in range(plan.searches):
            due = started + SEARCH_START + k * plan.search_every
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            search_injected.append(time.monotonic())
            standin.user_message(SEARCH_READER, f"/search {QUERIES[k % len(QUERIES)]}")

    await asyncio.gather(burst(), searches())
    injected_in = max(injected.values()) - started
    check_done()
    remaining = plan.deadline - (time.monotonic() - started)
    try:
        async with asyncio.timeout(max(remaining, 1.0)):
            await done.wait()
    except TimeoutError:
        pass
    await asyncio.sleep(0.5)  # anything sent twice shows up here
    standin.on_sent.remove(on_sent)
    first = min(injected.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Outcome(
        reader_latency=[answered[c] - injected[c] for c in answered],
        unanswered=plan.readers - len(answered),
        extra_messages=extra,
        last_answer=(max(answered.values()) - first) if answered else math.inf,
        injected_in=injected_in,
        search_latency=[a - i for i, a in zip(search_injected, search_answered, strict=False)],
        searches_sent=len(search_injected),
        search_texts=search_texts[:3],
        flood_429=standin.flood_429_count,
        search_rejected=sum(
            1
            for name, params in standin.calls
            if name == "sendMessage" and params.get("chat_id") == SEARCH_READER
        )
        - len(search_answered),
        send_calls=sum(1 for name, _ in standin.calls if name == "sendMessage"),
        standin_cpu=usage.ru_utime + usage.ru_stime,
    )


# ---- the stand-in, in its own process or in this one ---------------------------------


def _standin_process(conn: Connection) -> None:
    """Child process: a flood-limited stand-in; reports its port, runs the plan it is
    sent, reports the outcome, then serves until told to stop."""

    async def serve() -> None:
        async with BotApiStandIn() as standin:
            standin.set_flood_limits(True)
            conn.send(standin.port)
            loop = asyncio.get_running_loop()
            plan = await loop.run_in_executor(None, conn.recv)
            conn.send(await drive(standin, plan))
            await loop.run_in_executor(None, conn.recv)  # "stop": the bot has shut down

    asyncio.run(serve())


class StandInProcess:
    def __init__(self, conn: Connection, port: int) -> None:
        self._conn = conn
        self.api_base_url = f"http://127.0.0.1:{port}"
        self.where = "own process; readers injected through its control pipe"

    async def run(self, plan: Plan) -> Outcome:
        self._conn.send(plan)
        outcome: Outcome = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        return outcome


class StandInHere:
    def __init__(self, standin: BotApiStandIn) -> None:
        self._standin = standin
        self.api_base_url = standin.base_url.removesuffix("/bot")
        self.where = "IN THE BOT'S PROCESS (--standin-in-process): shares its CPU"

    async def run(self, plan: Plan) -> Outcome:
        outcome = await drive(self._standin, plan)
        outcome.standin_cpu = math.nan  # not separable from the bot's
        return outcome


@asynccontextmanager
async def standin(in_process: bool) -> AsyncIterator[StandInProcess | StandInHere]:
    if in_process:
        async with BotApiStandIn() as here:
            here.set_flood_limits(True)
            yield StandInHere(here)
        return
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_standin_process, args=(child,))
    process.start()
    try:
        port = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        yield StandInProcess(parent, port)
    finally:
        if process.is_alive():
            parent.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


# ---- the bot's side ----------------------------------------------------------------


async def store_articles(db: SqliteDatabase, count: int) -> None:
    """count Vietnamese articles, most of them carrying one of the searched phrases."""
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=0)
    rng = random.Random(11)
    words = vnsynth.default_words()
    newest = datetime.now(UTC)
    articles = []
    for n in range(count):
        phrase = ORDERED_WORDS[n % len(ORDERED_WORDS)]
        title = f"{vnsynth.title(rng, words, 9)} {phrase}"
        body = f"{vnsynth.paragraph(rng, words, 60)} {phrase.capitalize()} {n}."
        articles.append(
            ArticleInput(
                f"burst-{n}",
                f"https://bao.example.vn/{vnsynth.slug(title)}-{n}.html",
                title,
                body[:300],
                body,
                None,
                None,
                newest - timedelta(minutes=7 * n),
                (),
                fold(title),
                fold(body),
                f"https://bao.example.vn/{vnsynth.slug(title)}-{n}.html",
            )
        )
    await db.articles.store(feed_id, articles, now=0, alert_keys=frozenset(), keyword_chats={})


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    readers: int = args.readers
    floor = readers / MESSAGES_PER_SECOND
    searches = args.searches
    if searches is None:
        searches = max(1, int(floor * 0.9 / args.search_every))
    plan = Plan(readers, args.spread, searches, args.search_every, deadline=floor * 2 + 30)
    report.say(
        f"[burst] {readers:,} new readers send /start within {args.spread:g} s; an existing "
        f"reader sends /search every {args.search_every:g} s ({searches}×); "
        f"{args.articles} articles stored"
    )
    loaded = load_feeds_config(FEEDS_TOML)
    config = FeedsConfig(loaded.topics, ())
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            await SqliteDatabase.open(Path(tmp) / "burst.db") as db,
            standin(args.standin_in_process) as api,
        ):
            report.say(
                "  stand-in: Telegram's flood limits on; no HTTP hook injects users' "
                f"messages, so: {api.where}"
            )
            await db.feeds.sync_topics(config.topics)
            await store_articles(db, args.articles)
            now = int(time.time())
            await db.subscribers.ensure_subscriber(SEARCH_READER, now=now - 86_400)
            await db.subscribers.subscribe_topic(
                SEARCH_READER, config.topics[0].slug, now=now - 86_400
            )
            services = BotServices(
                settings=load_settings({}, env_file=None),
                db=db,
                config=config,
                throttle=CommandThrottle(),
            )
            app = build_application(
                services,
                install_handlers=install_handlers,
                token="123456:STANDIN",
                api_base_url=api.api_base_url,
                background=Background(poller=None, housekeeping_interval=3_600),
                rate_limiter=TelegramRateLimiter(),
            )
            async with running(app):
                cpu_before = self_cpu_seconds()
                outcome = await api.run(plan)
                bot_cpu = self_cpu_seconds() - cpu_before
                processor = app.update_processor
                if isinstance(processor, PerChatUpdateProcessor):
                    async with asyncio.timeout(30):
                        await processor.idle()
            subscribers = await db.subscribers.count_subscribers()
    _print(report, outcome, plan, floor, bot_cpu, subscribers)
    return report


def _print(
    report: Report,
    out: Outcome,
    plan: Plan,
    floor: float,
    bot_cpu: float,
    subscribers: dict[str, int],
) -> None:
    answered = len(out.reader_latency)
    lat = out.reader_latency
    report.say(
        f"  injected {plan.readers:,} /start in {out.injected_in:.2f} s; readers answered "
        f"{answered:,} of {plan.readers:,} ({out.extra_messages} extra messages); "
        f"sendMessage calls {out.send_calls:,}; 429 answers: {out.flood_429} "
        f"({out.search_rejected} of them to the searching reader)"
    )
    report.say(
        f"  welcome latency (injection → sendMessage at the stand-in): "
        f"p50 {statistics.median(lat) if lat else math.nan:.1f} s, "
        f"p95 {percentile(lat, 0.95):.1f} s, max {max(lat, default=math.nan):.1f} s"
    )
    ratio = out.last_answer / floor
    report.say(
        f"  last reader answered {out.last_answer:.1f} s after the first /start; floor "
        f"{plan.readers:,} / 30 per s = {floor:.1f} s; ratio {ratio:.3f}"
    )
    search = out.search_latency
    report.say(
        f"  /search from an existing reader: {len(search)} of {out.searches_sent} answered; "
        f"p50 {statistics.median(search) if search else math.nan:.2f} s, "
        f"p95 {percentile(search, 0.95):.2f} s, max {max(search, default=math.nan):.2f} s"
        + (f" (first: {out.search_texts[0]!r}…)" if out.search_texts else "")
    )
    report.say(
        f"  CPU: bot process {bot_cpu:.1f} s (peak RSS {self_peak_rss_mb():.0f} MB), "
        f"stand-in {out.standin_cpu:.1f} s; readers in the database: {subscribers}"
    )
    report.target(
        f"every reader answered, one message each (got {answered:,} of {plan.readers:,}, "
        f"{out.extra_messages} extra)",
        answered == plan.readers and out.extra_messages == 0,
    )
    report.target(f"no 429s (got {out.flood_429})", out.flood_429 == 0)
    report.target(
        f"last answer within {LAST_TARGET}× the floor (got {ratio:.3f}×)", ratio <= LAST_TARGET
    )
    p95 = percentile(search, 0.95)
    report.target(
        f"/search p95 under {SEARCH_P95_TARGET:g} s during the burst (got {p95:.2f} s, "
        f"{len(search)} of {out.searches_sent} answered)",
        len(search) == out.searches_sent and p95 < SEARCH_P95_TARGET,
    )


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--readers", type=int, default=2_000)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds the /starts span")
    parser.add_argument("--search-every", type=float, default=2.0)
    parser.add_argument("--searches", type=int, default=None, help="default: 0.9 × floor / every")
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--standin-in-process", action="store_true")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
