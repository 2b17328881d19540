"""What `newsbot preview` needs to show a web page: is it an article or a section page?

An operator checks a new source before adding it, so the answer must match
what the poller will do: the same link rules, the same extraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

from bot.ingest.sites.links import find_article_links, is_article_url
from bot.ingest.sites.meta import PageMeta, read_meta
from bot.ingest.sites.page import decode_html, parse_html


@dataclass(frozen=True, slots=True)
class PageReading:
    kind: Literal["article", "listing"]
    links: tuple[str, ...]  # article links, for a listing
    site_name: str | None


def read_page(
    body: bytes,
    *,
    headers: Mapping[str, str] | None,
    url: str | None,
    pattern: str | None = None,
    selector: str | None = None,
) -> PageReading:
    """Classify a page that is not a feed. Pure; call it off the event loop."""
    tree = parse_html(decode_html(body, headers))
    meta = read_meta(tree, page_url=url)
    links = find_article_links(tree, page_url=url, pattern=pattern, selector=selector)
    article = _is_article(tree, meta, url, pattern, has_links=bool(links))
    return PageReading("article" if article else "listing", tuple(links), meta.site_name)


def _is_article(
    tree: LexborHTMLParser, meta: PageMeta, url: str | None, pattern: str | None, *, has_links: bool
) -> bool:
    """An article says so in its metadata, or has an article's URL, or is one
    <article> with a heading; anything else with article links is a listing.

    The links alone decide nothing: an article page links to other stories
    ("Tin khác") too.
    """
    if meta.is_article or (url is not None and is_article_url(url, pattern)):
        return True
    articles = tree.css("article")
    if len(articles) == 1 and articles[0].css_first("h1") is not None:
        return True
    return not has_links
