"""Daily digests: at each reader's hour, in their time zone, one message (or a few)
with the day's articles in their topics and keyword alerts, grouped by topic.

Due-ness is decided on the reader's local calendar date, and the digests
table holds one row per (reader, local date): a late start still sends today's
digest, a restart never sends it twice, and a daylight-saving jump elsewhere
only moves the local hour, never the date bookkeeping.
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.render import MESSAGE_LIMIT, short_source, truncate_utf16, utf16_len
from bot.readers.search import phrase_words
from bot.readers.service import topic_name
from bot.text.htmltext import safe_http_url
from bot.text.i18n import t
from bot.text.vietnamese import clean_line
from storage import Database
from storage.rows import ArticleRow, DigestReader, TopicRow

log = logging.getLogger(__name__)

MAX_ARTICLES_PER_TOPIC = 15
# A reader's first digest covers the day before it.
FIRST_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DigestRun:
    queued: int = 0  # readers whose digest was queued
    empty: int = 0  # readers due with nothing new (recorded, nothing sent)


async def queue_due_digests(db: Database, *, now: datetime) -> DigestRun:
    """Queue every digest that is due at `now`. Safe to call as often as you like."""
    queued = empty = 0
    topics = await db.feeds.list_topics()
    for tz_name in await db.digests.digest_timezones():
        local = now.astimezone(ZoneInfo(tz_name))
        due = await db.digests.due_readers(
            timezone=tz_name,
            local_date=local.date().isoformat(),
            local_hour=local.hour,
            local_minute=local.minute,
        )
        for reader in due:
            parts, count = await _compose(db, reader, topics, now=now, local=local)
            recorded = await db.digests.record_digest(
                reader.chat_id,
                local_date=local.date().isoformat(),
                parts=parts if count else [],
                article_count=count,
                now=int(now.timestamp()),
            )
            if recorded and count:
                queued += 1
            elif recorded:
                empty += 1
    if queued or empty:
        log.info("digests: %d queued, %d readers had nothing new", queued, empty)
    return DigestRun(queued, empty)


async def queue_digest_now(db: Database, chat_id: int, *, now: datetime) -> int:
    """The reader's digest at once ("Gửi bản tin ngay"): what it would hold now, the
    next one covering from here. Returns its article count (0: nothing new, none sent)."""
    reader = await db.digests.reader(chat_id)
    if reader is None:
        return 0
    local = now.astimezone(ZoneInfo(reader.timezone))
    parts, count = await _compose(db, reader, await db.feeds.list_topics(), now=now, local=local)
    if count:
        await db.digests.queue_now(chat_id, parts=parts, now=int(now.timestamp()))
    return count


async def _compose(
    db: Database,
    reader: DigestReader,
    topics: Sequence[TopicRow],
    *,
    now: datetime,
    local: datetime,
) -> tuple[list[str], int]:
    until = int(now.timestamp())
    since = reader.last_digest_at or int((now - FIRST_WINDOW).timestamp())
    names = {topic.slug: topic_name(topic, reader.language) for topic in topics}
    groups: dict[str, list[ArticleRow]] = {}
    seen: set[int] = set()
    followed = await db.subscribers.topic_subscriptions(reader.chat_id)
    articles = one_per_story(
        await db.digests.topic_articles(
            reader.chat_id, since=since, until=until, limit=MAX_ARTICLES_PER_TOPIC * len(followed)
        )
    )
    for slug in followed:
        group = [a for a in articles if slug in a.topics and a.id not in seen]
        group = group[:MAX_ARTICLES_PER_TOPIC]
        seen.update(a.id for a in group)
        if group:
            groups[names.get(slug, slug)] = group
    for alert in await db.subscribers.keyword_alerts(reader.chat_id):
        words = phrase_words(alert.phrase)
        if not words:
            continue
        found = await db.digests.phrase_articles(
            words, chat_id=reader.chat_id, since=since, until=until, limit=MAX_ARTICLES_PER_TOPIC
        )
        fresh = [a for a in one_per_story(found) if a.id not in seen]
        seen.update(a.id for a in fresh)
        if fresh:
            groups[f"🔔 {alert.phrase}"] = fresh
    count = len(seen)
    return render_digest(groups, language=reader.language, day=local), count


def render_digest(
    groups: dict[str, list[ArticleRow]], *, language: str, day: datetime, limit: int = MESSAGE_LIMIT
) -> list[str]:
    """The digest as Telegram HTML messages, split between entries, never inside one."""
    header = t(language, "digest.header", date=day.strftime("%d/%m/%Y"))
    continued = t(language, "digest.continued")
    parts: list[str] = []
    current = header
    for group_name, articles in groups.items():
        heading = f"\n\n<b>{html.escape(clean_line(group_name)[:100], quote=False)}</b>"
        lines = [heading] + [_entry(article) for article in articles]
        for index, line in enumerate(lines):
            if utf16_len(current) + utf16_len(line) > limit:
                parts.append(current)
                # A topic cut in two repeats its heading on the next message.
                current = continued + ("" if index == 0 else heading)
            current += line
    parts.append(current)
    return parts


def one_per_story(articles: Sequence[ArticleRow]) -> list[ArticleRow]:
    """The first article of each story (in the given order), also_in naming the other
    outlets of the story among these articles."""
    first: dict[int, ArticleRow] = {}
    others: dict[int, list[str]] = {}
    for article in articles:
        story = article.story_id or article.id
        if story not in first:
            first[story], others[story] = article, []
        elif article.feed_name not in (first[story].feed_name, *others[story]):
            others[story].append(article.feed_name)
    return [
        dataclasses.replace(a, also_in=(*a.also_in, *others[s])) if others[s] else a
        for s, a in first.items()
    ]


def _entry(article: ArticleRow) -> str:
    title = html.escape(truncate_utf16(clean_line(article.title), 300), quote=False)
    url = safe_http_url(article.url)
    linked = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
    if not article.also_in:
        return f"\n• {linked}"
    # A story several outlets carried is listed once, with all of them.
    sources = ", ".join(short_source(n) for n in (article.feed_name, *article.also_in))
    return f"\n• {linked} <i>({html.escape(truncate_utf16(sources, 120), quote=False)})</i>"
