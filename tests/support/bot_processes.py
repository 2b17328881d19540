"""Real `newsbot run` processes on one database, against a Bot API stand-in in the test.

Each process is started as an operator starts it (the entry point, settings from
the environment); the test reads what they did from the database and the stand-in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.botapi_standin import BotApiStandIn

REPO = Path(__file__).resolve().parents[2]

# Topics only: the processes poll no feed (no network beyond loopback).
TOPICS_ONLY = """
[[topics]]
slug = "thoi-su"
name_vi = "Thời sự"
name_en = "News"
"""


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def holds(self, holder: str | None) -> bool:
        """Whether a lease or claim holder name is this process's (machine:pid:random)."""
        return holder is not None and holder.split(":")[1] == str(self.pid)

    def kill_9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=30)
        if self._reader is not None:
            await self._reader
        return code

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace").rstrip())


def bot_environment(workdir: Path, database: str, standin: BotApiStandIn) -> dict[str, str]:
    feeds = workdir / "feeds.toml"
    if not feeds.exists():
        feeds.write_text(TOPICS_ONLY, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ.update(
        {
            "NEWSBOT_DB": database,
            "NEWSBOT_FEEDS": str(feeds),
            "NEWSBOT_LOG_LEVEL": "INFO",
            "TELEGRAM_BOT_TOKEN": standin.token,
            "TELEGRAM_API_BASE_URL": standin.base_url.removesuffix("/bot"),
            "PYTHONPATH": str(REPO),
        }
    )
    return environ


async def start_bot(workdir: Path, database: str, standin: BotApiStandIn) -> BotProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.main",
        "run",
        cwd=workdir,
        env=bot_environment(workdir, database, standin),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(process)
    bot._reader = asyncio.create_task(bot._read())
    return bot


@asynccontextmanager
async def bots_running(
    workdir: Path, database: str, standin: BotApiStandIn, count: int
) -> AsyncIterator[list[BotProcess]]:
    """count processes, stopped (or reaped, if a test killed them) at the end."""
    bots = [await start_bot(workdir, database, standin) for _ in range(count)]
    try:
        yield bots
    finally:
        for bot in bots:
            if bot.process.returncode is None:
                bot.process.kill()
            await bot.process.wait()
            if bot._reader is not None:
                await bot._reader


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.2
) -> float:
    """Wait until check() is true; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > within:
            raise TimeoutError(f"not within {within} s")
        await asyncio.sleep(interval)
    return loop.time() - started
