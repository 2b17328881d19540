"""The warm poll cycle shared by several processes on PostgreSQL, beside SQLite.

    python -m bench.poll_processes [--feeds 10000] [--changed 0.1] [--concurrency 64]

The feed server and the feeds are bench/poll_cycle.py's (VnExpress-shaped RSS
on loopback, strong ETags). Setting up does not measure a cold cycle: the
unchanged feeds are recorded as polled with the server's ETag (so they answer
304), and only the feeds that will change are really polled once (so their 23
old items are stored). Then the server moves the changed feeds on (two new
items each) and the clock 7 hours ahead, and one warm cycle is measured:

- SQLite, one process;
- PostgreSQL, one process;
- PostgreSQL, two processes polling the same due feeds at once (their claims
  split them; the server moves the changed feeds on once more first).

Each process is a child of its own (spawn) with its own fetcher, poller and
parse workers (two in all per run, so each run has the same parse power);
printed: wall seconds until every process finished, feeds each polled, what
the server served, and the CPU of the processes and their parse workers.
Target: every feed polled once per cycle (no feed fetched twice at once).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import storage
from bench import feed_server, procstat, vnsynth
from bench.poll_cycle import _register, _server_call, _start_server, _topics
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.poller import Poller, PollerOptions, parse_pool
from bot.ingest.topics import TopicMatcher
from storage.api import Database
from storage.rows import PollSuccess
from tests.support.postgres import PostgresCluster

STEP = timedelta(hours=7)


class FixedClock:
    def __init__(self, ts: int) -> None:
        self.now = datetime.fromtimestamp(ts, UTC)

    def __call__(self) -> datetime:
        return self.now


def _feed_index(url: str) -> int:
    return int(url.rsplit("/", 1)[1].removesuffix(".rss"))


async def prepare(
    location: str, base: str, n_feeds: int, changed: frozenset[int], t0: int, concurrency: int
) -> None:
    """Feeds registered as after a cold cycle, the cheap way (see the module's doc)."""
    db = await storage.open_database(location)
    try:
        await _register(db, base, n_feeds, _topics(), 50, t0)
        for feed in await db.feeds.list_feeds():
            index = _feed_index(feed.url)
            if index in changed:
                continue
            await db.feeds.record_poll_success(
                feed.id,
                PollSuccess(
                    etag=feed_server.etag(index, 0),
                    last_modified=None,
                    body_hash=None,
                    ttl_minutes=None,
                    next_poll_at=t0 + 3600,
                ),
                now=t0,
            )
        with parse_pool() as executor:
            async with Fetcher(
                FetchLimits(allow_private=True, per_host_concurrency=concurrency)
            ) as fetcher:
                poller = Poller(
                    db,
                    fetcher,
                    matcher=_matcher(),
                    executor=executor,
                    options=PollerOptions(concurrency=concurrency),
                    clock=FixedClock(t0),
                )
                report = await poller.poll_due()
        assert len(report.feeds) == len(changed), len(report.feeds)
    finally:
        await db.close()


def _matcher() -> TopicMatcher:
    return TopicMatcher.from_keywords({t.slug: t.keywords for t in _topics()})


def _poll_process(
    location: str, holder: str, workers: int, ts: int, concurrency: int, conn: Connection
) -> None:
    conn.send(asyncio.run(_poll_once(location, holder, workers, ts, concurrency, conn)))


async def _poll_once(
    location: str, holder: str, workers: int, ts: int, concurrency: int, conn: Connection
) -> dict[str, Any]:
    db: Database = await storage.open_database(location)
    try:
        with parse_pool(workers) as executor:
            limits = FetchLimits(allow_private=True, per_host_concurrency=concurrency)
            async with Fetcher(limits) as fetcher:
                poller = Poller(
                    db,
                    fetcher,
                    matcher=_matcher(),
                    executor=executor,
                    options=PollerOptions(concurrency=concurrency),
                    clock=FixedClock(ts),
                    holder=holder,
                )
                # Start the workers first, so that their CPU is theirs to read.
                loop = asyncio.get_running_loop()
                await asyncio.gather(
                    *(loop.run_in_executor(executor, int, "0") for _ in range(workers * 2))
                )
                pids = procstat.pool_pids(executor)
                conn.send("ready")
                await loop.run_in_executor(None, conn.recv)  # go
                cpu_main, cpu_workers = procstat.self_cpu_seconds(), procstat.total_cpu(pids)
                started = time.perf_counter()
                report = await poller.poll_due()
                wall = time.perf_counter() - started
                return {
                    "wall": wall,
                    "finished": time.time(),
                    "feeds": [f.feed_id for f in report.feeds],
                    "outcomes": Counter(f.outcome for f in report.feeds),
                    "new": report.new_articles,
                    "cpu_main": procstat.self_cpu_seconds() - cpu_main,
                    "cpu_workers": procstat.total_cpu(pids) - cpu_workers,
                }
    finally:
        await db.close()


async def warm_cycle(
    location: str, processes: int, ts: int, concurrency: int
) -> tuple[float, list[dict[str, Any]]]:
    context = multiprocessing.get_context("spawn")
    children = []
    for i in range(processes):
        parent, child = context.Pipe()
        process = context.Process(
            target=_poll_process,
            args=(location, f"bench-poller-{i}", max(1, 2 // processes), ts, concurrency, child),
        )
        process.start()
        children.append((process, parent))
    loop = asyncio.get_running_loop()
    for _, parent in children:
        assert await loop.run_in_executor(None, parent.recv) == "ready"
    started = time.time()
    for _, parent in children:
        parent.send("go")
    results = [await loop.run_in_executor(None, parent.recv) for _, parent in children]
    for process, _ in children:
        process.join(timeout=30)
    return max(r["finished"] for r in results) - started, results


def describe(label: str, wall: float, results: list[dict[str, Any]], n_feeds: int) -> str:
    polled = [len(r["feeds"]) for r in results]
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r["outcomes"])
    cpu = sum(r["cpu_main"] + r["cpu_workers"] for r in results)
    each = ", ".join(f"{r['cpu_main']:.1f}+{r['cpu_workers']:.1f}" for r in results)
    return (
        f"  {label}: {wall:.1f} s, {n_feeds / wall:,.0f} feeds/s; feeds polled "
        f"{' + '.join(f'{p:,}' for p in polled)} ({dict(outcomes)}); "
        f"{sum(r['new'] for r in results):,} new articles; CPU {cpu:.1f} s (main+workers: {each})"
    )


async def run(args: argparse.Namespace) -> list[tuple[str, bool]]:
    n_feeds, concurrency = args.feeds, args.concurrency
    t0 = int(time.time()) // 60 * 60
    changed = vnsynth.changed_feeds(n_feeds, args.changed)
    server, pipe, port = await _start_server(n_feeds, changed, t0)
    base = f"http://127.0.0.1:{port}"
    cluster = PostgresCluster.start()
    targets: list[tuple[str, bool]] = []
    print(
        f"[poll] warm cycle of {n_feeds:,} feeds ({len(changed):,} changed), "
        f"concurrency {concurrency}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
            sqlite = str(Path(tmp) / "bench.db")
            async with cluster.database() as postgres:
                for location in (sqlite, postgres):
                    await prepare(location, base, n_feeds, changed, t0, concurrency)
                await _server_call(port, "POST", "/_phase/1")
                warm = int((datetime.fromtimestamp(t0, UTC) + STEP).timestamp())
                runs = [("SQLite, 1 process", sqlite, 1, warm)]
                runs.append(("PostgreSQL, 1 process", postgres, 1, warm))
                for label, location, processes, ts in runs:
                    wall, results = await warm_cycle(location, processes, ts, concurrency)
                    print(describe(label, wall, results, n_feeds), flush=True)
                await _server_call(port, "POST", "/_phase/2")
                wall, results = await warm_cycle(
                    postgres, 2, int((datetime.fromtimestamp(warm, UTC) + STEP).timestamp()),
                    concurrency,
                )  # fmt: skip
                print(describe("PostgreSQL, 2 processes", wall, results, n_feeds), flush=True)
                every = [feed for r in results for feed in r["feeds"]]
                once = len(every) == len(set(every)) == n_feeds
                split = min(len(r["feeds"]) for r in results) > n_feeds // 4
                targets.append(("2 processes: every feed polled once", once))
                targets.append(("2 processes: each polled a share", split))
                for name, ok in targets:
                    print(f"  {'PASS' if ok else 'FAIL'}  {name}", flush=True)
    finally:
        cluster.stop()
        pipe.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, server.join, 10.0)
        if server.is_alive():
            server.kill()
    return targets


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_processes")
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    return parser


def main(argv: Sequence[str] | None = None) -> list[tuple[str, bool]]:
    return asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
