"""The `db` fixture of the storage contract suite: one open `Database` per backend.

Every test in `tests/storage/` runs once per entry of BACKENDS and sees only
`storage.api.Database`; a new backend joins the suite by adding one entry.
PostgreSQL runs on a throw-away cluster (`tests/support/postgres.py`), a
fresh database per test; without server binaries its tests skip, and under CI
they fail instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

import storage
from storage.api import Database
from tests.support.postgres import PostgresCluster

# Given the test's request (for session fixtures) and tmp_path: an open database,
# closed (and thrown away) when the block exits.
BackendFactory = Callable[[pytest.FixtureRequest, Path], AbstractAsyncContextManager[Database]]


@asynccontextmanager
async def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await storage.open_database(tmp_path / "newsbot.db")
    try:
        yield database
    finally:
        await database.close()


@asynccontextmanager
async def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    async with cluster.database() as url:
        database = await storage.open_database(url)
        try:
            yield database
        finally:
            await database.close()


# backend name (the test id) → an async context manager giving the open database.
BACKENDS: dict[str, BackendFactory] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(BACKENDS))
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with BACKENDS[request.param](request, tmp_path) as database:
        yield database
