"""Sources in and out as OPML 2.0: `newsbot feeds import/export` and the admin's /import, /export.

Export writes one outline per source, nested under an outline for its first
topic (`newsbot:topic` holds the slug), with every topic in the OPML
`category` attribute. A feed is `type="rss"` with `xmlUrl`; a site source
(a section page, no feed) is `type="link"` with `url`, and keeps its kind and
link rules in attributes of our own namespace (`newsbot:kind="site"`,
`newsbot:article_pattern`, `newsbot:link_selector`), which other readers ignore.

Import reads any OPML: a source's topics are its `category` entries and the
outline it sits in, matched to the topics this bot has by slug or by name
(accents optional). The file is parsed with defusedxml (entity declarations
and external references refused: an OPML is untrusted input), at most
MAX_OPML_BYTES. Every source is checked before anything is written; what
cannot be added is reported with its reason and the rest is added.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET  # building only; parsing goes through defusedxml
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET

from bot.ingest.sites.links import PatternError, check_selector, compile_pattern
from bot.readers.service import find_topic
from bot.text.htmltext import safe_http_url, telegram_html_to_text
from bot.text.i18n import t
from bot.text.vietnamese import clean_line
from storage import Database
from storage.rows import FeedRow, FeedSpec, TopicRow

NS = "urn:newsbot:opml"
MAX_OPML_BYTES = 2 * 1024 * 1024
# More new sources than this in one file is a mistake, or a list to split up.
MAX_NEW_SOURCES = 2000
KINDS = ("feed", "site")
_MAX_NAME = 200
_MAX_SHOWN = 120  # characters of a URL or name shown in a report line
# A Telegram message holds 4096 UTF-16 units; the report stops listing well before.
_REPORT_BUDGET = 3600

ET.register_namespace("newsbot", NS)


class OpmlError(ValueError):
    """The whole file (or the topic asked for) cannot be used; key is a catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def html(self, language: str) -> str:
        return t(language, self.key, **self.values)

    def text(self, language: str) -> str:
        """The message as plain text (the command line)."""
        return telegram_html_to_text(self.html(language))


@dataclass(frozen=True, slots=True)
class Outline:
    """A source as the file gives it, before any check."""

    url: str | None
    name: str
    kind: str
    topics: tuple[str, ...]  # topic names or slugs: category entries, then the enclosing outline
    article_pattern: str | None = None
    link_selector: str | None = None

    @property
    def label(self) -> str:
        return self.url or self.name or "?"


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str  # the URL (or the name) as the file writes it
    reason: str  # a catalog key under "opml.skip."
    values: Mapping[str, str] = field(default_factory=dict)

    def html(self, language: str) -> str:
        return t(language, f"opml.skip.{self.reason}", **self.values)

    def text(self, language: str) -> str:
        return telegram_html_to_text(self.html(language))


@dataclass(frozen=True, slots=True)
class Added:
    spec: FeedSpec
    feed_id: int | None  # None in a dry run


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[Added, ...]
    skipped: tuple[Skipped, ...]
    # With a topic given: the topics the file names that this bot lacks.
    ignored_topics: tuple[str, ...]
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class OpmlExport:
    data: bytes
    filename: str
    count: int


# ---- reading ------------------------------------------------------------------------


def read_opml(data: bytes) -> list[Outline]:
    """Every source outline of an OPML document, in document order. Raises OpmlError."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError("opml.too_large", limit=MAX_OPML_BYTES // (1024 * 1024))
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True)
    except defusedxml.DefusedXmlException:
        raise OpmlError("opml.entities") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise OpmlError("opml.not_xml", line=line, column=column + 1) from None
    body = root.find("body") if root.tag == "opml" else None
    if body is None:
        raise OpmlError("opml.not_opml")
    outlines: list[Outline] = []
    # Depth-first, in document order, without recursion (a deep file is not a crash).
    stack: list[tuple[ET.Element, str | None]] = [
        (child, None) for child in reversed(body.findall("outline"))
    ]
    while stack:
        element, folder = stack.pop()
        attrs = {k.lower(): v for k, v in element.attrib.items() if not k.startswith("{")}
        children = element.findall("outline")
        name = clean_line(attrs.get("text") or attrs.get("title") or "")[:_MAX_NAME]
        source = _source(element, attrs, name, folder)
        if source is not None:
            outlines.append(source)
        inner = folder if source is not None else _ours(element, "topic") or name or folder
        stack.extend((child, inner) for child in reversed(children))
    return outlines


def _ours(element: ET.Element, name: str) -> str | None:
    value = element.get(f"{{{NS}}}{name}")
    return value.strip() if value and value.strip() else None


def _source(
    element: ET.Element, attrs: Mapping[str, str], name: str, folder: str | None
) -> Outline | None:
    """The outline as a source, or None when it is a folder (or empty)."""
    kind = _ours(element, "kind")
    xml_url = attrs.get("xmlurl", "").strip() or None
    if kind is None and xml_url is None:
        typed = attrs.get("type", "").lower() in ("rss", "atom")
        linked = bool(attrs.get("url") or attrs.get("htmlurl"))
        if (not typed and not linked) or element.find("outline") is not None:
            return None  # a folder, or an outline with nothing in it
        # A feed outline without its address, or a plain link: reported, not added.
        return Outline(None, name or attrs.get("url") or attrs.get("htmlurl") or "", "feed", ())
    kind = kind or "feed"
    # A site's address is its section page; a feed's is its feed.
    url = (attrs.get("url") or attrs.get("htmlurl") or xml_url) if kind == "site" else xml_url
    topics = _categories(attrs.get("category", ""))
    if folder:
        topics.append(folder)
    return Outline(
        url=url.strip() if url else None,
        name=name,
        kind=kind,
        topics=tuple(dict.fromkeys(topics)),
        article_pattern=_ours(element, "article_pattern"),
        link_selector=_ours(element, "link_selector"),
    )


def _categories(value: str) -> list[str]:
    """OPML's category: comma-separated, each a slash path ("/Tin tức/Kinh tế") or a tag."""
    found = []
    for part in value.split(","):
        last = part.strip().strip("/").rsplit("/", 1)[-1].strip()
        if last:
            found.append(last)
    return found


# ---- checking -----------------------------------------------------------------------


def plan_import(
    outlines: Sequence[Outline],
    topics: Sequence[TopicRow],
    known: Mapping[str, FeedRow],
    *,
    topic: TopicRow | None = None,
) -> tuple[list[FeedSpec], list[Skipped], list[str]]:
    """Which sources can be added, which cannot and why, and the topic names ignored.

    known maps the URLs already in the database to their feed. With a topic,
    every source goes in it (as well as in the file's topics this bot has), and
    topics the bot lacks are ignored; without one, a source naming a topic the
    bot lacks, or naming none, is skipped.
    """
    specs: list[FeedSpec] = []
    skipped: list[Skipped] = []
    ignored: dict[str, None] = {}
    seen: set[str] = set()
    resolved: dict[str, str | None] = {}  # topic name → slug, each name folded once
    for outline in outlines:
        label = outline.label[:_MAX_SHOWN]

        def skip(reason: str, label: str = label, **values: str) -> None:
            skipped.append(Skipped(label, reason, values))

        if outline.kind not in KINDS:
            skip("bad_kind", kind=outline.kind[:40])
            continue
        if not outline.url:
            skip("no_url")
            continue
        url = safe_http_url(outline.url)
        if url is None:
            skip("not_http")
            continue
        if url in seen:
            skip("duplicate")
            continue
        seen.add(url)
        existing = known.get(url)
        if existing is not None:
            skip("known" if existing.enabled else "removed", id=str(existing.id))
            continue
        slugs: list[str] = []
        unknown: list[str] = []
        for name in outline.topics:
            if name not in resolved:
                found = find_topic(topics, name)
                resolved[name] = found.slug if found else None
            slug = resolved[name]
            if slug is None:
                unknown.append(name)
            else:
                slugs.append(slug)
        if topic is not None:
            slugs.append(topic.slug)
            ignored.update(dict.fromkeys(unknown))
        elif unknown:
            skip("unknown_topic", topic=unknown[0][:_MAX_SHOWN])
            continue
        if not slugs:
            skip("no_topic")
            continue
        pattern = selector = None
        if outline.kind == "site":
            pattern, selector = outline.article_pattern, outline.link_selector
            try:
                if pattern:
                    compile_pattern(pattern)
                if selector:
                    check_selector(selector)
            except PatternError as exc:
                skip("bad_rule", detail=str(exc)[:200])
                continue
        name = outline.name or urlsplit(url).hostname or url
        specs.append(
            FeedSpec(url, name, tuple(dict.fromkeys(slugs)), outline.kind, pattern, selector)
        )
    return specs, skipped, list(ignored)


async def import_opml(
    db: Database, data: bytes, *, topic: str | None, now: int, dry_run: bool = False
) -> ImportReport:
    """Add the file's sources. The whole file is read and every source checked first;
    only then are the good ones added. Raises OpmlError for a file (or topic) that
    cannot be used at all, before anything is written."""
    topics = await db.feeds.list_topics()
    chosen: TopicRow | None = None
    if topic is not None and topic.strip():
        chosen = find_topic(topics, topic.strip())
        if chosen is None:
            raise OpmlError(
                "opml.unknown_topic",
                topic=topic.strip()[:_MAX_SHOWN],
                topics=", ".join(t.slug for t in topics) or "—",
            )
    outlines = read_opml(data)
    known = {feed.url: feed for feed in await db.feeds.list_feeds()}
    specs, skipped, ignored = plan_import(outlines, topics, known, topic=chosen)
    if len(specs) > MAX_NEW_SOURCES:
        raise OpmlError("opml.too_many", count=len(specs), limit=MAX_NEW_SOURCES)
    # Every check has passed; the sources go in together, in one transaction.
    ids: list[int | None] = (
        [None] * len(specs)
        if dry_run
        else [feed_id for feed_id, _ in await db.feeds.add_feeds(specs, now=now)]
    )
    added = [Added(spec, feed_id) for spec, feed_id in zip(specs, ids, strict=True)]
    return ImportReport(tuple(added), tuple(skipped), tuple(ignored), dry_run)


# ---- writing ------------------------------------------------------------------------


def build_opml(topics: Sequence[TopicRow], feeds: Sequence[FeedRow], *, now: datetime) -> bytes:
    """An OPML 2.0 document of these sources, nested by (first) topic."""
    order = {topic.slug: i for i, topic in enumerate(topics)}
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "newsbot sources"
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for topic in topics:
        if any(_first_topic(feed, order) == topic.slug for feed in feeds):
            folders[topic.slug] = ET.SubElement(
                body,
                "outline",
                {"text": topic.name_vi, "title": topic.name_vi, f"{{{NS}}}topic": topic.slug},
            )
    for feed in feeds:
        first = _first_topic(feed, order)
        parent = folders.get(first, body) if first else body
        ET.SubElement(parent, "outline", _feed_attributes(feed, order))
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'.encode()


def _first_topic(feed: FeedRow, order: Mapping[str, int]) -> str | None:
    ranked = sorted((s for s in feed.topics if s in order), key=order.__getitem__)
    return ranked[0] if ranked else None


def _feed_attributes(feed: FeedRow, order: Mapping[str, int]) -> dict[str, str]:
    attrs = {"text": feed.name, "title": feed.name}
    if feed.kind == "site":
        attrs |= {"type": "link", "url": feed.url, "htmlUrl": feed.url}
    else:
        attrs |= {"type": "rss", "xmlUrl": feed.url}
    topics = sorted(feed.topics, key=lambda slug: order.get(slug, len(order)))
    if topics:
        attrs["category"] = ",".join(topics)
    attrs[f"{{{NS}}}kind"] = feed.kind
    if feed.article_pattern:
        attrs[f"{{{NS}}}article_pattern"] = feed.article_pattern
    if feed.link_selector:
        attrs[f"{{{NS}}}link_selector"] = feed.link_selector
    return attrs


async def export_opml(db: Database, *, now: datetime) -> OpmlExport:
    """Every source that is polled (paused ones too; removed ones not), as OPML."""
    topics = await db.feeds.list_topics()
    feeds = await db.feeds.list_feeds(include_disabled=False)
    data = build_opml(topics, feeds, now=now)
    return OpmlExport(data, f"newsbot-sources-{now:%Y-%m-%d}.opml", len(feeds))


# ---- the report, for a chat ------------------------------------------------------------


def render_report(report: ImportReport, language: str) -> str:
    """The import's outcome as Telegram HTML, within one message."""
    lines = [t(language, "opml.report", added=len(report.added), skipped=len(report.skipped))]
    items = [f"➕ {_escape(a.spec.name)}" for a in report.added] + [
        f"⏭ {_escape(s.source)}: {s.html(language)}" for s in report.skipped
    ]
    used = _utf16(lines[0])
    for shown, item in enumerate(items):
        if used + _utf16(item) > _REPORT_BUDGET:
            lines.append(t(language, "opml.more", count=len(items) - shown))
            break
        lines.append(item)
        used += _utf16(item) + 1
    if report.ignored_topics:
        names = ", ".join(name[:40] for name in report.ignored_topics[:10])
        lines.append(t(language, "opml.ignored_topics", topics=names))
    return "\n".join(lines)


def _escape(text: str) -> str:
    short = text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
    return html.escape(short, quote=False)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
