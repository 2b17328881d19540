"""/start and /help: a welcome in the reader's language and the topic picker."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.readers.service import topic_choices
from bot.text.i18n import t
from handlers.common import Context, Handlers, Request, reader_command, reply
from handlers.keyboards import topic_picker


@reader_command()
async def start(request: Request, context: Context) -> None:
    choices = await topic_choices(request.services.db, request.chat_id)
    name = request.user.first_name or ""
    await reply(request, context, t(request.lang, "start.welcome", name=name))
    await reply(
        request,
        context,
        t(request.lang, "subscribe.pick"),
        topic_picker(choices.topics, choices.chosen, request.lang),
    )


@reader_command()
async def help_command(request: Request, context: Context) -> None:
    await reply(request, context, t(request.lang, "help"))


def handlers() -> Handlers:
    return [CommandHandler("start", start), CommandHandler("help", help_command)]
