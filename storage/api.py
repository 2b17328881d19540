"""The storage interface: what the bot may ask of a database, whatever the backend.

Every method takes and returns plain values and the frozen rows of
`storage.rows`; none exposes a driver type, a connection or query syntax
(search takes accent-folded words). A backend (`storage.sqlite`, and any
other beside it) implements these Protocols; the contract tests in
`tests/storage/` hold every backend to the same behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from storage.rows import (
    CLAIM_TTL,
    LOCAL_HOLDER,
    ArticleInput,
    ArticleRow,
    BroadcastRow,
    DestinationRow,
    DestinationSpec,
    DigestReader,
    FailureKind,
    FeedRow,
    FeedSpec,
    KeywordAlertRow,
    OutboxRow,
    PollFailure,
    PollSuccess,
    Progress,
    SearchTerm,
    StoreOutcome,
    StoryRule,
    SubscriberRow,
    TopicRow,
)
from storage.tables import Table

# A row as a copy moves it: the table's columns in order, in their neutral forms
# (storage.tables.Kind), then for articles the folded search title and body.
TransferRow = tuple[object, ...]


class Database(Protocol):
    """An open newsbot database: one store per area, closed with `close()`."""

    @property
    def location(self) -> str:
        """Where the data lives, safe to print (a path; a URL without its password)."""

    @property
    def articles(self) -> ArticleStore: ...
    @property
    def feeds(self) -> FeedStore: ...
    @property
    def subscribers(self) -> SubscriberStore: ...
    @property
    def outbox(self) -> OutboxStore: ...
    @property
    def digests(self) -> DigestStore: ...
    @property
    def broadcasts(self) -> BroadcastStore: ...
    @property
    def leases(self) -> LeaseStore: ...
    @property
    def destinations(self) -> DestinationStore: ...

    @property
    def transfer(self) -> TransferStore: ...

    async def close(self) -> None: ...


class ArticleStore(Protocol):
    """Articles, their topics and search index, and the alerts new ones queue."""

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

        An article is stored once whatever feeds bring it: an item whose canonical
        URL is already stored joins that article (its feed's topics added), and
        alerts for it reach only readers not yet alerted (the outbox is unique per
        reader and article). An item this feed already gave under another key (see
        known_items) is merged silently. Edits are kept from the feed that stored
        the article first; topics are added, never removed.
        A crash never leaves an article stored with its alerts unqueued, nor
        the feed's validators advanced past articles that were not stored.

        With stories, each new article with a signature joins the story of an
        earlier one published within stories.window that stories.match accepts
        (across feeds, processes and restarts), and no reader already alerted to
        that story is alerted again. With edits_since, an article whose title or
        lead changed has its alerts sent since then queued as edits (outbox rows
        with edits_message_id).
        """

    async def existing_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these item keys the feed already has."""

    async def known_items(self, feed_id: int, articles: Sequence[ArticleInput]) -> set[str]:
        """The keys of these items that are articles this feed already gave: under the
        same key, or under another (the same canonical URL; or, when at least half the
        document is new by key and link, the same title published within 12 hours
        while the old key is gone from the document: a CMS migration that changed
        every guid and link). store() merges such items and alerts no one for them.
        """

    async def get_article(self, article_id: int) -> ArticleRow | None: ...

    async def latest_articles(
        self, *, topic: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[ArticleRow]: ...

    async def search_articles(
        self,
        words: Sequence[SearchTerm],
        *,
        limit: int = 10,
        offset: int = 0,
        prefix: bool = False,
        as_of: int | None = None,
    ) -> list[ArticleRow]:
        """Articles containing every one of these folded words (none: no articles); a
        word with spaces is a phrase, a tuple is alternatives (any one). With prefix, the
        last word, when it is one word, may be the start of a word ("kinh t" → "kinh tế").
        One row per story: its best match, with also_in naming the other outlets
        that carried it.

        Among the newest SEARCH_WINDOW matching articles: those with more of the
        terms in their title first (alternatives count once), then newest first,
        then id (a total order, so pages never overlap). With as_of (a
        newest_article_id() taken when the search began), only the articles
        stored by then: later pages neither repeat nor skip one whatever arrives.
        """

    async def seal_search_segments(self, *, now: int, most_articles: int | None = None) -> int:
        """Seal the full segments of article ids not sealed yet, oldest first, reading
        the words of at most `most_articles` articles to build them (None: all) and
        merging the rest (storage.search_segments: their words kept as bitmaps, so
        search answers conjunctions of common words without walking the index);
        how many segments were written. Housekeeping calls it; a search's results
        are the same either way."""

    async def count_sealed_articles(self) -> int:
        """How many stored articles are in sealed search segments (the rest are
        searched through the full-text index alone)."""

    async def newest_article_id(self) -> int:
        """The highest article id so far (0: none); ids only grow."""

    async def count_articles(self) -> int: ...

    async def stored_per_period(self, bounds: Sequence[int]) -> list[int]:
        """Articles first stored in each period: bounds are ascending UNIX seconds, and
        item i counts fetched_at in [bounds[i], bounds[i + 1]) (len(bounds) - 1 items).

        Days in a reader's time zone are the caller's arithmetic, so no backend needs
        to know time zones.
        """


class FeedStore(Protocol):
    """Topics and sources (feeds and sites): configuration, polling state, health."""

    async def record_poll_success(self, feed_id: int, result: PollSuccess, *, now: int) -> None:
        """A poll that found nothing to store (304, same bytes): the feed's state only.

        A result's ttl_minutes, recent_items or hourly_items of None keeps the stored one.
        """

    async def sync_topics(self, topics: Sequence[TopicRow]) -> None:
        """Make the topics table match the configuration (the file is the truth for topics)."""

    async def list_topics(self) -> list[TopicRow]: ...

    async def sync_config_feeds(self, feeds: Iterable[FeedSpec], *, now: int) -> int:
        """Add configured feeds that are new and refresh names and topics of known ones.

        A feed an operator disabled or removed stays so: the flag is never touched here.
        Returns how many feeds were added.
        """

    async def add_feed(self, spec: FeedSpec, *, now: int) -> tuple[int, bool]:
        """Add (or re-enable) a feed by operator command. Returns (feed id, was it new)."""

    async def add_feeds(self, specs: Sequence[FeedSpec], *, now: int) -> list[tuple[int, bool]]:
        """add_feed for each, all in one transaction: all are added, or none."""

    async def move_feed(self, feed_id: int, url: str) -> bool:
        """The feed now lives at url (it answered a permanent redirect there poll after
        poll); the old URL is kept as previous_url, and adding or syncing a feed by it
        finds this feed. False, and nothing changed, when another feed has url."""

    async def disable_feed(self, url_or_id: str) -> bool:
        """Stop polling a feed, keeping its articles. Returns False when no such feed."""

    async def list_feeds(self, *, include_disabled: bool = True) -> list[FeedRow]: ...

    async def get_feed(self, feed_id: int) -> FeedRow | None: ...

    async def due_feeds(self, *, now: int, limit: int | None = None) -> list[FeedRow]:
        """Enabled, unpaused feeds whose next poll time has come, most overdue first."""

    async def next_poll_at(self) -> int | None:
        """When the next feed is due: the earliest next_poll_at of enabled, unpaused
        feeds (possibly already past), or None when there is no such feed."""

    async def claim_due(
        self, *, now: int, holder: str, limit: int, ttl: int = CLAIM_TTL
    ) -> list[FeedRow]:
        """due_feeds for one process of several: up to limit due feeds that no one else
        holds, claimed by holder until now + ttl. Recording the poll (its success,
        failure or stored articles) clears the claim; a claim its holder stops
        renewing expires, and the feed is due to anyone again."""

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still polling: its claimed feeds stay its until `until`."""

    async def release_claims(self, *, holder: str, feed_ids: Sequence[int] | None = None) -> int:
        """Give up the holder's claims (on these feeds; None: all), unpolled."""

    async def next_claimable_at(self, *, now: int) -> int | None:
        """When a feed may next be claimed: its next_poll_at, or, while someone holds it,
        the later of that and when the claim runs out. None when no feed is enabled and
        unpaused."""

    async def record_poll_failure(
        self, feed_id: int, failure: PollFailure, *, now: int
    ) -> None: ...

    async def resume_feed(self, url_or_id: str, *, now: int) -> bool:
        """Unpause a feed paused for failing and poll it at once."""


class SubscriberStore(Protocol):
    """Readers (chats), their settings, topics and keyword alerts."""

    async def ensure_subscriber(
        self,
        chat_id: int,
        *,
        now: int,
        chat_type: str = "private",
        language: str = "vi",
        timezone: str = "Asia/Ho_Chi_Minh",
    ) -> bool:
        """Create the reader if unknown, reactivating one who had left. True if created
        or reactivated."""

    async def get_subscriber(self, chat_id: int) -> SubscriberRow | None: ...

    async def get_subscribers(self, chat_ids: list[int]) -> dict[int, SubscriberRow]: ...

    async def update_settings(self, chat_id: int, *, now: int, **values: object) -> None:
        """Change some of a reader's settings: language, mode, digest hour, quiet hours, zone."""

    async def set_mode(self, chat_id: int, mode: str, *, now: int) -> None: ...

    async def begin_digests(self, chat_id: int, *, since: int | None, done_on: str | None) -> None:
        """The next digest covers from since on, and done_on (a local date) counts as
        already sent; None keeps what is stored."""

    async def deactivate(self, chat_id: int, reason: str, *, now: int) -> int:
        """Mark a reader inactive (blocked the bot, chat gone) and drop their pending pushes.

        Returns how many pending outbox rows were dropped.
        """

    async def forget(self, chat_id: int) -> None:
        """Delete everything we keep about a reader (/stop): settings, topics, alerts,
        digests and every message queued or sent to them."""

    async def topic_subscriptions(self, chat_id: int) -> list[str]: ...

    async def subscribe_topic(self, chat_id: int, topic_slug: str, *, now: int) -> bool: ...

    async def unsubscribe_topic(self, chat_id: int, topic_slug: str) -> bool: ...

    async def add_keyword_alert(
        self, chat_id: int, phrase: str, folded: str, *, now: int
    ) -> bool: ...

    async def remove_keyword_alert(
        self, chat_id: int, *, alert_id: int | None = None, folded: str | None = None
    ) -> bool:
        """Remove one of the reader's alerts, by id or by folded phrase."""

    async def keyword_alerts(self, chat_id: int) -> list[KeywordAlertRow]: ...

    async def instant_keyword_alerts(self) -> list[KeywordAlertRow]:
        """Keyword alerts of active instant-mode readers: what a new article is matched against."""

    async def count_subscribers(self) -> dict[str, int]: ...

    async def move_chat(self, old_chat_id: int, new_chat_id: int, *, now: int) -> None:
        """A group became a supergroup: its settings, topics, alerts and queue follow it."""

    async def topic_counts(self) -> dict[str, int]:
        """Active readers per topic."""

    async def active_by_mode(self) -> dict[str, int]:
        """Active readers per mode ('instant', 'digest'); a mode no one uses is left out."""


class OutboxStore(Protocol):
    """Every pushed message, one row per (chat, message): claimed, sent or failed."""

    async def enqueue(
        self,
        *,
        chat_id: int,
        kind: str,
        priority: int,
        dedup_key: str,
        payload: Mapping[str, Any] | None,
        now: int,
        article_id: int | None = None,
        broadcast_id: int | None = None,
    ) -> bool:
        """Queue one message; False when (chat, dedup_key) was queued before."""

    async def claim_due(
        self, *, now: int, limit: int, holder: str = LOCAL_HOLDER, ttl: int = CLAIM_TTL
    ) -> list[OutboxRow]:
        """Take up to limit due rows, best priority first, and mark them 'sending' by
        holder until now + ttl.

        A row whose claim expired (its holder stopped renewing it) is due again. A
        row is left alone while another holder has a row of its chat in flight or
        sent it one within the last second (a minute for a group), so Telegram's
        per-chat limits hold across processes.
        """

    async def renew_claims(self, *, holder: str, until: int) -> int:
        """The holder is still at work: the claims on its rows in flight last until
        `until`. Returns how many rows it holds."""

    async def claim_holders(self, *, now: int) -> list[str]:
        """Who holds unexpired claims on rows in flight, sorted."""

    async def release_holder(self, holder: str) -> int:
        """A holder known to be dead (its process is gone): its rows in flight go back
        to the queue at once instead of when their claims expire."""

    async def mark_sent(self, row_id: int, *, message_id: int | None, now: int) -> None: ...

    async def mark_sent_many(self, sent: Sequence[tuple[int, int | None]], *, now: int) -> None:
        """Mark several rows sent in one transaction: (row id, Telegram message id) pairs."""

    async def mark_failed(
        self, row_id: int, reason: str, *, kind: FailureKind, now: int
    ) -> None: ...

    async def retry_later(self, row_id: int, reason: str, *, not_before: int) -> None: ...

    async def release(self, row_ids: Sequence[int]) -> None:
        """Claimed rows that were never sent go back to the queue as they were."""

    async def postpone(self, row_ids: Sequence[int], reason: str, *, not_before: int) -> None:
        """Claimed rows that could not be tried (the Bot API is down) wait, their try
        not counted: an outage of hours must not use up a message's attempts."""

    async def pending(self, *, limit: int = 100) -> list[OutboxRow]:
        """Pending rows in the order the sender will take them."""

    async def rows_for_chat(self, chat_id: int) -> list[OutboxRow]: ...

    async def counts_by_status(self) -> dict[str, int]: ...

    async def sent_since(self, since: int) -> int: ...

    async def sent_per_period(self, bounds: Sequence[int]) -> list[int]:
        """Messages sent in each period: like ArticleStore.stored_per_period, counting
        rows marked sent with finished_at in [bounds[i], bounds[i + 1])."""

    async def backlog(self, *, now: int) -> dict[str, tuple[int, int | None]]:
        """Pending rows by kind: (how many, the earliest not_before among those already
        due at now, or None when none is due yet). A kind with no pending row is left out.

        Read at every metrics scrape: it must stay cheap on a large outbox (only
        pending rows, which an index holds, are read).
        """


class DigestStore(Protocol):
    """Daily digests: who is due, what they cover, queued once per reader and day."""

    async def digest_timezones(self) -> list[str]: ...

    async def due_readers(
        self, *, timezone: str, local_date: str, local_hour: int, local_minute: int = 0
    ) -> list[DigestReader]:
        """Digest readers in this time zone whose time (hour and minute) has come and who
        have no digest today."""

    async def topic_articles(
        self, chat_id: int, *, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] in the reader's topics, newest first,
        minus those whose story was already pushed to the reader (as alerts, from any
        outlet); several articles of one story are all returned, story_id telling them."""

    async def phrase_articles(
        self, words: Sequence[str], *, chat_id: int, since: int, until: int, limit: int
    ) -> list[ArticleRow]:
        """Articles first seen in (since, until] holding these folded words as a phrase,
        minus those whose story was already pushed to the reader."""

    async def reader(self, chat_id: int) -> DigestReader | None:
        """The active reader as a digest sees them (None: no such active reader)."""

    async def queue_now(self, chat_id: int, *, parts: Sequence[str], now: int) -> None:
        """Queue a digest asked for now, and start the next one from now, together."""

    async def record_digest(
        self,
        chat_id: int,
        *,
        local_date: str,
        parts: Sequence[str],
        article_count: int,
        now: int,
    ) -> bool:
        """Queue a reader's digest for the day, once. False when it was already recorded.

        The digests row, the reader's last_digest_on and the outbox rows commit
        together, so a crash can neither lose a digest nor queue it twice.
        """


class BroadcastStore(Protocol):
    """Admin broadcasts: drafts, recipients queued at once, progress."""

    async def create_draft(
        self,
        *,
        admin_id: int,
        text: str,
        parse_mode: str | None,
        topic: str | None,
        now: int,
        audience: str = "readers",
    ) -> int:
        """audience: 'readers', 'all' (readers and destinations) or 'destinations'."""

    async def get(self, broadcast_id: int) -> BroadcastRow | None: ...

    async def active(self) -> list[BroadcastRow]:
        """Broadcasts queued or sending: the ones whose progress is still being reported."""

    async def count_recipients(self, topic: str | None, *, audience: str = "readers") -> int:
        """Readers (following the topic, when given) and, unless audience is 'readers',
        unpaused destinations (routed the topic, when given)."""

    async def confirm(
        self, broadcast_id: int, *, progress_chat_id: int, progress_message_id: int, now: int
    ) -> int | None:
        """Queue the broadcast to every recipient, once. None when it was not a draft.

        The status change and every outbox row commit together; the unique
        (chat, 'broadcast:<id>') key means a second confirm queues no one twice.
        """

    async def cancel(self, broadcast_id: int, *, now: int) -> int | None:
        """Stop a draft or a running broadcast; returns how many queued messages were dropped."""

    async def latest_running(self, admin_id: int | None = None) -> BroadcastRow | None: ...

    async def progress(self, broadcast_id: int) -> Progress:
        """Counts by outcome; blocked counts readers who left (blocked the bot, chat gone)."""

    async def set_status(self, broadcast_id: int, status: str, *, now: int) -> None: ...


class LeaseStore(Protocol):
    """Named expiring leases, so one process at a time does a kind of work."""

    async def acquire(
        self, name: str, *, holder: str, ttl: int, now: int, replacing: str | None = None
    ) -> bool:
        """Take or renew the lease; False while another holder's lease is unexpired.

        replacing names a holder known to be dead: its lease is taken at once.
        """

    async def holder(self, name: str, *, now: int) -> str | None:
        """Who holds the lease now; None when no one does."""

    async def release(self, name: str, *, holder: str) -> None: ...

    async def holders(self, prefix: str, *, now: int) -> list[str]:
        """Holders of the unexpired leases whose names start with prefix, sorted."""


class DestinationStore(Protocol):
    """Where the publisher posts: channels, groups and forum topics, each fed by topics
    and single sources. Their posts are outbox rows queued with the articles
    (ArticleStore.store), once per (destination, article)."""

    async def add(
        self, spec: DestinationSpec, *, added_by: int | None, now: int
    ) -> tuple[int, bool]:
        """A destination an admin added from Telegram. Returns (id, was it new).

        A known one (same chat and thread) keeps its topics and options; its title and
        chat type are refreshed and a pause is lifted (the bot has its rights back).
        """

    async def sync_config(
        self, specs: Sequence[DestinationSpec], *, now: int, remove_missing: bool = True
    ) -> int:
        """Make the destinations from feeds.toml match the file: new ones added, known
        ones given the file's topics, sources and options (a pause is kept), the ones
        no longer in the file removed (unless remove_missing is False: some entries
        could not be looked up this time). Those added from Telegram are left alone.
        Sources are matched by feed URL; an unknown URL is skipped. Returns how many
        were added."""

    async def get(self, destination_id: int) -> DestinationRow | None: ...

    async def find(self, chat_id: int, thread_id: int | None = None) -> DestinationRow | None: ...

    async def list_all(self) -> list[DestinationRow]:
        """Every destination, by id, with its last post time."""

    async def set_topics(self, destination_id: int, topics: Sequence[str]) -> bool:
        """Replace the destination's topics; False when there is no such destination."""

    async def set_options(
        self,
        destination_id: int,
        *,
        style: str | None = None,
        hashtags: bool | None = None,
        silent: bool | None = None,
    ) -> bool:
        """Change how it posts (None keeps an option); False when there is no such one."""

    async def pause(self, destination_id: int, reason: str, *, now: int) -> bool:
        """Stop posting there and drop its queued posts. False when it was already paused
        (or is unknown): so whoever pauses it first, alone, tells the admins."""

    async def pause_chat(self, chat_id: int, reason: str, *, now: int) -> list[int]:
        """pause() for every destination in the chat (the bot lost the whole chat);
        returns the ids this call paused."""

    async def resume(self, destination_id: int) -> bool:
        """Post there again (new articles only); False when it was not paused."""

    async def remove(self, destination_id: int) -> bool:
        """Forget the destination, its topics, sources and posts."""

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        """A group became a supergroup: its destinations and queued posts move to the new
        id. Returns how many destinations moved."""


class Snapshot(Protocol):
    """One consistent view of a database, read table by table for a copy."""

    async def count(self, table: Table) -> int: ...

    def rows(self, table: Table, *, batch: int) -> AsyncGenerator[list[TransferRow], None]:
        """The table's rows in key order, batch at a time."""


class TransferStore(Protocol):
    """Whole tables in and out, for `storage.copy` (a database moving to another backend)."""

    def snapshot(self) -> AbstractAsyncContextManager[Snapshot]:
        """A read of every table that sees one moment, however long the copy takes."""

    async def columns(self) -> dict[str, tuple[str, ...]]:
        """Each table's columns as the schema has them (a backend's own index
        columns left out), so a copy can tell a schema it does not know."""

    async def counts(self, tables: Sequence[Table]) -> dict[str, int]: ...

    async def clear(self) -> None:
        """Empty every table, leases too."""

    async def insert(self, table: Table, rows: Sequence[TransferRow]) -> None:
        """Add rows as they are, ids included, in one transaction; for articles, their
        search index too (from the folded text each row carries)."""

    async def finish(self) -> None:
        """After a copy: new ids continue after the largest copied, statistics refreshed."""
