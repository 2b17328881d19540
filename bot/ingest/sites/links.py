"""A section (listing) page → the article links on it.

Only links on the listing's own site (www. or not), resolved, stripped of
tracking parameters and fragments, deduplicated in page order, and only
those an article pattern accepts: Vietnamese CMSs give article URLs a
numeric id (`-d208979.html`, `-4567890.html`, `/post123.html`,
`-20240625123456789.htm`) that section, tag, login and paging URLs lack.
An operator may narrow the links with a CSS selector instead, or give the
source its own pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import regex
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from bot.ingest.sites.page import decode_html, parse_html
from bot.text.htmltext import safe_http_url

DEFAULT_ARTICLE_PATTERN = r"(?:-d\d+|-\d{5,}|[/-]post\d+|\d{6,})\.html?(?:[?#]|$)"
# A listing with more links than this is a sitemap, not a section page.
MAX_LINKS = 300
# Patterns come from an operator; a time limit still keeps a careless one cheap.
_MATCH_TIMEOUT = 0.05


class PatternError(ValueError):
    """An article pattern or link selector that cannot be used; the message says why."""


def compile_pattern(pattern: str | None) -> regex.Pattern[str]:
    """The source's article pattern (the default when None). Raises PatternError."""
    try:
        return regex.compile(pattern or DEFAULT_ARTICLE_PATTERN)
    except regex.error as exc:
        raise PatternError(f"article pattern {pattern!r} is not a valid regex ({exc})") from None


def check_selector(selector: str) -> None:
    """Raise PatternError when selectolax cannot read the CSS selector."""
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except (SelectolaxError, ValueError):
        raise PatternError(f"link selector {selector!r} is not a valid CSS selector") from None


def is_article_url(url: str, pattern: str | None = None) -> bool:
    return _matches(compile_pattern(pattern), url)


def find_article_links(
    tree: LexborHTMLParser,
    *,
    page_url: str | None,
    pattern: str | None = None,
    selector: str | None = None,
) -> list[str]:
    """Article links of a listing page, absolute, in page order.

    With a selector and no pattern the selector alone decides (the operator
    chose the links); otherwise the pattern (or the default) must match.
    Without page_url (a saved file) the page's <base>, canonical or og:url
    stands in, and links stay relative-free only if one of those exists.
    """
    base = _base_url(tree, page_url)
    if base is None:
        return []
    site = site_of(base)
    own = _without_fragment(base)
    compiled = compile_pattern(pattern) if pattern or not selector else None
    found: list[str] = []
    seen: set[str] = set()
    for anchor in _anchors(tree, selector):
        url = safe_http_url(anchor.attributes.get("href"), base_url=base)
        if url is None:
            continue
        url = _without_fragment(url)
        if url in seen or url == own or site_of(url) != site:
            continue
        if compiled is not None and not _matches(compiled, url):
            continue
        seen.add(url)
        found.append(url)
        if len(found) >= MAX_LINKS:
            break
    return found


def site_of(url: str) -> str:
    """The host a link must share with its listing: lower case, without "www."."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _anchors(tree: LexborHTMLParser, selector: str | None) -> list[LexborNode]:
    if not selector:
        return tree.css("a[href]")
    try:
        chosen = tree.css(selector)
    except (SelectolaxError, ValueError):
        return []
    anchors: list[LexborNode] = []
    for node in chosen:
        # A selector may name the links themselves or the boxes that hold them.
        anchors.extend([node] if node.tag == "a" else node.css("a[href]"))
    return anchors


def _base_url(tree: LexborHTMLParser, page_url: str | None) -> str | None:
    declared = tree.css_first("base[href]")
    hint = declared.attributes.get("href") if declared is not None else None
    if page_url is not None:
        return safe_http_url(hint, base_url=page_url) or page_url
    for candidate in (
        hint,
        _attr(tree, 'link[rel="canonical"]', "href"),
        _attr(tree, 'meta[property="og:url"]', "content"),
    ):
        url = safe_http_url(candidate)
        if url is not None:
            return url
    return None


def _attr(tree: LexborHTMLParser, selector: str, name: str) -> str | None:
    node = tree.css_first(selector)
    return node.attributes.get(name) if node is not None else None


def _without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _matches(pattern: regex.Pattern[str], url: str) -> bool:
    try:
        return pattern.search(url, timeout=_MATCH_TIMEOUT) is not None
    except TimeoutError:
        return False


def read_listing(
    body: bytes,
    *,
    headers: Mapping[str, str] | None,
    url: str | None,
    pattern: str | None = None,
    selector: str | None = None,
) -> list[str]:
    """find_article_links on raw bytes; pure, so the poller runs it in its workers."""
    tree = parse_html(decode_html(body, headers))
    return find_article_links(tree, page_url=url, pattern=pattern, selector=selector)
