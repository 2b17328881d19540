"""The one place an article becomes a Telegram HTML message.

Every field that came from a feed is escaped here and nowhere else needs to.
The message is assembled from a fixed frame (title, source, time, link) and a
summary that gives way: when the whole would pass Telegram's limit, only the
summary is shortened, at a grapheme boundary, so tags stay balanced and no
surrogate pair or combining sequence is split.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import regex

from bot.dates import format_local
from bot.htmltext import safe_http_url
from bot.i18n import t
from bot.vntext import clean_line, clean_paragraphs

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
TITLE_MAX_UTF16 = 512

_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True, slots=True)
class ArticleView:
    """What the renderer needs of an article, from wherever it came."""

    title: str
    url: str
    summary: str
    source: str
    topics: tuple[str, ...]
    published_at: datetime
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    text: str
    parse_mode: str = "HTML"
    image_url: str | None = None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def truncate_utf16(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """text cut to at most limit UTF-16 units, on a grapheme cluster boundary."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ellipsis)
    used = 0
    kept: list[str] = []
    for grapheme in _GRAPHEME.findall(text):
        size = utf16_len(grapheme)
        if used + size > budget:
            break
        kept.append(grapheme)
        used += size
    return "".join(kept).rstrip() + ellipsis if budget > 0 else ""


def render_article(
    article: ArticleView,
    *,
    language: str,
    tz: ZoneInfo,
    topic_names: Mapping[str, str] | None = None,
    limit: int = MESSAGE_LIMIT,
) -> RenderedMessage:
    """The alert for one article, in the reader's language and time zone."""
    esc = html.escape
    title = truncate_utf16(clean_line(article.title), TITLE_MAX_UTF16)
    source = truncate_utf16(clean_line(article.source), 100)
    names = topic_names or {}
    topics = ", ".join(truncate_utf16(clean_line(names.get(s, s)), 60) for s in article.topics)
    when = format_local(article.published_at.astimezone(UTC), tz=tz, language=language)
    url = safe_http_url(article.url)

    head = f"<b>{esc(title)}</b>"
    meta = f"📰 {esc(source)}" + (f" · {esc(topics)}" if topics else "")
    tail_lines = [meta, f"🕒 {esc(when)}"]
    if url:
        tail_lines.append(
            f'<a href="{esc(url, quote=True)}">{esc(t(language, "article.read_more"))}</a>'
        )
    tail = "\n".join(tail_lines)

    frame = utf16_len(head) + utf16_len(tail) + 4  # two blank-line separators
    summary = clean_paragraphs(article.summary)
    text = f"{head}\n\n{tail}"
    if summary:
        room = limit - frame
        body = _fit_escaped(summary, room)
        if body:
            text = f"{head}\n\n{body}\n\n{tail}"
    return RenderedMessage(text=text, image_url=safe_http_url(article.image_url))


def _fit_escaped(text: str, room: int) -> str:
    """The escaped text, shortened until its escaped form fits in room UTF-16 units."""
    escaped = html.escape(text, quote=False)
    if utf16_len(escaped) <= room:
        return escaped
    # Escaping only grows text, so cut the raw text to room and shrink until it fits.
    limit = room
    while limit > 0:
        escaped = html.escape(truncate_utf16(text, limit), quote=False)
        if utf16_len(escaped) <= room:
            return escaped
        limit -= max(1, utf16_len(escaped) - room)
    return ""
