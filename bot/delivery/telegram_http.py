"""python-telegram-bot's HTTP requests over aiohttp instead of httpx.

The bot already depends on aiohttp for feeds. Under many concurrent sends,
httpcore's connection pool rescans every connection for every request (a
fifth of the send path's time in a profile of 2,000 sends); aiohttp's
connector hands out keep-alive connections without that cost.

A request without files goes as a JSON object of the same string parameters
PTB's own backend form-encodes (objects such as `link_preview_options` are
JSON text in both): the Bot API reads a string value of a JSON body as it
reads a form field, and `json.dumps` costs a sixth of `urlencode`, which
percent-encodes every byte of a Vietnamese message one by one. Uploads are
multipart, as PTB sends them.
"""

from __future__ import annotations

import json
import os
from typing import Protocol

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.delivery.api_health import BotApiHealth

USER_AGENT = "newsbot (python-telegram-bot, aiohttp)"


class BotApiUnreachable(NetworkError):
    """No connection at all (refused, unreachable, DNS): the request never left."""


class AnswerMetrics(Protocol):
    """Told of every Bot API answer by its class (bot.runtime.metrics counts them):
    ok, retry_after (with Telegram's wait in seconds), blocked, chat_gone, bad_request,
    server_error, or network (no answer at all)."""

    def telegram_answered(self, answer: str, retry_after: float | None) -> None: ...


# Telegram's words for a chat we can no longer write to (the sender's _CHAT_GONE too).
_GONE_MARKERS = ("chat not found", "user is deactivated", "bot was kicked", "have no rights")


def answer_class(status: int, body: bytes) -> tuple[str, float | None]:
    """The class of one Bot API answer, and for a 429 the seconds it asks us to wait.

    Only an error answer's body is decoded: an ok one costs nothing here.
    """
    if status < 400:
        return "ok", None
    if status >= 500:
        return "server_error", None
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    description = str(answer.get("description", "")).lower()
    if status == 429:
        parameters = answer.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return "retry_after", float(wait) if isinstance(wait, int | float) else None
    if status == 403 and "blocked" in description:
        return "blocked", None
    if status == 403 or any(marker in description for marker in _GONE_MARKERS):
        return "chat_gone", None
    return "bad_request", None


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        *,
        connection_limit: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        media_write_timeout: float = 20.0,
        health: BotApiHealth | None = None,
        metrics: AnswerMetrics | None = None,
    ) -> None:
        self._limit = connection_limit
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self.health = health or BotApiHealth()
        self.metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                headers={"User-Agent": USER_AGENT},
                # Proxies from the environment are not ours to trust with the token.
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        has_files = bool(request_data and request_data.contains_files)
        read = _value(read_timeout, self._read_timeout)
        write = _value(
            write_timeout, self._media_write_timeout if has_files else self._write_timeout
        )
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, None)
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's connect timeout includes the wait for a free pooled connection.
            connect=(pool or 0.0) + connect if connect is not None else None,
            sock_connect=connect,
            # aiohttp has no separate write timeout; the read budget covers the upload too.
            sock_read=read + (write or 0.0) if read is not None else None,
        )
        try:
            body, headers = _body(request_data)
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                body = await response.read()
        except TimeoutError as exc:
            self.health.failed("timed out")
            self._count("network", None)
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            self.health.failed(_reason(exc))
            self._count("network", None)
            # The exception text may carry the URL, and the URL carries the token.
            if isinstance(exc, aiohttp.ClientConnectorError):
                # No connection was made: the request cannot have reached Telegram.
                raise BotApiUnreachable(f"aiohttp.{type(exc).__name__}") from exc
            # Cut off after sending (a reset, a broken answer): it may have been
            # delivered, so it is an ordinary, counted retry, not an outage.
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc
        if response.status >= 500:
            self.health.failed(f"HTTP {response.status}")
        else:
            self.health.answered()
        if self.metrics is not None:
            self.metrics.telegram_answered(*answer_class(response.status, body))
        return response.status, body

    def _count(self, answer: str, retry_after: float | None) -> None:
        if self.metrics is not None:
            self.metrics.telegram_answered(answer, retry_after)


def _reason(exc: aiohttp.ClientError) -> str:
    """What failed, in words without the URL (which carries the token)."""
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.errno:
        return os.strerror(exc.os_error.errno).lower()
    return type(exc).__name__


def _value(value: ODVInput[float], default: float | None) -> float | None:
    if isinstance(value, DefaultValue):
        return default
    return value


_JSON_HEADERS = {"Content-Type": "application/json"}


def _body(
    request_data: RequestData | None,
) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None]:
    """The request's body and its headers: JSON text, or multipart with files."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return json.dumps(request_data.json_parameters).encode(), _JSON_HEADERS
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, upload in request_data.multipart_data.items():
        filename, content, mimetype = upload[0], upload[1], upload[2] if len(upload) > 2 else None
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None
