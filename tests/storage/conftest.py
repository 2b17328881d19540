"""The `db` fixture of the storage contract suite: one open `Database` per backend.

Every test in `tests/storage/` runs once per entry of BACKENDS and sees only
`storage.api.Database`; a new backend joins the suite by adding one entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

import storage
from storage.api import Database

BackendFactory = Callable[[Path], Awaitable[Database]]


async def _sqlite(tmp_path: Path) -> Database:
    return await storage.open_database(tmp_path / "newsbot.db")


# backend name (the test id) → an async factory given the test's tmp_path.
BACKENDS: dict[str, BackendFactory] = {
    "sqlite": _sqlite,
}


@pytest.fixture(params=sorted(BACKENDS))
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await BACKENDS[request.param](tmp_path)
    try:
        yield database
    finally:
        await database.close()
