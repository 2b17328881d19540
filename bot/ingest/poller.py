"""The poller: fetch due feeds, store what is new, queue alerts — one transaction per feed.

Per feed: conditional GET → (304 or same bytes: nothing to parse) → parse in a
worker → in one write transaction store articles, queue outbox rows and save
the feed's validators and next poll time. A failure records a typed cause and
backs off; repeated failures pause the feed for an operator to look at.

A site source (kind 'site', no feed) goes through bot.ingest.sites.crawl instead of
the fetch-and-parse step: its section page and new article pages become the
same entries, stored by the same transaction under the same alert rules.

Each poll also updates the feed's rhythm (when its new items appeared) and
schedules the next poll from it (bot.ingest.freshness). `run_forever` sleeps
until the next feed is due rather than checking on a fixed tick.

A poller given a holder name shares the polling with other processes: it
claims due feeds a few at a time (as many as it polls at once), renews its
claims while it polls them, and recording each poll ends its claim. Feeds
another process holds are left to it; a dead process's feeds are due to the
others when its claims expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.clock import Clock, utc_now
from bot.ingest.fetch import Fetcher, FetchError, FetchResult
from bot.ingest.freshness import (
    PollPolicy,
    Rhythm,
    adaptive_poll_delay,
    failure_delay,
    observe_new_items,
    should_pause,
)
from bot.ingest.keyword_alerts import KeywordIndex
from bot.ingest.netguard import is_private_url
from bot.ingest.parse import NotAFeedError, ParsedFeed, parse_feed
from bot.ingest.sites.crawl import SiteCrawlError, SiteOptions, SiteReader
from bot.ingest.stories import story_rule
from bot.ingest.topics import TopicMatcher
from storage import Database
from storage.rows import CLAIM_TTL, ArticleInput, FeedRow, PollFailure, PollSuccess

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PollerOptions:
    default_tz: str = "Asia/Ho_Chi_Minh"
    concurrency: int = 50
    # More new items than this in one poll means the feed changed its IDs or
    # was re-published: alert the newest few, store the rest quietly.
    max_alerts_per_poll: int = 10
    # An item first seen now but published long ago is an archive surfacing, not news.
    max_alert_age: timedelta = timedelta(days=2)
    # A publisher's correction of a title or lead edits the alerts sent this recently;
    # older messages stay as they are.
    edit_window: timedelta = timedelta(hours=48)
    policy: PollPolicy = field(default_factory=PollPolicy)
    site: SiteOptions = field(default_factory=SiteOptions)
    # A feed that answers a permanent redirect (301/308) to one target this many polls
    # in a row has moved: its stored URL becomes the target. 302/307 never move it.
    move_after_polls: int = 3
    # Never to loopback or a private network, unless this is set (tests and demos
    # whose feeds live on 127.0.0.1).
    allow_private_moves: bool = False


@dataclass(slots=True)
class FeedPollReport:
    feed_id: int
    url: str
    outcome: str  # "new", "unchanged", "not_modified", "failed" (the feed's fault), "error" (ours)
    new_articles: int = 0
    # Items new to this feed that joined articles already stored (another feed's, or
    # this one's under an older guid): no new rows.
    merged_articles: int = 0
    updated_articles: int = 0
    alerts_queued: int = 0
    edits_queued: int = 0
    error_kind: str | None = None
    error: str | None = None
    paused: bool = False
    moved_to: str | None = None  # the feed's new URL, when this poll moved it


@dataclass(slots=True)
class CycleReport:
    feeds: list[FeedPollReport] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.feeds if f.outcome == outcome)

    @property
    def new_articles(self) -> int:
        return sum(f.new_articles for f in self.feeds)

    @property
    def alerts_queued(self) -> int:
        return sum(f.alerts_queued for f in self.feeds)

    @property
    def edits_queued(self) -> int:
        return sum(f.edits_queued for f in self.feeds)


class PollMetrics(Protocol):
    """Told of every poll and parse (bot.runtime.metrics counts them); seconds are wall time."""

    def poll_done(self, report: FeedPollReport, seconds: float) -> None: ...

    def feed_parsed(self, seconds: float) -> None: ...


class _NoMetrics:
    def poll_done(self, report: FeedPollReport, seconds: float) -> None:
        pass

    def feed_parsed(self, seconds: float) -> None:
        pass


def parse_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """Worker processes for parsing; forkserver, because forking a process that
    runs aiosqlite's threads can copy a held lock into the child."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    )


class Poller:
    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        *,
        matcher: TopicMatcher | None = None,
        executor: Executor | None = None,
        options: PollerOptions | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        metrics: PollMetrics | None = None,
        holder: str | None = None,
        claim_ttl: int = CLAIM_TTL,
    ) -> None:
        """clock and sleep are injected so that tests run the loop in virtual time.
        metrics (also settable later, as the attribute) is told of each poll.
        holder: claim the feeds polled under this name, so other processes on the
        database poll the rest (None: poll every due feed, alone)."""
        self.holder = holder
        self._claim_ttl = claim_ttl
        self.metrics: PollMetrics = metrics or _NoMetrics()
        self._db = db
        self._fetcher = fetcher
        self._matcher = matcher or TopicMatcher(())
        self._executor = executor
        self._options = options or PollerOptions()
        self._clock = clock
        self._sleep = sleep
        self._stories = story_rule(keep=self._options.max_alert_age)
        self._sites = SiteReader(
            db,
            fetcher,
            executor=executor,
            matcher=self._matcher,
            default_tz=self._options.default_tz,
            clock=clock,
            options=self._options.site,
        )

    async def poll_due(self) -> CycleReport:
        """Poll every feed that is due now (with a holder: that no one else holds),
        concurrently, and report what happened."""
        if self.holder is not None:
            return await self._poll_claimed(self.holder)
        due = await self._db.feeds.due_feeds(now=_ts(self._clock()))
        return await self.poll_feeds(due)

    async def _poll_due_except(self, held: Mapping[int, float]) -> CycleReport:
        """poll_due, leaving out the feeds held back until a later time."""
        if self.holder is not None:
            # A feed that failed by our fault keeps its claim through the cycle and is
            # due again when it expires: held back without a list of our own.
            return await self._poll_claimed(self.holder)
        now = self._clock().timestamp()
        due = await self._db.feeds.due_feeds(now=int(now))
        return await self.poll_feeds([f for f in due if held.get(f.id, now) <= now])

    async def _poll_claimed(self, holder: str) -> CycleReport:
        """One cycle among several processes: claim due feeds a batch at a time, as the
        workers free up, so that each process takes a share as it has room for it."""
        report = CycleReport()
        keywords: KeywordIndex | None = None
        batch = max(1, self._options.concurrency)
        queue: asyncio.Queue[FeedRow | None] = asyncio.Queue(batch)

        async def claimer() -> None:
            try:
                while feeds := await self._db.feeds.claim_due(
                    now=_ts(self._clock()), holder=holder, limit=batch, ttl=self._claim_ttl
                ):
                    for feed in feeds:
                        await queue.put(feed)
            finally:
                for _ in range(batch):
                    await queue.put(None)

        async def worker() -> None:
            while (feed := await queue.get()) is not None:
                nonlocal keywords
                if keywords is None:
                    keywords = KeywordIndex(await self._db.subscribers.instant_keyword_alerts())
                report.feeds.append(await self._poll_counted(feed, keywords))

        renewing = asyncio.create_task(self._renew_claims(holder))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(claimer())
                for _ in range(batch):
                    group.create_task(worker())
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        return report

    async def _renew_claims(self, holder: str) -> None:
        while True:
            await asyncio.sleep(self._claim_ttl / 3)
            try:
                await self._db.feeds.renew_claims(
                    holder=holder, until=_ts(self._clock()) + self._claim_ttl
                )
            except Exception:
                log.exception("renewing feed claims failed")

    async def _poll_counted(self, feed: FeedRow, keywords: KeywordIndex) -> FeedPollReport:
        """poll_feed, counted in the metrics; our own faults are logged, not raised."""
        started = time.perf_counter()
        try:
            result = await self.poll_feed(feed, keywords)
        except Exception as exc:
            # Our fault, not the feed's (a full disk, a bug): the transaction
            # rolled back, so the feed is simply polled again next cycle.
            log.exception("feed %s: poll aborted", feed.id)
            result = FeedPollReport(feed.id, feed.url, "error", error=type(exc).__name__)
        self.metrics.poll_done(result, time.perf_counter() - started)
        return result

    async def poll_feeds(self, feeds: Sequence[FeedRow]) -> CycleReport:
        report = CycleReport()
        if not feeds:
            return report
        keywords = KeywordIndex(await self._db.subscribers.instant_keyword_alerts())
        queue: asyncio.Queue[FeedRow] = asyncio.Queue()
        for feed in feeds:
            queue.put_nowait(feed)

        async def worker() -> None:
            while not queue.empty():
                feed = queue.get_nowait()
                report.feeds.append(await self._poll_counted(feed, keywords))

        workers = min(self._options.concurrency, len(feeds))
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
        return report

    async def poll_feed(
        self, feed: FeedRow, keywords: KeywordIndex | None = None
    ) -> FeedPollReport:
        """Poll one feed. Never raises for the feed's own faults: they are recorded."""
        started = self._clock()
        if feed.kind == "site":
            return await self._poll_site(feed, keywords, started)
        try:
            fetched = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            return await self._fail(feed, str(exc.kind), exc.detail, exc.retry_after, started)
        if fetched.not_modified:
            return await self._unchanged(feed, fetched, feed.body_hash, "not_modified", started)
        body_hash = hashlib.sha256(fetched.body).hexdigest()
        if body_hash == feed.body_hash:
            return await self._unchanged(feed, fetched, body_hash, "unchanged", started)
        try:
            parsed = await self._parse(feed, fetched, started)
        except NotAFeedError as exc:
            return await self._fail(feed, "not_a_feed", str(exc)[:200], None, started)
        return await self._store(feed, fetched, body_hash, parsed, keywords, started)

    async def _poll_site(
        self, feed: FeedRow, keywords: KeywordIndex | None, now: datetime
    ) -> FeedPollReport:
        try:
            crawl = await self._sites.crawl(feed)
        except SiteCrawlError as exc:
            return await self._fail(feed, exc.kind, exc.detail, exc.retry_after, now)
        if crawl.unchanged is not None:
            return await self._unchanged(feed, crawl.listing, crawl.body_hash, crawl.unchanged, now)
        parsed = ParsedFeed(feed.name, crawl.listing.url, None, crawl.entries, None)
        return await self._store(
            feed,
            crawl.listing,
            crawl.body_hash,
            parsed,
            keywords,
            now,
            quiet_keys=crawl.quiet_keys,
            site_links=crawl.links,
        )

    async def _parse(self, feed: FeedRow, fetched: FetchResult, now: datetime) -> ParsedFeed:
        job = functools.partial(
            parse_feed,
            fetched.body,
            headers=fetched.headers,
            base_url=fetched.url,
            default_tz=self._options.default_tz,
            fetched_at=now,
            feed_topics=feed.topics,
            matcher=self._matcher,
        )
        loop = asyncio.get_running_loop()
        parsed, seconds = await loop.run_in_executor(self._executor, _timed, job)
        self.metrics.feed_parsed(seconds)
        return parsed

    async def _store(
        self,
        feed: FeedRow,
        fetched: FetchResult,
        body_hash: str | None,
        parsed: ParsedFeed,
        keywords: KeywordIndex | None,
        now: datetime,
        *,
        quiet_keys: frozenset[str] = frozenset(),
        site_links: Mapping[str, str] | None = None,
    ) -> FeedPollReport:
        """quiet_keys are stored without alerts; site_links is a site's link memory,
        saved in the same transaction as the articles it describes."""
        if parsed.recovered_error:
            log.info("feed %s: recovered from malformed XML (%s)", feed.id, parsed.recovered_error)
        first_poll = feed.first_polled_at is None
        alertable = [e for e in parsed.entries if e.item_key not in quiet_keys]
        if first_poll:
            alerted: list[ArticleInput] = []
            # The document's own history; a date at or after the fetch is none at all
            # (parse files an undated item under the fetch time).
            arrived = [e.published_at for e in parsed.entries if e.published_at < now]
        else:
            alerted = await self._alerted(feed, alertable, now)
            arrived = [e.published_at for e in alerted]
        alert_keys = frozenset(e.item_key for e in alerted)
        keyword_chats = {
            e.item_key: keywords.chats_matching(e.title, e.summary)
            for e in parsed.entries
            if keywords and e.item_key in alert_keys
        }
        policy = self._options.policy
        rhythm = observe_new_items(
            _rhythm(feed),
            arrived,
            seen_until=None if first_poll else _when(feed.last_success_at),
            now=now,
            policy=policy,
        )
        delay = adaptive_poll_delay(
            rhythm=rhythm,
            headers=fetched.headers,
            ttl_minutes=parsed.ttl_minutes,
            policy=policy,
            now=now,
        )
        next_at = now + timedelta(seconds=delay)
        redirect_target, redirect_polls = _redirect(feed, fetched)
        outcome = await self._db.articles.store(
            feed.id,
            parsed.entries,
            now=_ts(now),
            alert_keys=alert_keys,
            keyword_chats=keyword_chats,
            poll=PollSuccess(
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                body_hash=body_hash,
                ttl_minutes=parsed.ttl_minutes,
                next_poll_at=_ts(next_at),
                recent_items=rhythm.recent,
                hourly_items=rhythm.hours,
                redirect_target=redirect_target,
                redirect_polls=redirect_polls,
            ),
            site_links=site_links,
            stories=self._stories,
            edits_since=_ts(now - self._options.edit_window),
        )
        if first_poll and outcome.new_ids:
            log.info(
                "feed %s: first poll stored %d articles, alerted no one",
                feed.id,
                len(outcome.new_ids),
            )
        return FeedPollReport(
            feed.id,
            feed.url,
            "new" if outcome.new_ids else "unchanged",
            new_articles=len(outcome.new_ids),
            merged_articles=len(outcome.merged_ids),
            updated_articles=outcome.updated,
            alerts_queued=outcome.alerts_queued,
            edits_queued=outcome.edits_queued,
            moved_to=await self._follow_move(feed, redirect_target, redirect_polls),
        )

    async def _alerted(
        self, feed: FeedRow, entries: Sequence[ArticleInput], now: datetime
    ) -> list[ArticleInput]:
        """The entries to alert: new, not too old, at most the newest few. They are also
        what the feed's rhythm learns from (a re-published archive teaches it nothing).

        New means new to this feed: an item it gave before under another guid (a CMS
        migration changed them all) is known by its link or title, and alerts no one;
        one that another feed brought first is alerted to the readers it has not
        reached (storage keeps one alert per reader and article)."""
        known = await self._db.articles.known_items(feed.id, entries)
        oldest = now - self._options.max_alert_age
        fresh = [e for e in entries if e.item_key not in known and e.published_at >= oldest]
        limit = self._options.max_alerts_per_poll
        if len(fresh) > limit:
            log.warning(
                "feed %s: %d new items at once (IDs changed or feed re-published?); "
                "alerting only the newest %d",
                feed.id,
                len(fresh),
                limit,
            )
            fresh = sorted(fresh, key=lambda e: e.published_at, reverse=True)[:limit]
        return fresh

    async def _unchanged(
        self,
        feed: FeedRow,
        fetched: FetchResult,
        body_hash: str | None,
        outcome: str,
        now: datetime,
    ) -> FeedPollReport:
        # Nothing new: the rhythm is unchanged, but the silence it measures grew.
        delay = adaptive_poll_delay(
            rhythm=_rhythm(feed),
            headers=fetched.headers,
            ttl_minutes=feed.ttl_minutes,
            policy=self._options.policy,
            now=now,
        )
        next_at = now + timedelta(seconds=delay)
        redirect_target, redirect_polls = _redirect(feed, fetched)
        await self._db.feeds.record_poll_success(
            feed.id,
            PollSuccess(
                etag=fetched.etag or feed.etag,
                last_modified=fetched.last_modified or feed.last_modified,
                body_hash=body_hash,
                ttl_minutes=None,
                next_poll_at=_ts(next_at),
                redirect_target=redirect_target,
                redirect_polls=redirect_polls,
            ),
            now=_ts(now),
        )
        moved_to = await self._follow_move(feed, redirect_target, redirect_polls)
        return FeedPollReport(feed.id, feed.url, outcome, moved_to=moved_to)

    async def _follow_move(self, feed: FeedRow, target: str | None, polls: int) -> str | None:
        """Move the feed to the target it has been permanently redirected to for
        move_after_polls polls in a row (polls, this one included); the new URL, or
        None when it stays."""
        if target is None or polls < self._options.move_after_polls:
            return None
        if is_private_url(target) and not self._options.allow_private_moves:
            log.warning("feed %s: not moved to a private address (%s)", feed.id, _origin(target))
            return None
        if not await self._db.feeds.move_feed(feed.id, target):
            log.warning("feed %s: moved to %s, which another feed has", feed.id, _origin(target))
            return None
        log.warning(
            "feed %s moved: %d polls in a row answered a permanent redirect, to %s",
            feed.id,
            polls,
            _origin(target),
        )
        return target

    async def _fail(
        self, feed: FeedRow, kind: str, detail: str, retry_after: float | None, now: datetime
    ) -> FeedPollReport:
        policy = self._options.policy
        failures = feed.failures + 1
        delay = failure_delay(failures=failures, retry_after=retry_after, policy=policy)
        pause = should_pause(failures, policy)
        await self._db.feeds.record_poll_failure(
            feed.id,
            PollFailure(kind, detail, _ts(now + timedelta(seconds=delay)), pause),
            now=_ts(now),
        )
        level = logging.WARNING if pause else logging.INFO
        log.log(
            level, "feed %s failed (%s: %s)%s", feed.id, kind, detail, ", paused" if pause else ""
        )
        return FeedPollReport(
            feed.id, feed.url, "failed", error_kind=kind, error=detail, paused=pause
        )

    async def run_forever(
        self,
        stop: asyncio.Event,
        *,
        on_queued: Callable[[], None] | None = None,
        wake: asyncio.Event | None = None,
        max_sleep: float = 60.0,
        error_retry: float = 30.0,
    ) -> None:
        """Poll due feeds until stop is set, sleeping until the next feed is due.

        The sleep ends early when `wake` is set (a feed added or resumed in this
        process) and lasts at most `max_sleep`, so a feed added by another process
        (`newsbot feeds add` writes the database directly) is polled within it.
        A feed whose poll failed by our fault (outcome "error": its transaction
        rolled back, so it is still due) is retried after `error_retry`, not at
        once in a loop; a cycle that fails as a whole waits as long.
        on_queued is called after a cycle that queued alerts (to wake the sender).
        """
        held: dict[int, float] = {}
        while not stop.is_set():
            if wake is not None:
                wake.clear()
            delay = error_retry
            try:
                report = await self._poll_due_except(held)
                if (report.alerts_queued or report.edits_queued) and on_queued is not None:
                    on_queued()
                if report.feeds:
                    log.info(
                        "poll cycle: %d feeds, %d new articles, %d alerts queued, %d failed",
                        len(report.feeds),
                        report.new_articles,
                        report.alerts_queued,
                        report.count("failed"),
                    )
                delay = await self._until_next(held, report, max_sleep, error_retry)
            except Exception:
                # One bad cycle (a full disk, a bug) must not end the service.
                log.exception("poll cycle failed")
            await self._nap(min(delay, max_sleep), stop, wake)

    async def _until_next(
        self, held: dict[int, float], report: CycleReport, max_sleep: float, error_retry: float
    ) -> float:
        """Seconds until the next poll is due, holding back feeds that just failed by our fault."""
        now = self._clock().timestamp()
        if self.holder is not None:
            claimable = await self._db.feeds.next_claimable_at(now=int(now))
            return wake_delay(claimable, now, max_sleep=max_sleep)
        for feed_id in [i for i, until in held.items() if until <= now]:
            del held[feed_id]
        for polled in report.feeds:
            if polled.outcome == "error":
                held[polled.feed_id] = now + error_retry
        next_due: float | None = await self._db.feeds.next_poll_at()
        if held and next_due is not None and next_due <= now:
            # The overdue feed may be one held back: look at what is due before the cap.
            soon = await self._db.feeds.due_feeds(now=int(now + max_sleep))
            next_due = min(
                (max(float(f.next_poll_at), held.get(f.id, 0.0)) for f in soon), default=None
            )
        return wake_delay(next_due, now, max_sleep=max_sleep)

    async def _nap(self, seconds: float, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
        """The injected sleep, cut short by stop or wake."""
        if seconds <= 0 or stop.is_set() or (wake is not None and wake.is_set()):
            return
        waiters = [asyncio.ensure_future(self._sleep(seconds)), asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.wait(waiters)


def _timed(job: Callable[[], ParsedFeed]) -> tuple[ParsedFeed, float]:
    """Run a parse job in the worker, and say how long the parsing itself took there
    (not the wait for a free worker)."""
    started = time.perf_counter()
    parsed = job()
    return parsed, time.perf_counter() - started


def wake_delay(next_due: float | None, now: float, *, max_sleep: float) -> float:
    """Seconds the poll loop sleeps: until the next feed is due (0 if one is due now),
    never longer than max_sleep (nothing known to be due: max_sleep)."""
    if next_due is None:
        return max_sleep
    return min(max(0.0, next_due - now), max_sleep)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _when(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _redirect(feed: FeedRow, fetched: FetchResult) -> tuple[str | None, int]:
    """The permanent redirect this poll followed and how many polls in a row answered
    it (this one included); (None, 0) when it followed none, or a temporary one."""
    target = fetched.moved_to
    if target is None or target == feed.url:
        return None, 0
    return target, feed.redirect_polls + 1 if target == feed.redirect_target else 1


def _origin(url: str) -> str:
    """A URL as logs may show it: scheme, host and path; a query may hold a token."""
    return url.split("?", 1)[0]


def _rhythm(feed: FeedRow) -> Rhythm:
    return Rhythm(feed.recent_items, feed.hourly_items, feed.first_polled_at)
