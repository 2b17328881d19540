"""NEWSBOT_METRICS_LISTEN: Prometheus metrics and health probes on one small HTTP server.

- `/metrics`: bot.runtime.metrics, its scrape-time figures read first (async),
  then `generate_latest` on the bot's own registry.
- `/healthz`: 200 while the process runs and its event loop answers.
- `/readyz`: 200 when the bot can do its work — the database answers a trivial
  read, the Bot API answered within the last minute (asked once more with
  getMe if it has been silent, as a webhook bot with no traffic is), and the
  rate limiter is not held in a long flood wait; otherwise 503 with a short
  JSON body naming the failed checks.

The server is aiohttp's, on its own port, apart from PTB's webhook server: a
probe keeps answering while Telegram's updates queue, and Telegram never sees
these paths. It runs in every bot process, lease holder or not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.runtime.app import HEALTH_KEY, METRICS_KEY, AnyApplication
from bot.runtime.background import LEASE_NAME
from bot.runtime.context import BOT_DATA_KEY, BotServices
from bot.runtime.metrics import Metrics, read_state
from bot.runtime.startup import StartupError
from storage import Database

log = logging.getLogger(__name__)

MAX_SILENCE = 60.0  # seconds without any Bot API answer before the bot is not ready
MAX_FLOOD_WAIT = 30.0  # seconds of 429 pause left before the bot is not ready
CHECK_TIMEOUT = 3.0  # for the database read and the getMe: probes time out too
# Every name here is a classic one, so the text is the same in either format version;
# 0.0.4 is the one every Prometheus (2.x, 3.x) and agent reads.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Readiness:
    """The /readyz checks. clock is the Bot API health's (time.monotonic by default)."""

    def __init__(
        self,
        db: Database,
        health: BotApiHealth,
        limiter: TelegramRateLimiter | None,
        *,
        ask_bot_api: Callable[[], Awaitable[object]] | None = None,
        now: Callable[[], int] = lambda: int(time.time()),
        clock: Callable[[], float] = time.monotonic,
        max_silence: float = MAX_SILENCE,
        max_flood_wait: float = MAX_FLOOD_WAIT,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self._db = db
        self._health = health
        self._limiter = limiter
        self._ask = ask_bot_api
        self._now = now
        self._clock = clock
        self._max_silence = max_silence
        self._max_flood_wait = max_flood_wait
        self._timeout = timeout
        self._asking = asyncio.Lock()

    async def check(self) -> dict[str, str]:
        """Each check's verdict: "ok", or a few words on what is wrong."""
        database, bot_api = await asyncio.gather(self._database(), self._bot_api())
        return {"database": database, "bot_api": bot_api, "rate_limiter": self._flood()}

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                await self._db.leases.holder(LEASE_NAME, now=self._now())
        except TimeoutError:
            return f"no answer in {self._timeout:g} s"
        except Exception as exc:
            return f"read failed ({type(exc).__name__})"
        return "ok"

    async def _bot_api(self) -> str:
        problem = self._bot_api_problem()
        if problem is None or self._ask is None:
            return problem or "ok"
        async with self._asking:
            # A probe that came in meanwhile may have asked already.
            problem = self._bot_api_problem()
            if problem is None:
                return "ok"
            try:
                async with asyncio.timeout(self._timeout):
                    await self._ask()  # its answer updates the health like any request
            except Exception as exc:
                log.debug("readiness: the Bot API did not answer getMe (%r)", exc)
        return self._bot_api_problem() or "ok"

    def _bot_api_problem(self) -> str | None:
        health, now = self._health, self._clock()
        if health.down_since is not None:
            return f"unreachable for {now - health.down_since:.0f} s"
        if health.last_answer is None:
            return "no answer yet"
        silence = now - health.last_answer
        if silence > self._max_silence:
            return f"no answer for {silence:.0f} s"
        return None

    def _flood(self) -> str:
        wait = self._limiter.flood_wait() if self._limiter is not None else 0.0
        if wait > self._max_flood_wait:
            return f"flood wait {wait:.0f} s"
        return "ok"


class MonitoringServer:
    """/metrics, /healthz and /readyz on one aiohttp server."""

    def __init__(
        self,
        metrics: Metrics,
        readiness: Readiness,
        *,
        db: Database,
        limiter: TelegramRateLimiter | None,
        health: BotApiHealth | None,
        now: Callable[[], int] = lambda: int(time.time()),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self._db = db
        self._limiter = limiter
        self._health = health
        self._now = now
        self._clock = clock
        self._scraping = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0: a free port, then in .port). A port that cannot be
        had is a StartupError naming NEWSBOT_METRICS_LISTEN."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(
                f"NEWSBOT_METRICS_LISTEN: cannot listen on {host}:{port} ({exc.strerror or exc})"
            ) from None
        self._runner = runner
        address: Any = runner.addresses[0]
        self.host, self.port = host, int(address[1])
        log.info("metrics and health probes on http://%s:%d/metrics", host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def scrape(self) -> bytes:
        """The scrape-time figures read, then every metric rendered."""
        async with self._scraping:
            state = await read_state(
                self._db, self._limiter, self._health, now=self._now(), monotonic=self._clock()
            )
            self.metrics.set_state(state)
            return self.metrics.render()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.scrape()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.readiness.check()
        failed = [name for name, verdict in checks.items() if verdict != "ok"]
        body: dict[str, object] = {"status": "not ready" if failed else "ready"}
        if failed:
            body["failed"] = failed
        body["checks"] = checks
        return web.Response(
            text=json.dumps(body, ensure_ascii=False),
            status=503 if failed else 200,
            content_type="application/json",
        )


def monitoring_for(
    application: AnyApplication, *, clock: Callable[[], float] = time.monotonic
) -> MonitoringServer:
    """The monitoring server of a built application (bot.runtime.app.build_application):
    its metrics, database, Bot API health and rate limiter. clock is the health's."""
    services: BotServices = application.bot_data[BOT_DATA_KEY]
    metrics: Metrics = application.bot_data[METRICS_KEY]
    health: BotApiHealth = application.bot_data[HEALTH_KEY]
    limiter = application.bot.rate_limiter
    limiter = limiter if isinstance(limiter, TelegramRateLimiter) else None

    def now() -> int:
        return services.now

    readiness = Readiness(
        services.db, health, limiter, ask_bot_api=application.bot.get_me, now=now, clock=clock
    )
    return MonitoringServer(
        metrics, readiness, db=services.db, limiter=limiter, health=health, now=now, clock=clock
    )


@asynccontextmanager
async def serving(
    application: AnyApplication,
    host: str,
    port: int,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[MonitoringServer]:
    """The application's monitoring server, listening until the block exits."""
    server = monitoring_for(application, clock=clock)
    await server.start(host, port)
    try:
        yield server
    finally:
        await server.stop()
