"""Everything newsbot keeps, behind one backend-neutral interface.

`open_database(location)` gives a `storage.api.Database`; its stores take
and return the frozen rows of `storage.rows`. The SQLite backend lives in
`storage.sqlite`. Imports nothing of ours outside this package.
"""

from __future__ import annotations

from pathlib import Path

from storage.api import Database
from storage.errors import DatabaseError
from storage.sqlite import SqliteDatabase

__all__ = ["Database", "DatabaseError", "open_database"]


async def open_database(location: str | Path) -> Database:
    """Open (creating and migrating as needed) the database at location: a file path.

    Raises DatabaseError when it cannot be opened, is not a newsbot database, or
    is locked by another process for longer than the busy timeout.
    """
    return await SqliteDatabase.open(location)
