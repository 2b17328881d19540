"""The work a bot does besides answering: polling, sending, digests, broadcast
progress and feed-health notices — run by whichever process holds the lease.

Two bot processes on one database would otherwise both poll (double fetches)
and both send (double messages). The lease is renewed well inside its
time-to-live; a process that cannot renew it stops its background work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import storage
from bot.admin import broadcast, health
from bot.clock import sleep_or_stop
from bot.delivery import digest
from bot.delivery.sender import Sender
from bot.delivery.telegram_bot import NewsBot
from bot.ingest.poller import Poller
from bot.runtime.context import BotServices

log = logging.getLogger(__name__)

LEASE_NAME = "background"


@dataclass(slots=True)
class Background:
    poller: Poller | None
    sender_concurrency: int = 32
    lease_ttl: int = 30
    housekeeping_interval: float = 30.0
    progress_interval: float = 3.0
    backup_interval: float = 3600.0  # how often to ask whether a weekly backup is due
    holder: str = field(default_factory=lambda: holder_name())
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sender: Sender | None = None
    holds_lease: bool = False
    _supervisor: asyncio.Task[None] | None = None
    _work_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _work: list[asyncio.Task[None]] = field(default_factory=list)
    # Set while this process holds the lease and works (tests and operators wait on it).
    work_started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def working(self) -> bool:
        """Whether this process is polling and sending now."""
        return bool(self._work)

    async def start(self, services: BotServices, bot: NewsBot) -> None:
        self.stop.clear()
        self.sender = Sender(
            services.db,
            bot,
            clock=services.clock,
            concurrency=self.sender_concurrency,
            wake=services.outbox_ready,
            paid_broadcast=services.settings.paid_broadcast,
            admin_ids=sorted(services.settings.admin_ids),
            notice_language=services.settings.default_language,
        )
        self._supervisor = asyncio.create_task(self._supervise(services))

    async def close(self, services: BotServices) -> None:
        self.stop.set()
        if self._supervisor is not None:
            await self._supervisor
            self._supervisor = None
        await self._stop_work()
        if self.holds_lease:
            await services.db.leases.release(LEASE_NAME, holder=self.holder)
            self.holds_lease = False

    async def _supervise(self, services: BotServices) -> None:
        while not self.stop.is_set():
            try:
                held = await self._acquire(services)
            except Exception:
                log.exception("lease renewal failed")
                held = False
            if held and not self._work:
                log.info("this process now polls and sends (lease %s)", self.holder)
                self._start_work(services)
            elif not held and self._work:
                log.warning("lost the lease to another process; pausing polling and sending")
                await self._stop_work()
            self.holds_lease = held
            await sleep_or_stop(self.stop, self.lease_ttl / 3)

    async def _acquire(self, services: BotServices) -> bool:
        leases, now = services.db.leases, services.now
        if await leases.acquire(LEASE_NAME, holder=self.holder, ttl=self.lease_ttl, now=now):
            return True
        # A process on this machine that died (kill -9, a crash) cannot release its
        # lease; waiting for it to expire would pause sending for the whole TTL.
        current = await leases.holder(LEASE_NAME, now=now)
        if current is None or not holder_is_dead(current):
            return False
        log.info("lease holder %s is no longer running; taking over", current)
        return await leases.acquire(
            LEASE_NAME, holder=self.holder, ttl=self.lease_ttl, now=now, replacing=current
        )

    def _start_work(self, services: BotServices) -> None:
        assert self.sender is not None
        self._work_stop = asyncio.Event()
        jobs: list[Coroutine[Any, Any, None]] = [
            self.sender.run_forever(self._work_stop),
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
        if self.poller is not None:
            jobs.append(
                self.poller.run_forever(self._work_stop, on_queued=services.outbox_ready.set)
            )
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


async def run_housekeeping(services: BotServices, now: datetime) -> None:
    try:
        run = await digest.queue_due_digests(services.db, now=now)
        notices = await health.notify_paused_feeds(
            services.db,
            services.settings.admin_ids,
            language=services.settings.default_language,
            now=int(now.timestamp()),
        )
        if run.queued or notices:
            services.outbox_ready.set()
    except Exception:
        log.exception("housekeeping failed")


def _admin_language(services: BotServices) -> Callable[[int], Awaitable[str]]:
    async def language_of(admin_id: int) -> str:
        reader = await services.db.subscribers.get_subscriber(admin_id)
        return reader.language if reader else services.settings.default_language

    return language_of


def holder_name() -> str:
    """host:pid:random — unique per process, and telling which machine and process hold it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this machine and that process is gone.

    A holder elsewhere, a holder name we cannot read, or a process we may not
    signal counts as alive: its lease is left to expire.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # an earlier Background of this process (tests restart it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
