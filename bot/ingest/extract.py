"""An article page → the same `ArticleInput` a feed item becomes. Pure and CPU-bound:
the poller runs it in its worker processes, like parse_feed.

The page's own metadata comes first (Open Graph, article:*, JSON-LD,
canonical: see bot.ingest.sites.meta). The main text comes from trafilatura, whose
boilerplate removal is tuned on a large corpus of real news pages and drops
headers, menus, share bars, figure captions and "related stories" boxes far
better than rules we could keep by hand. A few small rules of ours then
remove what Vietnamese templates still leave in it: the title repeated,
date lines, bare caption numbers ("16.11"), copy/share buttons, the author
line at the end and anything after a "Tin khác" heading. Dates are read with
bot.text.dates (never a general-purpose guesser), and on the visible page only
after the title: the date line above it ("Thứ ba, 25/06/2024") is today's
date in the page header, not the article's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import regex
import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.ingest.canonical import canonical_url, same_site
from bot.ingest.parse import CONTENT_MAX_CHARS
from bot.ingest.sites.meta import PageMeta, read_meta
from bot.ingest.sites.page import decode_html, parse_html
from bot.ingest.stories import story_fields
from bot.ingest.summary import cap_title, make_summary, search_text
from bot.ingest.topics import TopicMatcher
from bot.text.dates import parse_feed_date, sane_published_at
from bot.text.htmltext import HtmlDigest, digest_html, html_to_text
from bot.text.vietnamese import clean_line, clean_paragraphs, fold
from storage.rows import ArticleInput

# Lines that are buttons and share bars, compared folded and without punctuation.
_CHROME_LINES = frozenset(
    {
        "click de copy", "copy", "copy link", "sao chep", "sao chep lien ket", "chia se",
        "chia se bai viet", "in", "in bai viet", "luu", "luu bai viet", "gui", "gui bai viet",
        "facebook", "zalo", "twitter", "email", "share", "tweet", "like", "theo doi",
        "nghe bai viet", "google news", "phong chu", "co chu",
    }
)  # fmt: skip
# A heading after which a template lists other stories, comments or tags.
_TAIL_HEADINGS = frozenset(
    {
        "tin khac", "tin lien quan", "bai lien quan", "bai viet lien quan", "tin cung chuyen muc",
        "cung chuyen muc", "doc them", "xem them", "co the ban quan tam", "ban co the quan tam",
        "tin moi", "tin moi nhat", "tin noi bat", "doc nhieu", "doc nhieu nhat", "xem nhieu",
        "binh luan", "y kien ban doc", "gui binh luan", "tags", "tag", "tu khoa", "chu de",
    }
)  # fmt: skip
# Where Vietnamese templates put the lead ("sapo", French "chapeau"), apart from the body.
_LEAD_SELECTORS = (
    '[class*="sapo"], [class*="chapeau"], [itemprop="description"], [class*="lead"], '
    '[class*="summary"], [class*="excerpt"], [class*="description"]'
)
_MIN_LEAD = 30
_MAX_LEAD = 1000
_CUT_MARKS = ("...", "…")
_AUTHOR_SELECTORS = '[rel="author"], .author, .byline, .tac-gia, .article-author, .author-name'
_CAPTION_NUMBER = regex.compile(r"^[\d\s.,:/()\-–]{1,16}$")
_NOT_WORDS = regex.compile(r"[^\w\s]+")
_BYLINE_WORD = regex.compile(r"^(?:\p{Lu}[\p{L}.'’-]*|[-–—])$")
_PARENTHESES = regex.compile(r"\([^()]*\)")
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ")
# How far below the title a visible date line may be.
_DATE_LOOKAHEAD = 8
_MAX_DATE_LINE = 80
_MAX_BYLINE = 60


def extract_article(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    url: str | None,
    default_tz: str = "Asia/Ho_Chi_Minh",
    fetched_at: datetime | None = None,
    feed_topics: Sequence[str] = (),
    matcher: TopicMatcher | None = None,
) -> ArticleInput | None:
    """The article on a page fetched from `url` (its final URL), or None when the
    page holds no article (no title, or neither a lead nor text).

    `url` is None for a saved page (an operator's preview): the page's own
    canonical address is used, when it has one.
    """
    fetched_at = fetched_at or datetime.now(UTC)
    html = decode_html(body, headers)
    tree = parse_html(html)
    meta = read_meta(tree, page_url=url)
    title = _title(tree, meta)
    if not title:
        return None
    main = _main_node(tree)
    text = _main_text(html, url)
    # The article element as plain text: for its first image, and its text when
    # trafilatura finds none (a very short article).
    fallback = None
    if (text is None or meta.image is None) and main is not None:
        fallback = digest_html(main.html or "", base_url=url)
    lines = _clean_lines(text or (fallback.text if fallback else ""), title)
    author = meta.author or _author_element(tree)
    lines, byline = _split_byline(lines, author)
    lead = _lead(meta.description, tree.css_first("article") or main, lines)
    if lead and not any(fold(lead) in fold(line) for line in lines[:3]):
        lines.insert(0, lead)  # templates keep the lead apart, and extractors often miss it
    content_text = "\n\n".join(lines)[:CONTENT_MAX_CHARS]
    if not lead and not content_text:
        return None
    summary = make_summary(lead)
    published = sane_published_at(
        parse_feed_date(meta.published, default_tz=ZoneInfo(default_tz))
        or _visible_date(html, _title_texts(tree, title), ZoneInfo(default_tz)),
        fetched_at=fetched_at,
    )
    topics = set(feed_topics)
    if matcher is not None:
        topics |= matcher.match(title, summary)
    canonical = _canonical(meta.canonical, url)
    signature, bands = story_fields(title, summary)
    return ArticleInput(
        item_key=canonical
        or "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest(),
        url=canonical,
        title=title,
        summary=summary,
        content_text=content_text,
        author=author or byline,
        image_url=meta.image or _image(fallback),
        published_at=published,
        topics=tuple(sorted(topics)),
        search_title=fold(title),
        search_body=fold(search_text(summary, content_text)),
        story_signature=signature,
        story_bands=bands,
        canonical_url=canonical_url(canonical) if canonical else None,
    )


def _title(tree: LexborHTMLParser, meta: PageMeta) -> str:
    h1 = tree.css_first("article h1, main h1, h1")
    candidates = (meta.title, h1.text(deep=True) if h1 is not None else None, _html_title(tree))
    for candidate in candidates:
        title = _without_site_name(clean_line(candidate or ""), meta.site_name)
        if title:
            return cap_title(title)
    return ""


def _html_title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    if node is None:
        return None
    title = clean_line(node.text(deep=True))
    # "<title>Story | Site</title>": the story is the longest part.
    for separator in _TITLE_SEPARATORS:
        if separator in title:
            return max(title.split(separator), key=len).strip()
    return title


def _without_site_name(title: str, site_name: str | None) -> str:
    if not site_name:
        return title
    for separator in _TITLE_SEPARATORS:
        head, sep, tail = title.rpartition(separator)
        if sep and head and fold(tail) == fold(site_name):
            return head.strip()
    return title


def _main_node(tree: LexborHTMLParser) -> LexborNode | None:
    """The narrowest element that holds the story, by how explicitly it says so."""
    for selector in ('[itemprop="articleBody"]', "article", "main", '[role="main"]'):
        node = tree.css_first(selector)
        if node is not None:
            return node
    return tree.body


def _lead(description: str | None, region: LexborNode | None, lines: list[str]) -> str:
    """The meta description, unless missing, too short or cut ("…"); then the
    template's lead box ("sapo"); then the first paragraph of the text."""
    if description and len(description) >= _MIN_LEAD and not description.endswith(_CUT_MARKS):
        return description
    box = region.css_first(_LEAD_SELECTORS) if region is not None else None
    if box is not None:
        text = clean_line(box.text(deep=True, separator=" "))
        if _MIN_LEAD <= len(text) <= _MAX_LEAD:  # longer: a wrapper, not the lead
            return text
    return description or (lines[0] if lines else "")


def _main_text(html: str, url: str | None) -> str | None:
    text = trafilatura.extract(
        html,
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_precision=True,
        deduplicate=False,
        with_metadata=False,
    )
    return text or None


def _clean_lines(text: str, title: str) -> list[str]:
    """Paragraphs of the main text without the chrome Vietnamese templates leave in it."""
    folded_title = fold(title)
    kept: list[str] = []
    for raw in clean_paragraphs(text).split("\n"):
        line = raw.strip()
        if not line:
            continue
        key = _NOT_WORDS.sub(" ", fold(line)).split()
        words = " ".join(key)
        if kept and words.rstrip(":") in _TAIL_HEADINGS:
            break  # "Tin khác" and everything after it
        if (
            fold(line) == folded_title
            or words in _CHROME_LINES
            or words in _TAIL_HEADINGS
            or _CAPTION_NUMBER.match(line)
            or _is_date_line(line)
            or (kept and kept[-1] == line)
        ):
            continue
        kept.append(line)
    return kept


def _is_date_line(line: str) -> bool:
    if len(line) > _MAX_DATE_LINE:
        return False
    return any(
        parse_feed_date(part.strip(), default_tz=UTC) is not None for part in _date_parts(line)
    )


def _date_parts(line: str) -> list[str]:
    """The line, then its pieces around the separators bylines use ("An | 06:23, 04/06/2023")."""
    parts = [line]
    for separator in ("|", "·", "•"):
        if separator in line:
            parts.extend(line.split(separator))
    return parts


def _split_byline(lines: list[str], known: str | None) -> tuple[list[str], str | None]:
    """Remove the author line that templates put after the last paragraph.

    A name the page gives elsewhere (metadata, an author element) is removed
    when the last line says it; otherwise a short line of capitalised words is
    taken for a byline ("Khánh An", "PV", "Minh Anh (tổng hợp)").
    """
    if not lines:
        return lines, None
    last = lines[-1]
    if known and fold(known) in fold(last) and len(last) <= len(known) + 20:
        return lines[:-1], known
    if len(lines) > 1 and _looks_like_byline(last):
        return lines[:-1], last
    return lines, None


def _looks_like_byline(line: str) -> bool:
    if len(line) > _MAX_BYLINE or line[-1] in ".!?:;…," or any(ch.isdigit() for ch in line):
        return False
    words = _PARENTHESES.sub(" ", line.removeprefix("Theo ")).split()
    return 1 <= len(words) <= 6 and all(_BYLINE_WORD.match(w) for w in words)


def _author_element(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first(_AUTHOR_SELECTORS)
    if node is None:
        return None
    name = clean_line(node.text(deep=True))
    return name if 0 < len(name) <= _MAX_BYLINE else None


def _title_texts(tree: LexborHTMLParser, title: str) -> frozenset[str]:
    """The title as the page shows it, folded: og:title and the <h1> may differ."""
    h1 = tree.css_first("article h1, main h1, h1")
    shown = clean_line(h1.text(deep=True)) if h1 is not None else ""
    return frozenset(fold(t) for t in (title, shown) if t)


def _visible_date(html: str, titles: frozenset[str], tz: ZoneInfo) -> datetime | None:
    """The first date line within a few lines below the title on the visible page."""
    lines = [line for line in html_to_text(html).split("\n") if line.strip()]
    start = next((i for i, line in enumerate(lines) if fold(line) in titles), None)
    if start is None:
        return None
    for line in lines[start + 1 : start + 1 + _DATE_LOOKAHEAD]:
        if len(line) > _MAX_DATE_LINE:
            continue
        for part in _date_parts(line):
            found = parse_feed_date(part.strip(), default_tz=tz)
            if found is not None:
                return found
    return None


def _canonical(declared: str | None, url: str | None) -> str:
    """The page's canonical URL when it is on the same site; else the URL fetched.

    A canonical on another site (syndicated copies) would file the story under
    someone else's address, and a hostile page could claim any address.
    """
    if url is None:
        return declared or ""
    if declared and same_site(declared, url) and urlsplit(declared).path:
        return declared
    return url


def _image(fallback: HtmlDigest | None) -> str | None:
    return fallback.first_image if fallback is not None else None
