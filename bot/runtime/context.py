"""What handlers reach through `context.bot_data`: the services of one running bot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.clock import Clock, utc_now
from bot.runtime.feeds_config import FeedsConfig
from bot.runtime.settings import Settings
from bot.runtime.throttle import CommandThrottle
from storage import Database

BOT_DATA_KEY = "newsbot"


@dataclass(slots=True)
class BotServices:
    settings: Settings
    db: Database
    config: FeedsConfig
    clock: Clock = utc_now
    throttle: CommandThrottle = field(default_factory=CommandThrottle)
    # Set whenever something is queued, so the sender wakes at once.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def now(self) -> int:
        return int(self.clock().timestamp())
