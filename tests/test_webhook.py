"""Webhook mode: Telegram posts updates to us; the secret token guards the door."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.botapi_standin import BotApiStandIn
from bot.runtime.app import Webhook, build_application, running
from bot.runtime.background import Background
from bot.runtime.context import BotServices
from bot.runtime.feeds_config import FeedsConfig
from bot.runtime.settings import load_settings
from bot.text.i18n import t
from handlers.app import install as install_handlers
from storage.rows import TopicRow
from storage.sqlite import SqliteDatabase

SECRET = "hook-Secret_123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_update(update_id: int, chat_id: int) -> dict[str, object]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
            "from": user,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


@pytest.fixture
async def webhook_bot(tmp_path: Path) -> AsyncIterator[tuple[BotApiStandIn, Webhook]]:
    async with await SqliteDatabase.open(tmp_path / "newsbot.db") as db, BotApiStandIn() as standin:
        topics = (TopicRow("kinh-te", "Kinh tế", "Business", ()),)
        await db.feeds.sync_topics(topics)
        services = BotServices(
            settings=load_settings({}, env_file=None), db=db, config=FeedsConfig(topics, ())
        )
        app = build_application(
            services,
            install_handlers=install_handlers,
            token=standin.token,
            api_base_url=standin.base_url.removesuffix("/bot"),
            background=Background(poller=None, housekeeping_interval=3600),
        )
        hook = Webhook("https://bot.example.vn/telegram/updates", "127.0.0.1", free_port(), SECRET)
        async with running(app, webhook=hook):
            yield standin, hook


async def post(hook: Webhook, body: dict[str, object], secret: str) -> int:
    url = f"http://{hook.listen}:{hook.port}/telegram/updates"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as r,
    ):
        return r.status


async def test_webhook_is_registered_with_its_secret(
    webhook_bot: tuple[BotApiStandIn, Webhook],
) -> None:
    standin, hook = webhook_bot

    [registered] = standin.calls_to("setWebhook")

    assert registered["url"] == hook.url
    assert registered["secret_token"] == SECRET


async def test_updates_posted_with_the_secret_are_answered(
    webhook_bot: tuple[BotApiStandIn, Webhook],
) -> None:
    standin, hook = webhook_bot

    status = await post(hook, start_update(1, 42), SECRET)

    assert status == 200
    await standin.wait_for(lambda: bool(standin.messages_to(42)))
    assert standin.messages_to(42)[0].text == t("vi", "help", bot="newsbot")


async def test_updates_without_the_secret_are_refused(
    webhook_bot: tuple[BotApiStandIn, Webhook],
) -> None:
    standin, hook = webhook_bot

    status = await post(hook, start_update(2, 43), "wrong")
    await post(hook, start_update(3, 44), SECRET)
    await standin.wait_for(lambda: bool(standin.messages_to(44)))

    assert status == 403
    assert standin.messages_to(43) == []
