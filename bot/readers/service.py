"""What a reader can do, as service functions the handlers call.

Handlers parse Telegram input and render answers; every decision (limits,
which words are a topic and which a keyword, what a setting may be) is made
here, where it is tested without Telegram.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.readers.places import spelled_out
from bot.readers.times import DigestTime
from bot.text.i18n import LANGUAGES, normalize_language
from bot.text.vietnamese import clean_line, fold_words
from storage import Database

# Re-exported: the rows handlers render come with the services that return them.
from storage.rows import ArticleRow as ArticleRow
from storage.rows import KeywordAlertRow as KeywordAlertRow
from storage.rows import SubscriberRow as SubscriberRow
from storage.rows import TopicRow as TopicRow

MAX_TOPICS = 20
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 100
# A keyword of one letter would match nearly every article.
MIN_KEYWORD_CHARS = 2
MAX_QUERY_CHARS = 200


class Outcome(enum.StrEnum):
    TOPIC_ADDED = "topic_added"
    TOPIC_ALREADY = "topic_already"
    TOPIC_REMOVED = "topic_removed"
    KEYWORD_ADDED = "keyword_added"
    KEYWORD_EXISTS = "keyword_exists"
    KEYWORD_REMOVED = "keyword_removed"
    NOT_FOUND = "not_found"
    TOO_MANY_TOPICS = "too_many_topics"
    TOO_MANY_KEYWORDS = "too_many_keywords"
    KEYWORD_TOO_SHORT = "keyword_too_short"
    TOO_LONG = "too_long"
    TOPIC_SUGGESTED = "topic_suggested"  # the words nearly name a topic: ask first


@dataclass(frozen=True, slots=True)
class Change:
    outcome: Outcome
    subject: str  # the topic's display name or the keyword phrase


@dataclass(frozen=True, slots=True)
class Subscriptions:
    reader: SubscriberRow
    topics: list[TopicRow]
    keywords: list[KeywordAlertRow]


async def start_reader(
    db: Database,
    chat_id: int,
    *,
    chat_type: str,
    language_code: str | None,
    default_timezone: str,
    now: int,
) -> SubscriberRow:
    """The reader for this chat, created (or reactivated) on first contact."""
    reader = await db.subscribers.get_subscriber(chat_id)
    if reader is None or not reader.active:
        await db.subscribers.ensure_subscriber(
            chat_id,
            now=now,
            chat_type=chat_type,
            language=normalize_language(language_code),
            timezone=default_timezone,
        )
        reader = await db.subscribers.get_subscriber(chat_id)
    assert reader is not None
    return reader


async def reader_or_guest(
    db: Database,
    chat_id: int,
    *,
    chat_type: str,
    language_code: str | None,
    default_timezone: str,
) -> SubscriberRow:
    """The chat's reader when it is one; else a guest with default settings, not stored.

    Only /start and commands that change what a chat follows make it a reader
    (and a broadcast recipient): someone who typed /help or an unknown command,
    or was refused an admin command, is answered but not kept.
    """
    reader = await db.subscribers.get_subscriber(chat_id)
    if reader is not None and reader.active:
        return reader
    return SubscriberRow(
        chat_id=chat_id,
        chat_type=chat_type,
        language=normalize_language(language_code),
        timezone=default_timezone,
        mode="instant",
        digest_hour=7,
        quiet_start=None,
        quiet_end=None,
        active=False,
        inactive_reason=None,
        last_digest_on=None,
    )


async def known_language(db: Database, chat_id: int, *, fallback: str) -> str:
    """The chat's language when it is a reader, else fallback; creates no one."""
    reader = await db.subscribers.get_subscriber(chat_id)
    return reader.language if reader is not None else fallback


async def get_reader(db: Database, chat_id: int) -> SubscriberRow:
    """The reader as stored now (after a change), for a chat that is a reader."""
    reader = await db.subscribers.get_subscriber(chat_id)
    if reader is None:
        raise LookupError(f"chat {chat_id} is not a reader")
    return reader


def topic_name(topic: TopicRow, language: str) -> str:
    return topic.name_vi if language == "vi" else topic.name_en


async def list_topics(db: Database) -> list[TopicRow]:
    """Every topic, in the order feeds.toml gives them."""
    return await db.feeds.list_topics()


async def topic_names(db: Database, language: str) -> dict[str, str]:
    """Topic slug → its name in the language."""
    return {topic.slug: topic_name(topic, language) for topic in await db.feeds.list_topics()}


@dataclass(frozen=True, slots=True)
class TopicChoices:
    """The topic picker's state: every topic, and the ones the reader follows."""

    topics: list[TopicRow]
    chosen: frozenset[str]


async def topic_choices(db: Database, chat_id: int) -> TopicChoices:
    topics = await db.feeds.list_topics()
    chosen = frozenset(await db.subscribers.topic_subscriptions(chat_id))
    return TopicChoices(topics, chosen)


def _names(topic: TopicRow) -> tuple[str, ...]:
    """Every name a reader may give the topic: its slug, both names, its aliases."""
    return (topic.slug.replace("-", " "), topic.name_vi, topic.name_en, *topic.aliases)


def find_topic(topics: Sequence[TopicRow], words: str) -> TopicRow | None:
    """The topic the words name: its slug, its Vietnamese or English name or an alias
    ("economy" for Kinh tế), accents and hyphens optional."""
    wanted = " ".join(fold_words(words))
    if not wanted:
        return None
    for topic in topics:
        if any(" ".join(fold_words(name)) == wanted for name in _names(topic)):
            return topic
    return None


async def toggle_topic(db: Database, chat_id: int, slug: str, *, now: int) -> Change:
    topics = {t.slug: t for t in await db.feeds.list_topics()}
    topic = topics.get(slug)
    if topic is None:
        return Change(Outcome.NOT_FOUND, slug)
    if slug in await db.subscribers.topic_subscriptions(chat_id):
        await db.subscribers.unsubscribe_topic(chat_id, slug)
        return Change(Outcome.TOPIC_REMOVED, slug)
    return await _add_topic(db, chat_id, topic, now=now)


async def _add_topic(db: Database, chat_id: int, topic: TopicRow, *, now: int) -> Change:
    current = await db.subscribers.topic_subscriptions(chat_id)
    if topic.slug in current:
        return Change(Outcome.TOPIC_ALREADY, topic.slug)
    if len(current) >= MAX_TOPICS:
        return Change(Outcome.TOO_MANY_TOPICS, topic.slug)
    await db.subscribers.subscribe_topic(chat_id, topic.slug, now=now)
    return Change(Outcome.TOPIC_ADDED, topic.slug)


async def subscribe_words(
    db: Database, chat_id: int, words: str, *, now: int, as_keyword: bool = False
) -> Change:
    """`/subscribe <words>`: a topic when the words name one; a question when they nearly
    name one ("kinh t", "bussiness"); else a keyword (as_keyword: a keyword whatever)."""
    phrase = clean_line(words)
    if len(phrase) > MAX_KEYWORD_CHARS:
        return Change(Outcome.TOO_LONG, phrase[:MAX_KEYWORD_CHARS])
    topics = await db.feeds.list_topics()
    if not as_keyword:
        topic = find_topic(topics, phrase)
        if topic is not None:
            return await _add_topic(db, chat_id, topic, now=now)
        near = near_topic(topics, phrase)
        if near is not None:
            return Change(Outcome.TOPIC_SUGGESTED, near.slug)
    folded = " ".join(spelled_out(fold_words(phrase)))
    if len(folded.replace(" ", "")) < MIN_KEYWORD_CHARS:
        return Change(Outcome.KEYWORD_TOO_SHORT, phrase)
    existing = await db.subscribers.keyword_alerts(chat_id)
    if any(alert.folded == folded for alert in existing):
        return Change(Outcome.KEYWORD_EXISTS, phrase)
    if len(existing) >= MAX_KEYWORDS:
        return Change(Outcome.TOO_MANY_KEYWORDS, phrase)
    await db.subscribers.add_keyword_alert(chat_id, phrase, folded, now=now)
    return Change(Outcome.KEYWORD_ADDED, phrase)


# How alike (difflib's ratio, on folded names) words must be to a topic's name to ask
# "did you mean": "kinh t" and "bussiness" are; "giá vàng" and "kinh tế" are not.
NEAR_TOPIC_RATIO = 0.8


def near_topic(topics: Sequence[TopicRow], words: str) -> TopicRow | None:
    """The topic whose name (either language, or slug) the words nearly spell."""
    wanted = " ".join(fold_words(words))
    if not wanted or len(wanted.split()) > 4:
        return None
    best: tuple[float, TopicRow] | None = None
    for topic in topics:
        for name in _names(topic):
            ratio = difflib.SequenceMatcher(None, wanted, " ".join(fold_words(name))).ratio()
            if ratio >= NEAR_TOPIC_RATIO and (best is None or ratio > best[0]):
                best = (ratio, topic)
    return best[1] if best else None


async def unsubscribe_words(db: Database, chat_id: int, words: str) -> Change:
    phrase = clean_line(words)[:MAX_KEYWORD_CHARS]
    topic = find_topic(await db.feeds.list_topics(), phrase)
    if topic is not None:
        if await db.subscribers.unsubscribe_topic(chat_id, topic.slug):
            return Change(Outcome.TOPIC_REMOVED, topic.slug)
        return Change(Outcome.NOT_FOUND, topic.slug)
    folded = " ".join(spelled_out(fold_words(phrase)))
    if folded and await db.subscribers.remove_keyword_alert(chat_id, folded=folded):
        return Change(Outcome.KEYWORD_REMOVED, phrase)
    return Change(Outcome.NOT_FOUND, phrase)


async def article(db: Database, article_id: int) -> ArticleRow | None:
    return await db.articles.get_article(article_id)


async def unfollow_article_topics(db: Database, chat_id: int, article_id: int) -> list[str]:
    """Unfollow the topics that brought the reader this article; the slugs dropped."""
    found = await db.articles.get_article(article_id)
    if found is None:
        return []
    followed = set(await db.subscribers.topic_subscriptions(chat_id))
    dropped = [slug for slug in found.topics if slug in followed]
    for slug in dropped:
        await db.subscribers.unsubscribe_topic(chat_id, slug)
    return dropped


async def follow_topics_again(db: Database, chat_id: int, slugs: Sequence[str], *, now: int) -> int:
    """Undo an unfollow: the topics followed again (the cap still holds); how many."""
    topics = {t.slug: t for t in await db.feeds.list_topics()}
    added = 0
    for slug in slugs:
        if slug in topics:
            change = await _add_topic(db, chat_id, topics[slug], now=now)
            added += change.outcome in (Outcome.TOPIC_ADDED, Outcome.TOPIC_ALREADY)
    return added


async def unfollow_keyword(db: Database, chat_id: int, folded: str) -> KeywordAlertRow | None:
    """Drop the reader's keyword whose folded words are these (or, cut to fit a button,
    begin with them, when only one does); the keyword dropped."""
    alerts = await db.subscribers.keyword_alerts(chat_id)
    matches = [a for a in alerts if a.folded == folded] or [
        a for a in alerts if folded and a.folded.startswith(folded)
    ]
    if len(matches) != 1:
        return None
    await db.subscribers.remove_keyword_alert(chat_id, alert_id=matches[0].id)
    return matches[0]


async def remove_keyword(db: Database, chat_id: int, alert_id: int) -> Change:
    alerts = {a.id: a for a in await db.subscribers.keyword_alerts(chat_id)}
    alert = alerts.get(alert_id)
    if alert is None:
        return Change(Outcome.NOT_FOUND, str(alert_id))
    await db.subscribers.remove_keyword_alert(chat_id, alert_id=alert_id)
    return Change(Outcome.KEYWORD_REMOVED, alert.phrase)


async def subscriptions(db: Database, reader: SubscriberRow) -> Subscriptions:
    topics = {t.slug: t for t in await db.feeds.list_topics()}
    followed = [
        topics[s] for s in await db.subscribers.topic_subscriptions(reader.chat_id) if s in topics
    ]
    return Subscriptions(reader, followed, await db.subscribers.keyword_alerts(reader.chat_id))


async def set_language(db: Database, chat_id: int, language: str, *, now: int) -> bool:
    language = language.strip().lower()
    if language not in LANGUAGES:
        return False
    await db.subscribers.update_settings(chat_id, language=language, now=now)
    return True


# What readers type for each mode, in either language, accents optional.
_MODE_WORDS = {
    "instant": "instant",
    "now": "instant",
    "ngay": "instant",
    "nhan ngay": "instant",
    "tuc thi": "instant",
    "digest": "digest",
    "daily": "digest",
    "ban tin": "digest",
    "hang ngay": "digest",
    "moi ngay": "digest",
}


async def set_mode(db: Database, chat_id: int, mode: str, *, now: int) -> bool:
    mode = _MODE_WORDS.get(" ".join(fold_words(mode)), "")
    if not mode:
        return False
    before = await db.subscribers.get_subscriber(chat_id)
    await db.subscribers.update_settings(chat_id, mode=mode, now=now)
    if mode == "digest" and before is not None and before.mode != "digest":
        # The promise is "a digest at {hour} every day": the first comes at the next
        # {hour}, not at once because today's has passed, and covers from now on.
        at = DigestTime(before.digest_hour, before.digest_minute)
        await db.subscribers.begin_digests(
            chat_id, since=now, done_on=_today_if_past(before, at, now)
        )
    return True


def _today_if_past(reader: SubscriberRow, at: DigestTime, now: int) -> str | None:
    """The reader's local date when the time has already come there today."""
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(reader.timezone))
    return local.date().isoformat() if (local.hour, local.minute) >= (at.hour, at.minute) else None


def first_digest_tomorrow(reader: SubscriberRow, now: int) -> bool:
    """Whether the reader's next digest comes tomorrow (today's is sent, or its time passed)."""
    at = DigestTime(reader.digest_hour, reader.digest_minute)
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(reader.timezone))
    return (
        reader.last_digest_on == local.date().isoformat()
        or _today_if_past(reader, at, now) is not None
    )


async def set_digest_time(db: Database, chat_id: int, at: DigestTime, *, now: int) -> bool:
    if not (0 <= at.hour <= 23 and 0 <= at.minute <= 59):
        return False
    reader = await db.subscribers.get_subscriber(chat_id)
    await db.subscribers.update_settings(
        chat_id, digest_hour=at.hour, digest_minute=at.minute, now=now
    )
    if reader is not None and reader.mode == "digest":
        today = _today_if_past(reader, at, now)
        if today is not None and reader.last_digest_on != today:
            # A new time already past today: today's digest would go out at once.
            await db.subscribers.begin_digests(chat_id, since=None, done_on=today)
    return True


async def set_digest_hour(db: Database, chat_id: int, hour: int, *, now: int) -> bool:
    return await set_digest_time(db, chat_id, DigestTime(hour), now=now)


async def set_quiet_hours(
    db: Database, chat_id: int, hours: tuple[int, int] | None, *, now: int
) -> None:
    start, end = hours if hours else (None, None)
    await db.subscribers.update_settings(chat_id, quiet_start=start, quiet_end=end, now=now)


SILENT_CHOICES = ("off", "night", "always")


async def set_silent_alerts(db: Database, chat_id: int, choice: str, *, now: int) -> bool:
    """Alerts with sound ('off'), silent at night ('night') or always silent ('always')."""
    if choice not in SILENT_CHOICES:
        return False
    await db.subscribers.update_settings(chat_id, silent_alerts=choice, now=now)
    return True


async def forget_reader(db: Database, chat_id: int) -> None:
    await db.subscribers.forget(chat_id)


def clip_query(text: str) -> str | None:
    """A search query fit to run, or None when it is too long to be a query."""
    query = clean_line(text)
    return query if len(query) <= MAX_QUERY_CHARS else None
