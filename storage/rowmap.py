"""Database records → frozen rows, for every backend.

sqlite3.Row and asyncpg.Record are both read by column name; the columns each
backend selects are named the same, so one mapping serves both.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from storage.rows import BroadcastRow, DestinationRow, DigestReader, OutboxRow, SubscriberRow


class Record(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


OUTBOX_COLUMNS = (
    "id, chat_id, kind, priority, dedup_key, article_id, broadcast_id, payload, status, attempts,"
    " keyword, destination_id, edits_message_id, claimed_by"
)
BROADCAST_COLUMNS = """id, admin_id, text, parse_mode, topic_slug, status, progress_chat_id,
    progress_message_id, created_at, audience"""


def outbox_row(r: Record) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        chat_id=r["chat_id"],
        kind=r["kind"],
        priority=r["priority"],
        dedup_key=r["dedup_key"],
        article_id=r["article_id"],
        broadcast_id=r["broadcast_id"],
        payload=json.loads(r["payload"]) if r["payload"] else None,
        status=r["status"],
        attempts=r["attempts"],
        keyword=r["keyword"],
        destination_id=r["destination_id"],
        edits_message_id=r["edits_message_id"],
        claimed_by=r["claimed_by"],
    )


def broadcast_row(r: Record) -> BroadcastRow:
    return BroadcastRow(
        id=r["id"],
        admin_id=r["admin_id"],
        text=r["text"],
        parse_mode=r["parse_mode"],
        topic_slug=r["topic_slug"],
        status=r["status"],
        progress_chat_id=r["progress_chat_id"],
        progress_message_id=r["progress_message_id"],
        created_at=r["created_at"],
        audience=r["audience"],
    )


def subscriber_row(r: Record) -> SubscriberRow:
    return SubscriberRow(
        chat_id=r["chat_id"],
        chat_type=r["chat_type"],
        language=r["language"],
        timezone=r["timezone"],
        mode=r["mode"],
        digest_hour=r["digest_hour"],
        quiet_start=r["quiet_start"],
        quiet_end=r["quiet_end"],
        active=bool(r["active"]),  # SQLite keeps booleans as 0 and 1
        inactive_reason=r["inactive_reason"],
        last_digest_on=r["last_digest_on"],
        digest_minute=r["digest_minute"],
        silent_alerts=r["silent_alerts"],
    )


def digest_reader(r: Record) -> DigestReader:
    return DigestReader(
        r["chat_id"],
        r["language"],
        r["timezone"],
        r["digest_hour"],
        r["last_at"],
        r["digest_minute"],
    )


DESTINATION_COLUMNS = """d.id, d.chat_id, d.thread_id, d.chat_type, d.title, d.origin, d.style,
    d.hashtags, d.silent, d.added_by, d.paused_at, d.pause_reason, d.created_at"""


def destination_row(
    r: Record, topics: tuple[str, ...], feed_ids: tuple[int, ...], last_post_at: int | None
) -> DestinationRow:
    return DestinationRow(
        id=r["id"],
        chat_id=r["chat_id"],
        thread_id=r["thread_id"] or None,  # 0 in the table: the whole chat
        chat_type=r["chat_type"],
        title=r["title"],
        origin=r["origin"],
        style=r["style"],
        hashtags=bool(r["hashtags"]),
        silent=bool(r["silent"]),
        added_by=r["added_by"],
        paused_at=r["paused_at"],
        pause_reason=r["pause_reason"],
        created_at=r["created_at"],
        topics=topics,
        feed_ids=feed_ids,
        last_post_at=last_post_at,
    )
