"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org, `application/feed+json`), read into the
shape feedparser gives RSS and Atom, so `bot.ingest.parse` treats every item alike.

feedparser 6.0 reads no JSON. The format is small: a top-level object whose
`version` names the spec, and `items`, each with an `id` (an identifier, never
a link), an optional `url`, `title`, `content_html`/`content_text`, `summary`,
`image`, `date_published` (RFC 3339) and `authors` (1.1) or `author` (1.0).
Text fields are plain text, so they are escaped before the HTML reader sees them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_VERSION_PREFIX = "https://jsonfeed.org/version/"


@dataclass(frozen=True, slots=True)
class JsonFeed:
    feed: dict[str, Any]  # feedparser's `feed`: title, link, ttl
    entries: list[dict[str, Any]]  # feedparser's `entries`, with the keys parse reads


def looks_like_json(body: bytes, headers: Mapping[str, str]) -> bool:
    """A JSON document by its Content-Type, or by its first character when the server
    labels it text/plain or nothing at all."""
    content_type = headers.get("content-type", "").lower()
    if "json" in content_type:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_json_feed(body: bytes) -> JsonFeed | None:
    """The feed and its items, or None when the bytes are not a JSON Feed."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(_VERSION_PREFIX):
        return None
    items = doc.get("items")
    entries = (
        [_entry(item) for item in items if isinstance(item, dict)]
        if isinstance(items, list)
        else []
    )
    feed = {"title": _text(doc.get("title")), "link": _text(doc.get("home_page_url"))}
    return JsonFeed(feed, entries)


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": _text(item.get("id")),
        "guidislink": False,
        "link": _text(item.get("url")) or _text(item.get("external_url")),
        "title": html.escape(_text(item.get("title"))),
        "title_detail": {"type": "text/html"},
        "summary": html.escape(_text(item.get("summary"))),
        "published": _text(item.get("date_published")) or None,
        "updated": _text(item.get("date_modified")) or None,
        "author": _author(item),
    }
    content = _text(item.get("content_html")) or html.escape(_text(item.get("content_text")))
    if content:
        entry["content"] = [{"value": content}]
    image = _text(item.get("image")) or _text(item.get("banner_image"))
    if image:
        entry["media_content"] = [{"url": image, "medium": "image"}]
    attachments = item.get("attachments")
    if isinstance(attachments, list):
        entry["enclosures"] = [
            {"href": _text(a.get("url")), "type": _text(a.get("mime_type"))}
            for a in attachments
            if isinstance(a, dict)
        ]
    return entry


def _author(item: dict[str, Any]) -> str:
    authors = item.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return _text(authors[0].get("name"))
    author = item.get("author")
    return _text(author.get("name")) if isinstance(author, dict) else ""


def _text(value: object) -> str:
    # Ids may be numbers in the wild ("id": 12345); anything else structured is no text.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)
