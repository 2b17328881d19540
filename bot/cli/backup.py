"""`newsbot backup FILE` and `newsbot restore FILE`.

SQLite: an online copy through SQLite's backup API (safe while the bot runs),
and a restore that refuses while a bot holds the database and otherwise swaps
the file atomically after `PRAGMA integrity_check`. PostgreSQL: these commands
print the pg_dump / pg_restore commands to run instead (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.cli.commands import OperatorError
from bot.runtime.database import opened_database
from bot.runtime.settings import Settings

# bot.runtime.background.LEASE_NAME, the lease a running bot holds; not imported
# from there, since that module loads python-telegram-bot (tests hold them equal).
BACKGROUND_LEASE = "background"


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


async def backup_command(settings: Settings, dest: str) -> int:
    if settings.uses_postgres:
        _emit("NEWSBOT_DB is a PostgreSQL database: back it up with pg_dump (nothing was written).")
        _emit(pg_dump_command(settings.db_location, dest))
        _emit("Restore it with:")
        _emit(pg_restore_command(settings.db_location, dest))
        return 1
    from storage.backup import BackupError, backup

    try:
        result = await backup(settings.db_path, dest)
    except BackupError as exc:
        raise OperatorError(str(exc)) from None
    _emit(
        f"backed up {settings.db_path} to {result.path} "
        f"({_size(result.size)}, PRAGMA integrity_check ok)"
    )
    return 0


async def restore_command(settings: Settings, source: str) -> int:
    if settings.uses_postgres:
        _emit("NEWSBOT_DB is a PostgreSQL database: restore it with pg_restore (nothing changed).")
        _emit(pg_restore_command(settings.db_location, source))
        return 1
    from storage.backup import BackupError, restore

    if not await asyncio.to_thread(Path(source).is_file):
        raise OperatorError(f"no file {source}")
    now = datetime.now(UTC)
    if await asyncio.to_thread(settings.db_path.exists):
        async with opened_database(settings) as db:
            holder = await db.leases.holder(BACKGROUND_LEASE, now=int(now.timestamp()))
        if holder is not None:
            raise OperatorError(
                f"a bot is running on {settings.db_path} (lease held by {holder}); "
                "stop it first (the lease of a bot that was killed runs out within 6 s)"
            )
    try:
        result = await restore(source, settings.db_path, now=now)
    except BackupError as exc:
        raise OperatorError(str(exc)) from None
    _emit(f"restored {source} into {result.path} (PRAGMA integrity_check ok)")
    if result.previous is not None:
        _emit(f"the database it replaced is kept as {result.previous}")
    return 0


def _size(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB" if size >= 1_048_576 else f"{size / 1024:.0f} KiB"


def _without_password(url: str) -> str:
    """The URL as it may be printed: the password goes to ~/.pgpass or PGPASSWORD."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" if user else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def pg_dump_command(location: str, dest: str) -> str:
    """The exact pg_dump for this database: the custom format pg_restore reads."""
    url = shlex.quote(_without_password(location))
    return f"pg_dump --format=custom --no-owner --file={shlex.quote(dest)} {url}"


def pg_restore_command(location: str, source: str) -> str:
    url = shlex.quote(_without_password(location))
    return (
        f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname={url} "
        f"{shlex.quote(source)}"
    )
