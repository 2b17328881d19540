"""Feed bytes → normalized entries. Pure and CPU-bound: the poller runs it in worker processes.

feedparser reads the bytes together with the response headers, so a charset
given only in Content-Type (windows-1258 is common for Vietnamese) is honoured.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from bot.ingest.canonical import canonical_url
from bot.ingest.jsonfeed import looks_like_json, read_json_feed
from bot.ingest.stories import story_fields
from bot.ingest.summary import cap_title, make_summary, search_text
from bot.ingest.topics import TopicMatcher
from bot.text.dates import parse_feed_date, sane_published_at
from bot.text.htmltext import digest_html, html_to_text, safe_http_url
from bot.text.vietnamese import clean_line, fold
from storage.rows import ArticleInput

# The index keeps enough of an article to find it by any phrase of its body;
# beyond this a feed is pasting whole books into <content:encoded>.
CONTENT_MAX_CHARS = 50_000


class NotAFeedError(ValueError):
    """The bytes are not RSS, Atom or JSON Feed (an HTML page, an error page, garbage)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    ttl_minutes: int | None
    entries: tuple[ArticleInput, ...]
    recovered_error: str | None  # feedparser's complaint when it had to recover


def parse_feed(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str | None = None,
    default_tz: str = "Asia/Ho_Chi_Minh",
    fetched_at: datetime | None = None,
    feed_topics: Sequence[str] = (),
    matcher: TopicMatcher | None = None,
) -> ParsedFeed:
    """Parse and normalize one feed document (RSS, Atom or JSON Feed). Raises NotAFeedError."""
    fetched_at = fetched_at or datetime.now(UTC)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    feed, raw_entries, recovered = _read(body, response_headers)
    tz = ZoneInfo(default_tz)
    base = safe_http_url(feed.get("link"), base_url=base_url) or base_url
    guid_counts = Counter(str(e.get("id") or "").strip() for e in raw_entries)
    entries = []
    for raw in raw_entries:
        entry = _entry(raw, guid_counts, base, tz, fetched_at, feed_topics, matcher)
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(
        title=clean_line(str(feed.get("title") or "")),
        link=base,
        ttl_minutes=_ttl(feed.get("ttl")),
        entries=tuple(_unique(entries)),
        recovered_error=recovered,
    )


def _read(body: bytes, headers: dict[str, str]) -> tuple[Any, list[Any], str | None]:
    """The feed's own fields, its raw entries and feedparser's complaint, if any."""
    if looks_like_json(body, headers):
        json_feed = read_json_feed(body)
        if json_feed is None:
            raise NotAFeedError("not a feed (JSON, but not a JSON Feed)")
        return json_feed.feed, json_feed.entries, None
    # No content-location: feedparser would resolve guids against it, and a
    # feed moving to a new URL would then change every item key.
    headers.pop("content-location", None)
    doc = feedparser.parse(
        body,
        response_headers=headers,
        sanitize_html=False,  # we reduce HTML to text ourselves; its sanitizer is wasted work
        resolve_relative_uris=False,
    )
    if not doc.get("version") and not doc.entries:
        reason = doc.get("bozo_exception")
        raise NotAFeedError(f"not an RSS or Atom feed ({reason})" if reason else "no feed found")
    recovered = str(doc.get("bozo_exception")) if doc.get("bozo") else None
    return doc.feed, list(doc.entries), recovered


def _entry(
    raw: Any,
    guid_counts: Counter[str],
    base: str | None,
    tz: ZoneInfo,
    fetched_at: datetime,
    feed_topics: Sequence[str],
    matcher: TopicMatcher | None,
) -> ArticleInput | None:
    description = str(raw.get("summary") or raw.get("description") or "")
    content_html = _content_html(raw)
    lead = digest_html(description, base_url=base)
    full = digest_html(content_html, base_url=base) if content_html else lead
    text = "" if _is_placeholder(lead.text or full.text) else lead.text or full.text
    summary = make_summary(text)
    title = _title(raw)
    if not title:
        # RSS asks only for a title or a description: without a title, the start of
        # the text; a summary that would only repeat it is left out.
        title = make_summary(text, max_chars=120)
        summary = "" if summary == title else summary
    title = cap_title(title)
    if not title:
        return None  # nothing a reader could recognise
    url = _link(raw, base) or ""  # no link: kept, and sent without one
    content_text = (full.text if len(full.text) >= len(lead.text) else lead.text)[
        :CONTENT_MAX_CHARS
    ]
    published = sane_published_at(
        parse_feed_date(
            raw.get("published") or raw.get("updated") or raw.get("created"), default_tz=tz
        ),
        fetched_at=fetched_at,
    )
    topics = set(feed_topics)
    if matcher is not None:
        topics |= matcher.match(title, summary)
    author = clean_line(str(raw.get("author") or "")) or None
    signature, bands = story_fields(title, summary)
    return ArticleInput(
        item_key=_item_key(raw, guid_counts, url, title, summary),
        url=url,
        title=title,
        summary=summary,
        content_text=content_text,
        author=author,
        image_url=_image(raw, base) or lead.first_image or full.first_image,
        published_at=published,
        topics=tuple(sorted(topics)),
        search_title=fold(title),
        search_body=fold(search_text(summary, content_text)),
        story_signature=signature,
        story_bands=bands,
        canonical_url=canonical_url(url) if url else None,
    )


# What CMSs write into an empty description; as a headline it would tell a reader nothing.
_PLACEHOLDERS = frozenset({"no description", "no title", "untitled", "không có mô tả", "null"})


def _is_placeholder(text: str) -> bool:
    return text.strip().casefold() in _PLACEHOLDERS


def _link(raw: Any, base: str | None) -> str | None:
    """The item's link: its <link>, or a permalink guid, never an identifier made one.

    feedparser copies a guid into `link` when the item has no <link> and the
    guid is not marked isPermaLink="false"; such a guid is a link only when it
    is an absolute http(s) URL ("12345" resolved against the site would be a
    made-up address). javascript:, data: and file: links are none at all.
    """
    link = str(raw.get("link") or "")
    if raw.get("guidislink") and link == str(raw.get("id") or ""):
        return safe_http_url(link)
    return safe_http_url(link, base_url=base)


def _title(raw: Any) -> str:
    title = str(raw.get("title") or "")
    detail = raw.get("title_detail") or {}
    if "html" in str(detail.get("type", "")) or "<" in title or "&" in title:
        title = html_to_text(title)
    return clean_line(title)


def _content_html(raw: Any) -> str:
    contents = raw.get("content") or []
    return "\n".join(str(c.get("value") or "") for c in contents)


def _item_key(raw: Any, guid_counts: Counter[str], url: str, title: str, summary: str) -> str:
    """The guid when it identifies one item in this document, else the link, else a hash.

    A guid is an identifier whatever it looks like (isPermaLink="false", "12345",
    "miss-c"). Some CMSs give every item the same guid (or the channel URL);
    trusting that would merge distinct stories into one.
    """
    guid = clean_line(str(raw.get("id") or ""))
    if guid and guid_counts[guid] == 1:
        return guid
    if url:
        return url
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    return f"sha256:{digest}"


def _image(raw: Any, base: str | None) -> str | None:
    candidates: list[str] = []
    for media in raw.get("media_content") or []:
        if str(media.get("medium", "image")) == "image" or "image" in str(media.get("type", "")):
            candidates.append(str(media.get("url") or ""))
    for thumb in raw.get("media_thumbnail") or []:
        candidates.append(str(thumb.get("url") or ""))
    for enclosure in raw.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/"):
            candidates.append(str(enclosure.get("href") or ""))
    for candidate in candidates:
        url = safe_http_url(candidate, base_url=base)
        if url:
            return url
    return None


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _unique(entries: list[ArticleInput]) -> list[ArticleInput]:
    """Keep the first entry of each key (a feed listing one story twice)."""
    seen: set[str] = set()
    result = []
    for entry in entries:
        if entry.item_key not in seen:
            seen.add(entry.item_key)
            result.append(entry)
    return result
