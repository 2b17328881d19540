"""Why the bot could not start, in one line that names the setting to fix.

Python-telegram-bot's own messages are not shown: the one for a rejected
token quotes the token. Every line here is built from our words, the
setting's name and its (public) value.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bot.runtime.settings import Settings

if TYPE_CHECKING:
    from telegram.error import BadRequest, NetworkError


class StartupError(Exception):
    """newsbot cannot start; the message names the setting and says why, with no secret."""


def explain(exc: BaseException, settings: Settings, *, api_base_url: str) -> StartupError | None:
    """The start-up failure exc as a StartupError; None for an error we cannot explain."""
    # Imported here: the command line catches StartupError without loading Telegram.
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut

    api = api_base_url
    if isinstance(exc, InvalidToken):
        # ExtBot re-raises the server's answer (its __cause__) with the token in the text.
        answer = exc.__cause__ if isinstance(exc.__cause__, InvalidToken) else exc
        if answer.__cause__ is not None:  # 401/404 whose body was not a Bot API answer
            return _not_a_bot_api(api)
        return StartupError(
            "TELEGRAM_BOT_TOKEN: the Bot API server rejected the token "
            "(copy it again from @BotFather)"
        )
    if isinstance(exc, TimedOut):
        return StartupError(f"TELEGRAM_API_BASE_URL: {api} did not answer in time")
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        return StartupError(f"TELEGRAM_API_BASE_URL: cannot reach {api} ({_reason(exc)})")
    if isinstance(exc, BadRequest) and settings.webhook_url:
        return StartupError(
            f"NEWSBOT_WEBHOOK_URL: the Bot API refused the webhook {settings.webhook_url} "
            f"({_description(exc)})"
        )
    if isinstance(exc, TelegramError):
        return _not_a_bot_api(api)
    if isinstance(exc, OSError) and settings.webhook_url:
        host, port = settings.webhook_listen
        return StartupError(
            f"NEWSBOT_WEBHOOK_LISTEN: cannot listen on {host}:{port} ({exc.strerror or exc})"
        )
    return None


def _not_a_bot_api(api: str) -> StartupError:
    return StartupError(
        f"TELEGRAM_API_BASE_URL: {api} does not answer like a Bot API server "
        "(leave it unset for Telegram itself)"
    )


def _reason(exc: NetworkError) -> str:
    """What went wrong on the network, from aiohttp's exception (never its URL)."""
    import aiohttp

    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):
        error = cause.os_error
        return os.strerror(error.errno).lower() if error.errno else type(error).__name__
    if isinstance(cause, aiohttp.ClientError):
        return type(cause).__name__
    return "no connection"


def _description(exc: BadRequest) -> str:
    # Telegram's own description ("Bad webhook: …") holds no token; it is cut short anyway.
    return exc.message.removeprefix("Bad Request: ")[:200]
