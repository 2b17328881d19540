"""The Telegram application: handlers, the shared rate limiter, and the background
poller and sender running beside python-telegram-bot's update loop."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Updater

from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.telegram_bot import NewsBot
from bot.delivery.telegram_http import AiohttpRequest
from bot.runtime.background import Background
from bot.runtime.context import BOT_DATA_KEY, BotServices
from bot.runtime.destinations_sync import sync_destinations
from bot.runtime.metrics import Metrics
from bot.runtime.updates import PerChatUpdateProcessor
from bot.text.i18n import LANGUAGES, MENU_COMMANDS, t

log = logging.getLogger(__name__)

SEND_CONNECTIONS = 48
# bot_data keys of the running bot's Metrics and its view of the Bot API (bot.runtime.probes).
METRICS_KEY = "metrics"
HEALTH_KEY = "bot_api_health"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# Registers the Telegram handlers. The composition root (handlers.main) passes it in,
# so the runtime never imports the handlers that import it.
HandlerInstaller = Callable[[AnyApplication], None]


def build_application(
    services: BotServices,
    *,
    token: str,
    api_base_url: str,
    install_handlers: HandlerInstaller,
    background: Background | None = None,
    rate_limiter: TelegramRateLimiter | None = None,
    metrics: Metrics | None = None,
    health: BotApiHealth | None = None,
) -> AnyApplication:
    """A ready-to-start Application. `api_base_url` is the Bot API server's root URL.

    metrics (a fresh Metrics if None) is wired into what is built here and what is
    given: the HTTP requests, the rate limiter, the update processor, the background
    poller. Nothing serves it unless bot.runtime.probes is started.
    """
    api = api_base_url.rstrip("/")
    metrics = metrics or Metrics()
    # One view of the Bot API for polling and sending: an outage is logged once.
    health = health or BotApiHealth()
    limiter = rate_limiter or TelegramRateLimiter()
    if limiter.metrics is None:
        limiter.metrics = metrics
    background = background or Background(poller=None)
    background.limiter = limiter  # its share of the token's budget follows the live processes
    if background.poller is not None:
        background.poller.metrics = metrics
    bot = NewsBot(
        token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        # PTB's default pool holds one connection: concurrent sends would queue for
        # it and time out. One per sender worker, plus room for handler replies.
        request=AiohttpRequest(connection_limit=SEND_CONNECTIONS, health=health, metrics=metrics),
        get_updates_request=AiohttpRequest(connection_limit=2, health=health, metrics=metrics),
        rate_limiter=limiter,
    )
    # Readers' updates are handled side by side, each chat's in order (bot.runtime.updates).
    processor = PerChatUpdateProcessor(on_handled=metrics.update_handled)
    builder = ApplicationBuilder().bot(bot).concurrent_updates(processor)
    application = builder.build()
    application.bot_data[BOT_DATA_KEY] = services
    application.bot_data["background"] = background
    application.bot_data[METRICS_KEY] = metrics
    application.bot_data[HEALTH_KEY] = health
    # Logged first: a handler that fails while telling the reader is still on record.
    application.add_error_handler(_log_error)
    install_handlers(application)
    return application


async def start_background(application: AnyApplication) -> None:
    """Menu, then the background work; called by `running` once the application started."""
    await set_menu(application)
    services: BotServices = application.bot_data[BOT_DATA_KEY]
    await sync_destinations(
        services.db, application.bot, services.config.destinations, now=services.now
    )
    background: Background = application.bot_data["background"]
    await background.start(application.bot_data[BOT_DATA_KEY], application.bot)


async def stop_background(application: AnyApplication) -> None:
    background: Background = application.bot_data["background"]
    await background.close(application.bot_data[BOT_DATA_KEY])


async def set_menu(application: AnyApplication) -> None:
    """The command menu in both languages; the default language for everyone else."""
    services: BotServices = application.bot_data[BOT_DATA_KEY]
    for language in LANGUAGES:
        commands = [BotCommand(name, t(language, f"command.{name}")) for name in MENU_COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language)
    default = services.settings.default_language
    commands = [BotCommand(name, t(default, f"command.{name}")) for name in MENU_COMMANDS]
    await application.bot.set_my_commands(commands)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # The message goes through the root handlers' secret filter (bot.runtime.logsafe).
    log.error("update handling failed: %r", context.error, exc_info=context.error)


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates (behind a TLS proxy) instead of long polling."""

    url: str
    listen: str
    port: int
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))


@asynccontextmanager
async def running(
    application: AnyApplication, *, poll_interval: float = 0.0, webhook: Webhook | None = None
) -> AsyncIterator[None]:
    """Start the application (long polling, or a webhook); stop it cleanly on exit.

    A start that fails half-way (the Bot API refuses the webhook, the port is
    taken) stops what had started before the error goes up.
    """
    async with application:
        await application.start()
        quiet = _QuietBootstrap()
        bootstrap_log = logging.getLogger("telegram.ext")
        bootstrap_log.addFilter(quiet)
        updater = application.updater
        assert updater is not None
        background: Background = application.bot_data["background"]
        background_started = False
        try:
            if webhook is None:
                # Telegram allows one getUpdates caller per token (a second gets 409
                # Conflict): only the process holding the `updates` lease polls, the
                # others take over when it stops.
                role = LongPolling(updater, poll_interval)
                background.updates = role
                if await background.take_updates(application.bot_data[BOT_DATA_KEY]):
                    await role.start()
            else:
                await updater.start_webhook(
                    listen=webhook.listen,
                    port=webhook.port,
                    url_path=urlsplit(webhook.url).path.lstrip("/"),
                    webhook_url=webhook.url,
                    secret_token=webhook.secret,
                    drop_pending_updates=False,
                )
            bootstrap_log.removeFilter(quiet)
            background_started = True
            await start_background(application)
            yield
        finally:
            bootstrap_log.removeFilter(quiet)
            if background_started:
                await stop_background(application)
            if updater.running:
                await updater.stop()
            await application.stop()


@dataclass(frozen=True, slots=True)
class LongPolling:
    """The updater's long polling, as a role a process takes and gives up."""

    updater: Updater
    poll_interval: float

    async def start(self) -> None:
        await self.updater.start_polling(
            poll_interval=self.poll_interval, timeout=10, drop_pending_updates=False
        )

    async def stop(self) -> None:
        if self.updater.running:
            await self.updater.stop()


class _QuietBootstrap(logging.Filter):
    """PTB logs a traceback when the Bot API refuses setWebhook or deleteWebhook at start-up,
    then raises; the caller reports that refusal in one line (bot.runtime.startup)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Network Retry Loop (Bootstrap")
