"""The publisher's channels, groups and forum topics from Telegram: the bot made an
administrator (my_chat_member), /route in a forum topic, the destination picker (topics,
photo or text, hashtags, silent),
and /channels, /channel_topics, /channel_pause, /channel_resume, /channel_remove."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import cast

from telegram import ChatMemberRestricted, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler, filters

from bot.admin import destinations
from bot.admin.destinations import DestinationRow
from bot.delivery.posts import label
from bot.delivery.ratelimit import Priority
from bot.delivery.telegram_bot import NewsBot
from bot.readers.service import known_language, topic_names
from bot.runtime.context import BotServices
from bot.text.i18n import t
from handlers.admin import admin_command
from handlers.common import (
    Context,
    Handlers,
    Request,
    reader_button,
    reader_command,
    reply,
    services,
)
from handlers.keyboards import DESTINATION_OPTION, DESTINATION_TOPIC, destination_picker


async def bot_membership(update: Update, context: Context) -> None:
    """The bot's own membership changed in a chat: made an administrator there by one of
    our admins (a new destination, and the topic picker in that admin's private chat),
    or removed or stripped of the right to post (its destinations there pause)."""
    change = update.my_chat_member
    if change is None:
        return
    svc = services(context)
    chat, member = change.chat, change.new_chat_member
    admin = change.from_user
    language = await known_language(svc.db, admin.id, fallback=svc.settings.default_language)
    if member.status == ChatMemberStatus.ADMINISTRATOR:
        destination = await destinations.bot_promoted(
            svc.db,
            chat_id=chat.id,
            chat_type=chat.type,
            title=chat.title or chat.username or "",
            user_id=admin.id,
            admin_ids=svc.settings.admin_ids,
            now=svc.now,
        )
        if destination is None:
            return
        text = t(
            language,
            "destination.added",
            kind=destinations.kind_label(destination, language),
            name=label(destination),
        )
        markup = await _picker(svc, destination, language)
        await destinations.picker_notice(
            svc.db, destination, chat_id=admin.id, text=text, markup=markup.to_dict(), now=svc.now
        )
    else:
        can_post = not isinstance(member, ChatMemberRestricted) or member.can_send_messages
        await destinations.bot_demoted(
            svc.db,
            chat_id=chat.id,
            status=member.status,
            chat_type=chat.type,
            can_post=can_post,
            admin_ids=svc.settings.admin_ids,
            language=svc.settings.default_language,
            now=svc.now,
        )
    svc.outbox_ready.set()


async def _picker(
    svc: BotServices, destination: DestinationRow, language: str
) -> InlineKeyboardMarkup:
    topics = await svc.db.feeds.list_topics()
    return destination_picker(destination, topics, language)


@reader_command()
async def route_command(request: Request, context: Context) -> None:
    """/route [topics] inside a forum topic: post those topics there (no topics: a picker)."""
    svc = request.services
    lang = request.lang
    message = request.message
    if request.user.id not in svc.settings.admin_ids:
        await reply(request, context, t(lang, "admin.not_allowed"))
        return
    if message is None or not message.is_topic_message or message.message_thread_id is None:
        await reply(request, context, t(lang, "destination.route_not_forum"))
        return
    thread_id = message.message_thread_id
    destination, unknown = await destinations.route_thread(
        svc.db,
        chat_id=request.chat_id,
        thread_id=thread_id,
        title=request.chat.title or "",
        words=request.args,
        user_id=request.user.id,
        now=svc.now,
    )
    if unknown:
        topics = await svc.db.feeds.list_topics()
        text = t(
            lang,
            "destination.route_unknown",
            words=", ".join(unknown),
            topics=", ".join(topic.slug for topic in topics),
        )
        markup = None
    elif destination is not None and destination.topics and request.args:
        names = await topic_names(svc.db, lang)
        text = t(
            lang,
            "destination.routed",
            topics=", ".join(names.get(s, s) for s in destination.topics),
        )
        markup = None
    else:
        assert destination is not None
        text = t(lang, "destination.route_pick")
        markup = await _picker(svc, destination, lang)
    # A reply to a command in a forum topic stays in that topic.
    bot = cast(NewsBot, context.bot)
    await bot.send_message(
        request.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=thread_id,
        rate_limit_args=Priority.REPLY,
    )


# Flips one thing of a destination (given its id and what to flip); None when unknown.
Toggle = Callable[[int, str], Awaitable[DestinationRow | None]]


async def _toggle(request: Request, prefix: str, toggle: Toggle) -> str | None:
    """A tap in an admin's destination picker ("<prefix><id>:<what>"): flip it, redraw."""
    assert request.query is not None and request.query.data is not None
    lang = request.lang
    svc = request.services
    if request.user.id not in svc.settings.admin_ids:
        return t(lang, "admin.not_allowed")
    id_text, _, what = request.query.data.removeprefix(prefix).partition(":")
    if not id_text.isdigit():
        return None
    destination = await toggle(int(id_text), what)
    if destination is None:
        return t(lang, "destination.not_found", id=id_text)
    await request.query.edit_message_reply_markup(
        reply_markup=await _picker(svc, destination, lang)
    )
    return t(lang, "destination.saved")


@reader_button()
async def toggle_topic(request: Request, context: Context) -> str | None:
    toggle = functools.partial(destinations.toggle_topic, request.services.db)
    return await _toggle(request, DESTINATION_TOPIC, toggle)


@reader_button()
async def toggle_option(request: Request, context: Context) -> str | None:
    toggle = functools.partial(destinations.toggle_option, request.services.db)
    return await _toggle(request, DESTINATION_OPTION, toggle)


@admin_command
async def list_command(request: Request, context: Context) -> None:
    svc = request.services
    rows = await destinations.all_destinations(svc.db)
    names = await topic_names(svc.db, request.lang)
    await reply(request, context, destinations.listing(rows, names, request.lang))


async def _chosen(request: Request, context: Context, command: str) -> DestinationRow | None:
    """The destination the command's argument numbers, or None once the admin was told why."""
    wanted = request.args.lstrip("#")
    if not wanted.isdigit():
        await reply(request, context, t(request.lang, "destination.usage", command=command))
        return None
    destination = await destinations.find(request.services.db, int(wanted))
    if destination is None:
        await reply(request, context, t(request.lang, "destination.not_found", id=wanted))
    return destination


@admin_command
async def topics_command(request: Request, context: Context) -> None:
    destination = await _chosen(request, context, "/channel_topics")
    if destination is None:
        return
    text = t(request.lang, "destination.picker", name=label(destination))
    markup = await _picker(request.services, destination, request.lang)
    await reply(request, context, text, markup)


@admin_command
async def pause_command(request: Request, context: Context) -> None:
    destination = await _chosen(request, context, "/channel_pause")
    if destination is None:
        return
    paused = await destinations.pause(request.services.db, destination.id, now=request.services.now)
    key = "destination.paused" if paused else "destination.already_paused"
    await reply(request, context, t(request.lang, key, name=label(destination)))


@admin_command
async def resume_command(request: Request, context: Context) -> None:
    destination = await _chosen(request, context, "/channel_resume")
    if destination is None:
        return
    resumed = await destinations.resume(request.services.db, destination.id)
    key = "destination.resumed" if resumed else "destination.not_paused"
    await reply(request, context, t(request.lang, key, name=label(destination)))


@admin_command
async def remove_command(request: Request, context: Context) -> None:
    destination = await _chosen(request, context, "/channel_remove")
    if destination is None:
        return
    await destinations.remove(request.services.db, destination.id)
    key = "destination.removed_config" if destination.origin == "config" else "destination.removed"
    await reply(request, context, t(request.lang, key, name=label(destination)))


def handlers() -> Handlers:
    return [
        ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        CommandHandler("route", route_command, filters=filters.ChatType.SUPERGROUP),
        CommandHandler("channels", list_command),
        CommandHandler("channel_topics", topics_command),
        CommandHandler("channel_pause", pause_command),
        CommandHandler("channel_resume", resume_command),
        CommandHandler("channel_remove", remove_command),
        CallbackQueryHandler(toggle_topic, pattern=f"^{DESTINATION_TOPIC}"),
        CallbackQueryHandler(toggle_option, pattern=f"^{DESTINATION_OPTION}"),
    ]
