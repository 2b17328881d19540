"""Run the whole bot: poller, sender and Telegram handlers on one database."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.delivery.ratelimit import TelegramRateLimiter
from bot.runtime.app import (
    AnyApplication,
    HandlerInstaller,
    Webhook,
    build_application,
    running,
)
from bot.runtime.background import Background
from bot.runtime.context import BotServices
from bot.runtime.metrics import Metrics
from bot.runtime.probes import serving
from bot.runtime.service import open_service
from bot.runtime.settings import Settings
from bot.runtime.startup import explain

log = logging.getLogger(__name__)


@asynccontextmanager
async def bot_running(
    settings: Settings,
    *,
    token: str,
    api_base_url: str,
    install_handlers: HandlerInstaller,
    poll_feeds: bool = True,
) -> AsyncIterator[AnyApplication]:
    """The bot, started and polling Telegram (or a stand-in) until the block exits."""
    if math.isinf(settings.send_rate):
        log.warning("NEWSBOT_SEND_RATE=unlimited: no send budget, for a load test only")
    async with open_service(settings) as service:
        services = BotServices(settings=settings, db=service.db, config=service.config)
        background = Background(poller=service.poller if poll_feeds else None)
        metrics = Metrics()
        application = build_application(
            services,
            token=token,
            api_base_url=api_base_url,
            install_handlers=install_handlers,
            background=background,
            rate_limiter=TelegramRateLimiter(per_second=settings.send_rate),
            metrics=metrics,
        )
        webhook = None
        if settings.webhook_url:
            host, port = settings.webhook_listen
            webhook = Webhook(settings.webhook_url, host, port)
            if settings.webhook_secret:
                webhook = dataclasses.replace(webhook, secret=settings.webhook_secret)
        async with AsyncExitStack() as stack:
            if settings.metrics_listen is not None:
                # Before the bot starts: /healthz answers (and /readyz says why not yet)
                # during a slow start, and a port already taken stops us before Telegram.
                host, port = settings.metrics_listen
                await stack.enter_async_context(serving(application, host, port))
            try:
                await stack.enter_async_context(running(application, webhook=webhook))
            except Exception as exc:
                failure = explain(exc, settings, api_base_url=api_base_url)
                if failure is None:
                    raise
                # from None: the original's text (and its cause's) may quote the token.
                raise failure from None
            yield application


async def run_until_stopped(
    settings: Settings, stop: asyncio.Event, *, install_handlers: HandlerInstaller
) -> None:
    """`newsbot run` with a token: the real bot, long polling."""
    assert settings.telegram_bot_token is not None
    async with bot_running(
        settings,
        token=settings.telegram_bot_token,
        api_base_url=settings.telegram_api_base_url,
        install_handlers=install_handlers,
    ) as application:
        log.info("newsbot is running as @%s", application.bot.username)
        await stop.wait()
