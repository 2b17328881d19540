"""When a handler fails: a short apology to the chat (the runtime has logged the error)."""

from __future__ import annotations

import logging

from telegram import Update

from bot.readers.service import known_language
from bot.text.i18n import normalize_language, t
from handlers.common import Context, services

log = logging.getLogger(__name__)


async def apologize(update: object, context: Context) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    svc = services(context)
    user = update.effective_user
    fallback = (
        normalize_language(user.language_code)
        if user is not None and user.language_code
        else svc.settings.default_language
    )
    language = await known_language(svc.db, update.effective_chat.id, fallback=fallback)
    try:
        await context.bot.send_message(update.effective_chat.id, t(language, "error.generic"))
    except Exception:
        log.debug("could not tell the user about the error")
