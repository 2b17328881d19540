"""Figures for admins (/stats) and operators (`newsbot stats`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from storage import articles as article_store
from storage import feeds as feed_store
from storage import outbox as outbox_store
from storage import subscribers as subscriber_store
from storage.db import Database
from storage.feeds import FeedRow


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


async def collect(db: Database, *, now: datetime, tz: ZoneInfo) -> Figures:
    feeds = await feed_store.list_feeds(db)
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return Figures(
        articles=await article_store.count_articles(db),
        readers=await subscriber_store.count_subscribers(db),
        topics=await subscriber_store.topic_counts(db),
        feeds=dict(Counter(feed_health(f) for f in feeds)),
        outbox=await outbox_store.counts_by_status(db),
        sent_today=await outbox_store.sent_since(db, int(midnight.timestamp())),
        paused_feeds=[f for f in feeds if f.enabled and f.paused_at is not None],
    )
