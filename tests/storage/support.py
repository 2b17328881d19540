"""Builders the contract tests share: articles, feeds and readers made through the interface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from storage.api import Database
from storage.rows import ArticleInput, FeedSpec

NOW = 1_790_000_000
HOUR = 3600
DAY = 24 * HOUR


def article(
    key: str,
    *,
    title: str | None = None,
    body: str = "noi dung bai viet",
    published_at: int = NOW - HOUR,
    topics: tuple[str, ...] = (),
    author: str | None = None,
    image_url: str | None = None,
    url: str | None = None,
) -> ArticleInput:
    """An article whose text is already folded (plain ASCII), so search_* equal the text."""
    title = title if title is not None else f"tieu de {key}"
    url = url if url is not None else f"https://bao.example.vn/{key}.html"
    return ArticleInput(
        item_key=key,
        url=url,
        title=title,
        summary=body[:200],
        content_text=body,
        author=author,
        image_url=image_url,
        published_at=datetime.fromtimestamp(published_at, UTC),
        topics=topics,
        search_title=title,
        search_body=body,
        canonical_url=url or None,
    )


async def add_feed(
    db: Database,
    url: str = "https://bao.example.vn/rss",
    *,
    name: str = "Báo",
    topics: tuple[str, ...] = (),
    now: int = NOW,
) -> int:
    feed_id, _ = await db.feeds.add_feed(FeedSpec(url, name, topics), now=now)
    return feed_id


async def add_reader(
    db: Database,
    chat_id: int,
    *,
    mode: str = "instant",
    topics: Sequence[str] = (),
    timezone: str = "Asia/Ho_Chi_Minh",
    digest_hour: int | None = None,
    now: int = NOW,
) -> None:
    await db.subscribers.ensure_subscriber(chat_id, now=now, timezone=timezone)
    if mode != "instant":
        await db.subscribers.set_mode(chat_id, mode, now=now)
    if digest_hour is not None:
        await db.subscribers.update_settings(chat_id, digest_hour=digest_hour, now=now)
    for slug in topics:
        await db.subscribers.subscribe_topic(chat_id, slug, now=now)


async def enqueue_reply(
    db: Database,
    chat_id: int,
    key: str,
    *,
    priority: int = 0,
    now: int = NOW,
    kind: str = "reply",
) -> int:
    """Queue one message and return its outbox row id."""
    assert await db.outbox.enqueue(
        chat_id=chat_id,
        kind=kind,
        priority=priority,
        dedup_key=key,
        payload={"text": key},
        now=now,
    )
    [row] = [r for r in await db.outbox.rows_for_chat(chat_id) if r.dedup_key == key]
    return row.id
