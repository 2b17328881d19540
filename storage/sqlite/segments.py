"""Sealed search segments on SQLite (storage.search_segments): reading, sealing, unsealing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import aiosqlite

from storage import search_segments
from storage.search_segments import (
    IdRange,
    SealStep,
    SegmentBuilder,
    WordPlan,
    WordRow,
    run_hits,
    segment_first,
)
from storage.sqlite.connection import Connection, Reader


async def sealed(reader: Reader) -> list[tuple[int, int]]:
    """The sealed segments, as (first id, last id)."""
    async with reader.execute("SELECT first_id, last_id FROM search_segments") as cursor:
        return [(int(r[0]), int(r[1])) for r in await cursor.fetchall()]


async def hits(
    reader: Reader, plan: WordPlan, sealed_ranges: Sequence[IdRange], need: int
) -> list[tuple[int, int]]:
    """The newest `need` matches in these sealed segments (newest first), with their
    scores: one query for all of them."""
    firsts = json.dumps([r.lo for r in sealed_ranges])
    sql = """SELECT first_id, word, anywhere, title FROM search_words
             WHERE first_id IN (SELECT value FROM json_each(?))
               AND word IN (SELECT value FROM json_each(?))"""
    params: tuple[object, ...] = (firsts, json.dumps(plan.words, ensure_ascii=False))
    if plan.prefix is not None:
        # A query of its own: ORed with the list, the range is not read by the key.
        sql += """ UNION ALL SELECT first_id, word, anywhere, title FROM search_words
                   WHERE first_id IN (SELECT value FROM json_each(?))
                     AND word >= ? AND word < ?"""
        params += (firsts, *plan.prefix_bounds)
    async with reader.execute(sql, params) as cursor:
        rows = await cursor.fetchall()
    return run_hits(
        plan, ((int(r[0]), str(r[1]), bytes(r[2]), bytes(r[3])) for r in rows), sealed_ranges, need
    )


async def unseal(conn: aiosqlite.Connection, article_id: int) -> None:
    """An article's search text changed: the sealed segment holding it is read
    through FTS5 again until sealed anew, and a seal under way will not be written."""
    await conn.execute(
        "DELETE FROM search_words WHERE first_id IN"
        " (SELECT first_id FROM search_segments WHERE first_id <= ? AND last_id >= ?)",
        (article_id, article_id),
    )
    await conn.execute(
        "DELETE FROM search_segments WHERE first_id <= ? AND last_id >= ?",
        (article_id, article_id),
    )
    await conn.execute(
        """INSERT INTO search_edits (first_id, edits) VALUES (?, 1)
           ON CONFLICT (first_id) DO UPDATE SET edits = edits + 1""",
        (segment_first(article_id, search_segments.LEVELS[0]),),
    )


async def seal_step(db: Connection, step: SealStep, *, now: int) -> bool:
    """Write one step of sealing (storage.search_segments.seal_all): a segment built
    from its articles' words, or merged from its parts, the words turned into
    bitmaps off the event loop, then written in one transaction; nothing (False)
    when an edit in the segment came meanwhile. A segment is full once its last id
    is taken: ids only grow, so no article will join it."""
    edits = await _edits(db.reader, step)
    builder = SegmentBuilder(step.first)
    if step.parts:
        for part in step.parts:
            rows, articles = await _segment(db.reader, part)
            await asyncio.to_thread(builder.add_segment, part, rows, articles)
    else:
        for lo in range(step.first, step.last + 1, search_segments.SEAL_BATCH):
            async with db.reader.execute(
                "SELECT rowid, title, body FROM article_search WHERE rowid BETWEEN ? AND ?",
                (lo, min(step.last, lo + search_segments.SEAL_BATCH - 1)),
            ) as cursor:
                batch = [(int(r[0]), str(r[1]), str(r[2])) for r in await cursor.fetchall()]
            await asyncio.to_thread(builder.add_texts, batch)
    rows = await asyncio.to_thread(builder.rows)
    async with db.write() as conn:
        if await _edits(conn, step) != edits:
            return False
        if step.parts:
            firsts = json.dumps(step.parts)
            await conn.execute(
                "DELETE FROM search_words WHERE first_id IN (SELECT value FROM json_each(?))",
                (firsts,),
            )
            await conn.execute(
                "DELETE FROM search_segments WHERE first_id IN (SELECT value FROM json_each(?))",
                (firsts,),
            )
        await conn.executemany(
            "INSERT INTO search_words (first_id, word, anywhere, title) VALUES (?, ?, ?, ?)",
            [(step.first, *row) for row in rows],
        )
        await conn.execute(
            """INSERT INTO search_segments (first_id, last_id, articles, sealed_at)
               VALUES (?, ?, ?, ?)""",
            (step.first, step.last, builder.articles, now),
        )
    return True


async def _segment(reader: Reader, first: int) -> tuple[list[WordRow], int]:
    async with reader.execute(
        "SELECT word, anywhere, title FROM search_words WHERE first_id = ?", (first,)
    ) as cursor:
        rows = [(str(r[0]), bytes(r[1]), bytes(r[2])) for r in await cursor.fetchall()]
    async with reader.execute(
        "SELECT articles FROM search_segments WHERE first_id = ?", (first,)
    ) as cursor:
        row = await cursor.fetchone()
    return rows, int(row[0]) if row else 0


async def _edits(conn: Reader | aiosqlite.Connection, step: SealStep) -> int:
    async with conn.execute(
        "SELECT coalesce(sum(edits), 0) FROM search_edits WHERE first_id BETWEEN ? AND ?",
        (step.first, step.last),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
