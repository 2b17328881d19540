"""The stand-in served over real HTTP on loopback with aiohttp.

Routes: `/bot<token>/<method>` (any HTTP method, method names matched
case-insensitively as Telegram does) and `/file/bot<token>/<path>` (always
404: the stand-in keeps no files). A wrong token is answered 401 before
anything is read or recorded. The token never reaches `calls`, a log line or
an error description; aiohttp's access log, which would print it with the
path, is off.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.botapi_standin.flood import Fault
from bot.botapi_standin.methods import BotApiMethods, Handler
from bot.botapi_standin.params import ApiError, JsonDict, read_params

log = logging.getLogger(__name__)


def _answer(status: int, description: str, parameters: JsonDict | None = None) -> web.Response:
    body: JsonDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


class BotApiStandIn(BotApiMethods):
    """A local Telegram Bot API server for tests, console mode and benchmarks.

    async with BotApiStandIn() as api:
        bot = telegram.Bot(api.token, base_url=api.base_url)
        api.user_message(42, "/start")
        ...
        assert api.last_to(42).text == "xin chào"
    """

    _runner: web.AppRunner | None = None
    _port: int | None = None
    _host = "127.0.0.1"
    _methods: dict[str, tuple[str, Handler]]

    @property
    def token(self) -> str:
        return self._token

    @property
    def base_url(self) -> str:
        """For python-telegram-bot's base_url: it appends the token and "/<method>"."""
        return f"http://{self._url_host()}:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._url_host()}:{self._require_port()}/file/bot"

    @property
    def port(self) -> int:
        return self._require_port()

    def _url_host(self) -> str:
        if self._host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{self._host}]" if ":" in self._host else self._host

    def _require_port(self) -> int:
        if self._port is None:
            raise RuntimeError("BotApiStandIn is not started")
        return self._port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("BotApiStandIn is already started")
        self._closing = False
        self._methods = {
            name.lower(): (name, handler) for name, handler in self._handlers().items()
        }
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._host = host
        address: Any = runner.addresses[0]
        self._port = int(address[1])
        log.debug("Bot API stand-in listening on %s:%s", host, self._port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._bump()  # long polls answer now instead of holding the shutdown
        await asyncio.sleep(0)
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _token_ok(self, request: web.Request) -> bool:
        given = request.match_info.get("token", "").encode()
        return hmac.compare_digest(given, self._token.encode())

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return _answer(401, "Unauthorized")
        return _answer(404, "Not Found")

    async def _handle(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return _answer(401, "Unauthorized")
        requested = request.match_info["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params = await read_params(request)
        except ApiError as err:
            self.calls.append((name, {}))
            self._bump()
            return _answer(err.status, err.description, err.parameters)
        except Exception:
            log.debug("stand-in: unreadable parameters for %s", name, exc_info=True)
            self.calls.append((name, {}))
            self._bump()
            return _answer(400, "Bad Request: can't parse request parameters")
        self.calls.append((name, params))
        self._bump()
        if handler is None:
            return _answer(404, "Not Found")
        fault = self._take_fault(name)
        if fault is not None:
            if fault.delay > 0:
                await self._sleep_unless_stopping(fault.delay)
            if fault.status >= 300:
                parameters = None
                if fault.status == 429:
                    self.flood_429_count += 1
                    parameters = {"retry_after": fault.retry_after or 1}
                log.debug("stand-in: %s -> scripted %s", name, fault.status)
                return _answer(fault.status, fault.description, parameters)
        try:
            result = await handler(params)
        except ApiError as err:
            log.debug("stand-in: %s -> %s %s", name, err.status, err.description)
            transport = request.transport
            if err.status == 409 and transport is not None and not transport.is_closing():
                # A long poll whose caller left (stopped, killed) is superseded too, but
                # that answer goes nowhere: Telegram's "two bots running" is the other kind.
                self.conflict_409_count += 1
            return _answer(err.status, err.description, err.parameters)
        except Exception:
            log.exception("stand-in: %s failed", name)
            return _answer(500, "Internal Server Error")
        return web.json_response({"ok": True, "result": result})

    async def _sleep_unless_stopping(self, delay: float) -> None:
        """A slow answer, cut short by stop() so shutting down never waits for it."""
        try:
            async with asyncio.timeout(delay):
                while not self._closing:
                    await self._changed.wait()
        except TimeoutError:
            pass

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None
