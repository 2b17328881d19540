"""Several `newsbot run` processes on one PostgreSQL database.

    python -m bench.multiprocess [--readers 10000] [--limited-readers 3000]
                                 [--processes 1,2,4] [--rounds 3] [--kill-readers 10000]

Real processes, started as an operator starts them (`python -m handlers.main
run`, settings from the environment), on a throw-away PostgreSQL cluster
(tests/support/postgres.py: fsync off), against the Bot API stand-in in a
process of its own. One article is stored with its alerts queued for every
reader (`db.articles.store`, the poller's transaction), and the processes
share the sending through their outbox claims.

1. limits off (NEWSBOT_SEND_RATE=1000 with paid broadcasts, the stand-in
   without flood limits), through 1, 2 and 4 processes: messages/s from the
   first acknowledged send to the last, and the bot processes' CPU-seconds per
   1,000 messages (each process, and all together). Target: N processes'
   CPU per message ≤ 1.15 × one process's. BENCH_SEND_RATE=400 (say) caps
   the rate all of them share, leaving the cores partly idle: what a message
   costs a process that is often asleep.
2. limits on (30/s, the stand-in answering 429 beyond Telegram's limits),
   through 1, 2 and 4 processes: the fraction of 30/s all of them achieve
   together, and the 429s. Targets: ≥ 0.97, 0.
3. kill -9 of one of two processes mid-fan-out (limits off): lost (target 0),
   duplicates, seconds until the messages the dead process had in flight were
   sent by the survivor and until it held every role (target < 10). Then the
   same with SIGSTOP, a process that hangs or a machine that vanished: no pid
   to see dead, so its claims and leases have to expire.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg

import storage
from bench.procstat import proc_cpu_seconds
from bench.report import Report
from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.runtime.background import LEASE_NAME, MEMBER_PREFIX, UPDATES_LEASE
from storage.api import Database
from storage.rows import ArticleInput, FeedSpec, TopicRow
from tests.support.postgres import PostgresCluster

TOPIC = TopicRow("kinh-te", "Kinh tế", "Business", ())
TOKEN = "123456:STANDIN"
FIRST_READER = 1_000_000
REPO = Path(__file__).resolve().parents[1]
FEEDS_TOML = f"""
[[topics]]
slug = "{TOPIC.slug}"
name_vi = "{TOPIC.name_vi}"
name_en = "{TOPIC.name_en}"
"""


# ---- the stand-in, in a process of its own --------------------------------------------------


def _standin_process(conn: Connection) -> None:
    """Serves the Bot API on loopback; answers the parent's questions over the pipe."""

    async def serve() -> None:
        async with BotApiStandIn(token=TOKEN) as standin:
            times: list[tuple[int, float]] = []

            def sent(message: SentMessage) -> None:
                if not message.edited:
                    times.append((message.chat_id, time.time()))

            standin.on_sent.append(sent)
            conn.send(standin.port)
            loop = asyncio.get_running_loop()
            while True:
                command, argument = await loop.run_in_executor(None, conn.recv)
                if command == "reset":
                    times.clear()
                    standin.sent.clear()
                    standin.flood_429_count = 0
                    standin.conflict_409_count = 0
                    standin.set_flood_limits(bool(argument))
                    conn.send(None)
                elif command == "count":
                    conn.send(len(times))
                elif command == "report":
                    conn.send(
                        {
                            "times": times if argument else [],
                            "sent": len(times),
                            "first": times[0][1] if times else 0.0,
                            "last": times[-1][1] if times else 0.0,
                            "per_chat": Counter(chat for chat, _ in times),
                            "flood_429": standin.flood_429_count,
                            "conflict_409": standin.conflict_409_count,
                        }
                    )
                else:
                    conn.send(None)
                    return

    asyncio.run(serve())


class StandIn:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_standin_process, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()
        self.pid = self._process.pid or 0

    async def ask(self, command: str, argument: object = None) -> Any:
        self._conn.send((command, argument))
        return await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    def close(self) -> None:
        self._conn.send(("stop", None))
        self._conn.recv()
        self._process.join(timeout=10)


# ---- one database with readers, and bot processes on it ------------------------------------


async def seed(url: str, readers: int) -> tuple[Database, int]:
    """Readers following TOPIC (COPY: setting up, not measuring) and a disabled feed."""
    db = await storage.open_database(url)
    await db.feeds.sync_topics([TOPIC])
    feed_url = "https://bao.example.vn/rss"
    feed_id, _ = await db.feeds.add_feed(FeedSpec(feed_url, "Báo", (TOPIC.slug,)), now=0)
    await db.feeds.disable_feed(feed_url)  # stored into by hand, never fetched
    now = int(time.time()) - 3600
    chats = range(FIRST_READER, FIRST_READER + readers)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "subscribers",
            records=[(chat, now, now) for chat in chats],
            columns=["chat_id", "created_at", "updated_at"],
        )
        await conn.copy_records_to_table(
            "topic_subscriptions",
            records=[(chat, TOPIC.slug, now) for chat in chats],
            columns=["chat_id", "topic_slug", "created_at"],
        )
    finally:
        await conn.close()
    return db, feed_id


async def queue_alerts(db: Database, feed_id: int, n: int = 1) -> int:
    """One new article, its alerts queued for every reader in the poller's transaction."""
    now = int(time.time())
    key = f"lai-suat-{n}"
    article = ArticleInput(
        item_key=key,
        url=f"https://bao.example.vn/{key}.html",
        title="Ngân hàng Nhà nước điều chỉnh lãi suất điều hành",
        summary="Lãi suất tái cấp vốn giảm 0,5 điểm phần trăm từ ngày mai.",
        content_text="Lãi suất tái cấp vốn giảm 0,5 điểm phần trăm từ ngày mai.",
        author=None,
        image_url=None,
        published_at=datetime.fromtimestamp(now - 60, UTC),
        topics=(TOPIC.slug,),
        search_title="ngan hang nha nuoc dieu chinh lai suat dieu hanh",
        search_body="lai suat tai cap von giam",
        canonical_url=f"https://bao.example.vn/{key}.html",
    )
    outcome = await db.articles.store(feed_id, [article], now=now, alert_keys=frozenset({key}))
    return outcome.alerts_queued


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    def holds(self, holder: str | None) -> bool:
        return holder is not None and holder.split(":")[1] == str(self.pid)


@asynccontextmanager
async def bot_processes(
    workdir: Path, url: str, standin: StandIn, count: int, *, limits: bool
) -> AsyncIterator[list[BotProcess]]:
    feeds = workdir / "feeds.toml"
    feeds.write_text(FEEDS_TOML, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(
        {
            "NEWSBOT_DB": url,
            "NEWSBOT_FEEDS": str(feeds),
            "NEWSBOT_LOG_LEVEL": "WARNING",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{standin.port}",
            "PYTHONPATH": str(REPO),
        }
    )
    if not limits:
        # The highest budget the bot accepts (Telegram's paid broadcasts); the
        # stand-in enforces nothing, so the machine is the limit. BENCH_SEND_RATE
        # sets a lower one: the same fan-out with the cores partly idle.
        rate = os.environ.get("BENCH_SEND_RATE", "1000")
        env.update({"NEWSBOT_SEND_RATE": rate, "NEWSBOT_PAID_BROADCAST": "1"})
    bots = []
    for i in range(count):
        log = (workdir / f"bot-{i}.log").open("ab")
        # BENCH_PROFILE_DIR: each bot runs under cProfile (written when it stops).
        profile_dir = os.environ.get("BENCH_PROFILE_DIR")
        profiled = (
            ["-m", "cProfile", "-o", f"{profile_dir}/bot-{count}-{i}.prof"] if profile_dir else []
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, *profiled, "-m", "handlers.main", "run",
            cwd=workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        bots.append(BotProcess(process))
    try:
        yield bots
    finally:
        for bot in bots:
            if bot.process.returncode is None:
                with _ignore_gone():
                    os.kill(bot.pid, signal.SIGCONT)
                bot.process.send_signal(signal.SIGTERM)
        for bot in bots:
            try:
                await asyncio.wait_for(bot.process.wait(), timeout=30)
            except TimeoutError:
                bot.process.kill()
                await bot.process.wait()


class _ignore_gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is ProcessLookupError


async def roles(db: Database) -> tuple[str | None, str | None, list[str]]:
    now = int(time.time())
    return (
        await db.leases.holder(UPDATES_LEASE, now=now),
        await db.leases.holder(LEASE_NAME, now=now),
        await db.leases.holders(MEMBER_PREFIX, now=now),
    )


async def until(check: Any, *, within: float, interval: float = 0.1) -> float:
    """Seconds until the async check() holds (TimeoutError after `within`)."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise TimeoutError(f"not within {within} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def joined(db: Database, bots: list[BotProcess]) -> None:
    async def all_members() -> bool:
        updates, background, members = await roles(db)
        pids = sorted(m.split(":")[1] for m in members)
        return (
            updates is not None
            and background is not None
            and pids == sorted(str(b.pid) for b in bots)
        )

    await until(all_members, within=60)
    # A process that joins others starts sending after the others have counted it
    # (about two lease renewals); wait that out so every process sends from the start.
    await asyncio.sleep(5)


async def settled(db: Database, standin: StandIn, expected: int, *, within: float) -> None:
    async def done() -> bool:
        if await standin.ask("count") < expected:
            return False
        counts = await db.outbox.counts_by_status()
        return not counts.get("pending") and not counts.get("sending")

    await until(done, within=within, interval=0.25)


def cpu(bots: Sequence[BotProcess]) -> list[float]:
    return [proc_cpu_seconds(bot.pid) for bot in bots]


def postgres_cpu(cluster: PostgresCluster) -> float:
    """The server's CPU: the postmaster and every process it started, while they live."""
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = proc_cpu_seconds(postmaster)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += proc_cpu_seconds(int(entry.name))
    return total


# ---- 1 and 2: fan-out through N processes ----------------------------------------------------


@dataclass
class FanOut:
    processes: int
    sent: int
    seconds: float
    bot_cpu: list[float]
    standin_cpu: float
    postgres_cpu: float
    flood_429: int
    conflict_409: int
    duplicates: int
    lost: int
    retried: int  # rows sent on a second try (a send that timed out, a claim that expired)
    why: dict[str, int]  # the bots' own account of each retry path (their log lines)

    @property
    def rate(self) -> float:
        return (self.sent - 1) / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return sum(self.bot_cpu) / self.sent * 1000


async def fan_out(
    cluster: PostgresCluster, standin: StandIn, processes: int, readers: int, *, limits: bool
) -> FanOut:
    await standin.ask("reset", limits)
    async with cluster.database() as url:
        db, feed_id = await seed(url, readers)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                async with bot_processes(Path(tmp), url, standin, processes, limits=limits) as bots:
                    await joined(db, bots)
                    cpu_before = cpu(bots)
                    standin_before = proc_cpu_seconds(standin.pid)
                    postgres_before = postgres_cpu(cluster)
                    queued = await queue_alerts(db, feed_id)
                    assert queued == readers, queued
                    await settled(db, standin, readers, within=readers / 20 + 120)
                    cpu_after = cpu(bots)
                    standin_after = proc_cpu_seconds(standin.pid)
                    postgres_after = postgres_cpu(cluster)
                    retried = await retried_rows(url)
                why = retry_paths(Path(tmp))
            figures = await standin.ask("report", False)
        finally:
            await db.close()
    return FanOut(
        processes=processes,
        sent=figures["sent"],
        seconds=figures["last"] - figures["first"],
        bot_cpu=[after - before for before, after in zip(cpu_before, cpu_after, strict=True)],
        standin_cpu=standin_after - standin_before,
        postgres_cpu=postgres_after - postgres_before,
        flood_429=figures["flood_429"],
        conflict_409=figures["conflict_409"],
        duplicates=sum(1 for n in figures["per_chat"].values() if n > 1),
        lost=readers - len(figures["per_chat"]),
        retried=retried,
        why=why,
    )


# What the sender logs on each path that can send a row twice (bot/delivery/sender.py,
# bot/delivery/claim_book.py), so a duplicate's cause is counted, not guessed.
RETRY_PATHS = {
    "timed out": "timed out (may have been delivered); tried again",
    "claim lapsed, left alone": "its claim may have lapsed",
    "sent after its claim lapsed": "sent after its claim may have lapsed",
    "sent mark failed": "marking sent failed",
    "deadlock": "deadlock detected",
    "unexpected error": "unexpected error",
}


def retry_paths(workdir: Path) -> dict[str, int]:
    logs = [path.read_text(errors="replace") for path in workdir.glob("bot-*.log")]
    if keep := os.environ.get("BENCH_KEEP_LOGS"):
        for path in workdir.glob("bot-*.log"):
            shutil.copy(path, Path(keep) / path.name)
    return {name: sum(log.count(line) for log in logs) for name, line in RETRY_PATHS.items()}


def describe(run: FanOut) -> str:
    each = ", ".join(f"{c:.1f}" for c in run.bot_cpu)
    return (
        f"  {run.processes} process{'es' if run.processes > 1 else ''}: {run.sent:,} sent in "
        f"{run.seconds:.1f} s = {run.rate:,.0f}/s; bot CPU {sum(run.bot_cpu):.1f} s ({each}) = "
        f"{run.cpu_per_1000:.2f} s per 1,000; stand-in {run.standin_cpu:.1f} s, "
        f"PostgreSQL {run.postgres_cpu:.1f} s; 429: {run.flood_429}, 409: {run.conflict_409}, "
        f"duplicates: {run.duplicates} (rows sent on a later try: {run.retried}; "
        + ", ".join(f"{name}: {n}" for name, n in run.why.items())
        + ")"
    )


async def unlimited(
    cluster: PostgresCluster,
    standin: StandIn,
    counts: Sequence[int],
    readers: int,
    report: Report,
    *,
    rounds: int = 3,
) -> None:
    """Rounds of 1, 2, 4 processes in turn, judged on each count's median CPU per
    message: on a shared machine one run's CPU per message varies by ±10 %, and
    taking the counts in turn spreads any drift of the machine over all of them."""
    report.say(f"\n[1] fan-out to {readers:,} readers, limits off, 1/2/4 processes on PostgreSQL")
    runs: list[FanOut] = []
    for round_ in range(1, rounds + 1):
        if rounds > 1:
            report.say(f"  round {round_} of {rounds}")
        for processes in counts:
            run = await fan_out(cluster, standin, processes, readers, limits=False)
            report.say(describe(run))
            runs.append(run)
    median = {
        n: statistics.median(r.cpu_per_1000 for r in runs if r.processes == n) for n in counts
    }
    report.say(
        "  median CPU per 1,000: "
        + ", ".join(f"{n} process{'es' if n > 1 else ''} {median[n]:.2f} s" for n in counts)
    )
    one = median[counts[0]]
    for n in counts[1:]:
        ratio = median[n] / one
        report.target(
            f"{n} processes: CPU per message ≤ 1.15 × one process's (median of {rounds}, "
            f"got {ratio:.2f}×)",
            ratio <= 1.15,
        )
    for run in runs:
        # At least once: a send that timed out is tried again (it may have arrived).
        report.target(
            f"{run.processes} process(es): every reader, twice only after a retry "
            f"(lost {run.lost}, duplicates {run.duplicates}, retried rows {run.retried})",
            run.lost == 0 and run.duplicates <= run.retried,
        )


async def limited(
    cluster: PostgresCluster, standin: StandIn, counts: Sequence[int], readers: int, report: Report
) -> None:
    report.say(f"\n[2] fan-out to {readers:,} readers, stand-in enforcing 30/s, 1/2/4 processes")
    for processes in counts:
        run = await fan_out(cluster, standin, processes, readers, limits=True)
        report.say(describe(run))
        fraction = run.rate / 30
        report.target(
            f"{processes} process(es): ≥ 0.97 of 30/s together (got {fraction:.3f})",
            fraction >= 0.97,
        )
        report.target(f"{processes} process(es): no 429 (got {run.flood_429})", run.flood_429 == 0)


# ---- 3: kill -9 (and SIGSTOP) of one of two processes mid-fan-out -------------------------


async def failover(
    cluster: PostgresCluster, standin: StandIn, readers: int, report: Report, *, how: str
) -> None:
    freeze = how == "SIGSTOP"
    report.say(
        f"\n[3{'b' if freeze else 'a'}] {how} of one of two processes mid-fan-out to "
        f"{readers:,} readers (limits off)"
    )
    await standin.ask("reset", False)
    async with cluster.database() as url:
        db, feed_id = await seed(url, readers)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                async with bot_processes(Path(tmp), url, standin, 2, limits=False) as bots:
                    await joined(db, bots)
                    updates_holder, _, _ = await roles(db)
                    victim = next(b for b in bots if b.holds(updates_holder))
                    survivor = next(b for b in bots if b is not victim)
                    await queue_alerts(db, feed_id)

                    async def a_third_sent_and_some_in_hand() -> bool:
                        # Struck while it holds rows: with none in flight, the
                        # takeover of its messages would go unmeasured (small runs).
                        if await standin.ask("count") < readers // 3:
                            return False
                        return bool(await victims_rows(url, victim))

                    await until(a_third_sent_and_some_in_hand, within=120, interval=0.01)
                    os.kill(victim.pid, signal.SIGSTOP if freeze else signal.SIGKILL)
                    struck = time.time()
                    sent_then = await standin.ask("count")
                    in_flight = await victims_rows(url, victim)

                    async def survivor_holds_every_role() -> bool:
                        updates, background, _ = await roles(db)
                        return survivor.holds(updates) and survivor.holds(background)

                    roles_after = await until(survivor_holds_every_role, within=60)
                    await settled(db, standin, readers, within=180)
                    if freeze:
                        os.kill(victim.pid, signal.SIGKILL)
            figures = await standin.ask("report", True)
        finally:
            await db.close()
    per_chat: Counter[int] = figures["per_chat"]
    lost = sum(1 for chat in range(FIRST_READER, FIRST_READER + readers) if not per_chat[chat])
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    resent = [t for chat, t in figures["times"] if chat in in_flight and t >= struck]
    resumed = min(resent) - struck if resent else float("nan")
    all_resent = max(resent) - struck if resent else float("nan")
    report.say(
        f"  struck after {sent_then:,} sends with {len(in_flight)} of its messages in flight; "
        f"lost {lost}, duplicates {duplicates}; the survivor sent the first of them "
        f"{resumed:.1f} s after, all of them {all_resent:.1f} s after, and held every role "
        f"{roles_after:.1f} s after; 409: {figures['conflict_409']}"
    )
    report.target(f"{how}: nothing lost (lost {lost})", lost == 0)
    report.target(
        f"{how}: duplicates ≤ what was in flight ({duplicates} ≤ {len(in_flight)})",
        duplicates <= len(in_flight),
    )
    report.target(
        f"{how}: the survivor resumed the dead one's messages within 10 s (got {all_resent:.1f} s)",
        all_resent < 10,
    )
    report.target(f"{how}: every role taken over within 10 s (got {roles_after:.1f} s)",
                  roles_after < 10)  # fmt: skip


async def retried_rows(url: str) -> int:
    """Rows sent on a later try than their first (plain SQL: a question for the bench)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE attempts > 1"))
    finally:
        await conn.close()


async def victims_rows(url: str, victim: BotProcess) -> set[int]:
    """Chats of the rows the struck process held in flight at that moment (read with
    plain SQL: nothing in the bot needs this question, so the store has no method)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT chat_id, claimed_by FROM outbox WHERE status = 'sending'")
    finally:
        await conn.close()
    return {int(r["chat_id"]) for r in rows if victim.holds(r["claimed_by"])}


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    counts = [int(n) for n in args.processes.split(",")]
    cluster = PostgresCluster.start()
    standin = StandIn()
    try:
        parts = set(args.parts.split(","))
        if "unlimited" in parts:
            await unlimited(cluster, standin, counts, args.readers, report, rounds=args.rounds)
        if "limited" in parts:
            await limited(cluster, standin, counts, args.limited_readers, report)
        if "kill" in parts:
            await failover(cluster, standin, args.kill_readers, report, how="kill -9")
        if "stop" in parts:
            await failover(cluster, standin, args.kill_readers, report, how="SIGSTOP")
    finally:
        standin.close()
        cluster.stop()
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.multiprocess")
    parser.add_argument("--readers", type=int, default=10_000, help="limits-off fan-out")
    parser.add_argument("--limited-readers", type=int, default=3_000, help="at 30/s")
    parser.add_argument("--kill-readers", type=int, default=10_000, help="failover runs")
    parser.add_argument("--processes", default="1,2,4", help="process counts, comma-separated")
    parser.add_argument(
        "--rounds", type=int, default=3, help="limits-off rounds (the medians are judged)"
    )
    parser.add_argument(
        "--parts", default="unlimited,limited,kill,stop", help="which runs, comma-separated"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> Report:
    return asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
