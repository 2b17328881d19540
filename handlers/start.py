"""/start and /help: a welcome in the reader's language and the topic picker."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.delivery.ratelimit import Priority
from bot.readers.service import topic_choices
from bot.text.i18n import t
from handlers.common import Context, Handlers, Request, reader_command, reply
from handlers.keyboards import topic_picker


@reader_command(joins=True)
async def start(request: Request, context: Context) -> None:
    choices = await topic_choices(request.services.db, request.chat_id)
    await reply(
        request,
        context,
        welcome_text(request.lang, request.user.first_name),
        topic_picker(choices.topics, choices.chosen, request.lang),
        # Behind other replies: on launch day thousands of welcomes must not hold up
        # the /search of a reader already here.
        priority=Priority.WELCOME,
    )


def welcome_text(language: str, first_name: str | None) -> str:
    """One message, greeting and picker together: a reader's first answer is never
    held back by Telegram's one-message-a-second limit per chat."""
    name = (first_name or "").strip()
    greeting = t(language, "start.hello_name", name=name) if name else t(language, "start.hello")
    return f"{greeting}\n\n{t(language, 'start.welcome')}"


@reader_command()
async def help_command(request: Request, context: Context) -> None:
    text = t(request.lang, "help", bot=context.bot.username)
    if request.user.id in request.services.settings.admin_ids:
        text += t(request.lang, "help.admin")
    await reply(request, context, text)


def handlers() -> Handlers:
    return [CommandHandler("start", start), CommandHandler("help", help_command)]
