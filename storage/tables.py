"""The tables a newsbot database holds, as a copy between backends moves them.

Each backend keeps the same model in its own types (SQLite: 0/1 and JSON text;
PostgreSQL: BOOLEAN, JSONB and arrays). A copy moves rows in one neutral form,
each column's `Kind` saying which: booleans as bool, JSON documents as their
text, lists of numbers or words as Python lists. A backend's transfer store
(`storage.api.TransferStore`) turns its own values into these and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """A column's neutral form in a copy (None stays None in every kind)."""

    INT = "int"
    TEXT = "text"
    BOOL = "bool"
    JSON = "json"  # a JSON document, as text
    INTS = "ints"  # list[int]
    FLOATS = "floats"  # list[float]
    TEXTS = "texts"  # list[str]


@dataclass(frozen=True)
class Table:
    """A table as copied: its columns in order, the key rows are read in, and the
    column whose sequence hands out new ids (None: the ids are the callers')."""

    name: str
    columns: tuple[tuple[str, Kind], ...]
    key: tuple[str, ...]
    identity: str | None = None
    # Articles carry their folded search text after the columns: (search_title,
    # search_body), None when the source keeps only an index built from it.
    searchable: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


_I, _T, _B, _J = Kind.INT, Kind.TEXT, Kind.BOOL, Kind.JSON

# In an order that every foreign key points backwards: a table's rows are
# copied after those they refer to. Leases are not copied: a lease names a
# process running on the source, and the copy starts with none.
TABLES: tuple[Table, ...] = (
    Table(
        "topics",
        (
            ("slug", _T), ("name_vi", _T), ("name_en", _T), ("keywords", Kind.TEXTS),
            ("position", _I), ("aliases", Kind.TEXTS),
        ),
        key=("slug",),
    ),
    Table(
        "feeds",
        (
            ("id", _I), ("url", _T), ("name", _T), ("kind", _T), ("origin", _T),
            ("enabled", _B), ("etag", _T), ("last_modified", _T), ("body_hash", _T),
            ("ttl_minutes", _I), ("first_polled_at", _I), ("last_polled_at", _I),
            ("last_success_at", _I), ("next_poll_at", _I), ("failures", _I),
            ("last_error_kind", _T), ("last_error", _T), ("paused_at", _I),
            ("articles_total", _I), ("created_at", _I), ("article_pattern", _T),
            ("link_selector", _T), ("site_links", _J), ("recent_items", Kind.INTS),
            ("hourly_items", Kind.FLOATS),
            ("claimed_by", _T), ("claim_expires_at", _I), ("redirect_target", _T),
            ("redirect_polls", _I), ("previous_url", _T),
        ),
        key=("id",),
        identity="id",
    ),
    Table("feed_topics", (("feed_id", _I), ("topic_slug", _T)), key=("feed_id", "topic_slug")),
    Table(
        "articles",
        (
            ("id", _I), ("feed_id", _I), ("item_key", _T), ("url", _T), ("title", _T),
            ("summary", _T), ("content_text", _T), ("author", _T), ("image_url", _T),
            ("published_at", _I), ("fetched_at", _I), ("updated_at", _I), ("story_id", _I),
            ("canonical_url", _T),
        ),
        key=("id",),
        identity="id",
        searchable=True,
    ),
    Table(
        "article_sources",
        (("feed_id", _I), ("item_key", _T), ("article_id", _I)),
        key=("feed_id", "item_key"),
    ),
    Table(
        "article_topics",
        (("article_id", _I), ("topic_slug", _T)),
        key=("article_id", "topic_slug"),
    ),
    Table(
        "subscribers",
        (
            ("chat_id", _I), ("chat_type", _T), ("language", _T), ("timezone", _T),
            ("mode", _T), ("digest_hour", _I), ("quiet_start", _I), ("quiet_end", _I),
            ("active", _B), ("blocked_at", _I), ("inactive_reason", _T),
            ("last_digest_on", _T), ("created_at", _I), ("updated_at", _I),
            ("digest_since", _I), ("digest_minute", _I), ("silent_alerts", _T),
        ),
        key=("chat_id",),
    ),
    Table(
        "topic_subscriptions",
        (("chat_id", _I), ("topic_slug", _T), ("created_at", _I)),
        key=("chat_id", "topic_slug"),
    ),
    Table(
        "keyword_alerts",
        (("id", _I), ("chat_id", _I), ("phrase", _T), ("folded", _T), ("created_at", _I)),
        key=("id",),
        identity="id",
    ),
    Table(
        "broadcasts",
        (
            ("id", _I), ("admin_id", _I), ("text", _T), ("parse_mode", _T),
            ("topic_slug", _T), ("status", _T), ("progress_chat_id", _I),
            ("progress_message_id", _I), ("created_at", _I), ("confirmed_at", _I),
            ("finished_at", _I), ("audience", _T),
        ),
        key=("id",),
        identity="id",
    ),
    Table(
        "destinations",
        (
            ("id", _I), ("chat_id", _I), ("thread_id", _I), ("chat_type", _T), ("title", _T),
            ("origin", _T), ("style", _T), ("hashtags", _B), ("silent", _B), ("added_by", _I),
            ("paused_at", _I), ("pause_reason", _T), ("created_at", _I),
        ),
        key=("id",),
        identity="id",
    ),
    Table(
        "destination_topics",
        (("destination_id", _I), ("topic_slug", _T)),
        key=("destination_id", "topic_slug"),
    ),
    Table(
        "destination_feeds",
        (("destination_id", _I), ("feed_id", _I)),
        key=("destination_id", "feed_id"),
    ),
    Table(
        "digests",
        (("chat_id", _I), ("local_date", _T), ("created_at", _I), ("articles", _I)),
        key=("chat_id", "local_date"),
    ),
    Table(
        "outbox",
        (
            ("id", _I), ("chat_id", _I), ("kind", _T), ("priority", _I), ("dedup_key", _T),
            ("article_id", _I), ("broadcast_id", _I), ("payload", _J), ("status", _T),
            ("attempts", _I), ("not_before", _I), ("last_error", _T),
            ("telegram_message_id", _I), ("created_at", _I), ("finished_at", _I),
            ("failure_kind", _T), ("keyword", _T), ("destination_id", _I),
            ("edits_message_id", _I), ("claimed_by", _T), ("claim_expires_at", _I),
        ),
        key=("id",),
        identity="id",
    ),
)  # fmt: skip

# Tables a backend keeps that a copy leaves behind on purpose: leases (above); the
# story signatures and bands, which only match articles of the last hours: the
# copy's next articles start stories of their own, as after a long pause; and the
# sealed search segments (storage.search_segments), which the copy seals anew from
# the articles' words, as their bitmaps are the backend's own.
NOT_COPIED: frozenset[str] = frozenset(
    {"leases", "story_signatures", "story_bands", "search_segments", "search_words",
     "search_edits"}
)  # fmt: skip
