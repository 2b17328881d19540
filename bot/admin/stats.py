"""Figures for admins (/stats) and operators (`newsbot stats`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.text.i18n import CATALOGS, t_plain
from storage import Database
from storage.rows import DestinationRow, FeedRow


def cause_name(language: str, kind: str) -> str:
    """A feed failure's kind in the admin's words ("timeout" → "quá giờ chờ")."""
    key = f"stats.cause.{kind}"
    return t_plain(language, key) if key in CATALOGS["vi"] else kind


def feed_health(feed: FeedRow) -> str:
    if not feed.enabled:
        return "removed"
    if feed.paused_at is not None:
        return "paused"
    if feed.failures:
        return "failing"
    if feed.last_success_at is None:
        return "new"
    return "ok"


@dataclass(frozen=True, slots=True)
class Figures:
    articles: int
    readers: dict[str, int]
    topics: dict[str, int]
    feeds: dict[str, int]
    outbox: dict[str, int]
    sent_today: int
    paused_feeds: list[FeedRow]
    destinations: list[DestinationRow]  # with their last post and any pause reason
    articles_today: int = 0
    articles_sealed: int = 0  # in sealed search segments (storage.search_segments)
    by_mode: dict[str, int] | None = None
    # Why current feeds fail (last_error_kind of failing and paused ones), commonest first.
    failure_causes: dict[str, int] | None = None


async def collect(db: Database, *, now: datetime, tz: ZoneInfo) -> Figures:
    feeds = await db.feeds.list_feeds()
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    today = [int(midnight.timestamp()), int(now.timestamp()) + 1]
    causes = Counter(
        f.last_error_kind
        for f in feeds
        if feed_health(f) in ("failing", "paused") and f.last_error_kind
    )
    return Figures(
        articles=await db.articles.count_articles(),
        readers=await db.subscribers.count_subscribers(),
        topics=await db.subscribers.topic_counts(),
        feeds=dict(Counter(feed_health(f) for f in feeds)),
        outbox=await db.outbox.counts_by_status(),
        sent_today=await db.outbox.sent_since(int(midnight.timestamp())),
        paused_feeds=[f for f in feeds if f.enabled and f.paused_at is not None],
        articles_today=(await db.articles.stored_per_period(today))[0],
        articles_sealed=await db.articles.count_sealed_articles(),
        by_mode=await db.subscribers.active_by_mode(),
        failure_causes=dict(causes.most_common(3)),
        destinations=await db.destinations.list_all(),
    )
