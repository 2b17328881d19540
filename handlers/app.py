"""Every handler on the Application, the catch-all fallback last."""

from __future__ import annotations

from bot.runtime.app import AnyApplication
from handlers import (
    admin,
    alerts,
    channels,
    errors,
    fallback,
    inline,
    search,
    settings,
    start,
    stop,
    subscribe,
)
from handlers.common import Handlers


def all_handlers() -> Handlers:
    return [
        *start.handlers(),
        *subscribe.handlers(),
        *search.handlers(),
        *inline.handlers(),
        *alerts.handlers(),
        *settings.handlers(),
        *stop.handlers(),
        *admin.handlers(),
        *channels.handlers(),
        *fallback.handlers(),
    ]


def install(application: AnyApplication) -> None:
    """Register every command, button and error handler (a `HandlerInstaller`)."""
    application.add_handlers(all_handlers())
    application.add_error_handler(errors.apologize)
