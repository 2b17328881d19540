"""Start-up benchmark: how long an operator waits for `newsbot stats --json`.

    python -m bench.cli_startup [--runs 15]

A temporary directory holds a copy of feeds.toml and a small database (made by
one `newsbot stats` before timing). Then, interleaved so both see the same
machine, N runs each of:

- `python -m handlers.main stats --json`: the whole command, a fresh process
  (settings, database opened, figures computed and printed);
- `python -c "import aiohttp, aiosqlite"`: the baseline, a bare interpreter
  importing the two libraries any database or network command needs;
- `python -c pass`: the interpreter alone, for scale.

Median wall times, and stats / baseline. Target: ≤ 1.5×, i.e. `stats` costs
about what importing its libraries costs, not python-telegram-bot,
trafilatura and the console besides (tests/test_cli.py checks the imports).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

FEEDS_TOML = Path(__file__).resolve().parents[1] / "feeds.toml"
TARGET_RATIO = 1.5
STATS = (sys.executable, "-m", "handlers.main", "stats", "--json")
BASELINE = (sys.executable, "-c", "import aiohttp, aiosqlite")
FLOOR = (sys.executable, "-c", "pass")


@dataclass
class StartupResult:
    runs: int
    stats_s: list[float]
    baseline_s: list[float]
    floor_s: list[float]
    targets: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.stats_s) / statistics.median(self.baseline_s)


def _environment(workdir: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ.update(
        {
            "NEWSBOT_DB": str(workdir / "newsbot.db"),
            "NEWSBOT_FEEDS": str(workdir / "feeds.toml"),
            "NEWSBOT_LOG_LEVEL": "WARNING",
        }
    )
    return environ


def _wall(command: Sequence[str], workdir: Path, environ: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=environ, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    return elapsed


def run(runs: int) -> StartupResult:
    with tempfile.TemporaryDirectory(prefix="newsbot-cli-") as tmp:
        workdir = Path(tmp)
        shutil.copy(FEEDS_TOML, workdir / "feeds.toml")
        environ = _environment(workdir)
        # Creates and migrates the database; also warms the page cache for every row.
        for command in (STATS, BASELINE, FLOOR):
            _wall(command, workdir, environ)
        result = StartupResult(runs, [], [], [])
        for _ in range(runs):
            result.stats_s.append(_wall(STATS, workdir, environ))
            result.baseline_s.append(_wall(BASELINE, workdir, environ))
            result.floor_s.append(_wall(FLOOR, workdir, environ))
    name = f"`newsbot stats --json` ≤ {TARGET_RATIO}× `import aiohttp, aiosqlite`"
    result.targets = [(name, result.ratio <= TARGET_RATIO)]
    return result


def report(result: StartupResult) -> str:
    def row(name: str, times: list[float]) -> str:
        ms = sorted(t * 1000 for t in times)
        return (
            f"  {name:<40} {statistics.median(ms):7.0f} ms median"
            f"   (min {ms[0]:.0f}, max {ms[-1]:.0f})"
        )

    lines = [
        f"CLI start-up: median wall time of {result.runs} runs each, interleaved",
        row("newsbot stats --json", result.stats_s),
        row('python -c "import aiohttp, aiosqlite"', result.baseline_s),
        row("python -c pass", result.floor_s),
        f"  stats / baseline: {result.ratio:.2f}× (target ≤ {TARGET_RATIO}×)",
    ]
    lines += [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in result.targets]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> StartupResult:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be >= 1")
    result = run(args.runs)
    print(report(result), flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
