"""/settings (menu), /mode, /digest, /lang, /quiet and the settings buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.delivery.digest import queue_digest_now
from bot.readers import service as readers
from bot.readers.service import SubscriberRow
from bot.readers.times import parse_digest_time, parse_quiet_hours
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
    digest_label,
    digest_now,
    hour_picker,
    minute_picker,
    quiet_picker,
    settings_menu,
    silent_picker,
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
        hour=digest_label(reader),
        language_name=t(lang, "settings.language_name"),
        quiet=quiet,
        silent=t(lang, f"settings.silent_{reader.silent_alerts}"),
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
    await reply(request, context, _mode_changed(reader, svc.now), offer)


@reader_button(changes_subscriptions=True)
async def send_digest_now(request: Request, context: Context) -> str | None:
    """The digest at once; the next one covers from here."""
    svc = request.services
    count = await queue_digest_now(svc.db, request.chat_id, now=svc.clock())
    if count == 0:
        return t(request.lang, "digest.nothing_new")
    svc.outbox_ready.set()
    return t(request.lang, "digest.on_its_way")


def _mode_changed(reader: SubscriberRow, now: int) -> str:
    if reader.mode == "digest":
        return digest_promise(reader, now, key="settings.mode_set_digest")
    return t(reader.language, "settings.mode_set_instant")


def digest_promise(reader: SubscriberRow, now: int, *, key: str = "settings.digest_set") -> str:
    """'… lúc 18:30 mỗi ngày, bắt đầu từ ngày mai.': the promise, and when it starts."""
    first = "tomorrow" if readers.first_digest_tomorrow(reader, now) else "today"
    lang = reader.language
    return t(lang, key, hour=digest_label(reader), first=t(lang, f"settings.first_{first}"))


@reader_command(changes_subscriptions=True)
async def digest(request: Request, context: Context) -> None:
    svc = request.services
    if not request.args:
        # A bare /digest asks the time with buttons, as /settings does.
        hours = hour_picker(request.reader.digest_hour, request.lang)
        await reply(request, context, t(request.lang, "settings.pick_hour"), hours)
        return
    at = parse_digest_time(request.args)
    if at is None:
        await reply(request, context, t(request.lang, "settings.digest_usage"))
        return
    await readers.set_digest_time(svc.db, request.chat_id, at, now=svc.now)
    label = hour_label(at.hour, at.minute)
    if request.reader.mode != "digest":
        # The time is kept, but no digest comes in instant mode: say so, offer the switch.
        await reply(
            request,
            context,
            t(request.lang, "settings.digest_set_instant", hour=label),
            switch_to_digest(request.lang),
        )
        return
    await reply(request, context, digest_promise(await _fresh(request), svc.now))


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
    if not request.args:
        picker = quiet_picker(request.reader, request.lang)
        await reply(request, context, t(request.lang, "settings.pick_quiet"), picker)
        return
    hours = parse_quiet_hours(request.args)
    if hours is False:
        await reply(request, context, t(request.lang, "settings.quiet_usage"))
        return
    assert hours is not True
    await readers.set_quiet_hours(svc.db, request.chat_id, hours, now=svc.now)
    await reply(request, context, quiet_notice(request.lang, hours))


@reader_button(changes_subscriptions=True)
async def settings_button(request: Request, context: Context) -> str | None:
    """The /settings menu's buttons: each opens a picker, or sets a value and shows the
    menu again with a short notice."""
    assert request.query is not None and request.query.data is not None
    action, _, value = request.query.data.removeprefix(SETTINGS).partition(":")
    reader = await _fresh(request)
    lang = reader.language
    picker: tuple[str, InlineKeyboardMarkup] | None = None
    if action == "hours":
        picker = "settings.pick_hour", hour_picker(reader.digest_hour, lang)
    elif action == "hour" and value.isdigit() and 0 <= int(value) <= 23:
        picker = "settings.pick_minute", minute_picker(int(value), lang)
    elif action == "quiet":
        picker = "settings.pick_quiet", quiet_picker(reader, lang)
    elif action == "silent":
        picker = "settings.pick_silent", silent_picker(reader.silent_alerts, lang)
    if picker is not None:
        key, markup = picker
        await edit_or_reply(request, context, t(lang, key), markup)
        return None
    notice = await _apply(request, action, value)
    await _show_menu(request, context)
    return notice


async def _apply(request: Request, action: str, value: str) -> str | None:
    """Set what a settings button names; the notice to show, None when nothing changed."""
    svc = request.services
    chat_id = request.chat_id
    if action == "mode":
        await readers.set_mode(svc.db, chat_id, value, now=svc.now)
        return _mode_changed(await _fresh(request), svc.now)
    if action == "lang":
        await readers.set_language(svc.db, chat_id, value, now=svc.now)
        return t((await _fresh(request)).language, "settings.language_set")
    if action == "time":
        at = parse_digest_time(value)
        if at is not None and await readers.set_digest_time(svc.db, chat_id, at, now=svc.now):
            reader = await _fresh(request)
            if reader.mode != "digest":
                return t(
                    reader.language, "settings.digest_set_instant_short", hour=digest_label(reader)
                )
            return digest_promise(reader, svc.now)
    if action == "q":
        hours = parse_quiet_hours(value)
        if hours is not False:
            assert hours is not True
            await readers.set_quiet_hours(svc.db, chat_id, hours, now=svc.now)
            return quiet_notice(request.lang, hours)
    if action == "sil" and await readers.set_silent_alerts(svc.db, chat_id, value, now=svc.now):
        return t(request.lang, f"settings.silent_set_{value}")
    return None


def quiet_notice(lang: str, hours: tuple[int, int] | None) -> str:
    if hours is None:
        return t(lang, "settings.quiet_off_set")
    start, end = hours
    return t(lang, "settings.quiet_set", start=hour_label(start), end=hour_label(end))


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
