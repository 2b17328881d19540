"""The work a bot does besides answering, shared among every process on the database.

Several `newsbot run` processes may share one database. Work that can be
split is claimed piece by piece, so every process does it: the sender
(outbox rows) and the poller (due feeds). Work that must happen once is a
role held by one process through a lease, and taken over by another when
its holder dies: housekeeping (digests, paused-feed notices, weekly
backups) and broadcast progress (lease `background`), and with long polling
the one getUpdates consumer (lease `updates`). Each process also holds a
`member:<holder>` lease; the live members split Telegram's overall budget
(TelegramRateLimiter.set_share).

Leases and claims last CLAIM_TTL (6 s) and are renewed every third of it, so
a process that dies hands its roles and its claimed work to the others
within about 8 s; one on the same machine is seen dead at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import storage
from bot.admin import broadcast, health
from bot.clock import sleep_or_stop
from bot.delivery import digest
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.delivery.telegram_bot import NewsBot
from bot.holders import holder_is_dead, holder_name
from bot.ingest.poller import Poller
from bot.runtime.context import BotServices
from storage.rows import CLAIM_TTL

# Re-exported: tests and operator commands name the holder the way the bot does.
__all__ = ["LEASE_NAME", "Background", "holder_is_dead", "holder_name"]

log = logging.getLogger(__name__)

LEASE_NAME = "background"
UPDATES_LEASE = "updates"
MEMBER_PREFIX = "member:"


class UpdatesRole(Protocol):
    """Long polling, started only in the process that holds the `updates` lease."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(slots=True)
class Background:
    poller: Poller | None
    sender_concurrency: int = 32
    lease_ttl: int = CLAIM_TTL
    housekeeping_interval: float = 30.0
    progress_interval: float = 3.0
    backup_interval: float = 3600.0  # how often to ask whether a weekly backup is due
    holder: str = field(default_factory=holder_name)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sender: Sender | None = None
    # The rate limiter whose share of the token's budget follows the live members.
    limiter: TelegramRateLimiter | None = None
    # Long polling (None: webhook mode, where every process serves updates).
    updates: UpdatesRole | None = None
    holds_lease: bool = False
    holds_updates: bool = False
    members: int = 1
    _supervisor: asyncio.Task[None] | None = None
    _work_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _work: list[asyncio.Task[None]] = field(default_factory=list)
    _shared_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _shared: list[asyncio.Task[None]] = field(default_factory=list)
    # Set while this process holds the background lease and does its work.
    work_started: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once this process sends and polls (every process does, after joining).
    sharing_started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def working(self) -> bool:
        """Whether this process holds the once-only roles now."""
        return bool(self._work)

    async def start(self, services: BotServices, bot: NewsBot) -> None:
        self.stop.clear()
        if self.poller is not None:
            self.poller.holder = self.holder  # one name for all of this process's claims
        self.sender = Sender(
            services.db,
            bot,
            clock=services.clock,
            concurrency=self.sender_concurrency,
            wake=services.outbox_ready,
            paid_broadcast=services.settings.paid_broadcast,
            admin_ids=sorted(services.settings.admin_ids),
            notice_language=services.settings.default_language,
            holder=self.holder,
            claim_ttl=self.lease_ttl,
        )
        self._supervisor = asyncio.create_task(self._supervise(services))

    async def close(self, services: BotServices) -> None:
        self.stop.set()
        if self._supervisor is not None:
            await self._supervisor
            self._supervisor = None
        await self._stop_work()
        await self._stop_shared()
        await self._stop_updates()
        leases = services.db.leases
        if self.holds_lease:
            await leases.release(LEASE_NAME, holder=self.holder)
            self.holds_lease = False
        if self.holds_updates:
            # Polling has stopped: another process may take over at once.
            await leases.release(UPDATES_LEASE, holder=self.holder)
            self.holds_updates = False
        if self.poller is not None:
            await services.db.feeds.release_claims(holder=self.holder)
        await leases.release(MEMBER_PREFIX + self.holder, holder=self.holder)

    async def take_updates(self, services: BotServices) -> bool:
        """Whether this process may long-poll now (taking the `updates` lease if free)."""
        try:
            self.holds_updates = await self._acquire(services, UPDATES_LEASE)
        except Exception:
            log.exception("updates lease renewal failed")
            self.holds_updates = False
        return self.holds_updates

    async def _supervise(self, services: BotServices) -> None:
        joined = False
        while not self.stop.is_set():
            try:
                members = await self._join(services)
            except Exception:
                log.exception("membership renewal failed")
                members = None
            if members is not None and not self._shared:
                if joined or members == 1:
                    self._start_shared(services)
                # Else the others count us at their next renewal: our first sends
                # wait for that, so the shares never add up to more than the budget.
                joined = True
            await self._supervise_lease(services)
            if self.updates is not None:
                await self._supervise_updates(services)
            await sleep_or_stop(self.stop, self.lease_ttl / 3)

    async def _join(self, services: BotServices) -> int:
        """Renew this process's membership; returns how many processes are live."""
        leases, now = services.db.leases, services.now
        name = MEMBER_PREFIX + self.holder
        await leases.acquire(name, holder=self.holder, ttl=self.lease_ttl, now=now)
        live = [
            h
            for h in await leases.holders(MEMBER_PREFIX, now=now)
            if h == self.holder or not holder_is_dead(h)
        ]
        members = max(1, len(live))
        if members != self.members:
            log.info("%d bot processes share the database", members)
        self.members = members
        if self.limiter is not None:
            # Sorted by holder name in every process: each knows which share is its own.
            index = live.index(self.holder) if self.holder in live else 0
            self.limiter.set_share(members, index)
        return members

    async def _supervise_lease(self, services: BotServices) -> None:
        try:
            held = await self._acquire(services, LEASE_NAME)
        except Exception:
            log.exception("lease renewal failed")
            held = False
        if held and not self._work:
            log.info("this process now does housekeeping (lease %s)", self.holder)
            self._start_work(services)
        elif not held and self._work:
            log.warning("lost the lease to another process; pausing housekeeping")
            await self._stop_work()
        self.holds_lease = held

    async def _supervise_updates(self, services: BotServices) -> None:
        assert self.updates is not None
        was_held = self.holds_updates
        if await self.take_updates(services) and not was_held:
            log.info("this process now receives updates (lease %s)", self.holder)
            try:
                await self.updates.start()
            except Exception:
                # Let another process try: this one could not start long polling.
                log.exception("long polling did not start")
                await services.db.leases.release(UPDATES_LEASE, holder=self.holder)
                self.holds_updates = False
        elif was_held and not self.holds_updates:
            log.warning("lost the updates lease to another process; long polling stops")
            await self.updates.stop()

    async def _stop_updates(self) -> None:
        if self.updates is not None and self.holds_updates:
            await self.updates.stop()

    async def _acquire(self, services: BotServices, name: str) -> bool:
        leases, now = services.db.leases, services.now
        if await leases.acquire(name, holder=self.holder, ttl=self.lease_ttl, now=now):
            return True
        # A process on this machine that died (kill -9, a crash) cannot release its
        # lease; waiting for it to expire would pause its role for the whole TTL.
        current = await leases.holder(name, now=now)
        if current is None or not holder_is_dead(current):
            return False
        log.info("lease %s holder %s is no longer running; taking over", name, current)
        return await leases.acquire(
            name, holder=self.holder, ttl=self.lease_ttl, now=now, replacing=current
        )

    def _start_shared(self, services: BotServices) -> None:
        assert self.sender is not None
        self._shared_stop = asyncio.Event()
        jobs: list[Coroutine[Any, Any, None]] = [self.sender.run_forever(self._shared_stop)]
        if self.poller is not None:
            jobs.append(
                self.poller.run_forever(self._shared_stop, on_queued=services.outbox_ready.set)
            )
        self._shared = [asyncio.create_task(job) for job in jobs]
        self.sharing_started.set()

    async def _stop_shared(self) -> None:
        self.sharing_started.clear()
        self._shared_stop.set()
        if self._shared:
            await asyncio.gather(*self._shared, return_exceptions=True)
            self._shared = []

    def _start_work(self, services: BotServices) -> None:
        assert self.sender is not None
        self._work_stop = asyncio.Event()
        jobs: list[Coroutine[Any, Any, None]] = [
            self._housekeeping(services),
            broadcast.run_progress_reporter(
                services.db,
                self.sender,
                self._work_stop,
                clock=services.clock,
                language_of=_admin_language(services),
                interval=self.progress_interval,
            ),
        ]
        if services.settings.backup_dir is not None:
            jobs.append(self._weekly_backups(services))
        self._work = [asyncio.create_task(job) for job in jobs]
        self.work_started.set()

    async def _stop_work(self) -> None:
        self.work_started.clear()
        self._work_stop.set()
        if self._work:
            await asyncio.gather(*self._work, return_exceptions=True)
            self._work = []

    async def _housekeeping(self, services: BotServices) -> None:
        """Digests that have come due and notices about paused feeds."""
        while not self._work_stop.is_set():
            await run_housekeeping(services, services.clock())
            await sleep_or_stop(self._work_stop, self.housekeeping_interval)

    async def _weekly_backups(self, services: BotServices) -> None:
        if storage.is_database_url(services.db.location):
            log.warning("NEWSBOT_BACKUP_DIR is for SQLite; back up PostgreSQL with pg_dump")
            return
        while not self._work_stop.is_set():
            await run_weekly_backup(services, services.clock())
            await sleep_or_stop(self._work_stop, self.backup_interval)


async def run_weekly_backup(services: BotServices, now: datetime) -> Path | None:
    """NEWSBOT_BACKUP_DIR: a dated copy of the SQLite file when the newest is a week
    old, keeping NEWSBOT_BACKUP_KEEP of them. Returns the new copy, if one was made."""
    settings = services.settings
    location = services.db.location
    if settings.backup_dir is None or location == ":memory:" or storage.is_database_url(location):
        return None
    from storage.backup import weekly

    try:
        result = await weekly(
            location, settings.backup_dir, keep=settings.backup_keep, today=now.date()
        )
    except Exception:
        log.exception("weekly backup failed")
        return None
    for old in result.deleted:
        log.info("deleted old backup %s", old, extra={"backup": str(old)})
    if result.made is None:
        return None
    log.info(
        "weekly backup written to %s (%d bytes)",
        result.made.path,
        result.made.size,
        extra={"backup": str(result.made.path)},
    )
    return result.made.path


# Articles whose words housekeeping reads per pass to seal search segments
# (storage.search_segments): ~1 s of CPU, ~30,000 articles a minute.
SEAL_ARTICLES_PER_PASS = 16_384


async def run_housekeeping(services: BotServices, now: datetime) -> None:
    try:
        run = await digest.queue_due_digests(services.db, now=now)
        notices = 0
        for notify in (health.notify_paused_feeds, health.notify_moved_feeds):
            notices += await notify(
                services.db,
                services.settings.admin_ids,
                language=services.settings.default_language,
                now=int(now.timestamp()),
            )
        if run.queued or notices:
            services.outbox_ready.set()
    except Exception:
        log.exception("housekeeping failed")
    try:
        # A bounded share each time: a backlog is sealed over a few passes, not in
        # one that holds up digests.
        await services.db.articles.seal_search_segments(
            now=int(now.timestamp()), most_articles=SEAL_ARTICLES_PER_PASS
        )
    except Exception:
        log.exception("sealing search segments failed")


def _admin_language(services: BotServices) -> Callable[[int], Awaitable[str]]:
    async def language_of(admin_id: int) -> str:
        reader = await services.db.subscribers.get_subscriber(admin_id)
        return reader.language if reader else services.settings.default_language

    return language_of
