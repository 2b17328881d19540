"""Console mode: the bot without Telegram. Placeholder until the terminal chat lands."""

from __future__ import annotations

import asyncio

from bot.settings import Settings


async def run_console(settings: Settings, stop: asyncio.Event) -> None:
    raise NotImplementedError
