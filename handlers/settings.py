"""/settings (menu), /mode, /digest, /lang, /quiet and the settings buttons."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.delivery.digest import queue_digest_now
from bot.readers import service as readers
from bot.readers.service import SubscriberRow
from bot.text.i18n import hour_label, t
from handlers.common import (
    Context,
    Handlers,
    Request,
    edit_or_reply,
    reader_button,
    reader_command,
    reply,
)
from handlers.keyboards import (
    DIGEST_NOW,
    SETTINGS,
    digest_now,
    hour_picker,
    settings_menu,
    switch_to_digest,
)


def _describe(reader: SubscriberRow) -> str:
    lang = reader.language
    if reader.quiet_start is None or reader.quiet_end is None:
        quiet = t(lang, "settings.quiet_off")
    else:
        quiet = t(
            lang,
            "settings.quiet_range",
            start=hour_label(reader.quiet_start),
            end=hour_label(reader.quiet_end),
        )
    return t(
        lang,
        "settings.header",
        mode=t(lang, f"settings.mode_{reader.mode}"),
        hour=hour_label(reader.digest_hour),
        language_name=t(lang, "settings.language_name"),
        quiet=quiet,
    )


async def _fresh(request: Request) -> SubscriberRow:
    return await readers.get_reader(request.services.db, request.chat_id)


async def _show_menu(request: Request, context: Context) -> None:
    reader = await _fresh(request)
    await edit_or_reply(
        request, context, _describe(reader), settings_menu(reader.language, reader.mode)
    )


@reader_command(changes_subscriptions=True)
async def settings(request: Request, context: Context) -> None:
    await _show_menu(request, context)


@reader_command(changes_subscriptions=True)
async def mode(request: Request, context: Context) -> None:
    svc = request.services
    if not await readers.set_mode(svc.db, request.chat_id, request.args, now=svc.now):
        await reply(request, context, t(request.lang, "settings.mode_usage"))
        return
    reader = await _fresh(request)
    offer = digest_now(reader.language) if reader.mode == "digest" else None
    await reply(request, context, _mode_changed(reader), offer)


@reader_button(changes_subscriptions=True)
async def send_digest_now(request: Request, context: Context) -> str | None:
    """The digest at once; the next one covers from here."""
    svc = request.services
    count = await queue_digest_now(svc.db, request.chat_id, now=svc.clock())
    if count == 0:
        return t(request.lang, "digest.nothing_new")
    svc.outbox_ready.set()
    return t(request.lang, "digest.on_its_way")


def _mode_changed(reader: SubscriberRow) -> str:
    if reader.mode == "digest":
        return t(reader.language, "settings.mode_set_digest", hour=hour_label(reader.digest_hour))
    return t(reader.language, "settings.mode_set_instant")


@reader_command(changes_subscriptions=True)
async def digest(request: Request, context: Context) -> None:
    svc = request.services
    hour = readers.parse_hour(request.args) if request.args else None
    if hour is None:
        await reply(request, context, t(request.lang, "settings.digest_usage"))
        return
    await readers.set_digest_hour(svc.db, request.chat_id, hour, now=svc.now)
    if request.reader.mode != "digest":
        # The hour is kept, but no digest comes in instant mode: say so, offer the switch.
        await reply(
            request,
            context,
            t(request.lang, "settings.digest_set_instant", hour=hour_label(hour)),
            switch_to_digest(request.lang),
        )
        return
    await reply(request, context, t(request.lang, "settings.digest_set", hour=hour_label(hour)))


@reader_command(changes_subscriptions=True)
async def lang(request: Request, context: Context) -> None:
    svc = request.services
    if not await readers.set_language(svc.db, request.chat_id, request.args, now=svc.now):
        await reply(request, context, t(request.lang, "settings.language_usage"))
        return
    reader = await _fresh(request)
    await reply(request, context, t(reader.language, "settings.language_set"))


@reader_command(changes_subscriptions=True)
async def quiet(request: Request, context: Context) -> None:
    svc = request.services
    hours = readers.parse_quiet_hours(request.args) if request.args else False
    if hours is False:
        await reply(request, context, t(request.lang, "settings.quiet_usage"))
        return
    assert hours is not True
    await readers.set_quiet_hours(svc.db, request.chat_id, hours, now=svc.now)
    if hours is None:
        await reply(request, context, t(request.lang, "settings.quiet_off_set"))
        return
    start, end = hours
    await reply(
        request,
        context,
        t(request.lang, "settings.quiet_set", start=hour_label(start), end=hour_label(end)),
    )


@reader_button(changes_subscriptions=True)
async def settings_button(request: Request, context: Context) -> str | None:
    assert request.query is not None and request.query.data is not None
    action, _, value = request.query.data.removeprefix(SETTINGS).partition(":")
    svc = request.services
    notice = None
    if action == "mode":
        await readers.set_mode(svc.db, request.chat_id, value, now=svc.now)
        notice = _mode_changed(await _fresh(request))
    elif action == "lang":
        await readers.set_language(svc.db, request.chat_id, value, now=svc.now)
        notice = t((await _fresh(request)).language, "settings.language_set")
    elif action == "hours":
        reader = await _fresh(request)
        await edit_or_reply(
            request,
            context,
            t(reader.language, "settings.pick_hour"),
            hour_picker(reader.digest_hour),
        )
        return None
    elif action == "hour" and value.isdigit():
        hour = int(value)
        if await readers.set_digest_hour(svc.db, request.chat_id, hour, now=svc.now):
            notice = t(request.lang, "settings.digest_set", hour=hour_label(hour))
    await _show_menu(request, context)
    return notice


def handlers() -> Handlers:
    return [
        CommandHandler("settings", settings),
        CommandHandler("mode", mode),
        CommandHandler("digest", digest),
        CommandHandler("lang", lang),
        CommandHandler("quiet", quiet),
        CallbackQueryHandler(settings_button, pattern=f"^{SETTINGS}"),
        CallbackQueryHandler(send_digest_now, pattern=f"^{DIGEST_NOW}$"),
    ]
