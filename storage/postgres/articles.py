"""Articles, their topics and search vectors, and the alerts a new article queues."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import asyncpg

from storage.postgres import segments
from storage.postgres.connection import Conn, Pool, affected, count_per_period, sql_limit
from storage.postgres.feeds import record_poll_success, save_site_links
from storage.postgres.search import (
    SEARCH_WINDOW,
    index_text,
    query_groups,
    title_queries,
)
from storage.postgres.stories import assign_stories, queue_edits, story_alert_keys
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
from storage.search_segments import IdRange, id_ranges, seal_all, window_hits, word_plan
from storage.storygroup import with_sources

_Fingerprint = tuple[str, str, str, str, str | None, str | None]

# Two items of one feed with the same title published this close are one story
# whose guid (and link) changed: a CMS migration. A daily column keeps its title
# but comes a day apart. (SQLite's TITLE_MATCH_SECONDS.)
TITLE_MATCH_SECONDS = 12 * 3600


async def store_articles(
    conn: Conn,
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
    alerts for new ones: the rules of `storage.sqlite.articles.store_articles`.

    Runs inside the caller's transaction, so the articles and the alerts they
    cause commit together or not at all. Two processes storing one new URL at
    once: the second's insert yields to the first (ON CONFLICT DO NOTHING) and
    its item is merged into the first's article.
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
    lost = [a for a in inserted if a.item_key not in ids]
    if lost:  # another process stored these URLs meanwhile
        matched.update(await _matches(conn, feed_id, lost, batch_keys))
        inserted = [a for a in inserted if a.item_key in ids]
    for a, first in repeats:
        if first.item_key in ids:
            matched[a.item_key] = _Match(ids[first.item_key], this_feed=True)
        elif first.item_key in matched:
            matched[a.item_key] = matched[first.item_key]
    merged = [a for a in fresh if a.item_key in matched]
    await _add_sources(
        conn, feed_id, [(a.item_key, matched[a.item_key].article_id) for a in merged]
    )
    await _write_topics(
        conn, [(matched[a.item_key].article_id, t) for a in merged for t in a.topics]
    )
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
        article_id = match.article_id if match is not None else ids.get(a.item_key)
        if article_id is None:
            continue
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
            if edits_since is not None and stored.fingerprint[1:3] != (a.title, a.summary):
                outcome.edits_queued += await queue_edits(
                    conn, stored.article_id, sent_since=edits_since, now=now
                )
        elif not set(a.topics) <= stored.topics:
            await _write_topics(conn, [(stored.article_id, t) for t in a.topics])
            outcome.updated += 1
    return outcome


async def _story_of(conn: Conn, article_id: int) -> int:
    """The story of an article already stored: the one it joined, or its own."""
    story = await conn.fetchval(
        "SELECT coalesce(story_id, id) FROM articles WHERE id = $1", article_id
    )
    return int(story) if story is not None else article_id


@dataclass(frozen=True, slots=True)
class _Stored:
    article_id: int
    owned: bool  # stored first by this feed: its edits are the ones kept
    fingerprint: _Fingerprint
    topics: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Match:
    article_id: int
    this_feed: bool  # the article already came from this feed (under another key)


def _fingerprint(a: ArticleInput) -> _Fingerprint:
    return (a.url, a.title, a.summary, a.content_text, a.author, a.image_url)


async def _sources(conn: Conn | Pool, feed_id: int, keys: Sequence[str]) -> dict[str, _Stored]:
    """The articles this feed already gave under these keys."""
    rows = await conn.fetch(
        """SELECT a.id, s.item_key, a.feed_id = s.feed_id AS owned, a.url, a.title, a.summary,
                  a.content_text, a.author, a.image_url,
                  ARRAY(SELECT topic_slug FROM article_topics t WHERE t.article_id = a.id)
                      AS topics
           FROM article_sources s JOIN articles a ON a.id = s.article_id
           WHERE s.feed_id = $1 AND s.item_key = ANY($2::text[])""",
        feed_id,
        list(keys),
    )
    return {
        r["item_key"]: _Stored(
            int(r["id"]),
            bool(r["owned"]),
            (r["url"], r["title"], r["summary"], r["content_text"], r["author"], r["image_url"]),
            frozenset(r["topics"]),
        )
        for r in rows
    }


async def _matches(
    conn: Conn | Pool, feed_id: int, fresh: Sequence[ArticleInput], batch_keys: Set[str]
) -> dict[str, _Match]:
    """Items new to this feed that are articles already stored: by canonical URL (any
    feed's); else, when most of the document is new (see _looks_migrated), by title
    among this feed's articles published within TITLE_MATCH_SECONDS whose own keys
    are gone from the document."""
    urls = [a.canonical_url for a in fresh if a.canonical_url]
    rows = (
        await conn.fetch(
            """SELECT a.id, a.canonical_url,
                      EXISTS (SELECT 1 FROM article_sources s
                              WHERE s.article_id = a.id AND s.feed_id = $1) AS this_feed
               FROM articles a WHERE a.canonical_url = ANY($2::text[])""",
            feed_id,
            urls,
        )
        if urls
        else []
    )
    by_url = {r["canonical_url"]: _Match(int(r["id"]), bool(r["this_feed"])) for r in rows}
    found = {a.item_key: by_url[a.canonical_url] for a in fresh if a.canonical_url in by_url}
    rest = [a for a in fresh if a.item_key not in found]
    if not _looks_migrated(rest, batch_keys):
        return found
    candidates = await conn.fetch(
        """SELECT a.id, a.title, a.published_at, s.item_key
           FROM article_sources s JOIN articles a ON a.id = s.article_id
           WHERE s.feed_id = $1 AND a.title = ANY($2::text[])""",
        feed_id,
        [a.title for a in rest],
    )
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
    conn: Conn, feed_id: int, articles: Sequence[ArticleInput], now: int
) -> dict[str, int]:
    """Insert a feed's new articles with their sources, topics and search vectors: three
    statements for the whole batch, ids given in the batch's order. Returns item_key → id;
    an article whose canonical URL another process stored meanwhile is left out."""
    if not articles:
        return {}
    await segments.before_insert(conn)
    rows = await conn.fetch(
        """INSERT INTO articles (feed_id, item_key, url, title, summary, content_text, author,
                                 image_url, published_at, canonical_url, fetched_at, updated_at,
                                 search)
           SELECT $1, x.item_key, x.url, x.title, x.summary, x.content_text, x.author,
                  x.image_url, x.published_at, x.canonical_url, $2, $2,
                  newsbot_search_vector(x.search_title, x.search_body)
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[])
                WITH ORDINALITY AS x(item_key, url, title, summary, content_text, author,
                                     image_url, published_at, search_title, search_body,
                                     canonical_url, n)
           ORDER BY x.n
           ON CONFLICT DO NOTHING
           RETURNING id, item_key""",
        feed_id,
        now,
        [a.item_key for a in articles],
        [a.url for a in articles],
        [a.title for a in articles],
        [a.summary for a in articles],
        [a.content_text for a in articles],
        [a.author for a in articles],
        [a.image_url for a in articles],
        [int(a.published_at.timestamp()) for a in articles],
        [index_text(a.search_title) for a in articles],
        [index_text(a.search_body) for a in articles],
        [a.canonical_url for a in articles],
    )
    ids = {r["item_key"]: int(r["id"]) for r in rows}
    stored = [a for a in articles if a.item_key in ids]
    await _add_sources(conn, feed_id, [(a.item_key, ids[a.item_key]) for a in stored])
    await _write_topics(conn, [(ids[a.item_key], t) for a in stored for t in a.topics])
    return ids


async def _add_sources(conn: Conn, feed_id: int, keyed: Sequence[tuple[str, int]]) -> None:
    if not keyed:
        return
    await conn.execute(
        """INSERT INTO article_sources (feed_id, item_key, article_id)
           SELECT $1, * FROM unnest($2::text[], $3::bigint[]) ON CONFLICT DO NOTHING""",
        feed_id,
        [key for key, _ in keyed],
        [article_id for _, article_id in keyed],
    )


async def _write_topics(conn: Conn, pairs: Sequence[tuple[int, str]]) -> None:
    if not pairs:
        return
    await conn.execute(
        """INSERT INTO article_topics (article_id, topic_slug)
           SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING""",
        [article_id for article_id, _ in pairs],
        [topic for _, topic in pairs],
    )


async def _update(conn: Conn, article_id: int, a: ArticleInput, now: int) -> None:
    # published_at is kept: an edit must not move an old story back to the top. Topics
    # are added, never removed: another feed of the article may have given them.
    await conn.execute(
        """UPDATE articles SET url = $1, title = $2, summary = $3, content_text = $4,
               author = $5, image_url = $6, updated_at = $7,
               search = newsbot_search_vector($8, $9)
           WHERE id = $10""",
        a.url,
        a.title,
        a.summary,
        a.content_text,
        a.author,
        a.image_url,
        now,
        index_text(a.search_title),
        index_text(a.search_body),
        article_id,
    )
    await _write_topics(conn, [(article_id, t) for t in a.topics])
    await segments.unseal(conn, article_id)


async def _queue_alerts(
    conn: Conn,
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

    The unique (chat_id, dedup_key) makes a second queueing a no-op, so a reader
    who matches by topic and by keyword still gets one message.
    """
    chats = sorted(keyword_chats or {})
    status = await conn.execute(
        """INSERT INTO outbox (chat_id, kind, priority, dedup_key, article_id, not_before,
                               created_at, keyword)
           SELECT s.chat_id, 'alert', $1, $2, $3, $4, $4,
                  CASE WHEN s.chat_id IN (SELECT chat_id FROM topic_subscriptions
                                          WHERE topic_slug = ANY($5::text[]))
                       THEN NULL
                       ELSE (SELECT k.phrase FROM unnest($6::bigint[], $7::text[])
                                                  AS k(chat_id, phrase)
                             WHERE k.chat_id = s.chat_id LIMIT 1)
                  END
           FROM subscribers s
           WHERE s.active AND s.mode = 'instant' AND (
               s.chat_id IN (SELECT chat_id FROM topic_subscriptions
                             WHERE topic_slug = ANY($5::text[]))
               OR s.chat_id = ANY($6::bigint[]))
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = s.chat_id
                             AND o.dedup_key = ANY($8::text[]))
           ORDER BY s.chat_id
           ON CONFLICT (chat_id, dedup_key) DO NOTHING""",
        int(Priority.ALERT),
        f"article:{article_id}",
        article_id,
        now,
        list(topics),
        list(chats),
        [(keyword_chats or {})[chat] for chat in chats],
        list(already_alerted),
    )
    return affected(status)


async def _queue_posts(
    conn: Conn,
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
    status = await conn.execute(
        """INSERT INTO outbox (chat_id, kind, priority, dedup_key, article_id, destination_id,
                               not_before, created_at)
           SELECT d.chat_id, 'alert', $1, 'post:' || d.id || ':article:' || $2::bigint, $2,
                  d.id, $3, $3
           FROM destinations d
           WHERE d.paused_at IS NULL AND (
               d.id IN (SELECT destination_id FROM destination_topics
                        WHERE topic_slug = ANY($4::text[]))
               OR d.id IN (SELECT destination_id FROM destination_feeds WHERE feed_id = $5))
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination_id = d.id
                             AND o.article_id = ANY($6::bigint[]))
           ORDER BY d.id
           ON CONFLICT (chat_id, dedup_key) DO NOTHING""",
        int(Priority.ALERT),
        article_id,
        now,
        list(topics),
        feed_id,
        list(story_articles),
    )
    return affected(status)


ARTICLE_COLUMNS = """
    a.id, a.feed_id, f.name AS feed_name, a.item_key, a.url, a.title, a.summary, a.author,
    a.image_url, a.published_at, a.fetched_at,
    ARRAY(SELECT topic_slug FROM article_topics t WHERE t.article_id = a.id) AS topics,
    coalesce(a.story_id, a.id) AS story_id
"""


def article_row(r: asyncpg.Record) -> ArticleRow:
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
        topics=tuple(sorted(r["topics"])),
        story_id=r["story_id"],
    )


class PostgresArticles:
    def __init__(self, db: Pool) -> None:
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
        rows = await self._db.fetch(
            """SELECT item_key FROM article_sources
               WHERE feed_id = $1 AND item_key = ANY($2::text[])""",
            feed_id,
            list(keys),
        )
        return {r[0] for r in rows}

    async def known_items(self, feed_id: int, articles: Sequence[ArticleInput]) -> set[str]:
        """The keys of these items that are articles this feed already gave: by key, or
        under another key (the same canonical URL, or title, as store() matches them)."""
        keys = [a.item_key for a in articles]
        known = set(await _sources(self._db, feed_id, keys))
        fresh = [a for a in articles if a.item_key not in known]
        matched = await _matches(self._db, feed_id, fresh, set(keys))
        return known | {key for key, match in matched.items() if match.this_feed}

    async def get_article(self, article_id: int) -> ArticleRow | None:
        row = await self._db.fetchrow(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
            "WHERE a.id = $1",
            article_id,
        )
        return article_row(row) if row else None

    async def latest_articles(
        self, *, topic: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[ArticleRow]:
        if topic is None:
            rows = await self._db.fetch(
                f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
                "ORDER BY a.published_at DESC, a.id DESC LIMIT $1 OFFSET $2",
                sql_limit(limit),
                max(offset, 0),
            )
        else:
            rows = await self._db.fetch(
                f"SELECT {ARTICLE_COLUMNS} FROM article_topics x "  # noqa: S608
                "JOIN articles a ON a.id = x.article_id JOIN feeds f ON f.id = a.feed_id "
                "WHERE x.topic_slug = $1 "
                "ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3",
                topic,
                sql_limit(limit),
                max(offset, 0),
            )
        return [article_row(r) for r in rows]

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
        most as_of), those with more of the terms in their title (weight A) first,
        then newest first, then id, as on SQLite. The window is read newest first:
        open ids through the GIN index (newsbot_matches_in), sealed segments through
        their bitmaps (storage.search_segments), which answer a conjunction of
        common words without intersecting their posting lists.
        """
        flat = query_groups(words)
        if flat is None or limit == 0:
            return []
        window = max(SEARCH_WINDOW, offset + limit)
        newest = as_of if as_of is not None else await self.newest_article_id()
        plan = word_plan(words, prefix=prefix)
        ranges = id_ranges(await segments.sealed(self._db) if plan else [], newest)

        async def index(ids: IdRange, need: int) -> list[tuple[int, int]]:
            return await self._index_hits(words, flat, prefix, ids, need)

        # The newest open ids go through the index too: a range of ids this small is
        # read by the primary key, each row's vector tested (no posting list walked).
        found = await window_hits(
            ranges,
            window,
            sealed=functools.partial(segments.hits, self._db, plan) if plan else None,
            word_by_word=None,
            index=index,
        )
        if not found:
            return []
        return await self._with_sources(await self._ranked(found, limit=limit, offset=offset))

    async def _index_hits(
        self,
        words: Sequence[SearchTerm],
        flat: tuple[list[str], list[int]],
        prefix: bool,
        ids: IdRange,
        need: int,
    ) -> list[tuple[int, int]]:
        """The newest `need` matches among ids lo..hi through the GIN index, each with
        its score: the terms in its title (weight A)."""
        terms, groups = flat
        started = prefix and isinstance(words[-1], str)
        rows = await self._db.fetch(
            """WITH alternatives AS (
                    -- The last word, with prefix, as a prefix lexeme: quote_literal
                    -- quotes it as tsquery wants (the words are letters and digits).
                    SELECT newsbot_match_any(
                        CASE WHEN $3 AND t.n = cardinality($1::text[])
                                  AND position(' ' in t.w) = 0
                             THEN to_tsquery('simple', quote_literal(t.w) || ':*')
                             ELSE phraseto_tsquery('simple', t.w) END) AS q
                    FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS t(w, g, n)
                    GROUP BY t.g
                ), q AS (
                    SELECT newsbot_match_all(a.q) AS q,
                           (SELECT array_agg(to_tsquery('simple', x))
                            FROM unnest($4::text[]) AS x) AS titled
                    FROM alternatives a
                )
                SELECT a.id,
                       (SELECT count(*) FROM unnest((SELECT titled FROM q)) AS w(q)
                        WHERE a.search @@ w.q) AS score
                FROM newsbot_matches_in((SELECT q FROM q), $5, $6, $7) AS hit(id)
                JOIN articles a ON a.id = hit.id
                ORDER BY a.id DESC""",
            terms,
            groups,
            started,
            title_queries(terms, groups, prefix=started),
            need,
            ids.lo,
            ids.hi,
        )
        return [(int(r["id"]), int(r["score"])) for r in rows]

    async def _ranked(
        self, found: Sequence[tuple[int, int]], *, limit: int, offset: int
    ) -> list[ArticleRow]:
        """The page of matches (id, score): one per story, best score, then newest."""
        page = await ranked_page(found, self._ranks, limit=limit, offset=offset)
        rows = await self._db.fetch(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id "  # noqa: S608
            "WHERE a.id = ANY($1::bigint[])",
            page,
        )
        by_id = {int(r["id"]): article_row(r) for r in rows}
        return [by_id[i] for i in page if i in by_id]

    async def _ranks(self, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        rows = await self._db.fetch(
            "SELECT id, published_at, coalesce(story_id, id) AS story FROM articles"
            " WHERE id = ANY($1::bigint[])",
            list(ids),
        )
        return {int(r["id"]): (int(r["published_at"]), int(r["story"])) for r in rows}

    async def seal_search_segments(self, *, now: int, most_articles: int | None = None) -> int:
        return await seal_all(
            sealed=lambda: segments.sealed(self._db),
            newest=self.newest_article_id,
            seal=functools.partial(segments.seal_step, self._db, now=now),
            most_articles=most_articles,
        )

    async def _with_sources(self, rows: list[ArticleRow]) -> list[ArticleRow]:
        """The rows with the other outlets that carried each one's story."""
        if not rows:
            return rows
        members = await self._db.fetch(
            """SELECT coalesce(a.story_id, a.id) AS story, f.name
               FROM articles a JOIN feeds f ON f.id = a.feed_id
               WHERE a.id = ANY($1::bigint[]) OR a.story_id = ANY($1::bigint[])
               ORDER BY a.published_at, a.id""",
            sorted({r.story_id or r.id for r in rows}),
        )
        return with_sources(rows, members)

    async def count_sealed_articles(self) -> int:
        return int(
            await self._db.fetchval("SELECT coalesce(sum(articles), 0) FROM search_segments")
        )

    async def newest_article_id(self) -> int:
        return int(await self._db.fetchval("SELECT coalesce(max(id), 0) FROM articles"))

    async def count_articles(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM articles"))

    async def stored_per_period(self, bounds: Sequence[int]) -> list[int]:
        """Articles first stored in each period: bounds are ascending UNIX seconds, and
        item i counts fetched_at in [bounds[i], bounds[i + 1]) (len(bounds) - 1 items)."""
        return await count_per_period(self._db, "articles", "fetched_at", bounds)
