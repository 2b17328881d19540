"""Feeds and topics: the sources the poller watches and how healthy they are."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from storage.postgres.connection import Conn, Pool, affected, sql_limit
from storage.rows import CLAIM_TTL, FeedRow, FeedSpec, PollFailure, PollSuccess, TopicRow

_FEED_COLUMNS = """
    f.id, f.url, f.name, f.kind, f.origin, f.enabled, f.etag, f.last_modified, f.body_hash,
    f.first_polled_at, f.last_polled_at, f.last_success_at, f.next_poll_at, f.failures,
    f.last_error_kind, f.last_error, f.paused_at, f.articles_total,
    f.article_pattern, f.link_selector, f.site_links, f.ttl_minutes, f.recent_items,
    f.hourly_items, f.redirect_target, f.redirect_polls, f.previous_url,
    ARRAY(SELECT topic_slug FROM feed_topics t WHERE t.feed_id = f.id) AS topics
"""


def _feed_row(row: asyncpg.Record) -> FeedRow:
    hourly = row["hourly_items"] or []
    return FeedRow(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        kind=row["kind"],
        origin=row["origin"],
        enabled=row["enabled"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        first_polled_at=row["first_polled_at"],
        last_polled_at=row["last_polled_at"],
        last_success_at=row["last_success_at"],
        next_poll_at=row["next_poll_at"],
        failures=row["failures"],
        last_error_kind=row["last_error_kind"],
        last_error=row["last_error"],
        paused_at=row["paused_at"],
        articles_total=row["articles_total"],
        topics=tuple(sorted(row["topics"])),
        article_pattern=row["article_pattern"],
        link_selector=row["link_selector"],
        site_links=_site_links(row["site_links"]),
        ttl_minutes=row["ttl_minutes"],
        recent_items=tuple(sorted(int(t) for t in row["recent_items"] or [] if t is not None)),
        hourly_items=tuple(float(h) for h in hourly) if len(hourly) == 24 else (),
        redirect_target=row["redirect_target"],
        redirect_polls=row["redirect_polls"],
        previous_url=row["previous_url"],
    )


def _site_links(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}  # a memory we cannot read costs a few fetches, never a crash
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _ints(values: Sequence[int] | None) -> list[int] | None:
    return None if values is None else [int(v) for v in values]


def _floats(values: Sequence[float] | None) -> list[float] | None:
    return None if values is None else [round(float(v), 4) for v in values]


async def _set_source_rules(conn: Conn, feed_id: int, spec: FeedSpec) -> None:
    """Kind and link rules; when they change, the validators and body hash are
    forgotten so the next poll reads the source afresh instead of seeing it unchanged."""
    await conn.execute(
        """UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL
           WHERE id = $1 AND (kind IS DISTINCT FROM $2 OR article_pattern IS DISTINCT FROM $3
                              OR link_selector IS DISTINCT FROM $4)""",
        feed_id,
        spec.kind,
        spec.article_pattern,
        spec.link_selector,
    )
    await conn.execute(
        "UPDATE feeds SET kind = $1, article_pattern = $2, link_selector = $3 WHERE id = $4",
        spec.kind,
        spec.article_pattern,
        spec.link_selector,
        feed_id,
    )


async def save_site_links(conn: Conn, feed_id: int, links: Mapping[str, str]) -> None:
    """Call inside the transaction that stored the site poll's articles."""
    await conn.execute(
        "UPDATE feeds SET site_links = $1::jsonb WHERE id = $2",
        json.dumps(dict(links), ensure_ascii=False) if links else None,
        feed_id,
    )


async def _set_feed_topics(conn: Conn, feed_id: int, topics: Sequence[str]) -> None:
    await conn.execute("DELETE FROM feed_topics WHERE feed_id = $1", feed_id)
    if topics:
        await conn.execute(
            """INSERT INTO feed_topics (feed_id, topic_slug)
               SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING""",
            feed_id,
            list(topics),
        )


async def record_poll_success(
    conn: Conn, feed_id: int, result: PollSuccess, *, new_articles: int, now: int
) -> None:
    """Call inside the transaction that stored the poll's articles."""
    await conn.execute(
        """UPDATE feeds SET etag = $1, last_modified = $2, body_hash = $3,
               ttl_minutes = coalesce($4, ttl_minutes),
               first_polled_at = coalesce(first_polled_at, $5), last_polled_at = $5,
               last_success_at = $5, next_poll_at = $6, failures = 0, last_error_kind = NULL,
               last_error = NULL, paused_at = NULL, claimed_by = NULL, claim_expires_at = NULL,
               articles_total = articles_total + $7,
               recent_items = coalesce($8::bigint[], recent_items),
               hourly_items = coalesce($9::double precision[], hourly_items),
               redirect_target = $11, redirect_polls = $12
           WHERE id = $10""",
        result.etag,
        result.last_modified,
        result.body_hash,
        result.ttl_minutes,
        now,
        result.next_poll_at,
        new_articles,
        _ints(result.recent_items),
        _floats(result.hourly_items),
        feed_id,
        result.redirect_target,
        result.redirect_polls,
    )


async def _insert_feed(conn: Conn, spec: FeedSpec, *, origin: str, now: int) -> tuple[int, bool]:
    """The feed's id, adding it when its URL is new: (id, was it added). Known URLs are
    looked up first, so restarts spend no ids; a feed another process adds at the
    same moment is found, not added twice."""
    for _ in range(2):
        # Found by its URL, or by the one it had before it moved (feeds.toml, an OPML
        # file or an operator may still name that one).
        known = await conn.fetchval(
            "SELECT id FROM feeds WHERE url = $1 OR previous_url = $1 "
            "ORDER BY url = $1 DESC LIMIT 1",
            spec.url,
        )
        if known is not None:
            return int(known), False
        added = await conn.fetchval(
            """INSERT INTO feeds (url, name, kind, article_pattern, link_selector, origin,
                                  created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (url) DO NOTHING RETURNING id""",
            spec.url,
            spec.name,
            spec.kind,
            spec.article_pattern,
            spec.link_selector,
            origin,
            now,
        )
        if added is not None:
            return int(added), True
    raise AssertionError(f"feed {spec.url} neither found nor added")  # pragma: no cover


async def _add_feed(conn: Conn, spec: FeedSpec, now: int) -> tuple[int, bool]:
    feed_id, new = await _insert_feed(conn, spec, origin="operator", now=now)
    if not new:
        await conn.execute(
            """UPDATE feeds SET enabled = TRUE, paused_at = NULL, failures = 0, name = $1
               WHERE id = $2""",
            spec.name,
            feed_id,
        )
        await _set_source_rules(conn, feed_id, spec)
    await _set_feed_topics(conn, feed_id, spec.topics)
    return feed_id, new


class PostgresFeeds:
    def __init__(self, db: Pool) -> None:
        self._db = db

    async def record_poll_success(self, feed_id: int, result: PollSuccess, *, now: int) -> None:
        """A poll that found nothing to store (304, same bytes): the feed's state only.

        The ttl and recent item times are kept when the result has none (None).
        """
        async with self._db.write() as conn:
            await record_poll_success(conn, feed_id, result, new_articles=0, now=now)

    async def sync_topics(self, topics: Sequence[TopicRow]) -> None:
        """Make the topics table match the configuration (the file is the truth for topics)."""
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM topics WHERE slug <> ALL($1::text[])", [t.slug for t in topics]
            )
            if topics:
                await conn.executemany(
                    """INSERT INTO topics (slug, name_vi, name_en, keywords, aliases, position)
                       VALUES ($1, $2, $3, $4, $5, $6)
                       ON CONFLICT (slug) DO UPDATE SET name_vi = excluded.name_vi,
                           name_en = excluded.name_en, keywords = excluded.keywords,
                           aliases = excluded.aliases, position = excluded.position""",
                    [
                        (t.slug, t.name_vi, t.name_en, list(t.keywords), list(t.aliases), i)
                        for i, t in enumerate(topics)
                    ],
                )

    async def list_topics(self) -> list[TopicRow]:
        rows = await self._db.fetch(
            """SELECT slug, name_vi, name_en, keywords, aliases FROM topics
               ORDER BY position, slug COLLATE "C" """
        )
        return [
            TopicRow(
                r["slug"], r["name_vi"], r["name_en"], tuple(r["keywords"]), tuple(r["aliases"])
            )
            for r in rows
        ]

    async def sync_config_feeds(self, feeds: Iterable[FeedSpec], *, now: int) -> int:
        """Add configured feeds that are new and refresh names and topics of known ones.

        A feed an operator disabled or removed stays so: the flag is never touched here.
        Returns how many feeds were added.
        """
        added = 0
        async with self._db.write() as conn:
            for spec in feeds:
                feed_id, new = await _insert_feed(conn, spec, origin="config", now=now)
                if new:
                    added += 1
                else:
                    await conn.execute(
                        "UPDATE feeds SET name = $1 WHERE id = $2", spec.name, feed_id
                    )
                    await _set_source_rules(conn, feed_id, spec)
                await _set_feed_topics(conn, feed_id, spec.topics)
        return added

    async def add_feed(self, spec: FeedSpec, *, now: int) -> tuple[int, bool]:
        """Add (or re-enable) a feed by operator command. Returns (feed id, was it new)."""
        async with self._db.write() as conn:
            return await _add_feed(conn, spec, now)

    async def add_feeds(self, specs: Sequence[FeedSpec], *, now: int) -> list[tuple[int, bool]]:
        """add_feed for each, all in one transaction: all are added, or none."""
        async with self._db.write() as conn:
            return [await _add_feed(conn, spec, now) for spec in specs]

    async def move_feed(self, feed_id: int, url: str) -> bool:
        """The feed now lives at url; its old URL is kept as previous_url. False (and
        nothing changed) when another feed already has url."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE feeds SET previous_url = url, url = $1, redirect_target = NULL,
                       redirect_polls = 0
                   WHERE id = $2 AND url <> $1
                     AND NOT EXISTS (SELECT 1 FROM feeds other WHERE other.url = $1)""",
                url,
                feed_id,
            )
            return affected(status) > 0

    async def disable_feed(self, url_or_id: str) -> bool:
        """Stop polling a feed, keeping its articles. Returns False when no such feed."""
        async with self._db.write() as conn:
            status = await conn.execute(
                "UPDATE feeds SET enabled = FALSE WHERE url = $1 OR id::text = $1", url_or_id
            )
        return affected(status) > 0

    async def list_feeds(self, *, include_disabled: bool = True) -> list[FeedRow]:
        where = "" if include_disabled else "WHERE f.enabled"
        rows = await self._db.fetch(
            f"SELECT {_FEED_COLUMNS} FROM feeds f {where} ORDER BY f.id"  # noqa: S608 - constant SQL
        )
        return [_feed_row(r) for r in rows]

    async def get_feed(self, feed_id: int) -> FeedRow | None:
        row = await self._db.fetchrow(
            f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE f.id = $1",  # noqa: S608 - constant SQL
            feed_id,
        )
        return _feed_row(row) if row else None

    async def due_feeds(self, *, now: int, limit: int | None = None) -> list[FeedRow]:
        """Enabled, unpaused feeds whose next poll time has come, most overdue first."""
        rows = await self._db.fetch(
            f"SELECT {_FEED_COLUMNS} FROM feeds f "  # noqa: S608 - constant SQL
            "WHERE f.enabled AND f.paused_at IS NULL AND f.next_poll_at <= $1 "
            "ORDER BY f.next_poll_at, f.id LIMIT $2",
            now,
            None if limit is None or limit < 0 else limit,
        )
        return [_feed_row(r) for r in rows]

    async def next_poll_at(self) -> int | None:
        """When the next feed is due: the earliest next_poll_at of enabled, unpaused
        feeds (possibly already past), or None when there is no such feed."""
        value = await self._db.fetchval(
            "SELECT min(next_poll_at) FROM feeds WHERE enabled AND paused_at IS NULL"
        )
        return None if value is None else int(value)

    async def claim_due(
        self, *, now: int, holder: str, limit: int, ttl: int = CLAIM_TTL
    ) -> list[FeedRow]:
        """due_feeds for one process among several: up to limit due feeds no one else
        holds, claimed by holder until now + ttl (the poll's record clears the claim)."""
        async with self._db.write() as conn:
            rows = await conn.fetch(
                f"""WITH taken AS (
                        UPDATE feeds SET claimed_by = $2, claim_expires_at = $3
                        WHERE id IN (SELECT id FROM feeds
                                     WHERE enabled AND paused_at IS NULL AND next_poll_at <= $1
                                       AND (claimed_by IS NULL OR claim_expires_at <= $1)
                                     ORDER BY next_poll_at, id LIMIT $4
                                     FOR UPDATE SKIP LOCKED)
                        RETURNING id)
                    SELECT {_FEED_COLUMNS} FROM feeds f JOIN taken USING (id)
                    ORDER BY f.next_poll_at, f.id""",  # noqa: S608 - constant SQL
                now,
                holder,
                now + ttl,
                sql_limit(limit),
            )
        return [_feed_row(r) for r in rows]

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still polling: its claimed feeds stay its until `until`."""
        async with self._db.write() as conn:
            status = await conn.execute(
                "UPDATE feeds SET claim_expires_at = $1 WHERE claimed_by = $2", until, holder
            )
        return affected(status)

    async def release_claims(self, *, holder: str, feed_ids: Sequence[int] | None = None) -> int:
        """Give up the holder's claims (on these feeds; None: on all of them)."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE feeds SET claimed_by = NULL, claim_expires_at = NULL
                   WHERE claimed_by = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))""",
                holder,
                None if feed_ids is None else list(feed_ids),
            )
        return affected(status)

    async def next_claimable_at(self, *, now: int) -> int | None:
        """When the next feed may be claimed: next_poll_at, or for a feed someone holds,
        when that claim runs out. None when no feed is enabled and unpaused."""
        value = await self._db.fetchval(
            """SELECT min(CASE WHEN claimed_by IS NOT NULL AND claim_expires_at > $1
                               THEN greatest(next_poll_at, claim_expires_at)
                               ELSE next_poll_at END)
               FROM feeds WHERE enabled AND paused_at IS NULL""",
            now,
        )
        return None if value is None else int(value)

    async def record_poll_failure(self, feed_id: int, failure: PollFailure, *, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE feeds SET last_polled_at = $1, next_poll_at = $2,
                       failures = failures + 1, last_error_kind = $3, last_error = $4,
                       claimed_by = NULL, claim_expires_at = NULL,
                       paused_at = CASE WHEN $5 THEN $1 ELSE paused_at END
                   WHERE id = $6""",
                now,
                failure.next_poll_at,
                failure.kind,
                failure.detail,
                bool(failure.pause),
                feed_id,
            )

    async def resume_feed(self, url_or_id: str, *, now: int) -> bool:
        """Unpause a feed paused for failing and poll it at once."""
        async with self._db.write() as conn:
            status = await conn.execute(
                """UPDATE feeds SET paused_at = NULL, failures = 0, enabled = TRUE,
                       next_poll_at = $1
                   WHERE url = $2 OR id::text = $2""",
                now,
                url_or_id,
            )
        return affected(status) > 0
