"""Operator commands: what `newsbot preview|poll|search|feeds|stats|run` do
(`feeds import|export`: bot.cli.opml_commands; `backup|restore`: bot.cli.backup).

Each prints plain lines (or JSON lines with --json) to stdout; a problem the
operator can fix is raised as OperatorError and printed as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.admin import stats
from bot.admin.stats import feed_health
from bot.clock import utc_now
from bot.ingest.sites.links import PatternError, check_selector, compile_pattern
from bot.readers.search import search
from bot.runtime.database import opened_database, sync_config
from bot.runtime.feeds_config import FeedsConfig, FeedsConfigError, load_feeds_config
from bot.runtime.settings import Settings
from bot.text.htmltext import safe_http_url
from storage.rows import FeedRow, FeedSpec

# Only what `search`, `stats` and `feeds` need is imported here: the feed parser,
# trafilatura, aiohttp and python-telegram-bot are imported inside the commands
# that use them (preview, poll, run; tests/test_cli.py holds this).
if TYPE_CHECKING:
    from bot.delivery.render import ArticleView
    from bot.ingest.topics import TopicMatcher
    from bot.runtime.app import HandlerInstaller
    from storage.rows import ArticleInput

log = logging.getLogger(__name__)


class OperatorError(Exception):
    """Bad input or an unreadable source; the message is the whole explanation."""


async def dispatch(
    args: argparse.Namespace, settings: Settings, *, install_handlers: HandlerInstaller
) -> int:
    command = args.command
    if command == "preview":
        return await preview(
            settings, args.source, as_json=args.json, language=args.lang, delay=args.delay
        )
    if command == "poll":
        return await poll_once(settings, every_feed=args.all)
    if command == "search":
        return await search_command(settings, " ".join(args.query), args.limit, args.json)
    if command == "feeds":
        return await feeds_command(settings, args)
    if command == "stats":
        return await stats_command(settings, as_json=args.json)
    if command in ("backup", "restore"):
        from bot.cli import backup

        if command == "backup":
            return await backup.backup_command(settings, args.file)
        return await backup.restore_command(settings, args.file)
    if command == "db":
        from bot.cli import db_copy

        return await db_copy.copy_command(args.source, args.target, force=args.force)
    if command == "run":
        return await run(settings, install_handlers)
    raise OperatorError(f"unknown command {command!r}")


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


def _optional_config(settings: Settings) -> FeedsConfig | None:
    """feeds.toml, when it reads; when it does not, the reason comes first, on stderr,
    and the command goes on with what the database knows."""
    try:
        return load_feeds_config(settings.feeds_path)
    except FeedsConfigError as exc:
        sys.stderr.write(f"newsbot: warning: {exc} (not synced)\n")
        sys.stderr.flush()
        return None


async def preview(
    settings: Settings,
    source: str,
    *,
    as_json: bool,
    language: str | None,
    delay: float | None = None,
) -> int:
    """Print each entry of a feed file or URL exactly as a reader would receive it.

    A web page that is not a feed is previewed as a site source would read it:
    an article page as its one entry; a section page as the article links
    found on it, then (for a URL) each article, fetched `delay` seconds apart
    (by default SiteOptions' request_delay).
    """
    from bot.ingest.parse import NotAFeedError, parse_feed
    from bot.ingest.sites.crawl import SiteOptions
    from bot.ingest.topics import TopicMatcher

    if delay is None:
        delay = SiteOptions().request_delay
    body, headers, base_url = await _read_source(settings, source)
    config = _optional_config(settings)
    matcher = config.matcher() if config else TopicMatcher(())
    language = language or settings.default_language
    printer = _EntryPrinter(settings, _topic_names(config, language), language, as_json=as_json)
    try:
        parsed = await asyncio.to_thread(
            parse_feed,
            body,
            headers=headers,
            base_url=base_url,
            default_tz=settings.default_timezone,
            matcher=matcher,
        )
    except NotAFeedError as exc:
        page = _PagePreview(settings, source, base_url, matcher, printer)
        return await page.run(body, headers, delay=delay, not_a_feed=str(exc))
    source_name = parsed.title or (urlsplit(base_url).hostname if base_url else None) or source
    for entry in parsed.entries:
        printer.entry(entry, source_name)
    if not as_json:
        _emit(f"{_count(len(parsed.entries), 'entry', 'entries')} from {source_name}")
    return 0


class _EntryPrinter:
    """Entries as a reader would receive them: the message text, or one JSON object each."""

    def __init__(
        self, settings: Settings, topic_names: dict[str, str], language: str, *, as_json: bool
    ) -> None:
        self.settings = settings
        self.names = topic_names
        self.language = language
        self.as_json = as_json

    def entry(self, entry: ArticleInput, source_name: str) -> None:
        from bot.delivery.render import render_article

        message = render_article(
            _view(entry, source_name),
            language=self.language,
            tz=self.settings.timezone,
            topic_names=self.names,
        )
        if self.as_json:
            _emit(
                json.dumps(
                    {
                        "key": entry.item_key,
                        "title": entry.title,
                        "url": entry.url,
                        "summary": entry.summary,
                        "published_at": entry.published_at.isoformat(),
                        "topics": list(entry.topics),
                        "image": entry.image_url,
                        "text": message.text,
                        "parse_mode": message.parse_mode,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            _emit(message.text)
            if message.image_url:
                _emit(f"[image] {message.image_url}")
            _emit("─" * 40)

    def note(self, kind: str, url: str, reason: str | None = None) -> None:
        """A line about a link: found on a section page, or skipped and why."""
        if self.as_json:
            fields = {"type": kind, "url": url} | ({"reason": reason} if reason else {})
            _emit(json.dumps(fields, ensure_ascii=False))
        else:
            _emit(f"{kind:<8} {url}" + (f"  ({reason})" if reason else ""))


class _PagePreview:
    """A web page that is not a feed, previewed the way a site source reads it."""

    def __init__(
        self,
        settings: Settings,
        source: str,
        base_url: str | None,
        matcher: TopicMatcher,
        printer: _EntryPrinter,
    ) -> None:
        self.settings = settings
        self.source = source
        self.base_url = base_url
        self.matcher = matcher
        self.printer = printer

    async def run(
        self, body: bytes, headers: dict[str, str], *, delay: float, not_a_feed: str
    ) -> int:
        from bot.ingest.extract import extract_article
        from bot.ingest.sites.preview import read_page

        reading = await asyncio.to_thread(read_page, body, headers=headers, url=self.base_url)
        host = urlsplit(self.base_url).hostname if self.base_url else None
        name = reading.site_name or host or self.source
        if reading.kind == "article":
            entry = await asyncio.to_thread(
                extract_article,
                body,
                headers=headers,
                url=self.base_url,
                default_tz=self.settings.default_timezone,
                matcher=self.matcher,
            )
            if entry is None:
                raise OperatorError(
                    f"{self.source}: {not_a_feed}; and no article or article links on the page"
                )
            self.printer.entry(entry, name)
            self._summary(f"1 article from {name}")
            return 0
        for link in reading.links:
            self.printer.note("link", link)
        previewed = 0 if self.base_url is None else await self._articles(reading.links, delay, name)
        self._summary(
            f"{len(reading.links)} article links, {previewed} articles shown, from {name}"
        )
        return 0

    async def _articles(self, links: tuple[str, ...], delay: float, name: str) -> int:
        """Fetch and print the listing's articles, as politely as the poller would."""
        from bot.ingest.fetch import Fetcher
        from bot.ingest.sites.crawl import SiteOptions, SitePages
        from bot.runtime.service import fetch_limits

        options = SiteOptions(request_delay=delay)
        shown = 0
        async with Fetcher(fetch_limits(self.settings)) as fetcher:
            pages = SitePages(
                fetcher,
                executor=None,
                matcher=self.matcher,
                default_tz=self.settings.default_timezone,
                clock=utc_now,
                options=options,
            )
            for link in links[: options.max_articles_per_poll]:
                result = await pages.fetch_article(link)
                if result.entry is None:
                    self.printer.note("skipped", link, result.reason)
                    continue
                self.printer.entry(result.entry, name)
                shown += 1
        return shown

    def _summary(self, line: str) -> None:
        if not self.printer.as_json:
            _emit(line)


async def _read_source(settings: Settings, source: str) -> tuple[bytes, dict[str, str], str | None]:
    from bot.ingest.fetch import Fetcher, FetchError
    from bot.runtime.service import fetch_limits

    if source.startswith(("http://", "https://")):
        async with Fetcher(fetch_limits(settings)) as fetcher:
            try:
                result = await fetcher.fetch(source)
            except FetchError as exc:
                raise OperatorError(f"cannot fetch {source}: {exc}") from None
        return result.body, result.headers, result.url
    if "://" in source:
        raise OperatorError(f"{source}: only http(s) URLs and local files can be previewed")
    path = Path(source)
    try:
        return await asyncio.to_thread(path.read_bytes), {}, None
    except OSError as exc:
        raise OperatorError(f"cannot read {source}: {exc.strerror or exc}") from None


def _view(entry: ArticleInput, source: str) -> ArticleView:
    from bot.delivery.render import ArticleView

    return ArticleView(
        title=entry.title,
        url=entry.url,
        summary=entry.summary,
        source=source,
        topics=entry.topics,
        published_at=entry.published_at,
        image_url=entry.image_url,
    )


def _topic_names(config: FeedsConfig | None, language: str) -> dict[str, str]:
    if config is None:
        return {}
    return {t.slug: t.name_vi if language == "vi" else t.name_en for t in config.topics}


async def poll_once(settings: Settings, *, every_feed: bool) -> int:
    from bot.runtime.service import open_service

    async with open_service(settings) as service:
        if every_feed:
            feeds = await service.db.feeds.list_feeds(include_disabled=False)
            report = await service.poller.poll_feeds([f for f in feeds if f.paused_at is None])
        else:
            report = await service.poller.poll_due()
    for feed in report.feeds:
        detail = f" ({feed.error_kind}: {feed.error})" if feed.error_kind else ""
        paused = ", paused" if feed.paused else ""
        _emit(
            f"{feed.outcome:<12} {feed.new_articles:>4} new {feed.alerts_queued:>5} alerts  "
            f"{feed.url}{detail}{paused}"
        )
    _emit(
        f"{len(report.feeds)} feeds polled: {report.new_articles} new articles, "
        f"{report.alerts_queued} alerts queued, {report.count('failed')} failed"
    )
    return 0


async def search_command(settings: Settings, query: str, limit: int, as_json: bool) -> int:
    tz = settings.timezone
    async with opened_database(settings) as db:
        results = await search(db, query, limit=limit)
    for i, row in enumerate(results, 1):
        published = datetime.fromtimestamp(row.published_at, UTC)
        if as_json:
            _emit(
                json.dumps(
                    {
                        "id": row.id,
                        "title": row.title,
                        "url": row.url,
                        "source": row.feed_name,
                        "summary": row.summary,
                        "topics": list(row.topics),
                        "published_at": published.isoformat(),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            local = _local(row.published_at, tz)
            _emit(f"{i:>2}. {row.title}\n    {row.feed_name} · {local}\n    {row.url}")
    if not results and not as_json:
        _emit("no articles match")
    return 0


async def feeds_command(settings: Settings, args: argparse.Namespace) -> int:
    action = args.feeds_command
    now = int(datetime.now(UTC).timestamp())
    async with opened_database(settings) as db:
        config = _optional_config(settings)
        if config is not None:
            await sync_config(db, config)
        if action == "list":
            for feed in await db.feeds.list_feeds():
                _emit(
                    _feed_line(feed)
                    if not args.json
                    else json.dumps(_feed_json(feed), ensure_ascii=False)
                )
            return 0
        if action == "add":
            url = safe_http_url(args.url)
            if url is None:
                raise OperatorError(f"{args.url}: a feed URL must start with http:// or https://")
            known = {t.slug for t in await db.feeds.list_topics()}
            unknown = [t for t in args.topic if t not in known]
            if unknown:
                choices = ", ".join(sorted(known)) or "none"
                raise OperatorError(f"unknown topic {unknown[0]!r}; topics are: {choices}")
            existing = {f.url: f for f in await db.feeds.list_feeds()}.get(url)
            # Re-adding a known URL without --name keeps the name it has.
            name = args.name or (existing.name if existing else None)
            name = name or urlsplit(url).hostname or url
            from bot.ingest.netguard import is_private_url

            if not settings.allow_private_feeds and is_private_url(url):
                sys.stderr.write(
                    f"newsbot: warning: {url} is on a loopback or private address; it will "
                    "be refused unless NEWSBOT_ALLOW_PRIVATE_FEEDS=1\n"
                )
            feed_id, created = await db.feeds.add_feed(
                FeedSpec(url, name, tuple(args.topic), *_site_rules(args)), now=now
            )
            what = "site" if args.site else "feed"
            _emit(f"{'added' if created else 'updated'} {what} {feed_id}: {url}")
            return 0
        if action == "remove":
            if not await db.feeds.disable_feed(args.feed):
                raise OperatorError(f"no feed {args.feed!r} (see `newsbot feeds list`)")
            _emit(f"feed {args.feed} will no longer be polled; its articles are kept")
            return 0
        if action == "resume":
            if not await db.feeds.resume_feed(args.feed, now=now):
                raise OperatorError(f"no feed {args.feed!r} (see `newsbot feeds list`)")
            _emit(f"feed {args.feed} resumed; it will be polled on the next cycle")
            return 0
        if action in ("import", "export"):
            from bot.cli import opml_commands

            if action == "export":
                return await opml_commands.export_command(db, as_opml=args.opml)
            return await opml_commands.import_command(
                db, args.file, topic=args.topic, dry_run=args.dry_run, now=now
            )
    raise OperatorError(f"unknown feeds action {action!r}")


def _site_rules(args: argparse.Namespace) -> tuple[str, str | None, str | None]:
    """kind, article_pattern and link_selector from `feeds add` (--site, --pattern, --selector)."""
    if not args.site:
        if args.pattern or args.selector:
            raise OperatorError("--pattern and --selector are for site sources: add --site")
        return "feed", None, None
    try:
        if args.pattern:
            compile_pattern(args.pattern)
        if args.selector:
            check_selector(args.selector)
    except PatternError as exc:
        raise OperatorError(str(exc)) from None
    return "site", args.pattern or None, args.selector or None


def _feed_line(feed: FeedRow) -> str:
    error = f" last error {feed.last_error_kind}: {feed.last_error}" if feed.last_error_kind else ""
    return (
        f"{feed.id:>4} {feed_health(feed):<8} {feed.articles_total:>6} articles  "
        f"[{', '.join(feed.topics)}] {feed.name} <{feed.url}>{error}"
    )


def _feed_json(feed: FeedRow) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "name": feed.name,
        "topics": list(feed.topics),
        "health": feed_health(feed),
        "failures": feed.failures,
        "last_error_kind": feed.last_error_kind,
        "last_error": feed.last_error,
        "articles": feed.articles_total,
        "last_success_at": feed.last_success_at,
        "next_poll_at": feed.next_poll_at,
    }


async def stats_command(settings: Settings, *, as_json: bool) -> int:
    async with opened_database(settings) as db:
        collected = await stats.collect(db, now=datetime.now(UTC), tz=settings.timezone)
    figures: dict[str, Any] = {
        "articles": collected.articles,
        "articles_today": collected.articles_today,
        "articles_sealed": collected.articles_sealed,
        "feeds": collected.feeds,
        "failure_causes": collected.failure_causes or {},
        "subscribers": collected.readers,
        "by_mode": collected.by_mode or {},
        "topics": collected.topics,
        "outbox": collected.outbox,
        "sent_today": collected.sent_today,
        "destinations": [
            {
                "id": d.id,
                "chat_id": d.chat_id,
                "thread_id": d.thread_id,
                "title": d.title,
                "type": d.chat_type,
                "topics": list(d.topics),
                "last_post_at": d.last_post_at,
                "paused_at": d.paused_at,
                "pause_reason": d.pause_reason,
            }
            for d in collected.destinations
        ],
    }
    if as_json:
        _emit(json.dumps(figures, ensure_ascii=False))
        return 0
    _emit(f"articles     {figures['articles']} ({figures['articles_today']} today)")
    # Sealing runs in housekeeping; until it has, search reads the index alone.
    _emit(f"search       {figures['articles_sealed']} articles sealed in segments")
    _emit(f"sent today   {figures['sent_today']}")
    for key in ("feeds", "failure_causes", "subscribers", "by_mode", "topics", "outbox"):
        parts = ", ".join(f"{k} {v}" for k, v in sorted(figures[key].items())) or "none"
        _emit(f"{key.replace('_', ' '):<12} {parts}")
    _emit(f"destinations {len(collected.destinations) or 'none'}")
    for d in collected.destinations:
        where = f"{d.chat_id}" + (f" topic {d.thread_id}" if d.thread_id else "")
        last = _local(d.last_post_at, settings.timezone) if d.last_post_at else "never"
        state = f"paused ({d.pause_reason})" if d.paused_at is not None else "posting"
        _emit(f"  #{d.id} {d.title or where} [{where}] last post {last}, {state}")
    return 0


async def run(settings: Settings, install_handlers: HandlerInstaller) -> int:
    """The long-running service until SIGINT/SIGTERM: the real bot with a token,
    console mode (a local Bot API stand-in and a terminal chat) without one."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if settings.telegram_bot_token:
        from bot.runtime.runner import run_until_stopped

        await run_until_stopped(settings, stop, install_handlers=install_handlers)
    else:
        from bot.cli.console import run_console

        await run_console(settings, stop, install_handlers=install_handlers)
    log.debug("newsbot stopped")
    return 0


def _count(n: int, one: str, many: str) -> str:
    """'1 entry', '3 entries': counts as English writes them."""
    return f"{n} {one if n == 1 else many}"


def _local(ts: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).strftime("%d/%m/%Y %H:%M")
