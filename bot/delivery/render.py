"""The one place an article becomes a Telegram HTML message.

Every field that came from a feed is escaped here and nowhere else needs to.
The message is assembled from a fixed frame (title, source, time, link) and a
summary that gives way: when the whole would pass Telegram's limit, only the
summary is shortened, at a grapheme boundary, so tags stay balanced and no
surrogate pair or combining sequence is split.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import regex
from telegram.constants import MessageLimit

from bot.text.dates import format_local, format_relative
from bot.text.htmltext import safe_http_url
from bot.text.i18n import t
from bot.text.vietnamese import clean_line, clean_paragraphs, fold
from storage.rows import ArticleRow

# Telegram's limits in UTF-16 code units, from python-telegram-bot's constants.
MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
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
    author: str | None = None


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
    now: datetime | None = None,
    keyword: str | None = None,
) -> RenderedMessage:
    """The alert for one article, in the reader's language and time zone.

    With now, the time reads "hôm nay 08:30" or "hôm qua 21:10" when it can; with
    keyword (the reader's, which the article matched), a line says why it came.
    """
    esc = html.escape
    # Frame fields are capped after escaping, which can make text six times longer,
    # and each gets a share of the limit, so the frame always fits a caption too.
    title = _fit_escaped(clean_line(article.title), min(TITLE_MAX_UTF16, limit // 4), quote=True)
    outlet = short_source(article.source)
    source = _fit_escaped(outlet, min(100, limit // 16), quote=True)
    names = topic_names or {}
    # A topic the source line already names ("VnExpress – Thời sự" · Thời sự) is not repeated.
    shown = [clean_line(names.get(s, s)) for s in article.topics]
    shown = [name for name in shown if not _names(outlet, name)]
    topics = _fit_escaped(
        ", ".join(truncate_utf16(name, 60) for name in shown), limit // 8, quote=True
    )
    author = _fit_escaped(clean_line(article.author or ""), 60, quote=True)
    published = article.published_at.astimezone(UTC)
    when = (
        format_relative(published, now=now, tz=tz, language=language)
        if now is not None
        else format_local(published, tz=tz, language=language)
    )
    url = safe_http_url(article.url)

    head = f"<b>{title}</b>"
    meta = (
        f"📰 {source}" + (f" · {topics}" if topics else "") + (f" · ✍️ {author}" if author else "")
    )
    tail_lines = [meta, f"🕒 {esc(when)}"]
    if keyword:
        why = _fit_escaped(clean_line(keyword), 100)
        tail_lines.insert(0, f"🔔 {esc(t(language, 'article.keyword'))}: {why}")
    if url:
        link = f'<a href="{esc(url, quote=True)}">{esc(t(language, "article.read_more"))}</a>'
        # Only an absurdly long URL can overflow the frame; such a message goes without it.
        if utf16_len(head) + utf16_len("\n".join([*tail_lines, link])) + 4 <= limit:
            tail_lines.append(link)
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


# A channel title's tagline: "Người quan sát | Tin tức tài chính, kinh doanh, …".
_TAGLINE = regex.compile(r"\s+[|·:]\s+.*$")


def short_source(name: str) -> str:
    """The outlet as a reader names it: the feed's title without its tagline."""
    line = clean_line(name)
    short = _TAGLINE.sub("", line).strip()
    return short or line


def _names(source: str, topic: str) -> bool:
    folded_source, folded_topic = fold(source), fold(topic)
    return bool(folded_topic) and folded_topic in folded_source


def _fit_escaped(text: str, room: int, *, quote: bool = False) -> str:
    """The escaped text, cut at a grapheme boundary with "…" so it fits in room UTF-16 units.

    Escaping is per character, so graphemes are escaped one by one and counted as
    they will be sent; "" when not even one grapheme fits.
    """
    escaped = html.escape(text, quote=quote)
    if utf16_len(escaped) <= room:
        return escaped
    budget = room - utf16_len("…")
    used = 0
    kept: list[str] = []
    for grapheme in _GRAPHEME.finditer(text):
        piece = html.escape(grapheme.group(), quote=quote)
        size = utf16_len(piece)
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    fitted = "".join(kept).rstrip()
    return fitted + "…" if fitted else ""


def render_article_list(
    header: str,
    articles: Sequence[ArticleRow],
    *,
    language: str,
    tz: ZoneInfo,
    first_number: int = 1,
    limit: int = MESSAGE_LIMIT,
) -> str:
    """A numbered list: linked title, source and local time. header is trusted HTML.

    Entries that would pass the limit are left out whole, never cut in half.
    """
    lines = [header]
    used = utf16_len(header)
    for number, article in enumerate(articles, first_number):
        title = html.escape(truncate_utf16(clean_line(article.title), 300), quote=False)
        url = safe_http_url(article.url)
        linked = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
        when = format_local(
            datetime.fromtimestamp(article.published_at, UTC), tz=tz, language=language
        )
        # A story several outlets carried is one entry naming them all.
        names = ", ".join(short_source(n) for n in (article.feed_name, *article.also_in))
        source = html.escape(truncate_utf16(names, 160), quote=False)
        entry = f"\n\n{number}. {linked}\n<i>{source} · {html.escape(when)}</i>"
        if used + utf16_len(entry) > limit:
            break
        lines.append(entry)
        used += utf16_len(entry)
    return "".join(lines)


def view_of(article: ArticleRow) -> ArticleView:
    """An article row from storage, as the renderer sees it."""
    return ArticleView(
        title=article.title,
        url=article.url,
        summary=article.summary,
        source=article.feed_name,
        topics=article.topics,
        published_at=datetime.fromtimestamp(article.published_at, UTC),
        image_url=article.image_url,
        author=article.author,
    )
