"""Articles, their topics and search index, and the alerts a new article queues."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import aiosqlite
from pyroaring import BitMap

from storage.rows import (
    ArticleInput,
    ArticleRow,
    PollSuccess,
    Priority,
    SearchTerm,
    StoreOutcome,
    StoryRule,
)
from storage.search_page import ranked_page
from storage.search_segments import (
    IdRange,
    WordPlan,
    bitmap_hits,
    id_ranges,
    seal_all,
    window_hits,
    word_plan,
)
from storage.sqlite import segments
from storage.sqlite.connection import Connection, Reader, count_per_period
from storage.sqlite.feeds import record_poll_success, save_site_links
from storage.sqlite.ranking import score_sql, title_marks
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
    """Insert new articles, merge ones already stored, refresh edited ones, and queue
    alerts for new ones.

    Runs inside the caller's write transaction, so the articles and the alerts
    they cause commit together or not at all. An item new to this feed is
    merged into the article stored under its canonical URL (from another feed,
    or this one under an older guid) or, in this feed, under its title
    (see _matches); it then belongs to this feed's topics too. Only items
    whose key is in alert_keys queue alerts (the poller decides: not on a
    feed's first poll, not for a flood), none to a reader already alerted to
    the article's story, and none for an item merged into an article this feed
    already had. An edited article (same key) is updated by the feed that
    stored it first; when its title or lead changed, its alerts sent since
    edits_since are queued to be edited.
    """
    outcome = StoreOutcome()
    if not articles:
        return outcome
    known = await _sources(conn, feed_id, [a.item_key for a in articles])
    fresh = [a for a in articles if a.item_key not in known]
    batch_keys = {a.item_key for a in articles}
    matched = await _matches(conn, feed_id, fresh, batch_keys)
    inserted: list[ArticleInput] = []
    first_with_url: dict[str, ArticleInput] = {}
    repeats: list[tuple[ArticleInput, ArticleInput]] = []
    for a in fresh:
        if a.item_key in matched:
            continue
        first = first_with_url.get(a.canonical_url or "")
        if first is not None:
            repeats.append((a, first))  # one document, one link, two guids
            continue
        if a.canonical_url:
            first_with_url[a.canonical_url] = a
        inserted.append(a)
    ids = await _insert_all(conn, feed_id, inserted, now)
    for a, first in repeats:
        matched[a.item_key] = _Match(ids[first.item_key], this_feed=True)
    merged = [a for a in fresh if a.item_key in matched]
    await _add_sources(
        conn, feed_id, [(a.item_key, matched[a.item_key].article_id) for a in merged]
    )
    await _add_topics(conn, [(matched[a.item_key].article_id, t) for a in merged for t in a.topics])
    outcome.new_ids.extend(ids[a.item_key] for a in inserted)
    outcome.merged_ids.extend(matched[a.item_key].article_id for a in merged)
    joined = await assign_stories(conn, inserted, ids, stories, now=now) if stories else {}
    outcome.joined_stories = len(joined)
    for a in fresh:
        if a.item_key not in alert_keys:
            continue
        match = matched.get(a.item_key)
        if match is not None and match.this_feed:
            continue  # this feed's article under a new guid: its readers had it
        article_id = match.article_id if match is not None else ids[a.item_key]
        story = joined.get(article_id) if match is None else await _story_of(conn, article_id)
        alerted = await story_alert_keys(conn, story, article_id) if story else []
        outcome.alerts_queued += await _queue_alerts(
            conn,
            article_id,
            a.topics,
            keyword_chats.get(a.item_key),
            now,
            already_alerted=alerted,
        )
        outcome.posts_queued += await _queue_posts(
            conn,
            article_id,
            feed_id,
            a.topics,
            now,
            story_articles=[int(key.removeprefix("article:")) for key in alerted],
        )
        outcome.alerted_articles += 1
    for a in articles:
        stored = known.get(a.item_key)
        if stored is None:
            continue
        if stored.owned and stored.fingerprint != _fingerprint(a):
            await _update(conn, stored.article_id, a, now)
            outcome.updated += 1
            if edits_since is not None and json.loads(stored.fingerprint)[1:3] != [
                a.title,
                a.summary,
            ]:
                outcome.edits_queued += await queue_edits(
                    conn, stored.article_id, sent_since=edits_since, now=now
                )
        elif not set(a.topics) <= stored.topics:
            await _add_topics(conn, [(stored.article_id, t) for t in a.topics])
            outcome.updated += 1
    return outcome


async def _story_of(conn: aiosqlite.Connection, article_id: int) -> int:
    """The story of an article already stored: the one it joined, or its own."""
    async with conn.execute(
        "SELECT coalesce(story_id, id) FROM articles WHERE id = ?", (article_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else article_id


# Two items of one feed with the same title published this close are one story
# whose guid (and link) changed: a CMS migration. A daily column keeps its title
# but comes a day apart.
TITLE_MATCH_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class _Stored:
    article_id: int
    owned: bool  # stored first by this feed: its edits are the ones kept
    fingerprint: str
    topics: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Match:
    article_id: int
    this_feed: bool  # the article already came from this feed (under another key)


def _fingerprint(a: ArticleInput) -> str:
    return json.dumps(
        [a.url, a.title, a.summary, a.content_text, a.author, a.image_url], ensure_ascii=False
    )


async def _sources(
    conn: aiosqlite.Connection | Reader, feed_id: int, keys: Sequence[str]
) -> dict[str, _Stored]:
    """The articles this feed already gave under these keys."""
    async with conn.execute(
        """SELECT a.id, s.item_key, a.feed_id = s.feed_id AS owned, a.url, a.title, a.summary,
                  a.content_text, a.author, a.image_url,
                  (SELECT json_group_array(topic_slug) FROM article_topics t
                   WHERE t.article_id = a.id) AS topics
           FROM article_sources s JOIN articles a ON a.id = s.article_id
           WHERE s.feed_id = ? AND s.item_key IN (SELECT value FROM json_each(?))""",
        (feed_id, json.dumps(list(keys), ensure_ascii=False)),
    ) as cursor:
        rows = await cursor.fetchall()
    return {
        r["item_key"]: _Stored(
            int(r["id"]),
            bool(r["owned"]),
            json.dumps(
                [r["url"], r["title"], r["summary"], r["content_text"], r["author"],
                 r["image_url"]],
                ensure_ascii=False,
            ),
            frozenset(json.loads(r["topics"])),
        )
        for r in rows
    }  # fmt: skip


async def _matches(
    conn: aiosqlite.Connection | Reader,
    feed_id: int,
    fresh: Sequence[ArticleInput],
    batch_keys: Set[str],
) -> dict[str, _Match]:
    """Items new to this feed that are articles already stored: by canonical URL (any
    feed's); else, when most of the document is new (see _looks_migrated), by title
    among this feed's articles published within TITLE_MATCH_SECONDS whose own keys
    are gone from the document."""
    urls = [a.canonical_url for a in fresh if a.canonical_url]
    if not urls:
        by_url: dict[str, _Match] = {}
    else:
        async with conn.execute(
            """SELECT a.id, a.canonical_url,
                      EXISTS (SELECT 1 FROM article_sources s
                              WHERE s.article_id = a.id AND s.feed_id = ?) AS this_feed
               FROM articles a WHERE a.canonical_url IN (SELECT value FROM json_each(?))""",
            (feed_id, json.dumps(urls, ensure_ascii=False)),
        ) as cursor:
            by_url = {
                r["canonical_url"]: _Match(int(r["id"]), bool(r["this_feed"]))
                for r in await cursor.fetchall()
            }
    found = {a.item_key: by_url[a.canonical_url] for a in fresh if a.canonical_url in by_url}
    rest = [a for a in fresh if a.item_key not in found]
    if not _looks_migrated(rest, batch_keys):
        return found
    async with conn.execute(
        """SELECT a.id, a.title, a.published_at, s.item_key
           FROM article_sources s JOIN articles a ON a.id = s.article_id
           WHERE s.feed_id = ? AND a.title IN (SELECT value FROM json_each(?))""",
        (feed_id, json.dumps([a.title for a in rest], ensure_ascii=False)),
    ) as cursor:
        candidates = await cursor.fetchall()
    gone = [r for r in candidates if r["item_key"] not in batch_keys]
    present = {int(r["id"]) for r in candidates if r["item_key"] in batch_keys}
    taken: set[int] = set()
    for a in rest:
        published = int(a.published_at.timestamp())
        for r in gone:
            article_id = int(r["id"])
            if (
                r["title"] == a.title
                and abs(int(r["published_at"]) - published) <= TITLE_MATCH_SECONDS
                and article_id not in present | taken
            ):
                found[a.item_key] = _Match(article_id, this_feed=True)
                taken.add(article_id)
                break
    return found


def _looks_migrated(rest: Sequence[ArticleInput], batch_keys: Set[str]) -> bool:
    """Whether the items new by key and link are at least half the document (and more
    than one): a CMS that changed every guid and link. One new item whose title an
    older story had is a new story, and is never matched by its title."""
    return len(rest) >= 2 and 2 * len(rest) >= len(batch_keys)


async def _insert_all(
    conn: aiosqlite.Connection, feed_id: int, articles: Sequence[ArticleInput], now: int
) -> dict[str, int]:
    """Insert a feed's new articles with their sources, topics and index rows: four
    statements for the whole batch rather than four per article. Returns item_key → id."""
    if not articles:
        return {}
    rows = [
        [a.item_key, a.url, a.title, a.summary, a.content_text, a.author, a.image_url,
         int(a.published_at.timestamp()), a.canonical_url]
        for a in articles
    ]  # fmt: skip
    cursor = await conn.execute(
        """INSERT INTO articles (feed_id, item_key, url, title, summary, content_text, author,
                                 image_url, published_at, canonical_url, fetched_at, updated_at)
           SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
                  value ->> 5, value ->> 6, value ->> 7, value ->> 8, ?, ?
           FROM json_each(?) ORDER BY key
           RETURNING id, item_key""",
        (feed_id, now, now, json.dumps(rows, ensure_ascii=False)),
    )
    ids = {r["item_key"]: int(r["id"]) for r in await cursor.fetchall()}
    await cursor.close()
    await _add_sources(conn, feed_id, [(a.item_key, ids[a.item_key]) for a in articles])
    await _add_topics(conn, [(ids[a.item_key], topic) for a in articles for topic in a.topics])
    await conn.executemany(
        "INSERT INTO article_search (rowid, title, body) VALUES (?, ?, ?)",
        [(ids[a.item_key], a.search_title, a.search_body) for a in articles],
    )
    return ids


async def _add_sources(
    conn: aiosqlite.Connection, feed_id: int, keyed: Sequence[tuple[str, int]]
) -> None:
    await conn.executemany(
        "INSERT INTO article_sources (feed_id, item_key, article_id) VALUES (?, ?, ?)",
        [(feed_id, key, article_id) for key, article_id in keyed],
    )


async def _add_topics(conn: aiosqlite.Connection, pairs: Sequence[tuple[int, str]]) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO article_topics (article_id, topic_slug) VALUES (?, ?)", pairs
    )


async def _update(conn: aiosqlite.Connection, article_id: int, a: ArticleInput, now: int) -> None:
    # published_at is kept: an edit must not move an old story back to the top. Topics
    # are added, never removed: another feed of the article may have given them.
    await conn.execute(
        """UPDATE articles SET url = ?, title = ?, summary = ?, content_text = ?, author = ?,
               image_url = ?, updated_at = ? WHERE id = ?""",
        (a.url, a.title, a.summary, a.content_text, a.author, a.image_url, now, article_id),
    )
    await _add_topics(conn, [(article_id, t) for t in a.topics])
    await conn.execute("DELETE FROM article_search WHERE rowid = ?", (article_id,))
    await conn.execute(
        "INSERT INTO article_search (rowid, title, body) VALUES (?, ?, ?)",
        (article_id, a.search_title, a.search_body),
    )
    await segments.unseal(conn, article_id)


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


# Only the newest SEARCH_WINDOW matches are ranked: folded Vietnamese syllables are
# so common ("cua" is in nearly every article) that ranking every match of a broad
# query would cost more the more articles there are.
SEARCH_WINDOW = 1000


def match_all(words: Sequence[SearchTerm], *, prefix: bool = False) -> str:
    """An FTS5 expression requiring every term. Each word is double-quoted, so FTS5
    syntax a reader typed (AND, NOT, *, -, :, parentheses) is only ever a word;
    alternatives are joined with OR; with prefix, a last plain word may be the start
    of a word."""
    terms = match_terms(words, prefix=prefix)
    # FTS5 reads no implicit AND next to a parenthesised group: spell it out there.
    return (" AND " if any(q.startswith("(") for q in terms) else " ").join(terms)


def match_terms(words: Sequence[SearchTerm], *, prefix: bool = False) -> list[str]:
    """match_all's terms, each an FTS5 expression of its own."""
    terms = []
    for term in words:
        # A word of no letters or digits is an empty phrase: implicitly ANDed, FTS5
        # would skip it; explicitly, it would match nothing.
        kept = [w for w in (term if isinstance(term, tuple) else (term,)) if _WORD.search(w)]
        if kept:
            terms.append(_alternatives(kept) if isinstance(term, tuple) else _quoted(kept[0]))
    if prefix and terms and isinstance(words[-1], str) and _WORD.search(words[-1]):
        terms[-1] += "*"
    return list(dict.fromkeys(terms))


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
            """SELECT item_key FROM article_sources
               WHERE feed_id = ? AND item_key IN (SELECT value FROM json_each(?))""",
            (feed_id, json.dumps(list(keys), ensure_ascii=False)),
        ) as cursor:
            return {r[0] for r in await cursor.fetchall()}

    async def known_items(self, feed_id: int, articles: Sequence[ArticleInput]) -> set[str]:
        """The keys of these items that are articles this feed already gave: by key, or
        under another key (the same canonical URL, or title, as store() matches them)."""
        keys = [a.item_key for a in articles]
        known = set(await _sources(self._db.reader, feed_id, keys))
        fresh = [a for a in articles if a.item_key not in known]
        matched = await _matches(self._db.reader, feed_id, fresh, set(keys))
        return known | {key for key, match in matched.items() if match.this_feed}

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
        self,
        words: Sequence[SearchTerm],
        *,
        limit: int = 10,
        offset: int = 0,
        prefix: bool = False,
        as_of: int | None = None,
    ) -> list[ArticleRow]:
        """Articles containing every one of these folded words (none: no articles),
        one per story (its best match, also_in naming the other outlets).

        Among the newest SEARCH_WINDOW matches (with as_of, of those whose id is at
        most as_of), those with more of the terms in their title first, then newest
        first, then id: a total order, so pages never overlap.

        The window is read newest first (storage.search_segments.window_hits):
        sealed segments through their bitmaps, which answer a conjunction of common
        words without walking their doclists; the few newest open ids one word at
        a time through FTS5; a larger open range, or a phrase, through FTS5 as one
        query, each title as its highlight marks the query's instances in it
        (storage.sqlite.ranking).

        Not bm25: FTS5 counts each word's documents over its whole doclist at every
        query, ~40 ms for a word like "cua" at 1,000,000 articles (bench/search.py).
        """
        if not match_terms(words, prefix=prefix):
            return []
        window = max(SEARCH_WINDOW, offset + limit)
        newest = as_of if as_of is not None else await self.newest_article_id()
        plan = word_plan(words, prefix=prefix)
        ranges = id_ranges(await segments.sealed(self._db.reader) if plan else [], newest)

        async def index(ids: IdRange, need: int) -> list[tuple[int, int]]:
            return await self._index_hits(words, prefix, ids, need)

        found = await window_hits(
            ranges,
            window,
            sealed=functools.partial(segments.hits, self._db.reader, plan) if plan else None,
            word_by_word=functools.partial(self._word_by_word_hits, plan) if plan else None,
            index=index,
        )
        if not found:
            return []
        return await self._with_sources(await self._ranked(found, limit=limit, offset=offset))

    async def _index_hits(
        self, words: Sequence[SearchTerm], prefix: bool, ids: IdRange, need: int
    ) -> list[tuple[int, int]]:
        """The newest `need` matches among ids lo..hi through FTS5, with their scores."""
        marks = title_marks(words, prefix=prefix)
        sql = (  # noqa: S608 - constant SQL, the terms are parameters
            # MATERIALIZED: the FTS5 query runs once, highlight once a match.
            "WITH hit AS MATERIALIZED (SELECT rowid AS id,"
            "    highlight(article_search, 0, char(1), char(2)) AS marked"
            "    FROM article_search WHERE article_search MATCH ? AND rowid BETWEEN ? AND ?"
            "    ORDER BY rowid DESC LIMIT ?)"
            " SELECT id, {score} FROM hit ORDER BY id DESC"
        ).format(score=score_sql(marks, "hit.marked"))
        params = (
            match_all(words, prefix=prefix), ids.lo, ids.hi, need,
            *(form for forms in marks for form in forms),
        )  # fmt: skip
        async with self._db.reader.execute(sql, params) as cursor:
            return [(int(r[0]), int(r[1])) for r in await cursor.fetchall()]

    async def _word_by_word_hits(
        self, plan: WordPlan, ids: IdRange, need: int
    ) -> list[tuple[int, int]]:
        """The newest `need` matches among a few open ids (at most WORD_BY_WORD), with
        their scores: each word's articles there, anywhere and in the title, read by
        FTS5 one word at a time, then answered as a segment's bitmaps are.

        FTS5 given the whole conjunction walks its common words' doclists far past
        the range when the words have no match in it together (97 ms for twelve
        common words over the newest 100 ids of a million); one word at a time it
        stops at the range's end."""
        words = [(w, _quoted(w)) for w in plan.words]
        if plan.prefix is not None:
            words.append((plan.prefix, _quoted(plan.prefix) + "*"))
        parts = []
        params: list[object] = []
        for n, (_, expression) in enumerate(words):
            for column, match in ((0, expression), (1, "title : " + expression)):
                parts.append(
                    f"SELECT {n}, {column}, rowid FROM article_search"  # noqa: S608 - constants
                    " WHERE article_search MATCH ? AND rowid BETWEEN ? AND ?"
                )
                params += [match, ids.lo, ids.hi]
        async with self._db.reader.execute(" UNION ALL ".join(parts), params) as cursor:
            rows = await cursor.fetchall()
        anywhere: dict[str, BitMap] = {}
        titled: dict[str, BitMap] = {}
        for n, column, rowid in rows:
            into = titled if column else anywhere
            into.setdefault(words[int(n)][0], BitMap()).add(int(rowid) - ids.lo)
        return bitmap_hits(plan, anywhere, titled, ids.lo, ids.hi, need)

    async def _ranked(
        self, found: Sequence[tuple[int, int]], *, limit: int, offset: int
    ) -> list[ArticleRow]:
        """The page of matches (id, score): one per story, best score, then newest."""
        page = await ranked_page(found, self._ranks, limit=limit, offset=offset)
        async with self._db.reader.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
            "WHERE a.id IN (SELECT value FROM json_each(?))",
            (json.dumps(page),),
        ) as cursor:
            rows = {r["id"]: article_row(r) for r in await cursor.fetchall()}
        return [rows[i] for i in page if i in rows]

    async def _ranks(self, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        # The index holds what ranking reads: the rows, with their text, are
        # scattered over ten times the pages.
        async with self._db.reader.execute(
            "SELECT id, published_at, coalesce(story_id, id) FROM articles"
            " INDEXED BY articles_ranking WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        ) as cursor:
            return {int(r[0]): (int(r[1]), int(r[2])) for r in await cursor.fetchall()}

    async def seal_search_segments(self, *, now: int, most_articles: int | None = None) -> int:
        return await seal_all(
            sealed=lambda: segments.sealed(self._db.reader),
            newest=self.newest_article_id,
            seal=functools.partial(segments.seal_step, self._db, now=now),
            most_articles=most_articles,
        )

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

    async def count_sealed_articles(self) -> int:
        async with self._db.reader.execute(
            "SELECT coalesce(sum(articles), 0) FROM search_segments"
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def newest_article_id(self) -> int:
        async with self._db.reader.execute("SELECT coalesce(max(id), 0) FROM articles") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count_articles(self) -> int:
        async with self._db.reader.execute("SELECT count(*) FROM articles") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def stored_per_period(self, bounds: Sequence[int]) -> list[int]:
        return await count_per_period(self._db.reader, "articles", "fetched_at", bounds)
