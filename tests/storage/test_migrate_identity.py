"""A database stored before articles had one identity across feeds migrates: the same
link already stored by two feeds stays two rows (nothing merged after the fact), each
known by its own feed and key so neither is ever alerted again, and what arrives next
joins the oldest."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

import storage
import storage.postgres.migrations as pg_migrations
import storage.sqlite.migrations as sqlite_migrations
from storage.api import Database
from storage.rows import FeedSpec
from tests.storage.support import NOW, add_reader, article
from tests.support.postgres import PostgresCluster

LINK = "https://vnexpress.net/gia-vang-4790123.html"
# Before this change: SQLite's step 10, PostgreSQL's step 8.
SQLITE_BEFORE, PG_BEFORE = 10, 8

# Two feeds that both stored LINK, as the old schema allowed, and a third story.
_OLD_ROWS = [
    "INSERT INTO feeds (id, url, name, created_at, first_polled_at) VALUES "
    "(1, 'https://vnexpress.net/rss/kinh-te.rss', 'Kinh tế', 0, 0), "
    "(2, 'https://vnexpress.net/rss/tin-moi-nhat.rss', 'Tin mới', 0, 0)",
    "INSERT INTO feed_topics (feed_id, topic_slug) VALUES (1, 'kinh-te'), (2, 'thoi-su')",
    "INSERT INTO articles (id, feed_id, item_key, url, title, summary, content_text, "
    "published_at, fetched_at, updated_at) VALUES "
    "(10, 1, 'kt-1', 'https://vnexpress.net/gia-vang-4790123.html', 'gia vang', '', '', 1, 1, 1), "
    "(11, 2, 'tmn-1', 'https://vnexpress.net/gia-vang-4790123.html', 'gia vang', '', '', 1, 2, 2), "
    "(12, 2, 'tmn-2', 'https://vnexpress.net/khac-1.html', 'khac', '', '', 1, 2, 2)",
]

OldDatabase = Callable[[], Awaitable[str]]


@asynccontextmanager
async def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in sqlite_migrations.MIGRATIONS[:SQLITE_BEFORE]:
        conn.executescript(script)
    for statement in _OLD_ROWS:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SQLITE_BEFORE}")
    conn.commit()
    conn.close()
    yield str(path)


@asynccontextmanager
async def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"old_{tmp_path.name}".replace("-", "_")[:60]
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        conn = await asyncpg.connect(cluster.url(name))
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                "applied_at BIGINT NOT NULL)"
            )
            for version, script in enumerate(pg_migrations.MIGRATIONS[:PG_BEFORE], start=1):
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, 0)", version)
            # The rows are written as SQLite would take them: with an empty search vector.
            await conn.execute("ALTER TABLE articles ALTER COLUMN search SET DEFAULT ''")
            for statement in _OLD_ROWS:
                await conn.execute(statement)
            await conn.execute("ALTER TABLE articles ALTER COLUMN search DROP DEFAULT")
            for table in ("feeds", "articles"):  # the rows above gave their ids by hand
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)")
        finally:
            await conn.close()
        yield cluster.url(name)
    finally:
        admin = await asyncpg.connect(cluster.url("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["postgresql", "sqlite"])
async def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    old = _sqlite if request.param == "sqlite" else _postgresql
    async with old(request, tmp_path) as location:
        database = await storage.open_database(location)
        try:
            yield database
        finally:
            await database.close()


async def test_duplicates_already_stored_stay_and_are_never_alerted_again(
    migrated: Database,
) -> None:
    db = migrated
    await add_reader(db, 1, topics=["kinh-te", "thoi-su"])
    assert await db.articles.count_articles() == 3
    assert await db.articles.existing_keys(1, ["kt-1"]) == {"kt-1"}
    assert await db.articles.existing_keys(2, ["tmn-1", "tmn-2"]) == {"tmn-1", "tmn-2"}

    # Both feeds list their copies again: nothing stored, nothing queued.
    for feed_id, key in ((1, "kt-1"), (2, "tmn-1")):
        again = await db.articles.store(
            feed_id,
            [article(key, url=LINK, title="gia vang", body="")],
            now=NOW,
            alert_keys=frozenset({key}),
        )
        assert (again.new_ids, again.merged_ids, again.alerts_queued) == ([], [], 0)
    assert await db.outbox.rows_for_chat(1) == []


async def test_the_next_feed_with_a_stored_link_joins_the_oldest_copy(
    migrated: Database,
) -> None:
    db = migrated
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec("https://vnexpress.net/rss/so-hoa.rss", "Số hóa", ("so-hoa",)),
        now=NOW,
    )

    outcome = await db.articles.store(
        feed_id, [article("sh-1", url=LINK, topics=("so-hoa",))], now=NOW
    )

    assert outcome.new_ids == [] and outcome.merged_ids == [10]
    row = await db.articles.get_article(10)
    assert row is not None and "so-hoa" in row.topics
    assert await db.articles.count_articles() == 3
