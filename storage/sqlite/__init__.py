"""The embedded backend: one SQLite file in WAL mode, FTS5 for search.

`SqliteDatabase` implements `storage.api.Database`; only this package knows
SQLite (its SQL, PRAGMAs, `BEGIN IMMEDIATE`, FTS5 syntax, aiosqlite).
"""

from __future__ import annotations

from pathlib import Path

from storage.sqlite.articles import SqliteArticles
from storage.sqlite.broadcasts import SqliteBroadcasts
from storage.sqlite.connection import Connection
from storage.sqlite.destinations import SqliteDestinations
from storage.sqlite.digests import SqliteDigests
from storage.sqlite.feeds import SqliteFeeds
from storage.sqlite.leases import SqliteLeases
from storage.sqlite.outbox import SqliteOutbox
from storage.sqlite.subscribers import SqliteSubscribers
from storage.sqlite.transfer import SqliteTransfer


class SqliteDatabase:
    """newsbot's database in one SQLite file. Open with `await SqliteDatabase.open(path)`."""

    def __init__(self, connection: Connection) -> None:
        # SQLite-only: tests and benchmarks that look inside the file use it.
        self.sql = connection
        self._articles = SqliteArticles(connection)
        self._feeds = SqliteFeeds(connection)
        self._subscribers = SqliteSubscribers(connection)
        self._outbox = SqliteOutbox(connection)
        self._digests = SqliteDigests(connection)
        self._broadcasts = SqliteBroadcasts(connection)
        self._destinations = SqliteDestinations(connection)
        self._transfer = SqliteTransfer(connection)
        self._leases = SqliteLeases(connection)

    @classmethod
    async def open(cls, path: str | Path) -> SqliteDatabase:
        return cls(await Connection.open(path))

    @property
    def location(self) -> str:
        return self.sql.path

    @property
    def articles(self) -> SqliteArticles:
        return self._articles

    @property
    def feeds(self) -> SqliteFeeds:
        return self._feeds

    @property
    def subscribers(self) -> SqliteSubscribers:
        return self._subscribers

    @property
    def outbox(self) -> SqliteOutbox:
        return self._outbox

    @property
    def digests(self) -> SqliteDigests:
        return self._digests

    @property
    def broadcasts(self) -> SqliteBroadcasts:
        return self._broadcasts

    @property
    def leases(self) -> SqliteLeases:
        return self._leases

    @property
    def destinations(self) -> SqliteDestinations:
        return self._destinations

    @property
    def transfer(self) -> SqliteTransfer:
        return self._transfer

    async def close(self) -> None:
        await self.sql.close()

    async def __aenter__(self) -> SqliteDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
