"""Feeds and topics: the sources the poller watches and how healthy they are."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from storage.rows import (
    CLAIM_TTL,
    FeedRow,
    FeedSpec,
    PollFailure,
    PollSuccess,
    TopicRow,
)
from storage.sqlite.connection import Connection

_FEED_COLUMNS = """
    f.id, f.url, f.name, f.kind, f.origin, f.enabled, f.etag, f.last_modified, f.body_hash,
    f.first_polled_at, f.last_polled_at, f.last_success_at, f.next_poll_at, f.failures,
    f.last_error_kind, f.last_error, f.paused_at, f.articles_total,
    f.article_pattern, f.link_selector, f.site_links, f.ttl_minutes, f.recent_items,
    f.hourly_items, f.redirect_target, f.redirect_polls, f.previous_url,
    (SELECT group_concat(topic_slug, ' ') FROM feed_topics t WHERE t.feed_id = f.id) AS topics
"""


def _feed_row(row: sqlite3.Row) -> FeedRow:
    topics = tuple(sorted(row["topics"].split())) if row["topics"] else ()
    return FeedRow(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        kind=row["kind"],
        origin=row["origin"],
        enabled=bool(row["enabled"]),
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
        topics=topics,
        article_pattern=row["article_pattern"],
        link_selector=row["link_selector"],
        site_links=_site_links(row["site_links"]),
        ttl_minutes=row["ttl_minutes"],
        recent_items=tuple(sorted(int(t) for t in _numbers(row["recent_items"]))),
        hourly_items=_hourly_items(row["hourly_items"]),
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


def _numbers(raw: str | None) -> list[float]:
    """A JSON list of numbers; anything else reads as empty (a rhythm we cannot read
    is learnt again, never a crash)."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    return [float(x) for x in data if isinstance(x, int | float) and not isinstance(x, bool)]


def _hourly_items(raw: str | None) -> tuple[float, ...]:
    counts = _numbers(raw)
    return tuple(counts) if len(counts) == 24 else ()


def _json_numbers(values: Sequence[float] | None) -> str | None:
    return None if values is None else json.dumps([round(v, 4) for v in values])


async def _add_feed(conn: aiosqlite.Connection, spec: FeedSpec, now: int) -> tuple[int, bool]:
    cursor = await conn.execute(_BY_URL, (spec.url,) * 3)
    existing = await cursor.fetchone()
    await cursor.close()
    if existing is not None:
        await conn.execute(
            """UPDATE feeds SET enabled = 1, paused_at = NULL, failures = 0, name = ?
               WHERE id = ?""",
            (spec.name, existing["id"]),
        )
        await _set_source_rules(conn, existing["id"], spec)
        await _set_feed_topics(conn, existing["id"], spec.topics)
        return int(existing["id"]), False
    cursor = await conn.execute(
        """INSERT INTO feeds (url, name, kind, article_pattern, link_selector, origin,
                              created_at)
           VALUES (?, ?, ?, ?, ?, 'operator', ?) RETURNING id""",
        (spec.url, spec.name, spec.kind, spec.article_pattern, spec.link_selector, now),
    )
    row = await cursor.fetchone()
    await cursor.close()
    assert row is not None
    await _set_feed_topics(conn, row["id"], spec.topics)
    return int(row["id"]), True


async def _set_source_rules(conn: aiosqlite.Connection, feed_id: int, spec: FeedSpec) -> None:
    """Kind and link rules; when they change, the validators and body hash are
    forgotten so the next poll reads the source afresh instead of seeing it unchanged."""
    await conn.execute(
        """UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL
           WHERE id = ?
             AND (kind IS NOT ? OR article_pattern IS NOT ? OR link_selector IS NOT ?)""",
        (feed_id, spec.kind, spec.article_pattern, spec.link_selector),
    )
    await conn.execute(
        "UPDATE feeds SET kind = ?, article_pattern = ?, link_selector = ? WHERE id = ?",
        (spec.kind, spec.article_pattern, spec.link_selector, feed_id),
    )


async def save_site_links(
    conn: aiosqlite.Connection, feed_id: int, links: Mapping[str, str]
) -> None:
    """Call inside the transaction that stored the site poll's articles."""
    await conn.execute(
        "UPDATE feeds SET site_links = ? WHERE id = ?",
        (json.dumps(dict(links), ensure_ascii=False) if links else None, feed_id),
    )


async def _set_feed_topics(conn: aiosqlite.Connection, feed_id: int, topics: Sequence[str]) -> None:
    await conn.execute("DELETE FROM feed_topics WHERE feed_id = ?", (feed_id,))
    await conn.executemany(
        "INSERT OR IGNORE INTO feed_topics (feed_id, topic_slug) VALUES (?, ?)",
        [(feed_id, t) for t in topics],
    )


async def record_poll_success(
    conn: aiosqlite.Connection, feed_id: int, result: PollSuccess, *, new_articles: int, now: int
) -> None:
    """Call inside the transaction that stored the poll's articles."""
    await conn.execute(
        """UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ?,
               ttl_minutes = coalesce(?, ttl_minutes),
               first_polled_at = coalesce(first_polled_at, ?), last_polled_at = ?,
               last_success_at = ?, next_poll_at = ?, failures = 0, last_error_kind = NULL,
               last_error = NULL, paused_at = NULL, claimed_by = NULL, claim_expires_at = NULL,
               articles_total = articles_total + ?,
               recent_items = coalesce(?, recent_items), hourly_items = coalesce(?, hourly_items),
               redirect_target = ?, redirect_polls = ?
           WHERE id = ?""",
        (
            result.etag,
            result.last_modified,
            result.body_hash,
            result.ttl_minutes,
            now,
            now,
            now,
            result.next_poll_at,
            new_articles,
            _json_numbers(result.recent_items),
            _json_numbers(result.hourly_items),
            result.redirect_target,
            result.redirect_polls,
            feed_id,
        ),
    )


# A feed is found by its URL, or by the one it had before it moved (feeds.toml, an
# OPML file or an operator may still name that one).
_BY_URL = "SELECT id FROM feeds WHERE url = ? OR previous_url = ? ORDER BY url = ? DESC LIMIT 1"


class SqliteFeeds:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def record_poll_success(self, feed_id: int, result: PollSuccess, *, now: int) -> None:
        """A poll that found nothing to store (304, same bytes): the feed's state only."""
        async with self._db.write() as conn:
            await record_poll_success(conn, feed_id, result, new_articles=0, now=now)

    async def sync_topics(self, topics: Sequence[TopicRow]) -> None:
        """Make the topics table match the configuration (the file is the truth for topics)."""
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM topics WHERE slug NOT IN (SELECT value FROM json_each(?))",
                (json.dumps([t.slug for t in topics]),),
            )
            await conn.executemany(
                """INSERT INTO topics (slug, name_vi, name_en, keywords, aliases, position)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (slug) DO UPDATE SET name_vi = excluded.name_vi,
                       name_en = excluded.name_en, keywords = excluded.keywords,
                       aliases = excluded.aliases, position = excluded.position""",
                [
                    (
                        t.slug,
                        t.name_vi,
                        t.name_en,
                        json.dumps(list(t.keywords), ensure_ascii=False),
                        json.dumps(list(t.aliases), ensure_ascii=False),
                        i,
                    )
                    for i, t in enumerate(topics)
                ],
            )

    async def list_topics(self) -> list[TopicRow]:
        async with self._db.reader.execute(
            "SELECT slug, name_vi, name_en, keywords, aliases FROM topics ORDER BY position, slug"
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            TopicRow(
                r["slug"],
                r["name_vi"],
                r["name_en"],
                tuple(json.loads(r["keywords"])),
                tuple(json.loads(r["aliases"])),
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
                cursor = await conn.execute(_BY_URL, (spec.url,) * 3)
                row = await cursor.fetchone()
                await cursor.close()
                if row is None:
                    cursor = await conn.execute(
                        """INSERT INTO feeds (url, name, kind, article_pattern, link_selector,
                                              origin, created_at)
                           VALUES (?, ?, ?, ?, ?, 'config', ?) RETURNING id""",
                        (
                            spec.url,
                            spec.name,
                            spec.kind,
                            spec.article_pattern,
                            spec.link_selector,
                            now,
                        ),
                    )
                    row = await cursor.fetchone()
                    await cursor.close()
                    added += 1
                else:
                    await conn.execute(
                        "UPDATE feeds SET name = ? WHERE id = ?", (spec.name, row["id"])
                    )
                    await _set_source_rules(conn, row["id"], spec)
                assert row is not None
                await _set_feed_topics(conn, row["id"], spec.topics)
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
            cursor = await conn.execute(
                """UPDATE feeds SET previous_url = url, url = ?, redirect_target = NULL,
                       redirect_polls = 0
                   WHERE id = ? AND url <> ?
                     AND NOT EXISTS (SELECT 1 FROM feeds other WHERE other.url = ?)""",
                (url, feed_id, url, url),
            )
            return cursor.rowcount > 0

    async def disable_feed(self, url_or_id: str) -> bool:
        """Stop polling a feed, keeping its articles. Returns False when no such feed."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE feeds SET enabled = 0 WHERE url = ? OR CAST(id AS TEXT) = ?",
                (url_or_id, url_or_id),
            )
            return cursor.rowcount > 0

    async def list_feeds(self, *, include_disabled: bool = True) -> list[FeedRow]:
        where = "" if include_disabled else "WHERE f.enabled = 1"
        async with self._db.reader.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds f {where} ORDER BY f.id"  # noqa: S608 - constant SQL
        ) as cursor:
            return [_feed_row(r) for r in await cursor.fetchall()]

    async def get_feed(self, feed_id: int) -> FeedRow | None:
        async with self._db.reader.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE f.id = ?",  # noqa: S608 - constant SQL
            (feed_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return _feed_row(row) if row else None

    async def due_feeds(self, *, now: int, limit: int | None = None) -> list[FeedRow]:
        """Enabled, unpaused feeds whose next poll time has come, most overdue first."""
        sql = (
            f"SELECT {_FEED_COLUMNS} FROM feeds f "  # noqa: S608 - constant SQL
            "WHERE f.enabled = 1 AND f.paused_at IS NULL AND f.next_poll_at <= ? "
            "ORDER BY f.next_poll_at, f.id"
        )
        params: tuple[int, ...] = (now,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (now, limit)
        async with self._db.reader.execute(sql, params) as cursor:
            return [_feed_row(r) for r in await cursor.fetchall()]

    async def next_poll_at(self) -> int | None:
        """When the next feed is due: the earliest next_poll_at of enabled, unpaused
        feeds (possibly already past), or None when there is no such feed."""
        async with self._db.reader.execute(
            "SELECT min(next_poll_at) FROM feeds WHERE enabled = 1 AND paused_at IS NULL"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def claim_due(
        self, *, now: int, holder: str, limit: int, ttl: int = CLAIM_TTL
    ) -> list[FeedRow]:
        """due_feeds for one process among several: up to limit due feeds no one else
        holds, claimed by holder until now + ttl (the poll's record clears the claim)."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE feeds SET claimed_by = ?, claim_expires_at = ?
                   WHERE id IN (SELECT id FROM feeds
                                WHERE enabled = 1 AND paused_at IS NULL AND next_poll_at <= ?
                                  AND (claimed_by IS NULL OR claim_expires_at <= ?)
                                ORDER BY next_poll_at, id LIMIT ?)
                   RETURNING id""",
                (holder, now + ttl, now, now, limit),
            )
            ids = [int(r[0]) for r in await cursor.fetchall()]
            await cursor.close()
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            cursor = await conn.execute(
                f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE f.id IN ({marks}) "  # noqa: S608
                "ORDER BY f.next_poll_at, f.id",
                ids,
            )
            rows = [_feed_row(r) for r in await cursor.fetchall()]
            await cursor.close()
        return rows

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still polling: its claimed feeds stay its until `until`."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE feeds SET claim_expires_at = ? WHERE claimed_by = ?", (until, holder)
            )
            return cursor.rowcount

    async def release_claims(self, *, holder: str, feed_ids: Sequence[int] | None = None) -> int:
        """Give up the holder's claims (on these feeds; None: on all of them)."""
        async with self._db.write() as conn:
            if feed_ids is None:
                cursor = await conn.execute(
                    "UPDATE feeds SET claimed_by = NULL, claim_expires_at = NULL "
                    "WHERE claimed_by = ?",
                    (holder,),
                )
                return cursor.rowcount
            released = 0
            for feed_id in feed_ids:
                cursor = await conn.execute(
                    "UPDATE feeds SET claimed_by = NULL, claim_expires_at = NULL "
                    "WHERE claimed_by = ? AND id = ?",
                    (holder, feed_id),
                )
                released += cursor.rowcount
            return released

    async def next_claimable_at(self, *, now: int) -> int | None:
        """When the next feed may be claimed: next_poll_at, or for a feed someone holds,
        when that claim runs out. None when no feed is enabled and unpaused."""
        async with self._db.reader.execute(
            """SELECT min(CASE WHEN claimed_by IS NOT NULL AND claim_expires_at > ?
                               THEN max(next_poll_at, claim_expires_at)
                               ELSE next_poll_at END)
               FROM feeds WHERE enabled = 1 AND paused_at IS NULL""",
            (now,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def record_poll_failure(self, feed_id: int, failure: PollFailure, *, now: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                """UPDATE feeds SET last_polled_at = ?, next_poll_at = ?, failures = failures + 1,
                       last_error_kind = ?, last_error = ?, claimed_by = NULL,
                       claim_expires_at = NULL,
                       paused_at = CASE WHEN ? THEN ? ELSE paused_at END
                   WHERE id = ?""",
                (
                    now,
                    failure.next_poll_at,
                    failure.kind,
                    failure.detail,
                    failure.pause,
                    now,
                    feed_id,
                ),
            )

    async def resume_feed(self, url_or_id: str, *, now: int) -> bool:
        """Unpause a feed paused for failing and poll it at once."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """UPDATE feeds SET paused_at = NULL, failures = 0, enabled = 1, next_poll_at = ?
                   WHERE url = ? OR CAST(id AS TEXT) = ?""",
                (now, url_or_id, url_or_id),
            )
            return cursor.rowcount > 0
