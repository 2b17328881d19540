"""Sealed search segments on PostgreSQL (storage.search_segments): reading, sealing,
unsealing.

Several processes may store articles at once, and an id taken by a transaction
not yet committed is invisible to a seal. So a transaction that inserts
articles first takes a ROW EXCLUSIVE lock on search_segments (`before_insert`:
stores never wait for each other on it), and a seal writes under a SHARE ROW
EXCLUSIVE lock, which waits for those transactions to end and keeps new ones
waiting for it: it then counts the segment's articles again and writes nothing
if one came meanwhile. An insert with ids of its own (a copy) unseals what
holds them (`unseal_ids`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from storage import search_segments
from storage.postgres.connection import Conn, Pool
from storage.search_segments import (
    IdRange,
    SealStep,
    SegmentBuilder,
    WordPlan,
    WordRow,
    run_hits,
    segment_first,
)


async def sealed(db: Pool) -> list[tuple[int, int]]:
    """The sealed segments, as (first id, last id)."""
    rows = await db.fetch("SELECT first_id, last_id FROM search_segments")
    return [(int(r["first_id"]), int(r["last_id"])) for r in rows]


async def hits(
    db: Pool, plan: WordPlan, sealed_ranges: Sequence[IdRange], need: int
) -> list[tuple[int, int]]:
    """The newest `need` matches in these sealed segments (newest first), with their
    scores: one query for all of them."""
    low, high = plan.prefix_bounds
    rows = await db.fetch(
        """SELECT first_id, word, anywhere, title FROM search_words
           WHERE first_id = ANY($1::bigint[])
             AND (word = ANY($2::text[]) OR ($3 <> '' AND word >= $3 AND word < $4))""",
        [r.lo for r in sealed_ranges],
        plan.words,
        low,
        high,
    )
    words = (
        (int(r["first_id"]), str(r["word"]), bytes(r["anywhere"]), bytes(r["title"])) for r in rows
    )
    return run_hits(plan, words, sealed_ranges, need)


async def before_insert(conn: Conn) -> None:
    """This transaction is about to insert articles (see the module's docstring)."""
    await conn.execute("LOCK TABLE search_segments IN ROW EXCLUSIVE MODE")


async def unseal_ids(conn: Conn, lo: int, hi: int) -> None:
    """Articles lo..hi were inserted or changed: no sealed segment may hold them."""
    await conn.execute(
        """WITH gone AS (DELETE FROM search_segments WHERE first_id <= $2 AND last_id >= $1
                         RETURNING first_id)
           DELETE FROM search_words WHERE first_id IN (SELECT first_id FROM gone)""",
        lo,
        hi,
    )


async def unseal(conn: Conn, article_id: int) -> None:
    """An article's search text changed: the sealed segment holding it is read
    through the index again until sealed anew, and a seal under way is not written."""
    await unseal_ids(conn, article_id, article_id)
    await conn.execute(
        """INSERT INTO search_edits (first_id, edits) VALUES ($1, 1)
           ON CONFLICT (first_id) DO UPDATE SET edits = search_edits.edits + 1""",
        segment_first(article_id, search_segments.LEVELS[0]),
    )


async def seal_step(db: Pool, step: SealStep, *, now: int) -> bool:
    """Write one step of sealing (storage.search_segments.seal_all), as on SQLite
    (storage.sqlite.segments.seal_step), under the lock the module's docstring says."""
    edits = await _edits(db, step)
    builder = SegmentBuilder(step.first)
    if step.parts:
        for part in step.parts:
            rows, articles = await _segment(db, part)
            await asyncio.to_thread(builder.add_segment, part, rows, articles)
    else:
        # The words as the index holds them: every lexeme, the title's with weight A.
        for lo in range(step.first, step.last + 1, search_segments.SEAL_BATCH):
            texts = await db.fetch(
                """SELECT a.id, tsvector_to_array(a.search) AS words,
                          ARRAY(SELECT u.lexeme FROM unnest(a.search) AS u
                                WHERE 'A' = ANY(u.weights)) AS title
                   FROM articles a WHERE a.id BETWEEN $1 AND $2""",
                lo,
                min(step.last, lo + search_segments.SEAL_BATCH - 1),
            )
            await asyncio.to_thread(
                builder.add_words, [(int(r["id"]), r["title"], r["words"]) for r in texts]
            )
    word_rows = await asyncio.to_thread(builder.rows)
    async with db.write() as conn:
        await conn.execute("LOCK TABLE search_segments IN SHARE ROW EXCLUSIVE MODE")
        count = await conn.fetchval(
            "SELECT count(*) FROM articles WHERE id BETWEEN $1 AND $2", step.first, step.last
        )
        if await _edits(conn, step) != edits or count != builder.articles:
            return False
        if step.parts:
            await conn.execute(
                "DELETE FROM search_words WHERE first_id = ANY($1::bigint[])", list(step.parts)
            )
            await conn.execute(
                "DELETE FROM search_segments WHERE first_id = ANY($1::bigint[])", list(step.parts)
            )
        await conn.copy_records_to_table(
            "search_words",
            records=[(step.first, *row) for row in word_rows],
            columns=["first_id", "word", "anywhere", "title"],
        )
        await conn.execute(
            """INSERT INTO search_segments (first_id, last_id, articles, sealed_at)
               VALUES ($1, $2, $3, $4)""",
            step.first,
            step.last,
            builder.articles,
            now,
        )
    return True


async def _segment(db: Pool, first: int) -> tuple[list[WordRow], int]:
    rows = await db.fetch(
        "SELECT word, anywhere, title FROM search_words WHERE first_id = $1", first
    )
    articles = await db.fetchval("SELECT articles FROM search_segments WHERE first_id = $1", first)
    return [(str(r["word"]), bytes(r["anywhere"]), bytes(r["title"])) for r in rows], int(
        articles or 0
    )


async def _edits(db: Pool | Conn, step: SealStep) -> int:
    return int(
        await db.fetchval(
            "SELECT coalesce(sum(edits), 0) FROM search_edits WHERE first_id BETWEEN $1 AND $2",
            step.first,
            step.last,
        )
    )
