"""Several pollers on one database (as several processes would be): each due feed
is fetched by one of them, once, and a dead poller's feeds go to the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import storage
from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Poller, PollerOptions
from storage.api import Database
from storage.rows import CLAIM_TTL, FeedSpec
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer
from tests.support.postgres import PostgresCluster
from tests.support.rss import Item, rss

FEEDS = 24


@pytest.fixture(params=["sqlite", "postgresql"])
async def location(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "newsbot.db")
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    async with cluster.database() as url:
        yield url


async def two_databases(location: str) -> tuple[Database, Database]:
    """Two connections to one database, as two processes have."""
    return await storage.open_database(location), await storage.open_database(location)


async def add_feeds(db: Database, server: FeedServer, clock: ManualClock) -> list[str]:
    paths = [f"/rss/{i}" for i in range(FEEDS)]
    for i, path in enumerate(paths):
        item = Item(title=f"Tin {i}", link=f"https://bao.example.vn/{i}.html")
        # A slow answer, so that both pollers are busy at the same time.
        server.set_feed(path, rss([item]), delay=0.05)
        await db.feeds.add_feed(FeedSpec(server.url(path), f"Báo {i}", ()), now=clock.ts)
    return paths


def poller(db: Database, fetcher: Fetcher, clock: ManualClock, holder: str) -> Poller:
    return Poller(db, fetcher, options=PollerOptions(concurrency=4), clock=clock, holder=holder)


async def test_two_pollers_fetch_each_due_feed_once(
    location: str, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    first, second = await two_databases(location)
    try:
        paths = await add_feeds(first, server, clock)

        reports = await asyncio.gather(
            poller(first, fetcher, clock, "a").poll_due(),
            poller(second, fetcher, clock, "b").poll_due(),
        )

        assert [server.hits(path) for path in paths] == [1] * FEEDS
        polled = [f.feed_id for report in reports for f in report.feeds]
        assert sorted(polled) == sorted({f.id for f in await first.feeds.list_feeds()})
        assert all(len(report.feeds) >= 4 for report in reports), "one poller did it all"
        assert all(f.outcome == "new" for report in reports for f in report.feeds)
        # Polled feeds are no one's: each is due again to whoever comes first.
        assert await first.feeds.renew_claims(holder="a", until=clock.ts + 60) == 0
        assert await first.feeds.renew_claims(holder="b", until=clock.ts + 60) == 0
    finally:
        await first.close()
        await second.close()


async def test_a_dead_pollers_feeds_are_polled_once_its_claims_expire(
    location: str, server: FeedServer, fetcher: Fetcher, clock: ManualClock
) -> None:
    first, second = await two_databases(location)
    try:
        paths = await add_feeds(first, server, clock)
        # A poller claimed a third of the feeds, then its process died.
        await first.feeds.claim_due(now=clock.ts, holder="dead", limit=FEEDS // 3)

        alive = poller(second, fetcher, clock, "b")
        report = await alive.poll_due()
        assert len(report.feeds) == FEEDS - FEEDS // 3
        assert sum(server.hits(path) for path in paths) == FEEDS - FEEDS // 3

        clock.advance(seconds=CLAIM_TTL)
        report = await alive.poll_due()
        assert len(report.feeds) == FEEDS // 3
        assert [server.hits(path) for path in paths] == [1] * FEEDS
    finally:
        await first.close()
        await second.close()
