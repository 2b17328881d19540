"""Run the `newsbot` command as an operator would: a real process, settings from the environment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


async def run_newsbot(workdir: Path, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """`newsbot ARGS` with its database and feeds.toml in workdir, loopback allowed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ.update(
        {
            "NEWSBOT_DB": str(workdir / "newsbot.db"),
            "NEWSBOT_FEEDS": str(workdir / "feeds.toml"),
            "NEWSBOT_ALLOW_PRIVATE_FEEDS": "1",
            "NEWSBOT_LOG_LEVEL": "WARNING",
        }
    )
    environ.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.main",
        *args,
        cwd=workdir,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())
