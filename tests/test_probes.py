"""Health probes: /healthz while the process runs, /readyz only while the bot can work,
NEWSBOT_METRICS_LISTEN, and the listener the real `bot_running` starts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.botapi_standin import BotApiStandIn
from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.runtime.app import HEALTH_KEY
from bot.runtime.probes import Readiness, serving
from bot.runtime.runner import bot_running
from bot.runtime.settings import Settings, SettingsError, load_settings
from bot.runtime.startup import StartupError
from handlers.app import install as install_handlers
from storage.sqlite import SqliteDatabase
from tests.support.bot_world import FEEDS_TOML, BotWorld, open_world


class Clock:
    """time.monotonic, moved on by hand: the limiter's real sleeps still work."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.json()


async def wait_until(condition: Any, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


# ---- the checks, one by one ---------------------------------------------------------


async def test_ready_only_after_a_recent_answer(db: SqliteDatabase) -> None:
    clock = Clock()
    health = BotApiHealth(clock=clock)
    readiness = Readiness(db, health, TelegramRateLimiter(clock=clock), clock=clock)
    assert await readiness.check() == {
        "database": "ok",
        "bot_api": "no answer yet",
        "rate_limiter": "ok",
    }
    health.answered()
    assert set((await readiness.check()).values()) == {"ok"}
    clock.advance(59)
    assert (await readiness.check())["bot_api"] == "ok"
    clock.advance(16)
    assert (await readiness.check())["bot_api"] == "no answer for 75 s"
    health.answered()
    health.failed("connection refused")
    clock.advance(4)
    assert (await readiness.check())["bot_api"] == "unreachable for 4 s"


async def test_a_silent_bot_api_is_asked_once_before_the_bot_is_called_unready(
    db: SqliteDatabase,
) -> None:
    """A webhook bot with no traffic makes no request for hours: readiness asks getMe."""
    clock = Clock()
    health = BotApiHealth(clock=clock)
    health.answered()
    clock.advance(120)
    asked = 0

    async def get_me() -> None:
        nonlocal asked
        asked += 1
        health.answered()  # what any answered request does (bot.delivery.telegram_http)

    readiness = Readiness(db, health, None, ask_bot_api=get_me, clock=clock)
    results = await asyncio.gather(*(readiness.check() for _ in range(5)))
    assert all(result["bot_api"] == "ok" for result in results)
    assert asked == 1  # concurrent probes share one question

    async def no_answer() -> None:
        health.failed("timed out")
        raise TimeoutError

    clock.advance(61)
    readiness = Readiness(db, health, None, ask_bot_api=no_answer, clock=clock)
    assert (await readiness.check())["bot_api"] == "unreachable for 0 s"


async def test_a_long_flood_wait_makes_the_bot_unready(db: SqliteDatabase) -> None:
    clock = Clock()
    health = BotApiHealth(clock=clock)
    health.answered()
    limiter = TelegramRateLimiter(clock=clock)
    readiness = Readiness(db, health, limiter, clock=clock)
    limiter.pause(20)
    assert (await readiness.check())["rate_limiter"] == "ok"  # an ordinary 429
    limiter.pause(45)
    assert (await readiness.check())["rate_limiter"] == "flood wait 45 s"
    clock.advance(16)
    assert (await readiness.check())["rate_limiter"] == "ok"


async def test_a_database_that_fails_or_hangs_makes_the_bot_unready(tmp_path: Path) -> None:
    health = BotApiHealth()
    health.answered()
    db = await SqliteDatabase.open(tmp_path / "newsbot.db")
    await db.close()
    readiness = Readiness(db, health, None)
    verdict = (await readiness.check())["database"]
    assert verdict.startswith("read failed (")

    class Hanging:
        async def holder(self, name: str, *, now: int) -> str | None:
            await asyncio.sleep(10)
            return None

    class HangingDb:
        leases = Hanging()

    readiness = Readiness(HangingDb(), health, None, timeout=0.05)  # type: ignore[arg-type]
    assert (await readiness.check())["database"] == "no answer in 0.05 s"


# ---- over HTTP, on the running bot ---------------------------------------------------


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[BotWorld, Clock]]:
    clock = Clock()
    limiter = TelegramRateLimiter(
        per_second=1_000.0, chat_interval=0.0, group_per_minute=10_000, clock=clock
    )
    async with open_world(tmp_path, rate_limiter=limiter) as running_world:
        yield running_world, clock


async def test_readyz_follows_the_bot_api_and_the_flood_wait(
    world: tuple[BotWorld, Clock],
) -> None:
    bot_world, clock = world
    standin = bot_world.standin
    health: BotApiHealth = bot_world.app.bot_data[HEALTH_KEY]
    limiter = bot_world.app.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    async with serving(bot_world.app, "127.0.0.1", 0) as server:
        assert await get(server.port, "/healthz") == (200, {"status": "alive"})
        status, body = await get(server.port, "/readyz")
        assert (status, body["status"]) == (200, "ready")
        assert body["checks"] == {"database": "ok", "bot_api": "ok", "rate_limiter": "ok"}

        port = standin.port
        await standin.stop()
        await wait_until(lambda: not health.reachable)  # long polling noticed
        status, body = await get(server.port, "/readyz")
        assert (status, body["status"], body["failed"]) == (503, "not ready", ["bot_api"])
        assert body["checks"]["bot_api"].startswith("unreachable for ")
        assert (await get(server.port, "/healthz"))[0] == 200  # alive all the same

        await standin.start(port=port)
        status, body = await get(server.port, "/readyz")  # asks getMe, which answers now
        assert (status, body["status"]) == (200, "ready")

        limiter.pause(45)
        status, body = await get(server.port, "/readyz")
        assert (status, body["failed"]) == (503, ["rate_limiter"])
        assert body["checks"]["rate_limiter"] == "flood wait 45 s"
        clock.advance(46)
        assert (await get(server.port, "/readyz"))[0] == 200


# ---- NEWSBOT_METRICS_LISTEN and the real start-up -----------------------------------


def test_the_metrics_listener_is_off_unless_set() -> None:
    assert load_settings({}, env_file=None).metrics_listen is None
    settings = load_settings({"NEWSBOT_METRICS_LISTEN": "127.0.0.1:9464"}, env_file=None)
    assert settings.metrics_listen == ("127.0.0.1", 9464)
    ipv6 = load_settings({"NEWSBOT_METRICS_LISTEN": "[::1]:9464"}, env_file=None)
    assert ipv6.metrics_listen == ("::1", 9464)


@pytest.mark.parametrize("wrong", ["9464", "localhost:", "127.0.0.1:http", "0.0.0.0:70000"])
def test_a_wrong_metrics_listener_is_one_line_naming_the_setting(wrong: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"NEWSBOT_METRICS_LISTEN": wrong}, env_file=None)
    message = str(raised.value)
    assert message.startswith("NEWSBOT_METRICS_LISTEN: expected host:port such as 127.0.0.1:9464")
    assert "\n" not in message


def settings_with_metrics_on(tmp_path: Path, port: int) -> Settings:
    environ = {
        "NEWSBOT_DB": str(tmp_path / "newsbot.db"),
        "NEWSBOT_FEEDS": str(FEEDS_TOML),
        "NEWSBOT_METRICS_LISTEN": f"127.0.0.1:{port}",
    }
    return load_settings(environ, env_file=None)


async def test_the_running_bot_serves_metrics_and_probes(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_with_metrics_on(tmp_path, port)
    async with (
        BotApiStandIn() as standin,
        bot_running(
            settings,
            token=standin.token,
            api_base_url=standin.base_url.removesuffix("/bot"),
            install_handlers=install_handlers,
            poll_feeds=False,
        ),
    ):
        assert (await get(port, "/healthz"))[0] == 200
        status, body = await get(port, "/readyz")
        assert (status, body["status"]) == (200, "ready")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
        assert 'newsbot_telegram_responses_total{class="ok"}' in text
        # The configured feeds, synced from feeds.toml, not polled yet.
        assert 'newsbot_feeds{state="new"}' in text
    with socket.socket() as probe:  # closed with the bot
        probe.bind(("127.0.0.1", port))


async def test_a_taken_metrics_port_is_a_startup_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        settings = settings_with_metrics_on(tmp_path, port)
        async with BotApiStandIn() as standin:
            with pytest.raises(StartupError) as raised:
                async with bot_running(
                    settings,
                    token=standin.token,
                    api_base_url=standin.base_url.removesuffix("/bot"),
                    install_handlers=install_handlers,
                    poll_feeds=False,
                ):
                    pass
            assert not standin.calls  # stopped before anything reached the Bot API
    assert str(raised.value).startswith(
        f"NEWSBOT_METRICS_LISTEN: cannot listen on 127.0.0.1:{port}"
    )
