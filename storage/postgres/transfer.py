"""Whole tables in and out of PostgreSQL, in the neutral forms of storage.tables.

BOOLEAN, JSONB (as its text) and arrays are already the neutral forms. Rows
go in with COPY (asyncpg's binary `copy_records_to_table`), the fastest way
in; articles go in with one `INSERT … SELECT FROM unnest(…)` per batch instead,
because their tsvector is computed by `newsbot_search_vector` from the folded
text each row carries. The folded text itself is not kept here, so a snapshot
gives None for it (storage.copy rebuilds it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager

from storage.api import TransferRow
from storage.postgres.connection import Conn, Pool
from storage.postgres.search import index_text
from storage.tables import NOT_COPIED, TABLES, Table

# Columns a backend adds for its own index: not part of the model a copy moves.
_INDEX_COLUMNS = {"articles": {"search"}}
# Tables of the backend's own bookkeeping.
_OWN_TABLES = {"schema_migrations"}


class PostgresSnapshot:
    """Reads in one REPEATABLE READ, read-only transaction: one moment of the database."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def count(self, table: Table) -> int:
        return int(await self._conn.fetchval(f"SELECT count(*) FROM {table.name}"))  # noqa: S608

    async def rows(self, table: Table, *, batch: int) -> AsyncGenerator[list[TransferRow], None]:
        columns = ", ".join(table.column_names)
        extra = ", NULL, NULL" if table.searchable else ""
        key = ", ".join(table.key)
        sql = f"SELECT {columns}{extra} FROM {table.name} ORDER BY {key}"  # noqa: S608
        rows: list[TransferRow] = []
        async for record in self._conn.cursor(sql, prefetch=batch):
            rows.append(tuple(record))
            if len(rows) == batch:
                yield rows
                rows = []
        if rows:
            yield rows


class PostgresTransfer:
    def __init__(self, db: Pool) -> None:
        self._db = db

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PostgresSnapshot]:
        async with (
            self._db.connection() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield PostgresSnapshot(conn)

    async def columns(self) -> dict[str, tuple[str, ...]]:
        rows = await self._db.fetch(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema()
               ORDER BY table_name, ordinal_position"""
        )
        columns: dict[str, list[str]] = {}
        for r in rows:
            table, column = str(r["table_name"]), str(r["column_name"])
            if table in _OWN_TABLES or column in _INDEX_COLUMNS.get(table, ()):
                continue
            columns.setdefault(table, []).append(column)
        return {table: tuple(names) for table, names in columns.items()}

    async def counts(self, tables: Sequence[Table]) -> dict[str, int]:
        if not tables:
            return {}
        union = " UNION ALL ".join(
            f"SELECT '{t.name}' AS name, count(*) AS n FROM {t.name}"  # noqa: S608
            for t in tables
        )
        return {str(r["name"]): int(r["n"]) for r in await self._db.fetch(union)}

    async def clear(self) -> None:
        names = ", ".join([t.name for t in TABLES] + sorted(NOT_COPIED))
        async with self._db.write() as conn:
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")

    async def insert(self, table: Table, rows: Sequence[TransferRow]) -> None:
        if not rows:
            return
        async with self._db.write() as conn:
            if table.searchable:
                await _insert_articles(conn, table, rows)
            else:
                await conn.copy_records_to_table(
                    table.name, records=list(rows), columns=list(table.column_names)
                )

    async def finish(self) -> None:
        """Each identity moved past the largest id copied, so new rows continue the
        source's numbering; then VACUUM (ANALYZE), as autovacuum would after a load
        this size: statistics, so the planner knows the new rows (a search over a
        million articles is planned from them), and the visibility map, so ranking
        a search's matches reads the index alone."""
        async with self._db.write() as conn:
            for table in TABLES:
                if table.identity is None:
                    continue
                await conn.execute(
                    f"""SELECT setval(pg_get_serial_sequence('{table.name}', '{table.identity}'),
                                      coalesce(max({table.identity}), 0) + 1, false)
                        FROM {table.name}"""  # noqa: S608 - our table names
                )
        async with self._db.connection() as conn:
            await conn.execute("VACUUM (ANALYZE)")


async def _insert_articles(conn: Conn, table: Table, rows: Sequence[TransferRow]) -> None:
    names = table.column_names
    if names != _ARTICLE_COLUMNS:
        raise AssertionError(f"articles are copied as {_ARTICLE_COLUMNS}, not {names}")
    width = len(names)
    columns = [[row[i] for row in rows] for i in range(width)]
    await conn.execute(
        """INSERT INTO articles (id, feed_id, item_key, url, title, summary, content_text,
                                 author, image_url, published_at, fetched_at, updated_at, story_id,
                                 canonical_url, search)
           SELECT x.id, x.feed_id, x.item_key, x.url, x.title, x.summary, x.content_text,
                  x.author, x.image_url, x.published_at, x.fetched_at, x.updated_at, x.story_id,
                  x.canonical_url, newsbot_search_vector(x.search_title, x.search_body)
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                       $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
                       $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[],
                       $16::text[])
                AS x(id, feed_id, item_key, url, title, summary, content_text, author,
                     image_url, published_at, fetched_at, updated_at, story_id, canonical_url,
                     search_title, search_body)""",
        *columns,
        [index_text(str(row[width] or "")) for row in rows],
        [index_text(str(row[width + 1] or "")) for row in rows],
    )


_ARTICLE_COLUMNS = (
    "id", "feed_id", "item_key", "url", "title", "summary", "content_text", "author",
    "image_url", "published_at", "fetched_at", "updated_at", "story_id", "canonical_url",
)  # fmt: skip
