"""What every handler needs: the services, the reader, the throttle, the group-admin rule."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

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
from telegram.error import BadRequest
from telegram.ext import BaseHandler, ContextTypes

from bot.delivery.ratelimit import Priority
from bot.delivery.telegram_bot import NewsBot
from bot.readers.service import SubscriberRow, known_language, reader_or_guest, start_reader
from bot.runtime.context import BOT_DATA_KEY, BotServices
from bot.runtime.throttle import Verdict
from bot.text.htmltext import telegram_html_to_text
from bot.text.i18n import normalize_language, t

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


def reader_command(
    *, changes_subscriptions: bool = False, joins: bool | None = None
) -> Callable[[Handler], TelegramCallback]:
    """Wrap a command handler: throttle, length cap, reader lookup, group-admin rule.

    joins (default: changes_subscriptions) makes the chat a reader; other commands
    answer a chat that is not one without keeping it.
    """
    keeps = changes_subscriptions if joins is None else joins

    def wrap(handler: Handler) -> TelegramCallback:
        @functools.wraps(handler)
        async def run(update: Update, context: Context) -> None:
            message, chat, user = (
                update.effective_message,
                update.effective_chat,
                update.effective_user,
            )
            # A file sent with a command (an OPML file captioned /import) has its words
            # in the caption.
            text = message.text if message is not None and message.text is not None else None
            if text is None and message is not None and message.document is not None:
                text = message.caption or ""
            if message is None or chat is None or user is None or text is None:
                return
            request = await _request(update, context, chat, user, text, None, keeps)
            if request is None:
                return
            if len(text) > MAX_INPUT_CHARS:
                await reply(
                    request, context, t(request.lang, "limit.too_long", limit=MAX_INPUT_CHARS)
                )
                return
            if changes_subscriptions and not await _may_change(context, chat, user, message):
                await reply(request, context, t(request.lang, "group.admins_only"))
                return
            await handler(request, context)

        return run

    return wrap


def reader_button(
    *, changes_subscriptions: bool = False
) -> Callable[[ButtonHandler], TelegramCallback]:
    """Wrap a button handler. The query is answered exactly once, with the text the
    handler returns (a catalog message, shown as a small plain-text notice) or with
    nothing."""

    def wrap(handler: ButtonHandler) -> TelegramCallback:
        @functools.wraps(handler)
        async def run(update: Update, context: Context) -> None:
            query, chat, user = update.callback_query, update.effective_chat, update.effective_user
            if query is None or chat is None or user is None:
                return
            notice: str | None = None
            alert = False
            try:
                request = await _request(
                    update, context, chat, user, "", query, changes_subscriptions
                )
                if request is None:
                    return  # throttled; _request has answered
                if changes_subscriptions and not await _may_change(context, chat, user, None):
                    notice, alert = t(request.lang, "group.admins_only"), True
                    return
                notice = await handler(request, context)
            finally:
                if request_answered(query) is False:
                    await query.answer(notice_text(notice) if notice else None, show_alert=alert)

        return run

    return wrap


def notice_text(message: str) -> str:
    """A catalog message (Telegram HTML) as the plain text a callback answer shows."""
    return telegram_html_to_text(message)


async def _request(
    update: Update,
    context: Context,
    chat: Chat,
    user: User,
    text: str,
    query: CallbackQuery | None,
    keeps: bool = False,
) -> Request | None:
    svc = services(context)
    verdict = svc.throttle.check(user.id)
    if verdict is not Verdict.ALLOW:
        # Throttled updates write nothing: the warning goes out in whatever
        # language we already know for the chat.
        language = await known_language(svc.db, chat.id, fallback=_language(svc, user))
        if verdict is Verdict.WARN:
            warning = t(language, "limit.slow_down")
            if query is not None:
                await query.answer(notice_text(warning), show_alert=True)
                _ANSWERED.add(query.id)
            else:
                await context.bot.send_message(chat.id, warning, parse_mode=ParseMode.HTML)
        return None
    if keeps:
        reader = await start_reader(
            svc.db,
            chat.id,
            chat_type=chat.type,
            language_code=_language(svc, user),
            default_timezone=svc.settings.default_timezone,
            now=svc.now,
        )
    else:
        reader = await reader_or_guest(
            svc.db,
            chat.id,
            chat_type=chat.type,
            language_code=_language(svc, user),
            default_timezone=svc.settings.default_timezone,
        )
    message = update.effective_message if query is None else None
    return Request(svc, reader, chat, user, _command_args(text), query, message)


def _language(svc: BotServices, user: User) -> str:
    """The language for a new reader: their Telegram app's, else the bot's default."""
    return (
        normalize_language(user.language_code)
        if user.language_code
        else (svc.settings.default_language)
    )


def _command_args(text: str) -> str:
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _may_change(context: Context, chat: Chat, user: User, message: Message | None) -> bool:
    if chat.type == Chat.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        # Anonymous admins post as the group itself.
        return message.sender_chat.id == chat.id
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def reply(
    request: Request,
    context: Context,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    priority: Priority = Priority.REPLY,
) -> Message:
    """A direct answer to the reader's own command (ahead of all bulk traffic)."""
    # The application's bot is a NewsBot, whose rate-limit argument is a send priority.
    bot = cast(NewsBot, context.bot)
    return await bot.send_message(
        request.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        rate_limit_args=priority,
    )


async def edit_message(context: Context, chat_id: int, message_id: int, text: str) -> None:
    """Replace an earlier message of ours with text, without its buttons."""
    try:
        await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
        )
    except BadRequest as exc:
        # Already so, or deleted by the admin meanwhile: nothing left to take away.
        reason = str(exc).lower()
        if "not modified" not in reason and "not found" not in reason:
            raise


async def edit_buttons(request: Request, markup: InlineKeyboardMarkup | None) -> None:
    """Change only the buttons of the message the button sits on (None: remove them)."""
    query = request.query
    if query is None or not isinstance(query.message, Message):
        return
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        # A second tap on a button already acted on: the buttons are as wanted.
        if "message is not modified" not in str(exc).lower():
            raise


async def edit_or_reply(
    request: Request,
    context: Context,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Update the message the button sits on; a new message (returned) when there is none."""
    query = request.query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        # query.message is the message as it was when the button was pressed; an
        # earlier press may have changed it since, so it cannot tell whether this
        # edit changes anything. Telegram can: it refuses an edit that changes nothing.
        try:
            await query.edit_message_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            if "message is not modified" not in str(exc).lower():
                raise
        return None
    return await reply(request, context, text, markup)
