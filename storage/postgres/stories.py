"""Stories on PostgreSQL: which story a new article joins, and the edits a correction queues.

Runs inside the caller's transaction. Several processes may store at once, so
grouping takes a transaction-scoped advisory lock: two outlets' articles
stored at the same moment are grouped one after the other, and the second
sees the first (READ COMMITTED reads what committed before each statement).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storage.postgres.connection import Conn, affected
from storage.rows import ArticleInput, Priority, StoryRule
from storage.storygroup import band_queries, match_batch, signed_batch, stored_candidates

# pg_advisory_xact_lock key for grouping stories ("stories" in hex).
_STORY_LOCK = 0x73746F72696573


async def assign_stories(
    conn: Conn,
    articles: Sequence[ArticleInput],
    ids: Mapping[str, int],
    rule: StoryRule,
    *,
    now: int,
) -> dict[int, int]:
    """Give each new article its story: an earlier article's that rule.match accepts,
    else its own. Returns article id → story id for those that joined another's."""
    batch = signed_batch(articles, ids)
    if not batch:
        return {}
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _STORY_LOCK)
    await conn.execute("DELETE FROM story_signatures WHERE published_at < $1", now - rule.keep)
    queries = band_queries(batch)
    rows = await conn.fetch(
        """SELECT q.item, s.article_id, coalesce(a.story_id, a.id) AS story, s.signature
           FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS q(item, band, published)
           JOIN story_bands b ON b.band = q.band
           JOIN story_signatures s ON s.article_id = b.article_id
                AND s.published_at BETWEEN q.published - $4 AND q.published + $4
           JOIN articles a ON a.id = s.article_id
           GROUP BY q.item, s.article_id, a.story_id, a.id, s.signature
           HAVING count(*) >= $5
           ORDER BY q.item, s.article_id""",
        [n for n, _, _ in queries],
        [band for _, band, _ in queries],
        [published for _, _, published in queries],
        rule.window,
        rule.min_shared_bands,
    )
    joined = match_batch(batch, stored_candidates(rows), rule)
    if joined:
        await conn.execute(
            """UPDATE articles SET story_id = j.story
               FROM unnest($1::bigint[], $2::bigint[]) AS j(id, story) WHERE articles.id = j.id""",
            list(joined),
            list(joined.values()),
        )
    kept = [item for item in batch if item.published >= now - rule.keep]
    if kept:
        await conn.execute(
            """INSERT INTO story_signatures (article_id, published_at, signature)
               SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])""",
            [item.article_id for item in kept],
            [item.published for item in kept],
            [item.signature for item in kept],
        )
        pairs = [(band, item.article_id) for item in kept for band in item.bands]
        await conn.execute(
            """INSERT INTO story_bands (band, article_id)
               SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING""",
            [band for band, _ in pairs],
            [article_id for _, article_id in pairs],
        )
    return joined


async def story_alert_keys(conn: Conn, story_id: int, article_id: int) -> list[str]:
    """The outbox keys of the story's other articles: a reader holding one was alerted."""
    rows = await conn.fetch(
        "SELECT id FROM articles WHERE (id = $1 OR story_id = $1) AND id <> $2",
        story_id,
        article_id,
    )
    return [f"article:{r['id']}" for r in rows]


async def queue_edits(conn: Conn, article_id: int, *, sent_since: int, now: int) -> int:
    """After a correction of the article's title or lead: one edit per alert or
    destination post of it sent since sent_since (older messages stay as they are).
    Returns how many were queued."""
    status = await conn.execute(
        """INSERT INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                               destination_id, not_before, created_at, keyword, edits_message_id)
           SELECT chat_id, 'alert', $1, 'edit:' || id::text || ':' || $2::bigint::text,
                  article_id, destination_id, $2::bigint, $2::bigint, keyword,
                  telegram_message_id
           FROM outbox
           WHERE article_id = $3 AND kind = 'alert' AND status = 'sent'
             AND edits_message_id IS NULL AND telegram_message_id IS NOT NULL
             AND finished_at >= $4
           ORDER BY id
           ON CONFLICT (chat_id, dedup_key) DO NOTHING""",
        int(Priority.ALERT),
        now,
        article_id,
        sent_since,
    )
    return affected(status)
