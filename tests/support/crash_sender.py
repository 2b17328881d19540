"""A sender process for the kill -9 test: drains the outbox of DB against a Bot API
server until it is empty (or until it is killed).

    python -m tests.support.crash_sender DB API_ROOT TOKEN CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.delivery.telegram_bot import NewsBot
from storage.sqlite import SqliteDatabase


async def main(db_path: str, api_root: str, token: str, concurrency: int) -> None:
    async with await SqliteDatabase.open(db_path) as db:
        rate = TelegramRateLimiter(per_second=10_000, chat_interval=0.0)
        async with NewsBot(token, base_url=f"{api_root}/bot", rate_limiter=rate) as bot:
            sender = Sender(db, bot, concurrency=concurrency)
            await sender.release_dead_holders()  # what Sender.run_forever does at start
            print("ready", flush=True)
            while await sender.drain():
                pass


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
