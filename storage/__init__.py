"""Everything newsbot keeps, behind one backend-neutral interface.

`open_database(location)` gives a `storage.api.Database`; its stores take
and return the frozen rows of `storage.rows`. A file path opens the SQLite
backend (`storage.sqlite`); a `postgresql://` (or `postgres://`) URL opens the
PostgreSQL backend (`storage.postgres`). Imports nothing of ours outside this
package.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.api import Database
from storage.errors import DatabaseError
from storage.sqlite import SqliteDatabase

__all__ = ["Database", "DatabaseError", "is_database_url", "open_database"]

_URL_SCHEMES = ("postgresql", "postgres")


def is_database_url(location: str | os.PathLike[str]) -> bool:
    """True when location names a database server (a postgresql:// URL), not a file."""
    return _as_url(location) is not None


def _as_url(location: str | os.PathLike[str]) -> str | None:
    text = os.fspath(location)
    scheme, sep, rest = text.partition(":")
    if not sep or scheme.lower() not in _URL_SCHEMES:
        return None
    if rest.startswith("//"):
        return text
    if isinstance(location, os.PathLike) and rest.startswith("/"):
        # Path("postgresql://u@h/db") folds the "//" into "/": give the URL back its
        # two slashes rather than creating a file named after it.
        return f"{scheme}:/{rest}"
    return None


async def open_database(location: str | Path) -> Database:
    """Open (creating and migrating as needed) the database at location.

    A `postgresql://user:password@host:port/dbname` URL (or `postgres://`)
    connects to PostgreSQL through a connection pool; anything else is the path
    of a SQLite file. Raises DatabaseError, one line and never the password,
    when it cannot be opened: a bad URL, a server that cannot be reached, a file
    that is not a newsbot database, one locked by another process for longer
    than the busy timeout, or a schema newer than this newsbot.
    """
    url = _as_url(location)
    if url is not None:
        # Imported here: asyncpg is loaded only by those who use PostgreSQL.
        from storage.postgres import PostgresDatabase

        return await PostgresDatabase.open(url)
    return await SqliteDatabase.open(location)
