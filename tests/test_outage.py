"""The Bot API down for a while after start-up: nothing is lost or given up, the outage
is logged once when it starts and once when it ends, and the bot recovers by itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.error import NetworkError

from bot.botapi_standin import BotApiStandIn
from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.sender import Outage, Sender
from bot.delivery.telegram_bot import NewsBot
from bot.delivery.telegram_http import AiohttpRequest, BotApiUnreachable
from bot.text.i18n import t
from storage.rows import Priority
from storage.sqlite import SqliteDatabase
from tests.support.bot_world import BOT_USERNAME, open_world
from tests.support.clock import ManualClock

READERS = range(7001, 7006)


def test_health_logs_an_outage_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    health = BotApiHealth(clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="bot.delivery.api_health"):
        health.answered()
        for _ in range(50):
            health.failed("connection refused")
        now[0] = 160.0
        health.answered()
        health.answered()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("WARNING", "Bot API unreachable (connection refused); retrying with backoff"),
        ("INFO", "Bot API reachable again after 60 s"),
    ]
    assert health.reachable and health.last_answer == 160.0


def test_outage_waits_double_up_to_a_minute() -> None:
    outage = Outage()
    outage.begin()
    assert [outage.next_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    outage.end()
    assert not outage.active and outage.delay == 0


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        yield running


async def test_messages_wait_out_an_outage_without_using_up_their_tries(
    db: SqliteDatabase, standin: BotApiStandIn, clock: ManualClock
) -> None:
    rate = TelegramRateLimiter(per_second=1000, chat_interval=0.0)
    request = AiohttpRequest()
    async with NewsBot(
        standin.token, base_url=standin.base_url, rate_limiter=rate, request=request
    ) as bot:
        sender = Sender(db, bot, clock=clock, max_attempts=2)
        for chat in READERS:
            await db.subscribers.ensure_subscriber(chat, now=clock.ts)
            await db.outbox.enqueue(
                chat_id=chat, kind="broadcast", priority=Priority.BROADCAST, dedup_key="m",
                payload={"text": "Bảo trì lúc 22:00", "parse_mode": None}, now=clock.ts,
            )  # fmt: skip
        port = standin.port
        await standin.stop()

        for _ in range(5):  # far more passes than max_attempts
            await sender.drain()
        assert sender.outage.active
        assert not request.health.reachable
        rows = [r for chat in READERS for r in await db.outbox.rows_for_chat(chat)]
        assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}

        await standin.start(port=port)
        assert await sender.drain() == 1  # one message probes; it goes through
        assert not sender.outage.active and request.health.reachable
        assert await sender.drain() == len(READERS) - 1  # then everything, at full speed
        assert await db.outbox.counts_by_status() == {"sent": len(READERS)}
        assert sorted(m.chat_id for m in standin.sent) == list(READERS)


async def test_the_running_bot_recovers_by_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_world(tmp_path) as world:
        standin = world.standin
        assert (await world.reply(42, "/help")).text == t("vi", "help", bot=BOT_USERNAME)
        port = standin.port
        with caplog.at_level(logging.INFO, logger="bot.delivery.api_health"):
            await standin.stop()
            await asyncio.sleep(1.5)  # long polling fails and backs off meanwhile
            await standin.start(port=port)
            # Polling comes back by itself (PTB backs off at most a few seconds here).
            answer = await asyncio.wait_for(world.say(42, "/help"), timeout=20)
        assert [m.text for m in answer] == [t("vi", "help", bot=BOT_USERNAME)]
        messages = [r.getMessage() for r in caplog.records if r.name == "bot.delivery.api_health"]
        assert len(messages) == 2, messages
        assert messages[0].startswith("Bot API unreachable (")
        assert messages[1].startswith("Bot API reachable again after")


async def test_only_a_connection_never_made_is_an_outage() -> None:
    # Cut off after the request went out, it may have been delivered: an ordinary,
    # counted retry. Refused outright, it cannot have been: an outage.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as cut:
            await request.do_request(f"http://127.0.0.1:{port}/botX/getMe", "POST")
        assert not isinstance(cut.value, BotApiUnreachable)
        server.close()
        await server.wait_closed()
        with pytest.raises(BotApiUnreachable):
            await request.do_request(f"http://127.0.0.1:{port}/botX/getMe", "POST")
    finally:
        await request.shutdown()
