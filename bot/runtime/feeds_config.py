"""feeds.toml: the topics readers can follow, the feeds that fill them, and the
publisher's destinations (channels, groups, forum topics) that post them."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.sites.links import PatternError, check_selector, compile_pattern
from bot.ingest.topics import TopicMatcher
from bot.text.htmltext import safe_http_url
from bot.text.vietnamese import clean_line
from storage.rows import FeedSpec, TopicRow

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class FeedsConfigError(ValueError):
    """feeds.toml is unreadable or inconsistent; the message says where."""


@dataclass(frozen=True, slots=True)
class DestinationConfig:
    """A [[destinations]] entry. chat is a chat id or a channel's "@username", which
    the bot looks up at start (bot.runtime.destinations_sync)."""

    chat: int | str
    thread_id: int | None
    name: str
    topics: tuple[str, ...]
    sources: tuple[str, ...]
    style: str = "photo"
    hashtags: bool = False
    silent: bool = False


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    topics: tuple[TopicRow, ...]
    feeds: tuple[FeedSpec, ...]
    destinations: tuple[DestinationConfig, ...] = ()

    def matcher(self) -> TopicMatcher:
        return TopicMatcher.from_keywords({t.slug: t.keywords for t in self.topics})


def load_feeds_config(path: Path) -> FeedsConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsConfigError(f"{path}: file not found (set NEWSBOT_FEEDS)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedsConfigError(f"{path}: not valid TOML ({exc})") from None
    topics = tuple(_topic(path, i, raw) for i, raw in enumerate(data.get("topics", [])))
    slugs = {t.slug for t in topics}
    if len(slugs) != len(topics):
        raise FeedsConfigError(f"{path}: two topics share a slug")
    feeds = tuple(_feed(path, i, raw, slugs) for i, raw in enumerate(data.get("feeds", [])))
    if len({f.url for f in feeds}) != len(feeds):
        raise FeedsConfigError(f"{path}: a feed URL is listed twice")
    destinations = tuple(
        _destination(path, i, raw, slugs) for i, raw in enumerate(data.get("destinations", []))
    )
    if len({(d.chat, d.thread_id) for d in destinations}) != len(destinations):
        raise FeedsConfigError(f"{path}: a destination (chat and thread_id) is listed twice")
    return FeedsConfig(topics, feeds, destinations)


def _topic(path: Path, index: int, raw: object) -> TopicRow:
    where = f"{path}: topics[{index}]"
    if not isinstance(raw, dict):
        raise FeedsConfigError(f"{where}: expected a table")
    slug = str(raw.get("slug", ""))
    if not _SLUG.match(slug):
        raise FeedsConfigError(f"{where}: slug {slug!r} must be lower-case letters, digits, '-'")
    name_vi = clean_line(str(raw.get("name_vi", "")))
    name_en = clean_line(str(raw.get("name_en", ""))) or name_vi
    if not name_vi:
        raise FeedsConfigError(f"{where}: name_vi is required")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise FeedsConfigError(f"{where}: keywords must be a list of strings")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise FeedsConfigError(f"{where}: aliases must be a list of strings")
    return TopicRow(
        slug,
        name_vi,
        name_en,
        tuple(clean_line(k) for k in keywords if k.strip()),
        tuple(clean_line(a) for a in aliases if a.strip()),
    )


def _feed(path: Path, index: int, raw: object, slugs: set[str]) -> FeedSpec:
    where = f"{path}: feeds[{index}]"
    if not isinstance(raw, dict):
        raise FeedsConfigError(f"{where}: expected a table")
    url = safe_http_url(str(raw.get("url", "")))
    if url is None:
        raise FeedsConfigError(f"{where}: url must be an http(s) URL")
    topics = raw.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise FeedsConfigError(f"{where}: topics must be a list of topic slugs")
    unknown = [t for t in topics if t not in slugs]
    if unknown:
        raise FeedsConfigError(f"{where}: unknown topic {unknown[0]!r}")
    kind = str(raw.get("kind", "feed"))
    if kind not in ("feed", "site"):
        raise FeedsConfigError(f"{where}: kind must be 'feed' or 'site'")
    pattern, selector = _link_rules(where, raw, kind)
    name = clean_line(str(raw.get("name", ""))) or url
    return FeedSpec(
        url=url,
        name=name,
        topics=tuple(topics),
        kind=kind,
        article_pattern=pattern,
        link_selector=selector,
    )


def _link_rules(where: str, raw: dict[str, object], kind: str) -> tuple[str | None, str | None]:
    """A site source's optional article_pattern (regex) and link_selector (CSS)."""
    rules: list[str | None] = []
    for key in ("article_pattern", "link_selector"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise FeedsConfigError(f"{where}: {key} must be a non-empty string")
        if value is not None and kind != "site":
            raise FeedsConfigError(f"{where}: {key} is only for kind = 'site'")
        rules.append(value)
    pattern, selector = rules
    try:
        if pattern is not None:
            compile_pattern(pattern)
        if selector is not None:
            check_selector(selector)
    except PatternError as exc:
        raise FeedsConfigError(f"{where}: {exc}") from None
    return pattern, selector


_USERNAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")


def _destination(path: Path, index: int, raw: object, slugs: set[str]) -> DestinationConfig:
    where = f"{path}: destinations[{index}]"
    if not isinstance(raw, dict):
        raise FeedsConfigError(f"{where}: expected a table")
    chat = raw.get("chat")
    if isinstance(chat, bool) or not (
        (isinstance(chat, int) and chat < 0) or (isinstance(chat, str) and _USERNAME.match(chat))
    ):
        raise FeedsConfigError(
            f"{where}: chat must be a channel's @username or a negative chat id, "
            "such as -1001234567890"
        )
    thread_id = raw.get("thread_id")
    if thread_id is not None and (
        isinstance(thread_id, bool) or not isinstance(thread_id, int) or thread_id <= 0
    ):
        raise FeedsConfigError(f"{where}: thread_id must be a forum topic's positive number")
    topics = _strings(where, raw, "topics")
    unknown = [t for t in topics if t not in slugs]
    if unknown:
        raise FeedsConfigError(f"{where}: unknown topic {unknown[0]!r}")
    sources = _strings(where, raw, "sources")
    urls = tuple(safe_http_url(u) for u in sources)
    if any(u is None for u in urls):
        raise FeedsConfigError(f"{where}: sources must be http(s) feed URLs")
    if not topics and not sources:
        raise FeedsConfigError(f"{where}: give topics, sources or both (else nothing is posted)")
    style = raw.get("style", "photo")
    if style not in ("photo", "text"):
        raise FeedsConfigError(f"{where}: style must be 'photo' or 'text'")
    flags = []
    for key in ("hashtags", "silent"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise FeedsConfigError(f"{where}: {key} must be true or false")
        flags.append(value)
    return DestinationConfig(
        chat=chat,
        thread_id=thread_id,
        name=clean_line(str(raw.get("name", ""))),
        topics=tuple(topics),
        sources=tuple(u for u in urls if u is not None),
        style=str(style),
        hashtags=flags[0],
        silent=flags[1],
    )


def _strings(where: str, raw: dict[str, object], key: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FeedsConfigError(f"{where}: {key} must be a list of strings")
    return list(value)
