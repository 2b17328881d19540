"""One poll of a site source: its section page, then the article pages not stored yet.

Politeness first: robots.txt is asked before every request; the articles are
fetched one at a time with a delay between them (robots.txt's Crawl-delay
when it asks for more, within a cap); at most `max_articles_per_poll`
requests per poll; and a run of server errors ends the round.

What the reader remembers between polls, per listing link (feeds.site_links):
- `b` (baseline): on the listing at the source's first poll and not fetched
  yet. Fetched later, after the new links, and stored without alerts: it was
  not news when we started watching.
- `d` (done): fetched and stored under another (canonical) URL, redirected
  off the site, or not an article. Not fetched again while it stays listed.
- a number after the letter (`f2`, `b1`) counts server errors and timeouts.
Links stored under their own URL need no memory: their article is the record.

A link that answers 404 (or another 4xx), or that robots.txt disallows, is
skipped, and nothing new is remembered about it: it is tried again the next
time the listing changes, so a story put online after it was listed still
arrives (with an alert, unless it was part of the baseline). A server
error or timeout leaves the link pending: the listing's validators are not
saved, so the next poll reads the listing again and retries, up to
`max_tries`; after that the link waits for the listing to change like a 404.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.ingest.extract import extract_article
from bot.ingest.fetch import Fetcher, FetchError, FetchErrorKind, FetchResult
from bot.ingest.robots import DEFAULT_TTL, RobotsCache, RobotsUnavailable, Verdict
from bot.ingest.sites.links import read_listing, site_of
from bot.ingest.topics import TopicMatcher
from storage import Database
from storage.rows import ArticleInput, FeedRow

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

BASELINE = "b"
DONE = "d"
FRESH = "f"
# Trouble on the server's side, worth retrying soon (a 5xx or 429 counts too).
_TRANSIENT = frozenset({FetchErrorKind.TIMEOUT, FetchErrorKind.CONNECTION, FetchErrorKind.ANTI_BOT})
_PERMANENT = frozenset(
    {FetchErrorKind.TOO_LARGE, FetchErrorKind.BLOCKED_ADDRESS, FetchErrorKind.INVALID_URL}
)


@dataclass(frozen=True, slots=True)
class SiteOptions:
    max_articles_per_poll: int = 20
    request_delay: float = 1.0  # seconds between two requests to one site
    max_crawl_delay: float = 10.0  # robots.txt Crawl-delay is honoured up to this
    robots_ttl: timedelta = DEFAULT_TTL
    crawl_budget: float = 180.0  # seconds of article fetching per poll; the rest waits
    max_tries: int = 3  # server errors on one link before it waits for the listing to change
    max_errors_in_a_row: int = 3  # then the site is struggling: stop this round


class SiteCrawlError(Exception):
    """The listing itself could not be read: the poller records it like a failing feed."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SiteCrawl:
    listing: FetchResult  # validators stripped when work is left for the next poll
    body_hash: str | None  # None when work is left, so the same listing is read again
    unchanged: str | None = None  # "not_modified" or "unchanged": nothing was done
    entries: tuple[ArticleInput, ...] = ()
    quiet_keys: frozenset[str] = frozenset()  # stored without alerts (the baseline)
    links: Mapping[str, str] = field(default_factory=dict)  # the new feeds.site_links


class Outcome(enum.Enum):
    STORED = "stored"
    DONE = "done"  # nothing to store, now or later
    SKIPPED = "skipped"  # 4xx or disallowed: try again when the listing changes
    RETRY = "retry"  # server trouble: try again next poll


@dataclass(frozen=True, slots=True)
class ArticleFetch:
    outcome: Outcome
    entry: ArticleInput | None = None
    reason: str | None = None
    retry_after: float | None = None


class SitePages:
    """Article pages of news sites, fetched politely: robots.txt, a pause between requests."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        executor: Executor | None,
        matcher: TopicMatcher,
        default_tz: str,
        clock: Callable[[], datetime],
        options: SiteOptions | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._fetcher = fetcher
        self._executor = executor
        self._matcher = matcher
        self._default_tz = default_tz
        self._clock = clock
        self._options = options or SiteOptions()
        self._sleep = sleep
        self.robots = RobotsCache(fetcher, clock=clock, ttl=self._options.robots_ttl)

    async def fetch_article(self, url: str, *, topics: Sequence[str] = ()) -> ArticleFetch:
        """Fetch and extract one article page, within robots.txt."""
        try:
            if await self.robots.check(url) is Verdict.DISALLOWED:
                return ArticleFetch(Outcome.SKIPPED, reason="disallowed by robots.txt")
        except RobotsUnavailable as exc:
            return ArticleFetch(Outcome.RETRY, reason=f"robots.txt: {exc.error.detail}")
        await self.pause(url)
        try:
            page = await self._fetcher.fetch(url)
        except FetchError as exc:
            return _failed(exc)
        if page.not_modified or site_of(page.url) != site_of(url):
            return ArticleFetch(Outcome.DONE, reason="redirected off the site")
        entry = await self._run(
            extract_article,
            page.body,
            headers=page.headers,
            url=page.url,
            default_tz=self._default_tz,
            fetched_at=self._clock(),
            feed_topics=topics,
            matcher=self._matcher,
        )
        if entry is None:
            return ArticleFetch(Outcome.DONE, reason="no article on the page")
        return ArticleFetch(Outcome.STORED, entry)

    async def pause(self, url: str) -> None:
        """The wait before a request to a site we have just asked something."""
        try:
            asked = await self.robots.crawl_delay(url) or 0.0
        except RobotsUnavailable:
            asked = 0.0
        delay = max(self._options.request_delay, min(asked, self._options.max_crawl_delay))
        if delay > 0:
            await self._sleep(delay)

    async def _run(self, job: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        """CPU work (HTML parsing, extraction) off the event loop, in the poller's executor."""
        call = functools.partial(job, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)


class SiteReader(SitePages):
    """A site source's poll: the section page, then its new article pages."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        *,
        executor: Executor | None,
        matcher: TopicMatcher,
        default_tz: str,
        clock: Callable[[], datetime],
        options: SiteOptions | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(
            fetcher,
            executor=executor,
            matcher=matcher,
            default_tz=default_tz,
            clock=clock,
            options=options,
            sleep=sleep,
        )
        self._db = db

    async def crawl(self, feed: FeedRow) -> SiteCrawl:
        """Read the listing and fetch what is new on it. Raises SiteCrawlError."""
        await self._check_listing_robots(feed.url)
        try:
            listing = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            raise SiteCrawlError(str(exc.kind), exc.detail, exc.retry_after) from None
        if listing.not_modified:
            return SiteCrawl(listing, feed.body_hash, "not_modified")
        body_hash = hashlib.sha256(listing.body).hexdigest()
        if body_hash == feed.body_hash:
            return SiteCrawl(listing, body_hash, "unchanged")
        links = await self._run(
            read_listing,
            listing.body,
            headers=listing.headers,
            url=listing.url,
            pattern=feed.article_pattern,
            selector=feed.link_selector,
        )
        return await self._fetch_new(feed, listing, body_hash, links)

    async def _check_listing_robots(self, url: str) -> None:
        try:
            verdict = await self.robots.check(url)
        except RobotsUnavailable as exc:
            error = exc.error
            raise SiteCrawlError(
                str(error.kind), f"robots.txt: {error.detail}", error.retry_after
            ) from None
        if verdict is Verdict.DISALLOWED:
            raise SiteCrawlError("robots_disallowed", "robots.txt disallows the section page")

    async def _fetch_new(
        self, feed: FeedRow, listing: FetchResult, body_hash: str, links: list[str]
    ) -> SiteCrawl:
        first_poll = feed.first_polled_at is None
        memory = {link: _State.read(feed.site_links.get(link)) for link in links}
        known = await self._db.articles.existing_keys(feed.id, links)
        todo = [link for link in links if link not in known and memory[link].letter != DONE]
        for link in todo:
            if first_poll or memory[link].letter == BASELINE:
                memory[link] = replace(memory[link], letter=BASELINE)
        # New links first, then the baseline; a link that keeps failing goes last.
        order = {link: i for i, link in enumerate(links)}
        todo.sort(key=lambda x: (memory[x].letter == BASELINE, memory[x].tries, order[x]))

        entries: dict[str, ArticleInput] = {}
        quiet: set[str] = set()
        pending: set[str] = {link for link in todo if memory[link].tries < self._options.max_tries}
        started = asyncio.get_running_loop().time()
        errors_in_a_row = 0
        for attempt, link in enumerate(todo):
            if not self._may_continue(attempt, started, errors_in_a_row):
                break
            result = await self.fetch_article(link, topics=feed.topics)
            errors_in_a_row = errors_in_a_row + 1 if result.outcome is Outcome.RETRY else 0
            if result.outcome is Outcome.RETRY:
                memory[link] = replace(memory[link], tries=memory[link].tries + 1)
                if memory[link].tries >= self._options.max_tries:
                    pending.discard(link)
                if result.retry_after is not None:
                    break  # 429/503 with Retry-After: the site asked us to stop
                continue
            pending.discard(link)
            if result.outcome is Outcome.SKIPPED:
                continue  # not remembered: tried again when the listing changes
            entry = result.entry
            if entry is None or entry.item_key in entries:
                memory[link] = _State(DONE)  # not an article, off the site, or a duplicate
                continue
            entries[entry.item_key] = entry
            if memory[link].letter == BASELINE:
                quiet.add(entry.item_key)
            memory[link] = _State(DONE) if entry.item_key != link else _State(FRESH, forget=True)
        complete = not pending
        return SiteCrawl(
            listing=listing if complete else _without_validators(listing),
            body_hash=body_hash if complete else None,
            entries=tuple(entries.values()),
            quiet_keys=frozenset(quiet),
            links={link: code for link, state in memory.items() if (code := state.code())},
        )

    def _may_continue(self, attempt: int, started: float, errors_in_a_row: int) -> bool:
        options = self._options
        elapsed = asyncio.get_running_loop().time() - started
        return (
            attempt < options.max_articles_per_poll
            and elapsed < options.crawl_budget
            and errors_in_a_row < options.max_errors_in_a_row
        )


@dataclass(frozen=True, slots=True)
class _State:
    letter: str = FRESH
    tries: int = 0
    forget: bool = False  # stored under its own URL: the article is the memory

    @classmethod
    def read(cls, code: str | None) -> _State:
        if not code:
            return cls()
        letter, count = code[0], code[1:]
        return cls(letter if letter in (BASELINE, DONE) else FRESH, int(count or 0))

    def code(self) -> str | None:
        if self.forget or (self.letter == FRESH and self.tries == 0):
            return None
        return self.letter + (str(self.tries) if self.tries else "")


def _failed(exc: FetchError) -> ArticleFetch:
    if exc.kind in _PERMANENT:
        return ArticleFetch(Outcome.DONE, reason=str(exc))
    status = exc.status or 0
    if exc.kind in _TRANSIENT or status >= 500 or status == 429:
        return ArticleFetch(Outcome.RETRY, reason=str(exc), retry_after=exc.retry_after)
    # 404, 410, 403 …, too many redirects: the page is not there for us now.
    return ArticleFetch(Outcome.SKIPPED, reason=str(exc))


def _without_validators(listing: FetchResult) -> FetchResult:
    headers = {k: v for k, v in listing.headers.items() if k not in ("etag", "last-modified")}
    return replace(listing, headers=headers)
