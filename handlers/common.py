"""What every handler needs: the services, the reader, the throttle, the group-admin rule."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.ext import BaseHandler, ContextTypes

from bot.context import BOT_DATA_KEY, BotServices
from bot.i18n import t
from bot.readers import start_reader
from bot.throttle import Verdict
from storage.subscribers import SubscriberRow

# Longer input is not a command anyone means; it is answered, not processed.
MAX_INPUT_CHARS = 1000

Context = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True, slots=True)
class Request:
    """One reader's command or button press, ready for a handler."""

    services: BotServices
    reader: SubscriberRow
    chat: Chat
    user: User
    args: str  # the text after the command ("" for buttons)
    query: CallbackQuery | None = None
    message: Message | None = None  # the command's message (None for buttons)

    @property
    def lang(self) -> str:
        return self.reader.language

    @property
    def chat_id(self) -> int:
        return self.chat.id


def services(context: Context) -> BotServices:
    found: BotServices = context.application.bot_data[BOT_DATA_KEY]
    return found


Handler = Callable[[Request, Context], Awaitable[None]]
ButtonHandler = Callable[[Request, Context], Awaitable[str | None]]

# Callback queries answered early (throttle notices); ids are unique per query.
_ANSWERED: set[str] = set()


def request_answered(query: CallbackQuery) -> bool:
    if query.id in _ANSWERED:
        _ANSWERED.discard(query.id)
        return True
    return False


TelegramCallback = Callable[[Update, Context], Coroutine[Any, Any, None]]
Handlers = list[BaseHandler[Any, Context, Any]]


def reader_command(*, changes_subscriptions: bool = False) -> Callable[[Handler], TelegramCallback]:
    """Wrap a command handler: throttle, length cap, reader lookup, group-admin rule."""

    def wrap(handler: Handler) -> TelegramCallback:
        @functools.wraps(handler)
        async def run(update: Update, context: Context) -> None:
            message, chat, user = (
                update.effective_message,
                update.effective_chat,
                update.effective_user,
            )
            if message is None or chat is None or user is None or message.text is None:
                return
            request = await _request(update, context, chat, user, message.text, None)
            if request is None:
                return
            if len(message.text) > MAX_INPUT_CHARS:
                await reply(
                    request, context, t(request.lang, "limit.too_long", limit=MAX_INPUT_CHARS)
                )
                return
            if changes_subscriptions and not await _may_change(context, chat, user):
                await reply(request, context, t(request.lang, "group.admins_only"))
                return
            await handler(request, context)

        return run

    return wrap


def reader_button(
    *, changes_subscriptions: bool = False
) -> Callable[[ButtonHandler], TelegramCallback]:
    """Wrap a button handler. The query is answered exactly once, with the text the
    handler returns (shown as a small notice) or with nothing."""

    def wrap(handler: ButtonHandler) -> TelegramCallback:
        @functools.wraps(handler)
        async def run(update: Update, context: Context) -> None:
            query, chat, user = update.callback_query, update.effective_chat, update.effective_user
            if query is None or chat is None or user is None:
                return
            notice: str | None = None
            alert = False
            try:
                request = await _request(update, context, chat, user, "", query)
                if request is None:
                    return  # throttled; _request has answered
                if changes_subscriptions and not await _may_change(context, chat, user):
                    notice, alert = t(request.lang, "group.admins_only"), True
                    return
                notice = await handler(request, context)
            finally:
                if request_answered(query) is False:
                    await query.answer(notice, show_alert=alert)

        return run

    return wrap


async def _request(
    update: Update,
    context: Context,
    chat: Chat,
    user: User,
    text: str,
    query: CallbackQuery | None,
) -> Request | None:
    svc = services(context)
    verdict = svc.throttle.check(user.id)
    reader = await start_reader(
        svc.db,
        chat.id,
        chat_type=chat.type,
        language_code=user.language_code,
        default_timezone=svc.settings.default_timezone,
        now=svc.now,
    )
    message = update.effective_message if query is None else None
    request = Request(svc, reader, chat, user, _command_args(text), query, message)
    if verdict is Verdict.ALLOW:
        return request
    if verdict is Verdict.WARN:
        if query is not None:
            await query.answer(t(reader.language, "limit.slow_down"), show_alert=True)
            _ANSWERED.add(query.id)
        else:
            await reply(request, context, t(reader.language, "limit.slow_down"))
    return None


def _command_args(text: str) -> str:
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _may_change(context: Context, chat: Chat, user: User) -> bool:
    if chat.type == Chat.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def reply(
    request: Request,
    context: Context,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """A direct answer to the reader's own command (highest send priority)."""
    return await context.bot.send_message(
        request.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def edit_or_reply(
    request: Request,
    context: Context,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Update the message the button sits on; a new message when it cannot be edited."""
    query = request.query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        if query.message.text_html == text and query.message.reply_markup == markup:
            return  # Telegram refuses an edit that changes nothing
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return
    await reply(request, context, text, markup)
