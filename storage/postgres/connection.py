"""The PostgreSQL server: a URL made safe to print, a pool of asyncpg connections, migrations.

Every write runs in a short transaction on one pooled connection
(`async with db.write() as conn:`); reads run on whichever connection is free
and see the latest committed data. A connection that cannot be made, or is
lost, surfaces as one `DatabaseError` line that names the server without the
password.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, TypeVar
from urllib.parse import unquote

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from storage.errors import DatabaseError
from storage.postgres.migrations import MIGRATIONS

CONNECT_TIMEOUT = 10.0  # seconds to reach the server before giving up
POOL_SIZE = 10
# pg_advisory_lock key: one process at a time migrates a database ("newsbot" in hex).
_MIGRATION_LOCK = 0x6E657773626F74

# A pooled connection (the alias is a string: asyncpg's classes are generic only in its stubs).
Conn: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
T = TypeVar("T")

# A lost connection or a server going away, rather than a query that is wrong.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """A connection going back to the pool keeps its session as it is.

    asyncpg's default reset sends a query (unlock all advisory locks, close
    cursors, UNLISTEN, RESET ALL) on every release: a round trip per statement
    we run, half the sender's. Ours leave nothing in the session: advisory locks
    are transaction-scoped (the migration's session lock is unlocked in its
    `finally`), cursors live inside transactions, nothing is SET or LISTENed;
    asyncpg still rolls back a transaction left open before calling this.
    """


class ParsedUrl:
    """A PostgreSQL URL split just enough to redact it and check its port."""

    def __init__(self, url: str) -> None:
        scheme, _, rest = url.partition("://")
        self.scheme = scheme.lower()
        # The user info ends at the last "@": a password holding an unencoded "@", "/" or
        # "?" is still hidden whole (too much may be hidden, never too little).
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            userinfo, hostpart = "", rest
        user, colon, password = userinfo.partition(":")
        # A "/", "?" or "#" before the last "@": an unencoded one in the password (or an
        # unencoded "@" in the database name or options). asyncpg would cut the URL there.
        self.unencoded = sorted({c for c in userinfo if c in "/?#"})
        self.user = user
        self.secrets = [s for s in {password, unquote(password)} if s] if colon else []
        end = len(hostpart)
        for mark in "/?#":
            index = hostpart.find(mark)
            if index != -1:
                end = min(end, index)
        self.hostport = hostpart[:end]
        path, _, query = hostpart[end:].partition("?")
        self.path = path
        # Options as written, but a password given as one (?password=…) left out.
        self.options: list[str] = []
        for option in query.split("&") if query else []:
            key, _, value = option.partition("=")
            if unquote(key) == "password":
                self.secrets += [s for s in {value, unquote(value)} if s]
            else:
                self.options.append(option)

    @property
    def safe(self) -> str:
        """The URL without its password, safe to print and log."""
        user = f"{self.user}@" if self.user else ""
        query = "?" + "&".join(self.options) if self.options else ""
        return f"{self.scheme}://{user}{self.hostport}{self.path}{query}"

    def problem(self) -> str | None:
        """What is wrong with the URL's user info, hosts and ports, or None."""
        if self.unencoded:
            marks = " ".join(self.unencoded)
            return (
                f"{marks} before the last @: percent-encode them in the password "
                "(/ is %2F, ? is %3F, # is %23), or an @ after them (%40)"
            )
        for host in self.hostport.split(","):
            if host.startswith("["):
                close = host.find("]")
                if close == -1:
                    return "an IPv6 address opened with [ is never closed with ]"
                port = host[close + 1 :]
                if port and not port.startswith(":"):
                    return f"unexpected {port!r} after the IPv6 address"
                port = port[1:]
            else:
                port = host.rpartition(":")[2] if ":" in host else ""
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                return f"port {port!r} is not a number from 1 to 65535"
        return None

    def scrub(self, text: str) -> str:
        """text with the password cut out, on one line."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return " ".join(text.split())


# What a connection dropped while idle in the pool looks like on its next use (the
# client may notice the server's goodbye only as the next statement starts).
_RETRY_ONCE: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, asyncpg.InternalClientError)
_CLOSE_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *_CONNECTION_ERRORS)


def explain_connect_error(exc: BaseException, url: ParsedUrl) -> str:
    """One line for an operator: why the server could not be reached, without the password."""
    if isinstance(exc, ValueError | OverflowError | asyncpg.ClientConfigurationError):
        return url.scrub(f"invalid PostgreSQL URL {url.safe}: {exc}")
    return url.scrub(f"cannot connect to {url.safe}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError)
        and (exc.errno == errno.ECONNREFUSED or "Connect call failed" in str(exc))
    ):
        return "connection refused"
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


# Our transactions are short and never wait on the network, so one left open is a
# process that hangs (stopped, swapping, its machine gone): the server ends its
# session, freeing the rows and the claim lock it held for the other processes.
SESSION_SETTINGS = {"idle_in_transaction_session_timeout": "5000"}  # milliseconds


class Pool:
    """The server, open: a pool of connections, each write in its own transaction."""

    def __init__(self, url: ParsedUrl, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._url = url
        self._pool = pool

    @property
    def location(self) -> str:
        return self._url.safe

    @classmethod
    async def open(cls, url: str, *, max_size: int = POOL_SIZE) -> Pool:
        parsed = ParsedUrl(url)
        problem = parsed.problem()
        if problem is not None:
            raise DatabaseError(parsed.scrub(f"invalid PostgreSQL URL {parsed.safe}: {problem}"))
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=max_size,
                timeout=CONNECT_TIMEOUT,
                server_settings=SESSION_SETTINGS,
                reset=_keep_session,
            )
        except (
            OSError,
            TimeoutError,
            ValueError,
            OverflowError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            raise DatabaseError(explain_connect_error(exc, parsed)) from None
        opened = cls(parsed, pool)
        try:
            async with opened._guard(), pool.acquire() as conn:
                await migrate(conn, parsed.safe)
        except BaseException:
            await opened.close()
            raise
        return opened

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), timeout=CONNECT_TIMEOUT)
        except _CLOSE_ERRORS:
            self._pool.terminate()

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """A connection lost or refused becomes one DatabaseError line."""
        try:
            yield
        except _CONNECTION_ERRORS as exc:
            raise DatabaseError(
                self._url.scrub(f"lost the connection to {self.location}: {_reason(exc)}")
            ) from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """One pooled connection held for a while: a long read in one transaction of
        its own (a copy's snapshot), or a statement that runs outside any (ANALYZE)."""
        async with self._guard(), self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A short write transaction on one connection. Never await the network inside it."""
        async with self._guard():
            conn, transaction = await self._begin()
            try:
                try:
                    yield conn
                except BaseException:
                    # On a lost connection there is nothing to roll back (the server
                    # did); the error that lost it is the one to raise.
                    with contextlib.suppress(*_RETRY_ONCE, asyncpg.InterfaceError):
                        await transaction.rollback()
                    raise
                await transaction.commit()
            finally:
                await self._pool.release(conn)

    async def _begin(self) -> tuple[Conn, Transaction]:
        """A connection with its transaction begun. A pooled connection the server
        dropped while it was idle (a restart, an idle timeout) fails at BEGIN, before
        anything was written: the transaction is begun again on a fresh one."""
        for attempt in (1, 2):
            conn = await self._pool.acquire()
            transaction = conn.transaction()
            try:
                await transaction.start()
            except _RETRY_ONCE:
                await self._pool.release(conn)
                if attempt == 2:
                    raise
            except BaseException:
                await self._pool.release(conn)
                raise
            else:
                return conn, transaction
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, run: Callable[[Conn], Awaitable[T]]) -> T:
        """A read on a free connection; tried once more on another when the connection
        was lost (reads change nothing, so trying again is safe)."""
        async with self._guard():
            for attempt in (1, 2):
                try:
                    async with self._pool.acquire() as conn:
                        return await run(conn)
                except _RETRY_ONCE:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover

    async def execute_idempotent(self, sql: str, *args: Any) -> str:
        """One write statement in a transaction of its own: one round trip instead of
        BEGIN, the statement and COMMIT. Only for a statement that may run twice (a
        connection lost mid-way is tried once more on another)."""
        return await self._call(lambda conn: conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._call(lambda conn: conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._call(lambda conn: conn.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._call(lambda conn: conn.fetchval(sql, *args))


def affected(status: str) -> int:
    """Rows a statement touched, from its status tag ("UPDATE 3", "INSERT 0 1")."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


async def count_per_period(
    db: Pool, table: str, column: str, bounds: Sequence[int], *, where: str = "TRUE"
) -> list[int]:
    """Rows of table whose column falls in each [bounds[i], bounds[i + 1]), in one scan.

    table, column and where are our constants, never user input; the bounds are one
    bigint[] parameter. Periods may differ in length (a day with a daylight-saving change).
    """
    if any(later < earlier for earlier, later in itertools.pairwise(bounds)):
        raise ValueError("bounds must be ascending")
    periods = len(bounds) - 1
    if periods <= 0:
        return []
    # width_bucket gives i + 1 for a value in [bounds[i], bounds[i + 1]).
    rows = await db.fetch(
        f"SELECT width_bucket({column}, $1::bigint[]) AS period, count(*) AS n "  # noqa: S608
        f"FROM {table} WHERE {where} AND {column} >= $2 AND {column} < $3 GROUP BY period",
        [int(b) for b in bounds],
        int(bounds[0]),
        int(bounds[-1]),
    )
    counts = [0] * periods
    for row in rows:
        counts[int(row["period"]) - 1] = int(row["n"])
    return counts


def sql_limit(limit: int) -> int | None:
    """A LIMIT as SQLite reads one: a negative limit is no limit (NULL)."""
    return None if limit < 0 else limit


async def migrate(conn: Conn, location: str) -> None:
    """Bring the schema up to date, one step per transaction, one process at a time."""
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await _apply_migrations(conn, location)
        finally:
            with contextlib.suppress(*_RETRY_ONCE, asyncpg.InterfaceError):
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    except asyncpg.PostgresError as exc:
        # Not a connection problem: the user may not create tables there, say.
        raise DatabaseError(f"cannot prepare {location}: " + " ".join(str(exc).split())) from exc


async def _apply_migrations(conn: Conn, location: str) -> None:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        await conn.execute(
            """CREATE TABLE schema_migrations (
                   version     INTEGER PRIMARY KEY,
                   applied_at  BIGINT NOT NULL
               )"""
        )
    current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
    if current > len(MIGRATIONS):
        raise DatabaseError(
            f"the database's schema version {current} is newer than this newsbot's "
            f"({len(MIGRATIONS)}): upgrade newsbot"
        )
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        try:
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    version,
                    int(time.time()),
                )
        except asyncpg.PostgresError as exc:
            raise DatabaseError(
                f"cannot bring {location} to schema version {version}: "
                + " ".join(str(exc).split())
            ) from exc
