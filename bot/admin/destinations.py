"""Destinations from Telegram: what happens when an admin makes the bot an administrator
of a channel or group, routes a forum topic, or lists, pauses, resumes and removes
destinations. Handlers call these and render the outcome."""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.posts import label, queue_pause_notice
from bot.readers.service import find_topic
from bot.text.dates import format_local
from bot.text.i18n import t
from bot.text.vietnamese import clean_line
from storage import Database
from storage.rows import DestinationRow as DestinationRow
from storage.rows import DestinationSpec, Priority, TopicRow

# Chat types a destination can be; a private chat is a reader, never a destination.
DESTINATION_TYPES = frozenset({"channel", "group", "supergroup"})


async def bot_promoted(
    db: Database,
    *,
    chat_id: int,
    chat_type: str,
    title: str,
    user_id: int,
    admin_ids: Collection[int],
    now: int,
) -> DestinationRow | None:
    """The bot was made an administrator of a channel or group. When one of the bot's
    admins did it, the chat becomes a destination (with no topics yet: nothing is
    posted until the admin picks some). None when it is not for us to use."""
    if user_id not in admin_ids or chat_type not in DESTINATION_TYPES:
        return None
    spec = DestinationSpec(chat_id=chat_id, chat_type=chat_type, title=clean_line(title))
    destination_id, _ = await db.destinations.add(spec, added_by=user_id, now=now)
    return await db.destinations.get(destination_id)


def lost_cause(status: str, *, chat_type: str, can_post: bool) -> str | None:
    """Why the bot can no longer post after its membership became status: 'kicked'
    (removed), 'rights' (a channel's member, a restricted group member), or None."""
    if status in ("left", "kicked"):
        return "kicked"
    if status == "member" and chat_type == "channel":
        return "rights"  # in a channel only administrators post
    if status == "restricted" and not can_post:
        return "rights"
    return None


async def bot_demoted(
    db: Database,
    *,
    chat_id: int,
    status: str,
    chat_type: str,
    can_post: bool,
    admin_ids: Collection[int],
    language: str,
    now: int,
) -> list[int]:
    """The bot was removed from the chat or lost the right to post there: every
    destination there pauses and the admins are told. Returns the ids paused."""
    cause = lost_cause(status, chat_type=chat_type, can_post=can_post)
    if cause is None:
        return []
    detail = f"bot is now {status} in the chat"
    paused = await db.destinations.pause_chat(chat_id, f"{cause}: {detail}", now=now)
    for destination_id in paused:
        row = await db.destinations.get(destination_id)
        if row is not None:
            await queue_pause_notice(
                db, row, cause=cause, detail=detail, admin_ids=admin_ids, language=language, now=now
            )
    return paused


async def route_thread(
    db: Database,
    *,
    chat_id: int,
    thread_id: int,
    title: str,
    words: str,
    user_id: int,
    now: int,
) -> tuple[DestinationRow | None, list[str]]:
    """/route inside a forum topic: that topic becomes a destination; the topics named
    in words (slugs or names, separated by commas) are routed to it, besides those it
    had. Returns the destination and the words that named no topic; when some did,
    nothing is changed (and the destination is None unless it existed)."""
    topics = await db.feeds.list_topics()
    chosen, unknown = parse_topics(words, topics)
    if unknown:
        return await db.destinations.find(chat_id, thread_id), unknown
    destination_id, _ = await db.destinations.add(
        DestinationSpec(chat_id, "supergroup", clean_line(title), thread_id=thread_id),
        added_by=user_id,
        now=now,
    )
    current = await db.destinations.get(destination_id)
    if chosen and current is not None:
        await db.destinations.set_topics(destination_id, sorted(set(current.topics) | set(chosen)))
    row = await db.destinations.get(destination_id)
    assert row is not None
    return row, []


def parse_topics(words: str, topics: Sequence[TopicRow]) -> tuple[list[str], list[str]]:
    """Topic slugs named in words: "Thế giới", "kinh-te the-gioi" or "Kinh tế, Thế giới"."""
    whole = find_topic(topics, words.strip().replace("-", " ")) if words.strip() else None
    if whole is not None:
        return [whole.slug], []
    parts = [p.strip() for p in words.split(",")] if "," in words else words.split()
    chosen: list[str] = []
    unknown: list[str] = []
    for part in filter(None, parts):
        topic = find_topic(topics, part.replace("-", " "))
        if topic is None:
            unknown.append(part)
        elif topic.slug not in chosen:
            chosen.append(topic.slug)
    if unknown and not chosen:
        unknown = [words.strip()]  # nothing matched: the words as typed, not in pieces
    return chosen, unknown


async def toggle_topic(db: Database, destination_id: int, slug: str) -> DestinationRow | None:
    """Route the topic to the destination, or stop routing it. None when either is unknown."""
    row = await db.destinations.get(destination_id)
    if row is None or slug not in {topic.slug for topic in await db.feeds.list_topics()}:
        return None
    chosen = set(row.topics) ^ {slug}
    await db.destinations.set_topics(destination_id, sorted(chosen))
    return await db.destinations.get(destination_id)


async def toggle_option(db: Database, destination_id: int, option: str) -> DestinationRow | None:
    """Flip one way of posting: 'style' (photo ↔ text), 'hashtags' or 'silent'. None when
    the destination or the option is unknown."""
    row = await db.destinations.get(destination_id)
    if row is None:
        return None
    if option == "style":
        await db.destinations.set_options(
            destination_id, style="text" if row.style == "photo" else "photo"
        )
    elif option == "hashtags":
        await db.destinations.set_options(destination_id, hashtags=not row.hashtags)
    elif option == "silent":
        await db.destinations.set_options(destination_id, silent=not row.silent)
    else:
        return None
    return await db.destinations.get(destination_id)


async def picker_notice(
    db: Database,
    destination: DestinationRow,
    *,
    chat_id: int,
    text: str,
    markup: Mapping[str, Any],
    now: int,
) -> bool:
    """Queue the topic picker for a new destination to the admin who added it (in their
    private chat), through the outbox: a message the sender delivers, or records why not."""
    return await db.outbox.enqueue(
        chat_id=chat_id,
        kind="reply",
        priority=Priority.REPLY,
        dedup_key=f"destination-added:{destination.id}:{now}",
        payload={"text": text, "parse_mode": "HTML", "reply_markup": markup},
        now=now,
    )


def kind_label(destination: DestinationRow, language: str) -> str:
    kind = "topic" if destination.thread_id else destination.chat_type
    return t(language, f"destination.kind_{kind}")


def listing(destinations: Sequence[DestinationRow], names: dict[str, str], language: str) -> str:
    """Every destination: its number, name, kind, topics, last post and pause reason."""
    if not destinations:
        return t(language, "destination.none")
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    lines = [t(language, "destination.list_header")]
    for d in destinations:
        topics = ", ".join(html.escape(names.get(s, s)) for s in d.topics) or t(
            language, "destination.no_topics"
        )
        if d.feed_ids:
            topics += " · " + t(language, "destination.sources", count=len(d.feed_ids))
        last = (
            format_local(datetime.fromtimestamp(d.last_post_at, UTC), tz=tz, language=language)
            if d.last_post_at
            else t(language, "destination.never_posted")
        )
        line = t(
            language,
            "destination.list_line",
            id=d.id,
            name=label(d),
            kind=kind_label(d, language),
            last=last,
        )
        line += f"\n   {topics}"
        if d.paused_at is not None:
            line += "\n   " + t(
                language, "destination.paused_line", reason=pause_explanation(d, language)
            )
        lines.append(line)
    lines.append(t(language, "destination.list_help"))
    return "\n\n".join(lines)


def pause_explanation(destination: DestinationRow, language: str) -> str:
    """The stored reason ("rights: Bad Request: …") in the admin's words."""
    cause, _, _ = (destination.pause_reason or "").partition(":")
    key = f"destination.cause_{cause}"
    if cause in ("kicked", "rights", "not_found", "topic_closed", "topic_deleted", "admin"):
        return t(language, key)
    return destination.pause_reason or "?"


async def pause(db: Database, destination_id: int, *, now: int) -> bool:
    return await db.destinations.pause(destination_id, "admin: paused by an admin", now=now)


async def resume(db: Database, destination_id: int) -> bool:
    return await db.destinations.resume(destination_id)


async def remove(db: Database, destination_id: int) -> bool:
    return await db.destinations.remove(destination_id)


async def find(db: Database, destination_id: int) -> DestinationRow | None:
    return await db.destinations.get(destination_id)


async def all_destinations(db: Database) -> list[DestinationRow]:
    return await db.destinations.list_all()
