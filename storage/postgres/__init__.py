"""The server backend: PostgreSQL through an asyncpg connection pool, tsvector for search.

`PostgresDatabase` implements `storage.api.Database` with the SQLite backend's
behaviour, method for method (the contract suite in `tests/storage/` runs on
both). Only this package knows PostgreSQL: its SQL, asyncpg, tsvector and
tsquery. Several bot processes may share one database: outbox claims skip rows
another process holds (`FOR UPDATE SKIP LOCKED`), migrations take an advisory
lock, and leases decide who polls and sends.
"""

from __future__ import annotations

from storage.postgres.articles import PostgresArticles
from storage.postgres.broadcasts import PostgresBroadcasts
from storage.postgres.connection import Pool
from storage.postgres.destinations import PostgresDestinations
from storage.postgres.digests import PostgresDigests
from storage.postgres.feeds import PostgresFeeds
from storage.postgres.leases import PostgresLeases
from storage.postgres.outbox import PostgresOutbox
from storage.postgres.subscribers import PostgresSubscribers
from storage.postgres.transfer import PostgresTransfer

__all__ = ["PostgresDatabase"]


class PostgresDatabase:
    """newsbot's database on a PostgreSQL server. Open with
    `await PostgresDatabase.open("postgresql://user:password@host:5432/newsbot")`."""

    def __init__(self, pool: Pool) -> None:
        # PostgreSQL-only: tests that look inside the database use it.
        self.pg = pool
        self._articles = PostgresArticles(pool)
        self._feeds = PostgresFeeds(pool)
        self._subscribers = PostgresSubscribers(pool)
        self._outbox = PostgresOutbox(pool)
        self._digests = PostgresDigests(pool)
        self._broadcasts = PostgresBroadcasts(pool)
        self._destinations = PostgresDestinations(pool)
        self._transfer = PostgresTransfer(pool)
        self._leases = PostgresLeases(pool)

    @classmethod
    async def open(cls, url: str, *, pool_size: int | None = None) -> PostgresDatabase:
        """Connect, create or migrate the schema; DatabaseError (one line, no password)
        when the URL is bad, the server cannot be reached or the schema is newer."""
        if pool_size is None:
            return cls(await Pool.open(url))
        return cls(await Pool.open(url, max_size=pool_size))

    @property
    def location(self) -> str:
        """The URL without its password."""
        return self.pg.location

    @property
    def articles(self) -> PostgresArticles:
        return self._articles

    @property
    def feeds(self) -> PostgresFeeds:
        return self._feeds

    @property
    def subscribers(self) -> PostgresSubscribers:
        return self._subscribers

    @property
    def outbox(self) -> PostgresOutbox:
        return self._outbox

    @property
    def digests(self) -> PostgresDigests:
        return self._digests

    @property
    def broadcasts(self) -> PostgresBroadcasts:
        return self._broadcasts

    @property
    def leases(self) -> PostgresLeases:
        return self._leases

    @property
    def destinations(self) -> PostgresDestinations:
        return self._destinations

    @property
    def transfer(self) -> PostgresTransfer:
        return self._transfer

    async def close(self) -> None:
        await self.pg.close()

    async def __aenter__(self) -> PostgresDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
