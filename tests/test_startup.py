"""Start-up faults through a real `newsbot` process: one line naming the setting, a
non-zero exit, no traceback, and never the token."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.botapi_standin import BotApiStandIn
from tests.support.cli_run import CliResult, run_newsbot

TOKEN = "7350123456:AAFh3-tEstT0ken_NotReal_0123456789"
WRONG_TOKEN = "7350123456:AAWrongWrongWrongWrongWrongWrong_000"
FEEDS = """
[[topics]]
slug = "kinh-te"
name_vi = "Kinh tế"
name_en = "Business"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "feeds.toml").write_text(FEEDS, encoding="utf-8")
    return tmp_path


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=TOKEN) as running:
        yield running


async def run_bot(workdir: Path, api: str, token: str = TOKEN, **env: str) -> CliResult:
    environment = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": api, **env}
    return await run_newsbot(workdir, "run", env=environment)


def assert_one_clean_line(result: CliResult, starts: str, *secrets: str) -> None:
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"newsbot: {starts}"), result.err
    assert "Traceback" not in result.err
    for secret in (TOKEN, WRONG_TOKEN, *secrets):
        assert secret not in result.err and secret not in result.out


def api_root(standin: BotApiStandIn) -> str:
    return standin.base_url.removesuffix("/bot")


async def test_a_rejected_token(workdir: Path, standin: BotApiStandIn) -> None:
    result = await run_bot(workdir, api_root(standin), token=WRONG_TOKEN)
    assert_one_clean_line(result, "TELEGRAM_BOT_TOKEN: the Bot API server rejected the token")


async def test_a_rejected_token_leaks_nothing_even_at_debug_level(
    workdir: Path, standin: BotApiStandIn
) -> None:
    result = await run_bot(workdir, api_root(standin), token=WRONG_TOKEN, NEWSBOT_LOG_LEVEL="DEBUG")
    assert result.code == 1
    assert any(line.startswith("newsbot: TELEGRAM_BOT_TOKEN:") for line in result.err.splitlines())
    assert WRONG_TOKEN not in result.err and "AAWrongWrong" not in result.err
    assert "Traceback" not in result.err


async def test_an_unreachable_bot_api_server(workdir: Path) -> None:
    api = f"http://127.0.0.1:{free_port()}"
    result = await run_bot(workdir, api)
    assert_one_clean_line(result, f"TELEGRAM_API_BASE_URL: cannot reach {api}")
    assert "connection refused" in result.err


@pytest.mark.parametrize("status", [200, 404])
async def test_a_server_that_is_not_a_bot_api(workdir: Path, status: int) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(status=status, text="<html>Xin chào</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        api = f"http://127.0.0.1:{port}"
        result = await run_bot(workdir, api)
    finally:
        await runner.cleanup()
    assert_one_clean_line(
        result, f"TELEGRAM_API_BASE_URL: {api} does not answer like a Bot API server"
    )


async def test_a_webhook_the_bot_api_refuses(workdir: Path, standin: BotApiStandIn) -> None:
    standin.fail_next(
        "setWebhook", status=400, description="Bad Request: bad webhook: IP address is reserved"
    )
    result = await run_bot(
        workdir,
        api_root(standin),
        NEWSBOT_WEBHOOK_URL="https://bot.example.vn/hook",
        NEWSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{free_port()}",
        NEWSBOT_WEBHOOK_SECRET="hook-Secret_123",
    )
    assert_one_clean_line(
        result,
        "NEWSBOT_WEBHOOK_URL: the Bot API refused the webhook https://bot.example.vn/hook "
        "(Bad webhook: ip address is reserved)",
        "hook-Secret_123",
    )


async def test_a_database_that_cannot_be_opened(workdir: Path, standin: BotApiStandIn) -> None:
    not_a_file = workdir / "a-folder"
    not_a_file.mkdir()
    result = await run_bot(workdir, api_root(standin), NEWSBOT_DB=str(not_a_file))
    assert_one_clean_line(result, f"NEWSBOT_DB: cannot open {not_a_file}")


async def test_a_file_that_is_not_a_database(workdir: Path, standin: BotApiStandIn) -> None:
    garbage = workdir / "newsbot.db"
    garbage.write_bytes(b"this is not sqlite " * 100)
    result = await run_bot(workdir, api_root(standin))
    assert_one_clean_line(result, f"NEWSBOT_DB: {garbage} is not a readable SQLite database")


async def test_a_database_locked_by_another_process(workdir: Path) -> None:
    path = workdir / "newsbot.db"
    assert (await run_newsbot(workdir, "feeds", "list")).code == 0  # created and migrated
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # as an instance in the middle of a write would
        result = await run_newsbot(workdir, "feeds", "list")  # syncs feeds.toml: a write
    finally:
        holder.close()
    assert_one_clean_line(result, f"NEWSBOT_DB: {path} is locked by another process")


async def test_a_good_start_still_works(workdir: Path, standin: BotApiStandIn) -> None:
    # The same process, healthy: it starts, answers a reader, and stops cleanly on SIGTERM.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api_root(standin),
        "NEWSBOT_DB": str(workdir / "newsbot.db"),
        "NEWSBOT_FEEDS": str(workdir / "feeds.toml"),
        "NEWSBOT_LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers.main", "run", cwd=workdir, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        standin.user_message(42, "/start")
        await standin.wait_for(lambda: bool(standin.messages_to(42)), timeout=30)
        assert standin.messages_to(42)[0].text.startswith("Xin chào")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert TOKEN not in err.decode() and "Traceback" not in err.decode()
