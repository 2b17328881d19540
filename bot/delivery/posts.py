"""What a destination (a channel, a group, a forum topic) gets for an outbox row: a
post that looks like a publisher's, and the notice its admins get when it is paused.

Pure rendering and queueing; sending, and every Telegram error, stay in the sender.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import regex

from bot.delivery.notices import queue_admin_notice
from bot.delivery.render import CAPTION_LIMIT, MESSAGE_LIMIT, render_article, utf16_len, view_of
from bot.text.htmltext import safe_http_url
from bot.text.i18n import t
from storage import Database
from storage.rows import ArticleRow, DestinationRow, OutboxRow

POST_LANGUAGE = "vi"  # a publisher's channel speaks its audience's language
POST_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_NOT_WORD = regex.compile(r"[^\p{L}\p{N}_]+")


@dataclass(frozen=True, slots=True)
class Post:
    """One message for a destination. With photo_url it goes as sendPhoto and text is
    the caption (within 1024 UTF-16 units); fallback is the text post to send when
    Telegram refuses the photo."""

    chat_id: int
    thread_id: int | None
    text: str
    parse_mode: str | None
    photo_url: str | None
    preview_url: str | None
    silent: bool
    fallback: Post | None = None

    def as_text(self) -> Post:
        return self.fallback or replace(self, photo_url=None)


def hashtag(name: str) -> str:
    """A topic's name as a Telegram hashtag: "Khoa học – Công nghệ" → "#KhoaHọcCôngNghệ"
    (a hashtag stops at a space or a dash, so the words are joined, each capitalised)."""
    words = [w for w in _NOT_WORD.split(name) if w]
    return "#" + "".join(w[0].upper() + w[1:] for w in words) if words else ""


def render_post(
    article: ArticleRow, destination: DestinationRow, *, topic_names: Mapping[str, str]
) -> Post:
    """The article as the destination posts it: its lead image with the message as the
    caption (style 'photo', when the image is an http(s) URL), else the message with
    a large preview of the article; topic hashtags at the end when asked for."""
    names = [topic_names.get(slug, slug) for slug in article.topics] if destination.hashtags else []
    tags = " ".join(tag for tag in map(hashtag, names) if tag)
    room = utf16_len(tags) + 2 if tags else 0

    def message(limit: int) -> str:
        rendered = render_article(
            view_of(article),
            language=POST_LANGUAGE,
            tz=POST_TZ,
            topic_names=topic_names,
            limit=limit - room,
        )
        return f"{rendered.text}\n\n{html.escape(tags, quote=False)}" if tags else rendered.text

    link = safe_http_url(article.url)
    text_post = Post(
        chat_id=destination.chat_id,
        thread_id=destination.thread_id,
        text=message(MESSAGE_LIMIT),
        parse_mode="HTML",
        photo_url=None,
        preview_url=link,
        silent=destination.silent,
    )
    image = safe_http_url(article.image_url)
    if destination.style != "photo" or image is None:
        return text_post
    return replace(text_post, text=message(CAPTION_LIMIT), photo_url=image, fallback=text_post)


def payload_post(row: OutboxRow, destination: DestinationRow) -> Post:
    """An announcement (a broadcast) for a destination: its text, as the admin wrote it."""
    assert row.payload is not None
    return Post(
        chat_id=destination.chat_id,
        thread_id=destination.thread_id,
        text=str(row.payload["text"]),
        parse_mode=row.payload.get("parse_mode"),
        photo_url=None,
        preview_url=None,
        silent=destination.silent,
    )


def label(destination: DestinationRow) -> str:
    """How admins read a destination's name: its title, and the forum topic's number."""
    name = destination.title or str(destination.chat_id)
    return f"{name} · #{destination.thread_id}" if destination.thread_id else name


async def queue_pause_notice(
    db: Database,
    destination: DestinationRow,
    *,
    cause: str,
    detail: str,
    admin_ids: Iterable[int],
    language: str,
    now: int,
) -> int:
    """Tell the bot's admins, and the admin who added it, that the destination is paused
    and why: once per pause (the key holds the destination and the pause time)."""
    text = t(
        language,
        "destination.paused_notice",
        name=label(destination),
        reason=t(language, f"destination.cause_{cause}"),
        detail=detail[:200],
        id=destination.id,
    )
    recipients = [*admin_ids, *([destination.added_by] if destination.added_by else [])]
    return await queue_admin_notice(
        db, recipients, text, dedup_key=f"destination-paused:{destination.id}:{now}", now=now
    )
