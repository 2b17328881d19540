"""Whole tables in and out of the SQLite file, in the neutral forms of storage.tables.

Booleans are 0/1 here, lists are JSON text; the FTS5 table `article_search`
holds each article's folded title and body, which travel with the article.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager

from storage.api import TransferRow
from storage.sqlite.connection import Connection
from storage.tables import NOT_COPIED, TABLES, Kind, Table

# The FTS5 table and its shadow tables: the articles' index, not a table of the model.
_INDEX_PREFIX = "article_search"


def _from_sqlite(kind: Kind, value: object) -> object:
    if value is None:
        return [] if kind is Kind.TEXTS else None
    if kind is Kind.BOOL:
        return bool(value)
    if kind in (Kind.INTS, Kind.FLOATS, Kind.TEXTS):
        try:
            items = json.loads(str(value))
        except ValueError:
            items = None
        if not isinstance(items, list):
            # What the stores read as nothing (they tolerate a damaged list) is nothing.
            return [] if kind is Kind.TEXTS else None
        if kind is Kind.INTS:
            return [int(x) for x in items]
        if kind is Kind.FLOATS:
            return [float(x) for x in items]
        return [str(x) for x in items]
    return value


def _to_sqlite(kind: Kind, value: object) -> object:
    if value is None:
        return None
    if kind is Kind.BOOL:
        return 1 if value else 0
    if kind in (Kind.INTS, Kind.FLOATS, Kind.TEXTS):
        return json.dumps(value, ensure_ascii=False)
    return value


class SqliteSnapshot:
    """Reads on the reader connection inside one read transaction: one moment of the file."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def count(self, table: Table) -> int:
        async with self._db.reader.execute(f"SELECT count(*) FROM {table.name}") as cursor:  # noqa: S608
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def rows(self, table: Table, *, batch: int) -> AsyncGenerator[list[TransferRow], None]:
        columns = ", ".join(f"t.{c}" for c in table.column_names)
        key = ", ".join(f"t.{c}" for c in table.key)
        marks = ", ".join("?" for _ in table.key)
        search = ", s.title, s.body" if table.searchable else ""
        join = " LEFT JOIN article_search s ON s.rowid = t.id" if table.searchable else ""
        kinds = [kind for _, kind in table.columns]
        last: tuple[object, ...] | None = None
        while True:
            after = "" if last is None else f"WHERE ({key}) > ({marks}) "
            sql = (
                f"SELECT {columns}{search} FROM {table.name} t{join} "  # noqa: S608 - constants
                f"{after}ORDER BY {key} LIMIT ?"
            )
            async with self._db.reader.execute(sql, (*(last or ()), batch)) as cursor:
                found = await cursor.fetchall()
            if not found:
                return
            rows: list[TransferRow] = []
            for r in found:
                values = tuple(_from_sqlite(kind, r[i]) for i, kind in enumerate(kinds))
                rows.append(values + (tuple(r[len(kinds) :]) if table.searchable else ()))
            yield rows
            last = tuple(found[-1][c] for c in table.key)
            if len(found) < batch:
                return


class SqliteTransfer:
    def __init__(self, db: Connection) -> None:
        self._db = db

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SqliteSnapshot]:
        """One read transaction on the reader connection (WAL keeps its view while
        others write). Everything else reading through this database meanwhile
        shares the view: a copy is meant to be the connection's only reader."""
        async with self._db.reader.execute("BEGIN"):
            pass
        try:
            yield SqliteSnapshot(self._db)
        finally:
            async with self._db.reader.execute("COMMIT"):
                pass

    async def columns(self) -> dict[str, tuple[str, ...]]:
        async with self._db.reader.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ) as cursor:
            names = [str(r[0]) for r in await cursor.fetchall()]
        columns: dict[str, tuple[str, ...]] = {}
        for name in names:
            if name.startswith(_INDEX_PREFIX):
                continue
            async with self._db.reader.execute(
                "SELECT name FROM pragma_table_info(?) ORDER BY cid", (name,)
            ) as cursor:
                columns[name] = tuple(str(r[0]) for r in await cursor.fetchall())
        return columns

    async def counts(self, tables: Sequence[Table]) -> dict[str, int]:
        snapshot = SqliteSnapshot(self._db)
        return {table.name: await snapshot.count(table) for table in tables}

    async def clear(self) -> None:
        async with self._db.write() as conn:
            for name in [t.name for t in reversed(TABLES)] + sorted(NOT_COPIED):
                await conn.execute(f"DELETE FROM {name}")  # noqa: S608 - our table names
            await conn.execute("DELETE FROM article_search")

    async def insert(self, table: Table, rows: Sequence[TransferRow]) -> None:
        if not rows:
            return
        names = table.column_names
        kinds = [kind for _, kind in table.columns]
        values = [tuple(_to_sqlite(kind, row[i]) for i, kind in enumerate(kinds)) for row in rows]
        marks = ", ".join("?" for _ in names)
        async with self._db.write() as conn:
            await conn.executemany(
                f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
                values,
            )
            if table.searchable:
                at = names.index("id")
                await conn.executemany(
                    "INSERT INTO article_search (rowid, title, body) VALUES (?, ?, ?)",
                    [(row[at], row[len(names)], row[len(names) + 1]) for row in rows],
                )

    async def finish(self) -> None:
        """New ids follow the largest (an INTEGER PRIMARY KEY does so by itself); the
        search index merged into one b-tree, as a freshly built index deserves."""
        async with self._db.write() as conn:
            await conn.execute("INSERT INTO article_search (article_search) VALUES ('optimize')")
