"""Run every benchmark and print a summary of the targets.

    python -m bench.run_all            # full sizes: 10,000 feeds, 100,000 articles,
                                       # fan-out to 10,000 and 100,000 readers,
                                       # 2,000 readers' /start within 5 s
    python -m bench.run_all --quick    # small sizes: about a minute

Exit status is 0 even when a target fails (the figures are the product);
`--strict` makes a failed target exit 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Sequence

QUICK_FEEDS = 500
QUICK_ARTICLES = 10_000
QUICK_DELIVERY = [
    "--limited-readers", "300", "--readers", "2000", "--memory-readers", "10000",
    "--search-readers", "1000",
]  # fmt: skip
QUICK_BURST = ["--readers", "300", "--spread", "1"]
QUICK_PROCESSES = [
    "--readers",
    "1000",
    "--rounds",
    "1",
    "--limited-readers",
    "300",
    "--kill-readers",
    "1000",
]


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, not at the top: the poll benchmark's parse workers (spawned)
    # import this module again, and with every benchmark (matplotlib, numpy …)
    # behind it each worker grew by 30 MB, failing the poll's memory target.
    from bench import (
        burst,
        cli_startup,
        delivery,
        destinations,
        multiprocess,
        poll_cycle,
        poll_processes,
        scheduling,
        stories,
    )
    from bench import search as search_bench
    from tests.support.postgres import missing_reason

    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    poll_args = ["--feeds", str(QUICK_FEEDS)] if args.quick else []
    search_args = ["--articles", str(QUICK_ARTICLES)] if args.quick else []
    print(
        f"newsbot benchmarks{' (quick)' if args.quick else ''}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.machine()}\n",
        flush=True,
    )
    started = time.perf_counter()
    startup = cli_startup.main([])
    print(flush=True)
    poll = poll_cycle.main(poll_args)
    print(flush=True)
    scheduled = scheduling.main([])  # 500 feeds in virtual time: seconds, at any size
    print(flush=True)
    found = search_bench.main(search_args)
    print(flush=True)
    delivered = delivery.main(QUICK_DELIVERY if args.quick else [])
    print(flush=True)
    launched = burst.main(QUICK_BURST if args.quick else [])
    print(flush=True)
    # A channel's 20 a minute needs a real minute: about 70 s, so not in --quick.
    posted = destinations.main([]) if not args.quick else None
    if posted is None:
        print("[destinations] skipped with --quick (it needs a real minute)", flush=True)
    print(flush=True)
    grouped = stories.main()  # the labelled pairs: the same at any size
    targets: list[tuple[str, str, bool]] = []
    no_postgres = missing_reason()
    if no_postgres is None:
        print(flush=True)
        shared = multiprocess.main(QUICK_PROCESSES if args.quick else [])
        targets += [("processes", name, ok) for name, ok in shared.targets]
        print(flush=True)
        polled = poll_processes.main(["--feeds", str(QUICK_FEEDS)] if args.quick else [])
        targets += [("poll processes", name, ok) for name, ok in polled]
    else:
        print(f"\n(several processes on PostgreSQL: not run, {no_postgres})", flush=True)
    targets += [("cli", name, ok) for name, ok in startup.targets]
    targets += [("poll", name, ok) for name, ok in poll.targets]
    targets += [("scheduling", name, ok) for name, ok in scheduled.targets]
    targets += [("search", name, ok) for name, ok in found.targets]
    targets += [("delivery", name, ok) for name, ok in delivered.targets]
    targets += [("burst", name, ok) for name, ok in launched.targets]
    targets += [("destinations", name, ok) for name, ok in (posted.targets if posted else [])]
    targets += [("stories", name, ok) for name, ok in grouped.targets]
    print(f"\nsummary ({time.perf_counter() - started:.0f} s in all):")
    for bench_name, name, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {bench_name}: {name}")
    if args.quick:
        print("  (quick sizes: the targets are set for 10,000 feeds and 100,000 articles)")
    failed = any(not ok for _, _, ok in targets)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
