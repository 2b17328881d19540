"""Anything else: plain text in a private chat is a search; an unknown command gets a hint;
groups hear nothing unless the message is addressed to us."""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import MessageHandler, filters

from bot.text.i18n import t
from handlers.common import Context, Handlers, Request, reader_command, reply
from handlers.search import search_for

HINT_SHOWN = "plain_text_hint_shown"


def _addressed_to_us(update: Update, context: Context) -> bool:
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or message.text is None:
        return False
    if chat.type == Chat.PRIVATE:
        return True
    first = message.text.split(maxsplit=1)[0] if message.text.split() else ""
    return first.lower().endswith(f"@{context.bot.username}".lower())


async def unknown_command(update: Update, context: Context) -> None:
    if _addressed_to_us(update, context):
        await _unknown(update, context)


async def plain_text(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE:
        await _text(update, context)


@reader_command()
async def _unknown(request: Request, context: Context) -> None:
    await reply(request, context, t(request.lang, "fallback.unknown_command"))


@reader_command()
async def _text(request: Request, context: Context) -> None:
    """Plain text in a private chat is a search; the first time, a line says so."""
    if context.chat_data is not None and not context.chat_data.get(HINT_SHOWN):
        context.chat_data[HINT_SHOWN] = True
        await reply(request, context, t(request.lang, "fallback.text_is_search"))
    await search_for(request, context, request.args)


def handlers() -> Handlers:
    return [
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND, plain_text),
    ]
