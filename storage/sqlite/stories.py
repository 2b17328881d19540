"""Stories on SQLite: which story a new article joins, and the edits a correction queues.

Runs inside the caller's write transaction. SQLite has one writer, so two
outlets' articles stored at the same moment are grouped one after the other
and the second always sees the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aiosqlite

from storage.rows import ArticleInput, Priority, StoryRule
from storage.storygroup import band_queries, match_batch, signed_batch, stored_candidates


async def assign_stories(
    conn: aiosqlite.Connection,
    articles: Sequence[ArticleInput],
    ids: Mapping[str, int],
    rule: StoryRule,
    *,
    now: int,
) -> dict[int, int]:
    """Give each new article its story: an earlier article's that rule.match accepts,
    else its own. Returns article id → story id for those that joined another's."""
    await conn.execute("DELETE FROM story_signatures WHERE published_at < ?", (now - rule.keep,))
    batch = signed_batch(articles, ids)
    if not batch:
        return {}
    async with conn.execute(
        """WITH q AS (SELECT value ->> 0 AS item, value ->> 1 AS band, value ->> 2 AS published
                      FROM json_each(?))
           SELECT q.item, s.article_id, coalesce(a.story_id, a.id) AS story, s.signature
           FROM q JOIN story_bands b ON b.band = q.band
           JOIN story_signatures s ON s.article_id = b.article_id
                AND s.published_at BETWEEN q.published - ? AND q.published + ?
           JOIN articles a ON a.id = s.article_id
           GROUP BY q.item, s.article_id HAVING count(*) >= ?
           ORDER BY q.item, s.article_id""",
        (json.dumps(band_queries(batch)), rule.window, rule.window, rule.min_shared_bands),
    ) as cursor:
        stored = stored_candidates(await cursor.fetchall())
    joined = match_batch(batch, stored, rule)
    await conn.executemany(
        "UPDATE articles SET story_id = ? WHERE id = ?",
        [(story, article_id) for article_id, story in joined.items()],
    )
    kept = [item for item in batch if item.published >= now - rule.keep]
    await conn.executemany(
        "INSERT INTO story_signatures (article_id, published_at, signature) VALUES (?, ?, ?)",
        [(item.article_id, item.published, item.signature) for item in kept],
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO story_bands (band, article_id) VALUES (?, ?)",
        [(band, item.article_id) for item in kept for band in item.bands],
    )
    return joined


async def story_alert_keys(conn: aiosqlite.Connection, story_id: int, article_id: int) -> list[str]:
    """The outbox keys of the story's other articles: a reader holding one was alerted."""
    async with conn.execute(
        "SELECT id FROM articles WHERE (id = ? OR story_id = ?) AND id != ?",
        (story_id, story_id, article_id),
    ) as cursor:
        return [f"article:{r['id']}" for r in await cursor.fetchall()]


async def queue_edits(
    conn: aiosqlite.Connection, article_id: int, *, sent_since: int, now: int
) -> int:
    """After a correction of the article's title or lead: one edit per alert or
    destination post of it sent since sent_since (older messages stay as they are).
    Returns how many were queued."""
    cursor = await conn.execute(
        """INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                                         destination_id, not_before, created_at, keyword,
                                         edits_message_id)
           SELECT chat_id, 'alert', ?, 'edit:' || id || ':' || ?, article_id, destination_id,
                  ?, ?, keyword, telegram_message_id
           FROM outbox
           WHERE article_id = ? AND kind = 'alert' AND status = 'sent'
             AND edits_message_id IS NULL AND telegram_message_id IS NOT NULL
             AND finished_at >= ?""",
        (Priority.ALERT, now, now, now, article_id, sent_since),
    )
    return cursor.rowcount
