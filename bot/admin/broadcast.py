"""Admin broadcasts: draft → preview → confirm (queue everyone in one transaction) →
progress reported by editing one message → final report.

The recipients' rows live in the outbox, so a restart mid-broadcast resumes
where it stopped and the unique (chat, 'broadcast:<id>') key means no one
gets it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import sleep_or_stop
from bot.delivery.render import MESSAGE_LIMIT, utf16_len
from bot.delivery.sender import Sender
from bot.readers.service import find_topic, topic_name
from bot.text.i18n import t
from bot.text.vietnamese import fold
from storage import Database
from storage.rows import BroadcastRow, Progress, TopicRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Draft:
    broadcast_id: int
    recipients: int
    topic: TopicRow | None
    text: str  # the announcement as it will be sent (Telegram HTML)
    audience: str = "readers"  # 'readers', 'all' (and destinations), 'destinations'


@dataclass(frozen=True, slots=True)
class Cancelled:
    broadcast_id: int
    dropped: int  # queued messages that will not be sent


class BroadcastError(ValueError):
    """The admin's request cannot become a broadcast; the message key says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


# A topic's name runs to at most this many words after the "#".
_TOPIC_WORDS = 4


def split_topic(text_html: str, topics: Sequence[TopicRow]) -> tuple[TopicRow | None, str]:
    """A leading "#slug" or "#Tên chủ đề" (spaces and accents as typed, or none)
    picks one topic's readers; the longest name that matches wins."""
    text = text_html.strip()
    if not text.startswith("#") or len(text) < 2:
        return None, text
    words = text[1:].split(" ")
    for count in range(min(_TOPIC_WORDS, len(words)), 0, -1):
        named = " ".join(words[:count]).replace("-", " ").replace("_", " ")
        topic = find_topic(topics, named)
        if topic is not None:
            return topic, " ".join(words[count:]).strip()
    raise BroadcastError(
        "broadcast.unknown_topic",
        topic=words[0],
        topics=", ".join(f"#{t.slug}" for t in topics) or "—",
    )


# A leading "+kênh" sends to readers and the destinations (channels, groups, forum
# topics); "@kênh" to the destinations only. Typed with or without accents.
_AUDIENCES = {"+kenh": "all", "@kenh": "destinations"}


def split_audience(text_html: str) -> tuple[str, str]:
    """The audience a leading "+kênh" or "@kênh" names (else readers), and the rest."""
    first, _, rest = text_html.strip().partition(" ")
    audience = _AUDIENCES.get(fold(first))
    return (audience, rest.strip()) if audience else ("readers", text_html.strip())


async def prepare(db: Database, *, admin_id: int, text_html: str, now: int) -> Draft:
    audience, text_html = split_audience(text_html)
    topic, body = split_topic(text_html, await db.feeds.list_topics())
    if not body:
        raise BroadcastError("broadcast.usage")
    if utf16_len(body) > MESSAGE_LIMIT:
        raise BroadcastError("limit.too_long", limit=MESSAGE_LIMIT)
    recipients = await db.broadcasts.count_recipients(
        topic.slug if topic else None, audience=audience
    )
    if recipients == 0:
        # A preview and a Send button for an announcement no one would get mislead.
        raise BroadcastError("broadcast.no_recipients")
    broadcast_id = await db.broadcasts.create_draft(
        admin_id=admin_id,
        text=body,
        parse_mode="HTML",
        topic=topic.slug if topic else None,
        now=now,
        audience=audience,
    )
    return Draft(broadcast_id, recipients, topic, body, audience)


async def is_draft(db: Database, broadcast_id: int) -> bool:
    """Whether the broadcast still waits for its admin's Send (not sent, not cancelled)."""
    row = await db.broadcasts.get(broadcast_id)
    return row is not None and row.status == "draft"


async def recipient_count(db: Database, broadcast_id: int) -> int:
    """How many readers the broadcast goes to, counted now."""
    row = await db.broadcasts.get(broadcast_id)
    if row is None:
        return 0
    return await db.broadcasts.count_recipients(row.topic_slug, audience=row.audience)


async def start(
    db: Database,
    broadcast_id: int,
    *,
    progress_chat_id: int,
    progress_message_id: int,
    now: int,
) -> int | None:
    """Queue the confirmed broadcast to every recipient, once; progress is reported by
    editing that message. The number queued, or None when it was no longer a draft."""
    return await db.broadcasts.confirm(
        broadcast_id,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        now=now,
    )


async def cancel(db: Database, broadcast_id: int | None, *, now: int) -> Cancelled | None:
    """Stop a draft or a running broadcast (None: the admin's latest running one).
    None when there is no such broadcast, or it had already finished."""
    if broadcast_id is None:
        row = await db.broadcasts.latest_running()
        if row is None:
            return None
        broadcast_id = row.id
    dropped = await db.broadcasts.cancel(broadcast_id, now=now)
    return Cancelled(broadcast_id, dropped) if dropped is not None else None


def progress_text(row: BroadcastRow, progress: Progress, language: str) -> str:
    key = "broadcast.done" if progress.finished else "broadcast.progress"
    if row.status == "cancelled":
        key = "broadcast.cancelled_report"
    return t(
        language,
        key,
        id=row.id,
        sent=progress.sent,
        total=progress.total,
        blocked=progress.blocked,
        failed=progress.failed,
        pending=progress.pending,
    )


async def report_progress(
    db: Database, sender: Sender, *, now: int, language_of: Callable[[int], Awaitable[str]]
) -> int:
    """Edit each running broadcast's progress message; close the finished ones.

    Returns how many broadcasts are still running.
    """
    running = 0
    for row in await db.broadcasts.active():
        progress = await db.broadcasts.progress(row.id)
        language = await language_of(row.admin_id)
        if progress.finished:
            await db.broadcasts.set_status(row.id, "done", now=now)
        else:
            running += 1
            if row.status == "queued" and progress.sent:
                await db.broadcasts.set_status(row.id, "sending", now=now)
        if row.progress_chat_id is not None and row.progress_message_id is not None:
            await sender.edit_text(
                row.progress_chat_id,
                row.progress_message_id,
                progress_text(row, progress, language),
            )
    return running


async def run_progress_reporter(
    db: Database,
    sender: Sender,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime],
    language_of: Callable[[int], Awaitable[str]],
    interval: float = 3.0,
) -> None:
    while not stop.is_set():
        try:
            await report_progress(db, sender, now=int(clock().timestamp()), language_of=language_of)
        except Exception:
            log.exception("broadcast progress report failed")
        await sleep_or_stop(stop, interval)


def topic_label(topic: TopicRow | None, language: str, audience: str = "readers") -> str:
    if audience == "readers":
        return topic_name(topic, language) if topic else t(language, "broadcast.everyone")
    key = (
        "broadcast.channels_only"
        if audience == "destinations"
        else "broadcast.everyone_and_channels"
    )
    whom = t(language, key)
    return f"{topic_name(topic, language)} · {whom}" if topic else whom
