"""Wiring: settings → database, fetcher, parse workers and poller, shared by `run` and
the operator commands so both see exactly the same pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.holders import holder_name
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.freshness import PollPolicy
from bot.ingest.poller import Poller, PollerOptions, parse_pool
from bot.runtime.database import opened_database, sync_config
from bot.runtime.feeds_config import FeedsConfig, load_feeds_config
from bot.runtime.settings import Settings
from storage import Database


@dataclass(slots=True)
class Service:
    settings: Settings
    db: Database
    config: FeedsConfig
    fetcher: Fetcher
    poller: Poller


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        total_timeout=settings.fetch_timeout,
        max_body_bytes=settings.fetch_max_bytes,
        allow_private=settings.allow_private_feeds,
    )


@asynccontextmanager
async def open_service(
    settings: Settings, *, executor: Executor | None = None
) -> AsyncIterator[Service]:
    """Everything the poller needs, opened in order and closed in reverse."""
    config = load_feeds_config(settings.feeds_path)
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(opened_database(settings))
        await sync_config(db, config)
        fetcher = await stack.enter_async_context(Fetcher(fetch_limits(settings)))
        if executor is None:
            executor = stack.enter_context(parse_pool())
        poller = Poller(
            db,
            fetcher,
            matcher=config.matcher(),
            executor=executor,
            options=PollerOptions(
                default_tz=settings.default_timezone,
                concurrency=settings.fetch_concurrency,
                policy=PollPolicy(default_interval=settings.poll_interval),
            ),
            # Claimed, so a one-off `poll --once` and any running bots never poll a
            # feed twice at once.
            holder=holder_name(),
        )
        yield Service(settings, db, config, fetcher, poller)
