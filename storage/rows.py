"""The rows storage hands out and takes in: frozen, typed, the same for every backend."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Priority(enum.IntEnum):
    """Send priority, lowest first: the sender and the shared rate limiter both order by it."""

    REPLY = 0  # a reader's answer to their own command
    WELCOME = 5  # the answer to /start: a launch-day burst must not hold up other replies
    STATUS = 10  # progress messages an admin is watching, feed-health notices
    ALERT = 20
    DIGEST = 30
    BROADCAST = 40


class FailureKind(enum.StrEnum):
    """Why a push ended without being sent; recorded with the outbox row."""

    CHAT_GONE = "chat_gone"  # blocked, kicked, deactivated, chat not found: the reader left
    GAVE_UP = "gave_up"  # retried until the limit
    REJECTED = "rejected"  # Telegram refused the message itself
    ARTICLE_GONE = "article_gone"  # the alert's article was deleted before it was sent


# articles


# A search term: a folded word or phrase ("ha noi"), or alternatives of which any one
# may match (("hanoi", "ha noi")).
SearchTerm = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """An article as a feed item or a web page gives it, ready to store.

    item_key identifies it within its feed; canonical_url (the link folded by
    bot.ingest.canonical; None without a link) identifies it across feeds, so
    one article reached through two feeds is stored once. url is the link a
    reader opens ("" when the item has none). search_* are accent-folded copies
    of its text for the search index.
    """

    item_key: str
    url: str
    title: str
    summary: str
    content_text: str
    author: str | None
    image_url: str | None
    published_at: datetime
    topics: tuple[str, ...]
    search_title: str
    search_body: str
    # None: no link, or a caller that has none to give (then only item_key identifies it).
    canonical_url: str | None = None
    # What its story is recognised by (bot.ingest.stories): an opaque signature and
    # the LSH band keys that find other articles to compare it with. None: no story.
    story_signature: bytes | None = None
    story_bands: tuple[int, ...] = ()


# (an article's signature, [(story id, signature) of candidates]) → the story it joins
StoryMatch = Callable[[bytes, Sequence[tuple[int, bytes]]], int | None]


@dataclass(frozen=True, slots=True)
class StoryRule:
    """How the store groups new articles into stories: the judgement is the bot's
    (match), finding candidates and remembering signatures the store's."""

    match: StoryMatch
    window: int  # seconds: only articles published this close are candidates
    keep: int  # seconds after publication an article's signature is kept for matching
    # Candidates share at least this many band keys: one shared key is mostly chance.
    min_shared_bands: int = 1


@dataclass(frozen=True, slots=True)
class ArticleRow:
    id: int
    feed_id: int
    feed_name: str
    item_key: str
    url: str
    title: str
    summary: str
    author: str | None
    image_url: str | None
    published_at: int
    fetched_at: int
    topics: tuple[str, ...]
    # The story it belongs to: the id of the story's first article (its own id when alone).
    story_id: int | None = None
    # Other outlets' names for the same story (search results fill it in).
    also_in: tuple[str, ...] = ()


@dataclass(slots=True)
class StoreOutcome:
    new_ids: list[int] = field(default_factory=list)
    # Items new to this feed that were already stored: by canonical URL (from another
    # feed, or this one under a new guid), or by title (a guid change in this feed).
    merged_ids: list[int] = field(default_factory=list)
    updated: int = 0
    alerts_queued: int = 0
    alerted_articles: int = 0
    posts_queued: int = 0  # destination posts (channels, groups, forum topics)
    joined_stories: int = 0  # new articles found to be another outlet's story
    edits_queued: int = 0  # sent alerts to edit after a correction


# broadcasts


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    id: int
    admin_id: int
    text: str
    parse_mode: str | None
    topic_slug: str | None
    status: str
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: int
    # Who it goes to: 'readers', 'all' (readers and destinations) or 'destinations'.
    audience: str = "readers"


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    blocked: int  # the reader left (blocked the bot, chat gone): dropped or failed as such
    failed: int
    pending: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


# destinations


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    """A destination as feeds.toml or an admin in Telegram names it: a channel, a group,
    or one topic (thread_id) of a forum supergroup, and what it is fed."""

    chat_id: int
    chat_type: str  # 'channel', 'group', 'supergroup'
    title: str = ""
    thread_id: int | None = None
    topics: tuple[str, ...] = ()
    feed_urls: tuple[str, ...] = ()  # single sources, by URL
    style: str = "photo"  # 'photo': the lead image with a caption; 'text': a link preview
    hashtags: bool = False
    silent: bool = False


@dataclass(frozen=True, slots=True)
class DestinationRow:
    id: int
    chat_id: int
    thread_id: int | None
    chat_type: str
    title: str
    origin: str  # 'config' (feeds.toml) or 'telegram' (added by an admin in a chat)
    style: str
    hashtags: bool
    silent: bool
    added_by: int | None
    paused_at: int | None
    pause_reason: str | None
    created_at: int
    topics: tuple[str, ...]
    feed_ids: tuple[int, ...]
    last_post_at: int | None  # when its latest post was sent


# digests


@dataclass(frozen=True, slots=True)
class DigestReader:
    chat_id: int
    language: str
    timezone: str
    digest_hour: int
    last_digest_at: int | None  # when the previous digest was queued
    digest_minute: int = 0


# feeds


@dataclass(frozen=True, slots=True)
class TopicRow:
    slug: str
    name_vi: str
    name_en: str
    keywords: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other words readers use for it ("economy")


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    url: str
    name: str
    kind: str
    origin: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    first_polled_at: int | None
    last_polled_at: int | None
    last_success_at: int | None
    next_poll_at: int
    failures: int
    last_error_kind: str | None
    last_error: str | None
    paused_at: int | None
    articles_total: int
    topics: tuple[str, ...]
    # Site sources only (kind 'site'): link rules, and the listing links the
    # reader remembers ('b' seen on the first poll, not fetched yet; 'd' done).
    article_pattern: str | None = None
    link_selector: str | None = None
    site_links: Mapping[str, str] = field(default_factory=dict)
    # What scheduling reads: the RSS <ttl> of the last document parsed, when the
    # feed's latest new items appeared (UNIX seconds, oldest first), and its new
    # items by hour of the day (24 decayed counts, or none yet).
    ttl_minutes: int | None = None
    recent_items: tuple[int, ...] = ()
    hourly_items: tuple[float, ...] = ()
    # A move in progress: the target every redirect of the latest polls was permanent
    # (301/308) to, and how many polls in a row; and the URL before the last move.
    redirect_target: str | None = None
    redirect_polls: int = 0
    previous_url: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as configured (feeds.toml or an operator command).

    kind 'site' is a section page whose article links are followed; its
    article_pattern (a regex on article URLs) and link_selector (CSS) are optional.
    """

    url: str
    name: str
    topics: tuple[str, ...]
    kind: str = "feed"
    article_pattern: str | None = None
    link_selector: str | None = None


@dataclass(frozen=True, slots=True)
class PollSuccess:
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    ttl_minutes: int | None
    next_poll_at: int
    # The feed's rhythm after this poll (FeedRow's fields); None keeps the stored one.
    recent_items: tuple[int, ...] | None = None
    hourly_items: tuple[float, ...] | None = None
    # The permanent redirect this poll followed (None: none) and how many polls in a row
    # have answered it, this one included (FeedRow's fields; always written).
    redirect_target: str | None = None
    redirect_polls: int = 0


@dataclass(frozen=True, slots=True)
class PollFailure:
    kind: str
    detail: str
    next_poll_at: int
    pause: bool


# leases


# outbox

# How long a claim on an outbox row or a feed lasts unless its holder renews it
# (every third of it): a dead process's work is taken over within about this long.
CLAIM_TTL = 6
# The holder of claims made without naming one (tests, one-off commands).
LOCAL_HOLDER = "local"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    kind: str
    priority: int
    dedup_key: str
    article_id: int | None
    broadcast_id: int | None
    payload: dict[str, Any] | None
    status: str
    attempts: int
    # For an alert: the reader's keyword it matched (None: they follow its topic).
    keyword: str | None = None
    # A post for a destination (a channel, group or forum topic); None: a reader's row.
    destination_id: int | None = None
    # An edit: the Telegram message it corrects (the alert already sent), not a new message.
    edits_message_id: int | None = None
    # The process that claimed it last (kept once sent: who sent it).
    claimed_by: str | None = None


# subscribers


@dataclass(frozen=True, slots=True)
class KeywordAlertRow:
    id: int
    chat_id: int
    phrase: str
    folded: str


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    chat_id: int
    chat_type: str
    language: str
    timezone: str
    mode: str
    digest_hour: int
    quiet_start: int | None
    quiet_end: int | None
    active: bool
    inactive_reason: str | None
    last_digest_on: str | None
    digest_minute: int = 0
    silent_alerts: str = "off"  # 'off', 'night' (22:00–06:00 local) or 'always'
