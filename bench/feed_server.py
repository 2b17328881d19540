"""The synthetic feed server of the poll benchmark, run in its own process.

It stands in for thousands of news sites on 127.0.0.1: `/rss/<i>.rss` serves
feed i (bench.vnsynth.feed_bytes). Every body is built before the server says
it is ready, so building them costs the benchmark nothing while it measures.
Conditional GET: each response carries a strong ETag; a matching
If-None-Match gets 304 with no body. `POST /_phase/<p>` moves the changed
feeds to version p (two new items each); `GET /_stats` counts what was served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from aiohttp import web

from bench import vnsynth


@dataclass
class _State:
    n_feeds: int
    changed: frozenset[int]
    t0: int
    phase: int = 0
    bodies: dict[tuple[int, int], bytes] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=lambda: {"200": 0, "304": 0, "404": 0})

    def version(self, feed: int) -> int:
        return self.phase if feed in self.changed else 0

    def body(self, feed: int, version: int) -> bytes:
        key = (feed, version)
        cached = self.bodies.get(key)
        if cached is None:
            cached = vnsynth.feed_bytes(feed, version, self.t0)
            self.bodies[key] = cached
        return cached


def etag(feed: int, version: int) -> str:
    return f'"f{feed}-v{version}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _app(state: _State) -> web.Application:
    async def feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        index = int(name) if name.isdigit() else -1
        if not 0 <= index < state.n_feeds:
            state.served["404"] += 1
            return web.Response(status=404, text="no such feed")
        version = state.version(index)
        tag = etag(index, version)
        headers = {"ETag": tag, "Cache-Control": "max-age=300"}
        if _matches(request.headers.get("If-None-Match"), tag):
            state.served["304"] += 1
            return web.Response(status=304, headers=headers)
        state.served["200"] += 1
        return web.Response(
            body=state.body(index, version),
            headers={**headers, "Content-Type": "application/rss+xml; charset=UTF-8"},
        )

    async def phase(request: web.Request) -> web.StreamResponse:
        state.phase = int(request.match_info["phase"])
        for index in sorted(state.changed):
            state.body(index, state.phase)
        return web.json_response({"phase": state.phase})

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response({"phase": state.phase, **state.served})

    app = web.Application()
    app.router.add_get(r"/rss/{name}.rss", feed)
    app.router.add_post(r"/_phase/{phase:\d+}", phase)
    app.router.add_get("/_stats", stats)
    return app


async def _serve(state: _State, conn: Connection[int, str]) -> None:
    for index in range(state.n_feeds):
        state.body(index, 0)
    runner = web.AppRunner(_app(state), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = int(runner.addresses[0][1])
    conn.send(port)
    loop = asyncio.get_running_loop()
    try:
        # Any message (or the parent going away) ends the server.
        await loop.run_in_executor(None, _wait_for_parent, conn)
    finally:
        await runner.cleanup()


def _wait_for_parent(conn: Connection[int, str]) -> None:
    with contextlib.suppress(EOFError):
        conn.recv()


def serve(n_feeds: int, changed: frozenset[int], t0: int, conn: Connection[int, str]) -> None:
    """Process entry point: build every cold body, send the port on conn, serve until told."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    asyncio.run(_serve(_State(n_feeds, changed, t0), conn))


def stats_from_json(raw: str) -> dict[str, int]:
    data = json.loads(raw)
    return {str(k): int(v) for k, v in data.items()}
