"""The database the settings name, and feeds.toml brought into it.

Light on purpose: operator commands that only read (`stats`, `search`,
`feeds list`) open the database through here without loading the poller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import storage
from bot.clock import utc_now
from bot.runtime.feeds_config import FeedsConfig
from bot.runtime.settings import Settings
from storage import Database


@asynccontextmanager
async def opened_database(settings: Settings) -> AsyncIterator[Database]:
    """The database settings name, closed when the block exits."""
    db = await storage.open_database(settings.db_location)
    try:
        yield db
    finally:
        await db.close()


async def sync_config(db: Database, config: FeedsConfig) -> int:
    """Bring feeds.toml's topics and feeds into the database; returns feeds added."""
    await db.feeds.sync_topics(config.topics)
    return await db.feeds.sync_config_feeds(config.feeds, now=int(utc_now().timestamp()))
