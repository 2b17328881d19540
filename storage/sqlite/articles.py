"""Articles, their topics and search index, and the alerts a new article queues."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence

import aiosqlite

from storage.rows import (
    ArticleInput,
    ArticleRow,
    PollSuccess,
    Priority,
    SearchTerm,
    StoreOutcome,
    StoryRule,
)
from storage.sqlite.connection import Connection, count_per_period
from storage.sqlite.feeds import record_poll_success, save_site_links
from storage.sqlite.stories import assign_stories, queue_edits, story_alert_keys
from storage.storygroup import with_sources


async def store_articles(
    conn: aiosqlite.Connection,
    feed_id: int,
    articles: Sequence[ArticleInput],
    *,
    now: int,
    alert_keys: frozenset[str],
    keyword_chats: Mapping[str, Mapping[int, str]],
    stories: StoryRule | None = None,
    edits_since: int | None = None,
) -> StoreOutcome:
    """Insert new articles, refresh edited ones, and queue alerts for new ones.

    Runs inside the caller's write transaction, so the articles and the alerts
    they cause commit together or not at all. Only articles whose key is in
    alert_keys queue alerts (the poller decides: not on a feed's first poll,
    not for a flood), and none to a reader already alerted to the article's
    story. An edited article (same key) is updated; when its title or lead
    changed, its alerts sent since edits_since are queued to be edited.
    """
    outcome = StoreOutcome()
    if not articles:
        return outcome
    existing = await _existing(conn, feed_id, [a.item_key for a in articles])
    fresh = [a for a in articles if a.item_key not in existing]
    ids = await _insert_all(conn, feed_id, fresh, now)
    outcome.new_ids.extend(ids[a.item_key] for a in fresh)
    joined = await assign_stories(conn, fresh, ids, stories, now=now) if stories else {}
    outcome.joined_stories = len(joined)
    for article in fresh:
        if article.item_key in alert_keys:
            article_id = ids[article.item_key]
            story = joined.get(article_id)
            alerted = await story_alert_keys(conn, story, article_id) if story else []
            outcome.alerts_queued += await _queue_alerts(
                conn,
                article_id,
                article.topics,
                keyword_chats.get(article.item_key),
                now,
                already_alerted=alerted,
            )
            outcome.posts_queued += await _queue_posts(
                conn,
                article_id,
                feed_id,
                article.topics,
                now,
                story_articles=[int(key.removeprefix("article:")) for key in alerted],
            )
            outcome.alerted_articles += 1
    for article in articles:
        known = existing.get(article.item_key)
        if known is not None and known[1] != _fingerprint(article):
            await _update(conn, known[0], article, now)
            outcome.updated += 1
            if edits_since is not None and json.loads(known[1])[1:3] != [
                article.title,
                article.summary,
            ]:
                outcome.edits_queued += await queue_edits(
                    conn, known[0], sent_since=edits_since, now=now
                )
    return outcome


def _fingerprint(a: ArticleInput) -> str:
    return json.dumps(
        [a.url, a.title, a.summary, a.content_text, a.author, a.image_url, sorted(a.topics)],
        ensure_ascii=False,
    )


async def _existing(
    conn: aiosqlite.Connection, feed_id: int, keys: list[str]
) -> dict[str, tuple[int, str]]:
    async with conn.execute(
        """SELECT a.id, a.item_key, a.url, a.title, a.summary, a.content_text, a.author,
                  a.image_url,
                  (SELECT json_group_array(topic_slug) FROM
                     (SELECT topic_slug FROM article_topics t WHERE t.article_id = a.id
                      ORDER BY topic_slug)) AS topics
           FROM articles a
           WHERE a.feed_id = ? AND a.item_key IN (SELECT value FROM json_each(?))""",
        (feed_id, json.dumps(keys, ensure_ascii=False)),
    ) as cursor:
        rows = await cursor.fetchall()
    return {
        r["item_key"]: (
            r["id"],
            json.dumps(
                [
                    r["url"],
                    r["title"],
                    r["summary"],
                    r["content_text"],
                    r["author"],
                    r["image_url"],
                    json.loads(r["topics"]),
                ],
                ensure_ascii=False,
            ),
        )
        for r in rows
    }


async def _insert_all(
    conn: aiosqlite.Connection, feed_id: int, articles: Sequence[ArticleInput], now: int
) -> dict[str, int]:
    """Insert a feed's new articles with their topics and index rows: three statements
    for the whole batch rather than three per article. Returns item_key → id."""
    if not articles:
        return {}
    rows = [
        [a.item_key, a.url, a.title, a.summary, a.content_text, a.author, a.image_url,
         int(a.published_at.timestamp())]
        for a in articles
    ]  # fmt: skip
    cursor = await conn.execute(
        """INSERT INTO articles (feed_id, item_key, url, title, summary, content_text, author,
                                 image_url, published_at, fetched_at, updated_at)
           SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
                  value ->> 5, value ->> 6, value ->> 7, ?, ?
           FROM json_each(?) ORDER BY key
           RETURNING id, item_key""",
        (feed_id, now, now, json.dumps(rows, ensure_ascii=False)),
    )
    ids = {r["item_key"]: int(r["id"]) for r in await cursor.fetchall()}
    await cursor.close()
    await conn.executemany(
        "INSERT OR IGNORE INTO article_topics (article_id, topic_slug) VALUES (?, ?)",
        [(ids[a.item_key], topic) for a in articles for topic in a.topics],
    )
    await conn.executemany(
        "INSERT INTO article_search (rowid, title, body) VALUES (?, ?, ?)",
        [(ids[a.item_key], a.search_title, a.search_body) for a in articles],
    )
    return ids


async def _update(conn: aiosqlite.Connection, article_id: int, a: ArticleInput, now: int) -> None:
    # published_at is kept: an edit must not move an old story back to the top.
    await conn.execute(
        """UPDATE articles SET url = ?, title = ?, summary = ?, content_text = ?, author = ?,
               image_url = ?, updated_at = ? WHERE id = ?""",
        (a.url, a.title, a.summary, a.content_text, a.author, a.image_url, now, article_id),
    )
    await conn.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))
    await conn.execute("DELETE FROM article_search WHERE rowid = ?", (article_id,))
    await _write_topics_and_index(conn, article_id, a)


async def _write_topics_and_index(
    conn: aiosqlite.Connection, article_id: int, a: ArticleInput
) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO article_topics (article_id, topic_slug) VALUES (?, ?)",
        [(article_id, t) for t in a.topics],
    )
    await conn.execute(
        "INSERT INTO article_search (rowid, title, body) VALUES (?, ?, ?)",
        (article_id, a.search_title, a.search_body),
    )


async def _queue_alerts(
    conn: aiosqlite.Connection,
    article_id: int,
    topics: Sequence[str],
    keyword_chats: Mapping[int, str] | None,
    now: int,
    *,
    already_alerted: Sequence[str] = (),
) -> int:
    """One outbox row per instant-mode reader who follows a topic or a matching keyword
    (chat → the keyword it matched, which the alert then names), except readers holding
    one of the already_alerted keys (the same story from another outlet).

    The UNIQUE (chat_id, dedup_key) constraint makes a second queueing a no-op,
    so a reader who matches by topic and by keyword still gets one message.
    """
    keywords = json.dumps({str(chat): phrase for chat, phrase in (keyword_chats or {}).items()})
    dedup_key = f"article:{article_id}"
    cursor = await conn.execute(
        """INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                                         not_before, created_at, keyword)
           SELECT s.chat_id, 'alert', ?, ?, ?, ?, ?,
                  CASE WHEN s.chat_id IN (SELECT chat_id FROM topic_subscriptions
                                          WHERE topic_slug IN (SELECT value FROM json_each(?)))
                       THEN NULL
                       ELSE (SELECT value FROM json_each(?) WHERE key = CAST(s.chat_id AS TEXT))
                  END
           FROM subscribers s
           WHERE s.active = 1 AND s.mode = 'instant' AND (
               s.chat_id IN (SELECT chat_id FROM topic_subscriptions
                             WHERE topic_slug IN (SELECT value FROM json_each(?)))
               OR s.chat_id IN (SELECT CAST(key AS INTEGER) FROM json_each(?)))
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = s.chat_id
                             AND o.dedup_key IN (SELECT value FROM json_each(?)))""",
        (
            Priority.ALERT,
            dedup_key,
            article_id,
            now,
            now,
            json.dumps(list(topics)),
            keywords,
            json.dumps(list(topics)),
            keywords,
            json.dumps(list(already_alerted)),
        ),
    )
    return cursor.rowcount


async def _queue_posts(
    conn: aiosqlite.Connection,
    article_id: int,
    feed_id: int,
    topics: Sequence[str],
    now: int,
    *,
    story_articles: Sequence[int] = (),
) -> int:
    """One outbox row per unpaused destination routed one of the article's topics or its
    source; the key names the destination, so two forum topics of one chat both get it,
    and each only once. A destination that has a post of the same story (another
    outlet's article, story_articles) gets none: a story is posted once."""
    cursor = await conn.execute(
        """INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, article_id,
                                         destination_id, not_before, created_at)
           SELECT d.chat_id, 'alert', ?, 'post:' || d.id || ':article:' || ?, ?, d.id, ?, ?
           FROM destinations d
           WHERE d.paused_at IS NULL AND (
               d.id IN (SELECT destination_id FROM destination_topics
                        WHERE topic_slug IN (SELECT value FROM json_each(?)))
               OR d.id IN (SELECT destination_id FROM destination_feeds WHERE feed_id = ?))
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination_id = d.id
                             AND o.article_id IN (SELECT value FROM json_each(?)))""",
        (
            Priority.ALERT,
            article_id,
            article_id,
            now,
            now,
            json.dumps(list(topics)),
            feed_id,
            json.dumps(list(story_articles)),
        ),
    )
    return cursor.rowcount


ARTICLE_COLUMNS = """
    a.id, a.feed_id, f.name AS feed_name, a.item_key, a.url, a.title, a.summary, a.author,
    a.image_url, a.published_at, a.fetched_at,
    (SELECT group_concat(topic_slug, ' ') FROM article_topics t
     WHERE t.article_id = a.id) AS topics,
    coalesce(a.story_id, a.id) AS story_id
"""


def article_row(r: sqlite3.Row) -> ArticleRow:
    return ArticleRow(
        id=r["id"],
        feed_id=r["feed_id"],
        feed_name=r["feed_name"],
        item_key=r["item_key"],
        url=r["url"],
        title=r["title"],
        summary=r["summary"],
        author=r["author"],
        image_url=r["image_url"],
        published_at=r["published_at"],
        fetched_at=r["fetched_at"],
        topics=tuple(sorted(r["topics"].split())) if r["topics"] else (),
        story_id=r["story_id"],
    )


# Ranking scores every match. Folded Vietnamese syllables are so common ("cua"
# is in nearly every article) that scoring all matches of a broad query costs
# ~100 ms at 100,000 articles; scoring the newest SEARCH_WINDOW matches keeps
# p99 under 10 ms and changes nothing for queries with fewer matches.
SEARCH_WINDOW = 1000


def match_all(words: Sequence[SearchTerm], *, prefix: bool = False) -> str:
    """An FTS5 expression requiring every term. Each word is double-quoted, so FTS5
    syntax a reader typed (AND, NOT, *, -, :, parentheses) is only ever a word;
    alternatives are joined with OR; with prefix, a last plain word may be the start
    of a word."""
    quoted = []
    for term in words:
        # A word of no letters or digits is an empty phrase: implicitly ANDed, FTS5
        # would skip it; explicitly, it would match nothing.
        kept = [w for w in (term if isinstance(term, tuple) else (term,)) if _WORD.search(w)]
        if kept:
            quoted.append(_alternatives(kept) if isinstance(term, tuple) else _quoted(kept[0]))
    if prefix and quoted and isinstance(words[-1], str) and _WORD.search(words[-1]):
        quoted[-1] += "*"
    # FTS5 reads no implicit AND next to a parenthesised group: spell it out there.
    return (" AND " if any(q.startswith("(") for q in quoted) else " ").join(quoted)


_WORD = re.compile(r"[^\W_]")


def _alternatives(words: Sequence[str]) -> str:
    return "(" + " OR ".join(_quoted(w) for w in words) + ")"


def match_phrase(words: Sequence[str]) -> str:
    """An FTS5 expression for the words, consecutive and in order."""
    return _quoted(" ".join(words))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class SqliteArticles:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def store(
        self,
        feed_id: int,
        articles: Sequence[ArticleInput],
        *,
        now: int,
        alert_keys: frozenset[str] = frozenset(),
        keyword_chats: Mapping[str, Mapping[int, str]] | None = None,
        poll: PollSuccess | None = None,
        site_links: Mapping[str, str] | None = None,
        stories: StoryRule | None = None,
        edits_since: int | None = None,
    ) -> StoreOutcome:
        """Store a poll's articles, queue their alerts and record the poll, in one transaction.

        A crash never leaves an article stored with its alerts unqueued, nor
        the feed's validators advanced past articles that were not stored.
        """
        async with self._db.write() as conn:
            outcome = await store_articles(
                conn,
                feed_id,
                articles,
                now=now,
                alert_keys=alert_keys,
                keyword_chats=keyword_chats or {},
                stories=stories,
                edits_since=edits_since,
            )
            if poll is not None:
                await record_poll_success(
                    conn, feed_id, poll, new_articles=len(outcome.new_ids), now=now
                )
            if site_links is not None:
                await save_site_links(conn, feed_id, site_links)
        return outcome

    async def existing_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these item keys the feed already has."""
        async with self._db.reader.execute(
            """SELECT item_key FROM articles
               WHERE feed_id = ? AND item_key IN (SELECT value FROM json_each(?))""",
            (feed_id, json.dumps(list(keys), ensure_ascii=False)),
        ) as cursor:
            return {r[0] for r in await cursor.fetchall()}

    async def get_article(self, article_id: int) -> ArticleRow | None:
        async with self._db.reader.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
            "WHERE a.id = ?",
            (article_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return article_row(row) if row else None

    async def latest_articles(
        self, *, topic: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[ArticleRow]:
        if topic is None:
            sql = (
                f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
                "ORDER BY a.published_at DESC, a.id DESC LIMIT ? OFFSET ?"
            )
            params: tuple[object, ...] = (limit, offset)
        else:
            sql = (
                f"SELECT {ARTICLE_COLUMNS} FROM article_topics x "  # noqa: S608
                "JOIN articles a ON a.id = x.article_id JOIN feeds f ON f.id = a.feed_id "
                "WHERE x.topic_slug = ? ORDER BY a.published_at DESC, a.id DESC LIMIT ? OFFSET ?"
            )
            params = (topic, limit, offset)
        async with self._db.reader.execute(sql, params) as cursor:
            return [article_row(r) for r in await cursor.fetchall()]

    async def search_articles(
        self, words: Sequence[SearchTerm], *, limit: int = 10, offset: int = 0, prefix: bool = False
    ) -> list[ArticleRow]:
        """Articles containing every one of these folded words (none: no articles),
        one per story (its best match, also_in naming the other outlets).

        Ranked by bm25 (title counts three times the body), then newest first,
        among the newest SEARCH_WINDOW matching articles.
        """
        match = match_all(words, prefix=prefix)
        if not match:
            return []
        window = max(SEARCH_WINDOW, offset + limit)
        sql = (
            f"SELECT {ARTICLE_COLUMNS} FROM ("  # noqa: S608 - constant SQL
            "  SELECT id, score, published FROM ("
            # One row per story: its best-ranked article.
            "    SELECT id, score, published, row_number() OVER ("
            "        PARTITION BY story ORDER BY score, published DESC, id DESC) AS nth FROM ("
            "      SELECT s.rowid AS id, bm25(article_search, 3.0, 1.0) AS score,"
            "             x.published_at AS published, coalesce(x.story_id, x.id) AS story"
            "      FROM article_search s JOIN articles x ON x.id = s.rowid"
            "      WHERE article_search MATCH ? AND s.rowid >= coalesce(("
            "          SELECT min(rowid) FROM (SELECT rowid FROM article_search"
            "          WHERE article_search MATCH ? ORDER BY rowid DESC LIMIT ?)), 0)))"
            "  WHERE nth = 1"
            # Rank, then newest, then the id: a total order, so page 2 never repeats
            # an article of page 1 or skips one when scores tie.
            "  ORDER BY score, published DESC, id DESC LIMIT ? OFFSET ?"
            ") hit JOIN articles a ON a.id = hit.id JOIN feeds f ON f.id = a.feed_id "
            "ORDER BY hit.score, hit.published DESC, hit.id DESC"
        )
        async with self._db.reader.execute(sql, (match, match, window, limit, offset)) as cursor:
            rows = [article_row(r) for r in await cursor.fetchall()]
        return await self._with_sources(rows)

    async def _with_sources(self, rows: list[ArticleRow]) -> list[ArticleRow]:
        """The rows with the other outlets that carried each one's story."""
        if not rows:
            return rows
        stories = json.dumps(sorted({r.story_id or r.id for r in rows}))
        async with self._db.reader.execute(
            """SELECT coalesce(a.story_id, a.id) AS story, f.name
               FROM articles a JOIN feeds f ON f.id = a.feed_id
               WHERE a.id IN (SELECT value FROM json_each(?))
                  OR a.story_id IN (SELECT value FROM json_each(?))
               ORDER BY a.published_at, a.id""",
            (stories, stories),
        ) as cursor:
            return with_sources(rows, await cursor.fetchall())

    async def count_articles(self) -> int:
        async with self._db.reader.execute("SELECT count(*) FROM articles") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def stored_per_period(self, bounds: Sequence[int]) -> list[int]:
        return await count_per_period(self._db.reader, "articles", "fetched_at", bounds)
