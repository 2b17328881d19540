"""Feed health for admins: a notice when a feed is paused for failing, or has moved."""

from __future__ import annotations

from collections.abc import Iterable

from bot.admin.stats import cause_name
from bot.delivery.notices import queue_admin_notice
from bot.text.i18n import t
from storage import Database


async def notify_paused_feeds(
    db: Database, admin_ids: Iterable[int], *, language: str, now: int
) -> int:
    """Queue one notice per admin per pause (the dedup key holds the pause time)."""
    queued = 0
    paused = [f for f in await db.feeds.list_feeds() if f.enabled and f.paused_at is not None]
    for feed in paused:
        text = t(
            language,
            "feed.paused_notice",
            name=feed.name,
            failures=feed.failures,
            kind=cause_name(language, feed.last_error_kind or "?"),
            detail=feed.last_error or "",
            id=feed.id,
        )
        queued += await queue_admin_notice(
            db, admin_ids, text, dedup_key=f"feed-paused:{feed.id}:{feed.paused_at}", now=now
        )
    return queued


async def notify_moved_feeds(
    db: Database, admin_ids: Iterable[int], *, language: str, now: int
) -> int:
    """Queue one notice per admin per move (the poller moved the feed's stored URL after
    permanent redirects; the dedup key holds the new URL)."""
    queued = 0
    moved = [f for f in await db.feeds.list_feeds() if f.enabled and f.previous_url is not None]
    for feed in moved:
        text = t(language, "feed.moved_notice", name=feed.name, url=feed.url, old=feed.previous_url)
        queued += await queue_admin_notice(
            db, admin_ids, text, dedup_key=f"feed-moved:{feed.id}:{feed.url}", now=now
        )
    return queued
