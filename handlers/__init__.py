"""Telegram command and button handlers, one module per feature."""

from __future__ import annotations

from handlers import admin, fallback, search, settings, start, stop, subscribe
from handlers.common import Handlers


def all_handlers() -> Handlers:
    """Every handler, the catch-all fallback last."""
    return [
        *start.handlers(),
        *subscribe.handlers(),
        *search.handlers(),
        *settings.handlers(),
        *stop.handlers(),
        *admin.handlers(),
        *fallback.handlers(),
    ]
