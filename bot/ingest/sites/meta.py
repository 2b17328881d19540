"""What a page says about itself: Open Graph, article:*, JSON-LD, <link rel=canonical>.

Publishers fill these for social networks and search engines, so they are
more dependable than anything guessed from the visible page. Every value is
plain text or an absolute http(s) URL here; nothing is trusted further.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from bot.text.htmltext import safe_http_url
from bot.text.vietnamese import clean_line

# schema.org types a news story is published as.
ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNews",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "TechArticle",
        "ScholarlyArticle",
    }
)
# A JSON-LD block is a few kilobytes; one far larger is not worth parsing.
_MAX_JSON_LD_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class PageMeta:
    """Metadata of one page; None where the page says nothing usable."""

    is_article: bool  # og:type article, or a JSON-LD article object
    title: str | None
    description: str | None
    image: str | None
    published: str | None  # the raw date text, for bot.text.dates.parse_feed_date
    author: str | None
    canonical: str | None
    site_name: str | None


def read_meta(tree: LexborHTMLParser, *, page_url: str | None) -> PageMeta:
    ld = _json_ld_article(tree)
    og_type = (_meta(tree, "og:type") or "").lower()

    def ld_text(key: str) -> str | None:
        return _text_value(ld.get(key)) if ld else None

    return PageMeta(
        is_article=og_type == "article" or ld is not None or _has(tree, '[itemprop="articleBody"]'),
        title=_first(_meta(tree, "og:title"), ld_text("headline"), _meta(tree, "twitter:title")),
        description=_first(
            _meta(tree, "og:description"),
            _meta(tree, "description"),
            ld_text("description"),
            _meta(tree, "twitter:description"),
        ),
        image=_url(
            page_url,
            _meta(tree, "og:image"),
            _meta(tree, "og:image:url"),
            _ld_image(ld.get("image")) if ld else None,
            _meta(tree, "twitter:image"),
        ),
        published=_first(
            _meta(tree, "article:published_time"),
            ld_text("datePublished"),
            _itemprop_date(tree),
            _meta(tree, "pubdate"),
            _meta(tree, "publishdate"),
            _meta(tree, "dc.date.issued"),
            _article_time(tree),
            ld_text("dateCreated"),
        ),
        author=_first(
            _ld_author(ld.get("author")) if ld else None,
            _person(_meta(tree, "author")),
            _person(_meta(tree, "article:author")),
            _person(_itemprop_author(tree)),
        ),
        canonical=_url(
            page_url,
            _attr(tree, 'link[rel="canonical"]', "href"),
            _meta(tree, "og:url"),
            _ld_url(ld) if ld else None,
        ),
        site_name=_first(_meta(tree, "og:site_name")),
    )


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    """<meta property=name> or <meta name=name> (sites mix the two up)."""
    for attr in ("property", "name", "itemprop"):
        node = tree.css_first(f'meta[{attr}="{name}" i]')
        if node is not None:
            value = clean_line(node.attributes.get("content") or "")
            if value:
                return value
    return None


def _attr(tree: LexborHTMLParser, selector: str, name: str) -> str | None:
    node = tree.css_first(selector)
    return node.attributes.get(name) if node is not None else None


def _has(tree: LexborHTMLParser, selector: str) -> bool:
    return tree.css_first(selector) is not None


def _itemprop_date(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('[itemprop="datePublished"]')
    if node is None:
        return None
    attrs = node.attributes
    return clean_line(attrs.get("content") or attrs.get("datetime") or node.text()) or None


def _itemprop_author(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('[itemprop="author"] [itemprop="name"], [itemprop="author"]')
    if node is None:
        return None
    return node.attributes.get("content") or node.text(deep=True)


def _article_time(tree: LexborHTMLParser) -> str | None:
    # Only a <time> inside the article: the one in a page header is today's date.
    return _attr(tree, "article time[datetime]", "datetime")


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            cleaned = clean_line(value)
            if cleaned:
                return cleaned
    return None


def _url(page_url: str | None, *candidates: str | None) -> str | None:
    for candidate in candidates:
        url = safe_http_url(candidate, base_url=page_url)
        if url:
            return url
    return None


def _person(value: str | None) -> str | None:
    """A name, not a profile URL (article:author is often one)."""
    if not value or "://" in value or value.startswith("/"):
        return None
    return value


def _json_ld_article(tree: LexborHTMLParser) -> dict[str, Any] | None:
    for script in tree.css('script[type="application/ld+json" i]'):
        text = script.text(deep=True)
        if not text or len(text) > _MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            continue  # a broken block is common; the next one may be fine
        for item in _objects(data):
            if _types(item) & ARTICLE_TYPES:
                return item
    return None


def _objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Top-level objects, list members and @graph members, not deeper."""
    if depth > 3:
        return
    if isinstance(data, list):
        for item in data:
            yield from _objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        yield from _objects(data.get("@graph"), depth + 1)


def _types(item: dict[str, Any]) -> set[str]:
    raw = item.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _text_value(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ld_author(value: Any) -> str | None:
    people = value if isinstance(value, list) else [value]
    names = []
    for person in people[:5]:
        name = person.get("name") if isinstance(person, dict) else person
        if isinstance(name, str) and _person(name.strip()):
            names.append(clean_line(name))
    return ", ".join(n for n in names if n) or None


def _ld_image(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return value if isinstance(value, str) else None


def _ld_url(item: dict[str, Any]) -> str | None:
    entity = item.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    for value in (item.get("url"), entity):
        if isinstance(value, str):
            return value
    return None
