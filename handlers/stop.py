"""/stop: stop every message and forget the reader, after a confirmation."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.readers.service import forget_reader
from bot.text.i18n import t
from handlers.common import (
    Context,
    Handlers,
    Request,
    edit_or_reply,
    reader_button,
    reader_command,
    reply,
)
from handlers.keyboards import STOP, stop_confirm


@reader_command(changes_subscriptions=True)
async def stop(request: Request, context: Context) -> None:
    await reply(request, context, t(request.lang, "stop.confirm"), stop_confirm(request.lang))


@reader_button(changes_subscriptions=True)
async def confirm(request: Request, context: Context) -> str | None:
    assert request.query is not None
    if request.query.data == f"{STOP}yes":
        await forget_reader(request.services.db, request.chat_id)
        if context.chat_data is not None:
            context.chat_data.clear()
        await edit_or_reply(request, context, t(request.lang, "stop.done"))
    else:
        await edit_or_reply(request, context, t(request.lang, "stop.cancelled"))
    return None


def handlers() -> Handlers:
    return [CommandHandler("stop", stop), CallbackQueryHandler(confirm, pattern=f"^{STOP}")]
