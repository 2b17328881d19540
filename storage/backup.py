"""Backups, each backend its own way, behind one face for the bot.

A SQLite file is copied online with SQLite's backup API (storage.sqlite.backup);
a PostgreSQL database is dumped with pg_dump, which the operator runs (the
command line says how), so the functions here refuse a database URL.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from storage import is_database_url
from storage.sqlite import backup as sqlite_backup
from storage.sqlite.backup import BackupError, BackupResult, RestoreResult, WeeklyResult

__all__ = ["BackupError", "BackupResult", "RestoreResult", "WeeklyResult", "backup", "restore"]


def _file(location: str | Path) -> Path:
    if is_database_url(location):
        raise BackupError("a PostgreSQL database is backed up with pg_dump, not by newsbot")
    return Path(location)


async def backup(location: str | Path, dest: str | Path) -> BackupResult:
    """A consistent copy of the database at location, taken while it may be in use."""
    return await sqlite_backup.backup(_file(location), dest)


async def restore(source: str | Path, location: str | Path, *, now: datetime) -> RestoreResult:
    """The database at location replaced by the checked backup source."""
    return await sqlite_backup.restore(source, _file(location), now=now)


async def weekly(
    location: str | Path, backup_dir: str | Path, *, keep: int, today: date
) -> WeeklyResult:
    """A dated copy when the newest is a week old; copies beyond keep deleted."""
    return await sqlite_backup.weekly(_file(location), backup_dir, keep=keep, today=today)
