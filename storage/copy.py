"""A whole newsbot database copied into another, of either backend (`newsbot db copy`).

The source is read in one snapshot (`TransferStore.snapshot`), table by table
in `storage.tables.TABLES` order, so foreign keys always point at rows already
copied; the target gets the rows with their ids, then `finish()` moves its id
sequences past the largest id, so the copy goes on numbering as the source
would. Each batch is one short write transaction. The target must be empty
unless `force`, which empties it first. At the end every table is counted on
both sides.

Search: an article's folded text travels with it when the source keeps it
(SQLite's FTS5 table does); a PostgreSQL source keeps only its tsvector, so
the caller's `fold` rebuilds the folded title and body from the article's own
text, the way the bot built them when it stored it (storage knows nothing of
Vietnamese). The target then seals its search segments from those words
(storage.search_segments), reported to `progress` as SEALING, 0 of 1, then 1 of 1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from storage.api import Database, TransferRow
from storage.tables import NOT_COPIED, TABLES, Table

BATCH = 2000
# What progress is told while the target seals its search segments.
SEALING = "search segments"

# (title, summary, content_text) → (folded search title, folded search body).
Fold = Callable[[str, str, str], tuple[str, str]]
# (table, rows copied so far, rows in the table): called after each batch.
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    """The copy cannot start (or could not finish); the message says why, in one line."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class CopyResult:
    counts: list[TableCount] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.counts)


async def check_schemas(source: Database, target: Database) -> None:
    """Both databases hold exactly the columns the copy knows, table by table."""
    for side, db in (("source", source), ("target", target)):
        columns = await db.transfer.columns()
        for table in TABLES:
            have = set(columns.get(table.name, ()))
            unknown = sorted(have - set(table.column_names))
            missing = sorted(set(table.column_names) - have)
            if unknown or missing:
                detail = ", ".join(
                    [f"unknown column {c}" for c in unknown] + [f"no column {c}" for c in missing]
                )
                raise CopyError(f"the {side}'s table {table.name} is not as expected: {detail}")
        extra = sorted(set(columns) - {t.name for t in TABLES} - NOT_COPIED)
        if extra:
            raise CopyError(f"the {side} has tables this newsbot does not copy: {', '.join(extra)}")


async def target_rows(target: Database) -> int:
    """How many rows the target already holds in the tables a copy fills."""
    return sum((await target.transfer.counts(TABLES)).values())


async def copy_database(
    source: Database,
    target: Database,
    *,
    fold: Fold,
    force: bool = False,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> CopyResult:
    """Copy every table of source into target; CopyError when it cannot begin."""
    await check_schemas(source, target)
    held = await target_rows(target)
    if held and not force:
        raise CopyError(
            f"the target already holds {held:,} rows: copy into an empty database, "
            "or add --force to empty it first"
        )
    if held:
        await target.transfer.clear()
    result = CopyResult()
    async with source.transfer.snapshot() as snapshot:
        for table in TABLES:
            total = await snapshot.count(table)
            done = 0
            if progress is not None:
                progress(table.name, done, total)
            async with aclosing(snapshot.rows(table, batch=batch)) as batches:
                async for rows in batches:
                    if table.searchable:
                        rows = await asyncio.to_thread(_with_search_text, table, rows, fold)
                    await target.transfer.insert(table, rows)
                    done += len(rows)
                    if progress is not None:
                        progress(table.name, done, total)
            result.counts.append(TableCount(table.name, total, 0))
    await target.transfer.finish()
    if progress is not None:
        progress(SEALING, 0, 1)
    await target.articles.seal_search_segments(now=int(time.time()))
    if progress is not None:
        progress(SEALING, 1, 1)
    copied = await target.transfer.counts(TABLES)
    result.counts = [TableCount(c.table, c.source, copied[c.table]) for c in result.counts]
    return result


def _with_search_text(table: Table, rows: Sequence[TransferRow], fold: Fold) -> list[TransferRow]:
    """Articles with their folded search text, rebuilt where the source had none."""
    names = table.column_names
    title, summary, content = (names.index(c) for c in ("title", "summary", "content_text"))
    width = len(names)
    filled: list[TransferRow] = []
    for row in rows:
        if row[width] is None or row[width + 1] is None:
            search_title, search_body = fold(str(row[title]), str(row[summary]), str(row[content]))
            row = (*row[:width], search_title, search_body)
        filled.append(row)
    return filled
