"""The SQLite file: one writer connection behind a lock, one reader connection.

SQLite allows one writer at a time. Funnelling every write through one
connection and one asyncio.Lock, inside short `BEGIN IMMEDIATE` transactions,
turns "database is locked" from a runtime surprise into ordinary queueing.
WAL mode lets the reader connection answer searches while a write is open.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.errors import DatabaseError
from storage.sqlite.migrations import MIGRATIONS

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    # NORMAL is durable across application crashes in WAL mode; only an OS
    # crash can lose the last transactions, which the outbox tolerates.
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA temp_store = MEMORY",
)


class Connection:
    """The SQLite file, open: one writer connection behind a lock, one read-only reader."""

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Connection:
        path = str(path)
        try:
            return await cls._open(path)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(_explain(path, exc)) from exc

    @classmethod
    async def _open(cls, path: str) -> Connection:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Tried first with plain sqlite3: when aiosqlite fails to connect, its worker
            # thread finishes after the caller may have closed the event loop.
            await asyncio.to_thread(_probe, path)
        writer = await _connect(path)
        try:
            await _migrate(writer)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        await reader.execute("PRAGMA query_only = ON")
        return cls(path, writer, reader)

    async def close(self) -> None:
        await self._reader.close()
        async with self._write_lock:
            await self._writer.close()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction. Never await the network inside it."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise DatabaseError(_explain(self.path, exc)) from exc
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    @property
    def reader(self) -> Reader:
        """Reads on the read-only connection; each sees the latest committed data."""
        return Reader(self._reader)


class Reader:
    """The read connection, used one whole statement at a time.

    Every query runs and is fully fetched in one call on the connection's
    thread. A cursor left open across an await would keep its read
    transaction, and with it an old snapshot, alive for every other coroutine
    sharing the connection: a reader could then miss a row committed a moment
    before (a subscriber just created, an article just stored).
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> ReadQuery:
        return ReadQuery(self._conn, sql, params)


class ReadQuery:
    """`async with db.reader.execute(sql, params) as rows:` — rows fetched up front."""

    def __init__(self, conn: aiosqlite.Connection, sql: str, params: Sequence[object]) -> None:
        self._conn = conn
        self._sql = sql
        self._params = params

    async def __aenter__(self) -> ReadResult:
        rows = await self._conn.execute_fetchall(self._sql, self._params)
        return ReadResult(list(rows))

    async def __aexit__(self, *exc: object) -> None:
        return None


class ReadResult:
    def __init__(self, rows: list[sqlite3.Row]) -> None:
        self._rows = rows

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._rows

    async def fetchone(self) -> sqlite3.Row | None:
        return self._rows[0] if self._rows else None


async def count_per_period(
    reader: Reader, table: str, column: str, bounds: Sequence[int], *, where: str = "1 = 1"
) -> list[int]:
    """Rows of table whose column falls in each [bounds[i], bounds[i + 1]), in one scan.

    table, column and where are our constants, never user input; the bounds are bound
    parameters. Periods may differ in length (a day with a daylight-saving change).
    """
    if any(later < earlier for earlier, later in itertools.pairwise(bounds)):
        raise ValueError("bounds must be ascending")
    periods = len(bounds) - 1
    if periods <= 0:
        return []
    cases = " ".join(f"WHEN {column} < ? THEN {i}" for i in range(periods))
    sql = (
        f"SELECT CASE {cases} END AS period, count(*) AS n FROM {table} "  # noqa: S608 - constants
        f"WHERE {where} AND {column} >= ? AND {column} < ? GROUP BY period"
    )
    counts = [0] * periods
    async with reader.execute(sql, (*bounds[1:], bounds[0], bounds[-1])) as cursor:
        for row in await cursor.fetchall():
            counts[int(row["period"])] = int(row["n"])
    return counts


def _probe(path: str) -> None:
    sqlite3.connect(path).close()


async def _connect(path: str) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves instead of letting
    # the sqlite3 module open implicit transactions at surprising moments.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        await conn.close()  # its thread would otherwise keep the process alive
        raise
    return conn


async def _migrate(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise DatabaseError(
            f"the database's schema version {current} is newer than this newsbot's "
            f"({len(MIGRATIONS)}): upgrade newsbot"
        )
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        # executescript commits first, so each step is wrapped explicitly.
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
        )


def _explain(path: str, exc: sqlite3.Error | OSError) -> str:
    """One line for an operator: what is wrong with the file, in words they can act on."""
    reason = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    if "locked" in reason or "busy" in reason:
        return f"{path} is locked by another process (is another newsbot writing to it?)"
    if "not a database" in reason or "malformed" in reason:
        return f"{path} is not a readable SQLite database ({reason})"
    return f"cannot open {path}: {reason}"
