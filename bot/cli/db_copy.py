"""`newsbot db copy SOURCE TARGET`: a whole database moved to another backend, or back.

SOURCE and TARGET are what NEWSBOT_DB takes: a SQLite file's path or a
postgresql:// URL. The copy itself is storage's (`storage.copy`); this module
opens both sides, refuses what would lose data (a missing source, a non-empty
target without --force, a bot running on either side), prints progress and
the verified counts, and never prints a password (locations are printed as
the databases give them, without it).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import storage
from bot.cli.backup import BACKGROUND_LEASE
from bot.cli.commands import OperatorError
from bot.clock import utc_now
from bot.ingest.summary import search_text
from bot.text.vietnamese import fold
from storage import Database, DatabaseError
from storage.copy import SEALING, CopyError, CopyResult, copy_database


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fold_article(title: str, summary: str, content_text: str) -> tuple[str, str]:
    """An article's folded search title and body, as the parser builds them."""
    return fold(title), fold(search_text(summary, content_text))


async def copy_command(source: str, target: str, *, force: bool) -> int:
    if not storage.is_database_url(source) and not await asyncio.to_thread(Path(source).is_file):
        raise OperatorError(f"SOURCE {source}: no such file")
    if _same_place(source, target):
        raise OperatorError("SOURCE and TARGET are the same database")
    async with _opened("SOURCE", source) as src, _opened("TARGET", target) as dst:
        if src.location == dst.location:
            raise OperatorError("SOURCE and TARGET are the same database")
        for side, db in (("SOURCE", src), ("TARGET", dst)):
            holder = await db.leases.holder(BACKGROUND_LEASE, now=int(utc_now().timestamp()))
            if holder is not None:
                raise OperatorError(
                    f"{side} {db.location}: a bot is running on it (lease held by {holder}); "
                    "stop it first (the lease of a bot that was killed runs out within 30 s)"
                )
        _emit(f"copying {src.location} to {dst.location}")
        started = time.monotonic()
        try:
            result = await copy_database(
                src, dst, fold=fold_article, force=force, progress=_Progress()
            )
        except CopyError as exc:
            raise OperatorError(str(exc)) from None
        except DatabaseError as exc:
            raise OperatorError(
                f"the copy stopped: {exc}; the target may be partly filled, "
                "run it again with --force"
            ) from None
        _report(result, time.monotonic() - started)
    return 0 if result.ok else 1


def _same_place(source: str, target: str) -> bool:
    if storage.is_database_url(source) or storage.is_database_url(target):
        return False
    return Path(source).resolve() == Path(target).resolve()


@asynccontextmanager
async def _opened(side: str, location: str) -> AsyncIterator[Database]:
    try:
        db = await storage.open_database(location)
    except DatabaseError as exc:
        raise OperatorError(f"{side}: {exc}") from None
    try:
        yield db
    finally:
        await db.close()


class _Progress:
    """A line when a table starts, about every tenth of a large one, and when it ends."""

    def __init__(self) -> None:
        self._shown: dict[str, int] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if table == SEALING:
            _emit("  search segments: sealing …" if done < total else "  search segments: sealed")
            return
        step = max(total // 10, 1)
        last = self._shown.get(table)
        if last is None or done == total or done - last >= step:
            self._shown[table] = done
            if last is None and done == total:
                _emit(f"  {table}: {total:,} rows")
            elif last is None:
                _emit(f"  {table}: {total:,} rows …")
            else:
                _emit(f"  {table}: {done:,} of {total:,}")


def _report(result: CopyResult, seconds: float) -> None:
    width = max(len(c.table) for c in result.counts)
    _emit("counted on both sides:")
    _emit(f"  {'table':<{width}}  {'source':>10}  {'target':>10}")
    for c in result.counts:
        verdict = "ok" if c.ok else "DIFFERENT"
        _emit(f"  {c.table:<{width}}  {c.source:>10,}  {c.target:>10,}  {verdict}")
    rows = sum(c.source for c in result.counts)
    if result.ok:
        _emit(f"copied {rows:,} rows in {seconds:.1f} s; every table's count matches")
    else:
        bad = ", ".join(c.table for c in result.counts if not c.ok)
        _emit(f"the counts differ for {bad}: the copy is not complete")
