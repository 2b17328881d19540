"""Shared fixtures: a real SQLite file, a loopback feed server, a fetcher allowed to reach it,
the whole bot running (`world`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher, FetchLimits
from storage.sqlite import SqliteDatabase
from tests.support.bot_world import BotWorld, open_world
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, feed_server
from tests.support.postgres import PostgresCluster, running_cluster

SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = await SqliteDatabase.open(tmp_path / "newsbot.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async for running in feed_server():
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FetchLimits(allow_private=True, total_timeout=5.0)) as f:
        yield f


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def samples() -> Path:
    """../shared/samples beside the clone; tests that need it skip cleanly without it."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/samples is not beside this clone")
    return SHARED_SAMPLES


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    """The bot running against the stand-in with the project's topics (open_world)."""
    async with open_world(tmp_path) as running_world:
        yield running_world


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throw-away PostgreSQL cluster for the whole session, started on first use.

    Skips when no server binaries are installed; fails instead when CI is set.
    """
    yield from running_cluster()
