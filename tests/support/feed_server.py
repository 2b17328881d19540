"""A feed server on loopback for tests that need real HTTP.

Each path answers from a `Route`: a status, a body, headers, validators for
conditional GET, and misbehaviours (a delay before answering, a slow drip,
a Content-Length that lies). Every request is logged so tests can count
hits and inspect the headers the client sent.

    async with FeedServer() as server:
        server.set_feed("/rss", b"<rss/>", etag='"v1"')
        url = server.url("/rss")
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

_NOT_STARTED = "FeedServer is not started"


@dataclass
class Route:
    """How one path answers.

    `gzip` compresses `body` on the way out; to serve bytes that are already
    compressed (a decompression bomb), pass them as `body` and set the
    Content-Encoding header yourself. `drip` sends the body as
    (bytes per chunk, seconds between chunks), without a Content-Length
    unless `declared_length` gives one; a declared length longer than the
    body keeps the client waiting for bytes that never come.
    """

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    drip: tuple[int, float] | None = None
    gzip: bool = False
    declared_length: int | None = None


@functools.cache
def gzip_bomb(inflated_size: int) -> bytes:
    """Gzip of `inflated_size` zero bytes, built without holding them all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts: list[bytes] = []
    remaining = inflated_size
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


class FeedServer:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation stops drip and delay handlers as soon as the
        # client hangs up, so tests that abort a download end promptly.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = _bound_port(runner)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(_NOT_STARTED)
        return self._port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{_normalise(path)}"

    def set(self, path: str, route: Route) -> None:
        self._routes[_normalise(path)] = route

    def set_feed(self, path: str, body: bytes, **kwargs: Any) -> None:
        self.set(path, Route(body=body, **kwargs))

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.set(path, Route(status=status, headers={"Location": to}))

    def hits(self, path: str) -> int:
        wanted = _normalise(path)
        return sum(1 for seen, _ in self.requests if seen == wanted)

    def last_headers(self, path: str) -> dict[str, str]:
        """Headers of the latest request to `path` (names lower-cased)."""
        wanted = _normalise(path)
        for seen, headers in reversed(self.requests):
            if seen == wanted:
                return headers
        raise KeyError(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append((request.path, headers))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, headers)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
        route = self._routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        if route.delay:
            await asyncio.sleep(route.delay)
        if _not_modified(route, headers):
            return web.Response(status=304, headers=_validators(route))
        body = gzip.compress(route.body) if route.gzip else route.body
        out_headers = {**_validators(route), **route.headers}
        if route.gzip:
            out_headers["Content-Encoding"] = "gzip"
        if route.drip is None and route.declared_length is None:
            return web.Response(status=route.status, body=body, headers=out_headers)
        return await _stream(request, route, body, out_headers)


async def feed_server() -> AsyncIterator[FeedServer]:
    """Fixture body: in a test module, `server = pytest_asyncio.fixture(feed_server)`
    or wrap it in a local fixture."""
    async with FeedServer() as server:
        yield server


async def _stream(
    request: web.Request, route: Route, body: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    resp = web.StreamResponse(status=route.status, headers=headers)
    if route.declared_length is not None:
        resp.content_length = route.declared_length
    step, pause = route.drip if route.drip is not None else (max(len(body), 1), 0.0)
    try:
        await resp.prepare(request)
        for start in range(0, len(body), step):
            await resp.write(body[start : start + step])
            await asyncio.sleep(pause)
        if route.declared_length is not None and route.declared_length > len(body):
            # Hold the connection open: the client is owed bytes it never gets.
            await asyncio.sleep(3600)
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


def _bound_port(runner: web.AppRunner) -> int:
    # Port 0 asked the OS for a free port; this is the one it picked.
    return int(runner.addresses[0][1])


def _normalise(path: str) -> str:
    return path if path.startswith("/") else f"/{path}"


def _validators(route: Route) -> dict[str, str]:
    headers: dict[str, str] = {}
    if route.etag is not None:
        headers["ETag"] = route.etag
    if route.last_modified is not None:
        headers["Last-Modified"] = route.last_modified
    return headers


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110).
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if route.etag is None:
            return False
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return "*" in tags or route.etag in tags or _weak(route.etag) in tags
    since = headers.get("if-modified-since")
    return since is not None and route.last_modified is not None and since == route.last_modified


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else f"W/{etag}"
