"""Prometheus metrics: what the bot counts as it runs, and what a scrape reads.

One `Metrics` per running bot, on its own `CollectorRegistry` (never the
process-global one, so tests can build several). It is what the lower layers
report to, through the small protocols they declare — `message_sent`
(bot.delivery.ratelimit), `telegram_answered` (bot.delivery.telegram_http),
`poll_done` and `feed_parsed` (bot.ingest.poller), `update_handled`
(bot.runtime.updates) — so neither delivery nor ingest imports prometheus_client.
Those are counter and histogram updates, cheap enough for every send.

Gauges about the database (outbox backlog, feeds by state, readers by mode)
and the running parts (rate budget, flood wait, Bot API silence) are read at
scrape time: `read_state` does the reads, awaited by the /metrics handler
(bot.runtime.probes), and `set_state` hands the result to a collector that
only copies it out. The registry's collect runs synchronously inside
`generate_latest`, where no database read may happen.

The bot builds a Metrics whether or not NEWSBOT_METRICS_LISTEN is set; only
the listener is optional.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.admin.stats import feed_health
from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import Priority, TelegramRateLimiter
from bot.ingest.poller import FeedPollReport
from storage import Database

log = logging.getLogger(__name__)

# newsbot_messages_sent_total{kind}: the send's priority class (bot.delivery.ratelimit),
# which for outbox rows is their kind; "status" is feed-health notices and the like.
SEND_KINDS = {int(p): p.name.lower() for p in Priority}
OUTBOX_KINDS = ("reply", "alert", "digest", "broadcast")
ANSWER_CLASSES = (
    "ok",
    "retry_after",
    "blocked",
    "chat_gone",
    "bad_request",
    "server_error",
    "network",
)
POLL_OUTCOMES = ("new", "unchanged", "not_modified")  # failed and error carry a cause
FEED_STATES = ("healthy", "new", "failing", "paused")
READER_MODES = ("instant", "digest")

# A poll is one conditional GET (a 304 in milliseconds) up to a site's listing and
# twenty article pages a second apart; a parse is milliseconds to a second or two.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
PARSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RETRY_AFTER_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
STATE_READ_TIMEOUT = 5.0  # seconds; Prometheus' default scrape timeout is 10


@dataclass(frozen=True, slots=True)
class State:
    """What a scrape reports beside the counters, read just before it (read_state).

    The database figures are empty when database_up is False: their series are
    then left out of the scrape (a gap in a graph, not a false zero).
    """

    database_up: bool
    backlog: Mapping[str, int] = field(default_factory=dict)
    oldest_due_age: Mapping[str, float] = field(default_factory=dict)
    feeds: Mapping[str, int] = field(default_factory=dict)
    readers: Mapping[str, int] = field(default_factory=dict)
    budget_in_use: float = 0.0
    flood_wait: float = 0.0
    bot_api_silence: float | None = None


async def read_state(
    db: Database,
    limiter: TelegramRateLimiter | None,
    health: BotApiHealth | None,
    *,
    now: int,
    monotonic: float | None = None,
) -> State:
    """Read the scrape-time figures. now is UNIX seconds (the database's time);
    monotonic is the Bot API health's clock now (time.monotonic by default)."""
    budget = limiter.budget_in_use() if limiter is not None else 0.0
    flood = limiter.flood_wait() if limiter is not None else 0.0
    silence = None
    if health is not None and health.last_answer is not None:
        at = time.monotonic() if monotonic is None else monotonic
        silence = max(0.0, at - health.last_answer)
    try:
        async with asyncio.timeout(STATE_READ_TIMEOUT):
            backlog = await db.outbox.backlog(now=now)
            feeds = await db.feeds.list_feeds(include_disabled=False)
            readers = await db.subscribers.active_by_mode()
    except Exception as exc:
        log.warning("metrics: database read failed (%s)", type(exc).__name__)
        return State(False, budget_in_use=budget, flood_wait=flood, bot_api_silence=silence)
    feed_states = dict.fromkeys(FEED_STATES, 0)
    for feed in feeds:
        state = feed_health(feed)
        state = "healthy" if state == "ok" else state
        feed_states[state] = feed_states.get(state, 0) + 1
    counts: dict[str, int] = {}
    ages: dict[str, float] = {}
    for kind in {*OUTBOX_KINDS, *backlog}:
        pending, due_since = backlog.get(kind, (0, None))
        counts[kind] = pending
        ages[kind] = float(max(0, now - due_since)) if due_since is not None else 0.0
    return State(
        True,
        backlog=counts,
        oldest_due_age=ages,
        feeds=feed_states,
        readers={mode: readers.get(mode, 0) for mode in {*READER_MODES, *readers}},
        budget_in_use=budget,
        flood_wait=flood,
        bot_api_silence=silence,
    )


class Metrics:
    """The bot's metrics on their own registry; see the module docstring."""

    def __init__(self, *, process: bool = True) -> None:
        """process: also the standard process_* (memory, CPU, open files), python_gc_*
        and python_info series of prometheus_client."""
        self.registry = CollectorRegistry()
        registry = self.registry
        self.messages_sent = Counter(
            "newsbot_messages_sent",
            "Messages Telegram accepted, by kind (the send's priority class).",
            ["kind"],
            registry=registry,
        )
        self.telegram_responses = Counter(
            "newsbot_telegram_responses",
            "Bot API answers by class; network is no answer at all.",
            ["class"],
            registry=registry,
        )
        self.retry_after = Histogram(
            "newsbot_telegram_retry_after_seconds",
            "The waits Telegram asked for in its 429 answers.",
            buckets=RETRY_AFTER_BUCKETS,
            registry=registry,
        )
        self.polls = Counter(
            "newsbot_polls",
            "Feed and site polls by outcome, and for failures their typed cause.",
            ["outcome", "cause"],
            registry=registry,
        )
        self.poll_duration = Histogram(
            "newsbot_poll_duration_seconds",
            "Wall time of one source's poll: fetch, parse and store.",
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self.parse_duration = Histogram(
            "newsbot_parse_duration_seconds",
            "Time a parse worker spent on one feed document.",
            buckets=PARSE_BUCKETS,
            registry=registry,
        )
        self.articles_stored = Counter(
            "newsbot_articles_stored",
            "New articles stored.",
            registry=registry,
        )
        self.update_duration = Histogram(
            "newsbot_update_handling_seconds",
            "From an update's arrival in the processor (its chat's turn included) to the "
            "end of its handling.",
            buckets=UPDATE_BUCKETS,
            registry=registry,
        )
        self._state = _StateCollector()
        registry.register(self._state)
        if process:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        # Every known series from the start: a rate() over a fresh counter needs its 0.
        self._sent = {p: self.messages_sent.labels(kind) for p, kind in SEND_KINDS.items()}
        self._answers = {c: self.telegram_responses.labels(c) for c in ANSWER_CLASSES}
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome, "none")

    # ---- what the lower layers report (their protocols) ---------------------------

    def message_sent(self, priority: int) -> None:
        child = self._sent.get(priority)
        if child is None:
            child = self._sent[priority] = self.messages_sent.labels(f"priority_{priority}")
        child.inc()

    def telegram_answered(self, answer: str, retry_after: float | None) -> None:
        child = self._answers.get(answer)
        if child is None:
            child = self._answers[answer] = self.telegram_responses.labels(answer)
        child.inc()
        if retry_after is not None:
            self.retry_after.observe(retry_after)

    def poll_done(self, report: FeedPollReport, seconds: float) -> None:
        if report.outcome == "failed":
            cause = report.error_kind or "unknown"
        elif report.outcome == "error":
            cause = report.error or "unknown"  # the exception's class: our fault
        else:
            cause = "none"
        self.polls.labels(report.outcome, cause).inc()
        self.poll_duration.observe(seconds)
        if report.new_articles:
            self.articles_stored.inc(report.new_articles)

    def feed_parsed(self, seconds: float) -> None:
        self.parse_duration.observe(seconds)

    def update_handled(self, seconds: float) -> None:
        self.update_duration.observe(seconds)

    # ---- scraping -------------------------------------------------------------------

    def set_state(self, state: State) -> None:
        """The scrape-time figures the next render reports."""
        self._state.state = state

    def render(self) -> bytes:
        """The Prometheus text exposition of everything (prometheus_client's generate_latest)."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Copies the last State into gauge families; reads nothing itself."""

    def __init__(self) -> None:
        self.state: State | None = None

    def describe(self) -> list[Metric]:
        return []  # registering must not collect (the state may not be read yet)

    def collect(self) -> Iterator[Metric]:
        state = self.state
        if state is None:
            return
        yield _gauge(
            "newsbot_database_up",
            "1 when the scrape's database read answered in time, else 0.",
            [((), 1.0 if state.database_up else 0.0)],
        )
        yield _gauge(
            "newsbot_rate_budget_in_use_ratio",
            "Sends granted in the rate limiter's last window over what a window allows.",
            [((), state.budget_in_use)],
        )
        yield _gauge(
            "newsbot_rate_limiter_flood_wait_seconds",
            "Seconds left of the pause Telegram's last 429 imposed on every send.",
            [((), state.flood_wait)],
        )
        if state.bot_api_silence is not None:
            yield _gauge(
                "newsbot_bot_api_last_answer_age_seconds",
                "Seconds since the Bot API last answered any request of the bot.",
                [((), state.bot_api_silence)],
            )
        if not state.database_up:
            return
        yield _gauge(
            "newsbot_outbox_backlog_messages",
            "Messages queued in the outbox and not yet sent (pending), by kind.",
            [((kind,), n) for kind, n in sorted(state.backlog.items())],
            ["kind"],
        )
        yield _gauge(
            "newsbot_outbox_oldest_pending_age_seconds",
            "How long the longest-waiting due message has been due, by kind (0: none due).",
            [((kind,), age) for kind, age in sorted(state.oldest_due_age.items())],
            ["kind"],
        )
        yield _gauge(
            "newsbot_feeds",
            "Enabled sources by state: healthy, new (never polled), failing, paused.",
            [((name,), n) for name, n in sorted(state.feeds.items())],
            ["state"],
        )
        yield _gauge(
            "newsbot_readers_active",
            "Active readers by mode.",
            [((mode,), n) for mode, n in sorted(state.readers.items())],
            ["mode"],
        )


def _gauge(
    name: str,
    documentation: str,
    samples: list[tuple[tuple[str, ...], float]],
    labels: list[str] | None = None,
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels or [])
    for values, value in samples:
        family.add_metric(list(values), value)
    return family
