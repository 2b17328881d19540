"""Backups of the SQLite file: an online copy, a checked restore, a dated weekly copy.

A copy is taken with SQLite's online backup API (`sqlite3.Connection.backup`)
on a connection of its own, in one step: it reads one consistent snapshot
while the bot keeps writing (WAL lets writers go on past a reader), so the
copy holds every transaction committed before it began and none half-done.
The copy is written beside its destination, checked with
`PRAGMA integrity_check`, synced to disk and only then renamed into place,
so a crash never leaves a truncated backup under the final name.

Every function here blocks; the async wrappers run them in a thread, so the
event loop (the running bot) never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from storage.sqlite.migrations import MIGRATIONS

# Tables every newsbot database has: a file without them is not one of ours.
_OUR_TABLES = ("feeds", "articles", "subscribers", "outbox", "leases")


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why, in an operator's words."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int  # bytes


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: Path  # the database, now holding the backup's data
    previous: Path | None  # where the database it replaced was kept, if there was one


@dataclass(frozen=True, slots=True)
class WeeklyResult:
    made: BackupResult | None  # None: the newest backup is less than a week old
    deleted: list[Path] = field(default_factory=list)


# ---- the online copy ------------------------------------------------------------------


def backup_database(db_path: str | Path, dest: str | Path) -> BackupResult:
    """Copy the database at db_path to dest (which must not exist yet), checked."""
    source, target = Path(db_path), Path(dest)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another name or remove it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot be the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent} for the backup")
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(source, partial)
        _check(partial, what=f"the copy of {source}")
        _fsync(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        _remove(partial)
    return BackupResult(target, target.stat().st_size)


def _copy(source: Path, dest: Path) -> None:
    """The backup API, all pages in one step: one read transaction, one snapshot."""
    _remove(dest)
    with _closing(sqlite3.connect(source)) as src, _closing(sqlite3.connect(dest)) as dst:
        src.backup(dst)
        # The copy is one self-contained file: no -wal beside it to forget.
        dst.execute("PRAGMA journal_mode = DELETE")


# ---- checking a backup ----------------------------------------------------------------


def check_backup(path: str | Path) -> None:
    """Raise BackupError unless path is a sound newsbot database this version can open."""
    _check(Path(path), what=str(path))


def _check(path: Path, *, what: str) -> None:
    if not path.is_file():
        raise BackupError(f"no file {path}")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with _closing(sqlite3.connect(uri, uri=True)) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                str(r[0])
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a readable SQLite database ({exc})") from exc
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    if problems:
        raise BackupError(f"{what} fails PRAGMA integrity_check: {problems[0]}")
    missing = [t for t in _OUR_TABLES if t not in tables]
    if version < 1 or missing:
        raise BackupError(f"{what} is not a newsbot database")
    if version > len(MIGRATIONS):
        raise BackupError(
            f"{what} has schema version {version}, newer than this newsbot's "
            f"({len(MIGRATIONS)}): upgrade newsbot first"
        )


# ---- restore --------------------------------------------------------------------------


def restore_database(backup: str | Path, db_path: str | Path, *, now: datetime) -> RestoreResult:
    """Replace the database at db_path with the backup, atomically, after checking it.

    The backup is checked (integrity, a newsbot schema this version can open),
    copied beside the database and renamed over it in one step: a reader sees
    either the old database or the restored one, never a mix. The database it
    replaces is kept beside it as `<name>.before-restore-<time>`. The copy's
    leases are dropped (they named processes of the backup's day). The caller
    makes sure no bot is running on the file (the background lease).
    """
    source, target = Path(backup), Path(db_path)
    if not source.is_file():
        raise BackupError(f"no file {source}")
    if source.resolve() == target.resolve():
        raise BackupError("the backup is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring")
    previous: Path | None = None
    try:
        try:
            _copy(source, staged)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a readable SQLite database ({exc})") from exc
        # What is checked is what goes in place: the copy, one file, its log folded in.
        _check(staged, what=str(source))
        _forget_leases(staged)
        _fsync(staged)
        if target.exists():
            _settle(target)
            previous = target.with_name(
                f"{target.name}.before-restore-{now.strftime('%Y%m%d-%H%M%S')}"
            )
            _keep_copy(target, previous)
        os.replace(staged, target)
        # Left from the replaced file (_settle emptied them): never let them meet the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            _remove(Path(f"{target}{suffix}"))
        _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore {source}: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"cannot restore into {target}: {exc.strerror or exc}") from exc
    finally:
        _remove(staged)
    return RestoreResult(target, previous)


def _forget_leases(db: Path) -> None:
    """Leases name the processes running when the backup was taken: none runs on this copy."""
    with _closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("DELETE FROM leases")


def _settle(db: Path) -> None:
    """Fold the write-ahead log into the file, so the file alone is the whole database."""
    with _closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA busy_timeout = 5000")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise BackupError(f"{db} is in use by another process; stop it and try again")


def _keep_copy(db: Path, keep: Path) -> None:
    try:
        os.link(db, keep)  # the same bytes under a second name, instantly
    except OSError:
        shutil.copy2(db, keep)


# ---- the weekly copy ------------------------------------------------------------------


def _dated_name(stem: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stem)}-(\d{{4}}-\d{{2}}-\d{{2}})\.db$")


def dated_backups(db_path: str | Path, backup_dir: str | Path) -> list[tuple[date, Path]]:
    """The dated backups of this database in backup_dir, oldest first."""
    pattern = _dated_name(Path(db_path).stem)
    found: list[tuple[date, Path]] = []
    directory = Path(backup_dir)
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        match = pattern.match(path.name)
        if match is None:
            continue
        with contextlib.suppress(ValueError):
            found.append((date.fromisoformat(match.group(1)), path))
    return sorted(found)


def weekly_backup(
    db_path: str | Path, backup_dir: str | Path, *, keep: int, today: date, every_days: int = 7
) -> WeeklyResult:
    """A dated copy (`<db name>-YYYY-MM-DD.db`) when the newest is a week old or there is
    none; then all but the newest `keep` dated copies of this database are deleted."""
    directory = Path(backup_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    existing = dated_backups(db_path, directory)
    # A copy dated after today (a clock that was wrong) does not postpone this one.
    past = [day for day, _ in existing if day <= today]
    made = None
    if not past or (today - max(past)).days >= every_days:
        made = backup_database(db_path, directory / f"{Path(db_path).stem}-{today}.db")
        existing = dated_backups(db_path, directory)
    deleted = [path for _, path in existing[: max(0, len(existing) - keep)]]
    for path in deleted:
        _remove(path)
    return WeeklyResult(made, deleted)


# ---- run in a thread ------------------------------------------------------------------


async def backup(db_path: str | Path, dest: str | Path) -> BackupResult:
    return await asyncio.to_thread(backup_database, db_path, dest)


async def restore(backup: str | Path, db_path: str | Path, *, now: datetime) -> RestoreResult:
    return await asyncio.to_thread(restore_database, backup, db_path, now=now)


async def weekly(
    db_path: str | Path, backup_dir: str | Path, *, keep: int, today: date
) -> WeeklyResult:
    return await asyncio.to_thread(weekly_backup, db_path, backup_dir, keep=keep, today=today)


# ---- files ----------------------------------------------------------------------------


@contextlib.contextmanager
def _closing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # sqlite3's own context manager commits but does not close.
    try:
        yield conn
    finally:
        conn.close()


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
