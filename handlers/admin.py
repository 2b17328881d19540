"""Admin commands: /broadcast (preview, confirm, progress), /cancel_broadcast, /stats,
/import (an OPML file of sources) and /export (the sources as an OPML file)."""

from __future__ import annotations

import functools
import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import Document, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.admin import broadcast, chart, destinations, opml, stats
from bot.admin.broadcast import BroadcastError
from bot.admin.destinations import DestinationRow
from bot.admin.stats import cause_name
from bot.delivery.posts import label
from bot.readers.service import topic_names
from bot.text.dates import format_local
from bot.text.i18n import t, t_plain
from handlers.common import (
    Context,
    Handler,
    Handlers,
    Request,
    TelegramCallback,
    edit_message,
    edit_or_reply,
    reader_button,
    reader_command,
    reply,
)

CONFIRM = "bc:"
QUESTIONS_KEY = "broadcast_questions"


def _is_admin(request: Request) -> bool:
    return request.user.id in request.services.settings.admin_ids


def admin_command(handler: Handler) -> TelegramCallback:
    """A command only ADMIN_IDS may use; anyone else is told so and nothing happens."""

    @reader_command()
    @functools.wraps(handler)
    async def guarded(request: Request, context: Context) -> None:
        if not _is_admin(request):
            await reply(request, context, t(request.lang, "admin.not_allowed"))
            return
        await handler(request, context)

    return guarded


def _broadcast_html(request: Request) -> str:
    """The announcement: the text after /broadcast, or the message it replies to,
    with the admin's formatting kept (Telegram HTML built from the entities)."""
    message = request.message
    if message is None:
        return ""
    command_html = message.text_html or ""
    after = command_html.split(maxsplit=1)[1] if len(command_html.split(maxsplit=1)) > 1 else ""
    replied = message.reply_to_message
    if replied is not None and not after.strip().lstrip("#"):
        body = replied.text_html if replied.text else (replied.caption_html or "")
        return f"{after.strip()} {body}".strip()
    return after.strip()


@admin_command
async def broadcast_command(request: Request, context: Context) -> None:
    lang = request.lang
    svc = request.services
    try:
        draft = await broadcast.prepare(
            svc.db, admin_id=request.user.id, text_html=_broadcast_html(request), now=svc.now
        )
    except BroadcastError as exc:
        await reply(request, context, t(lang, exc.key, **exc.values))
        return
    audience = broadcast.topic_label(draft.topic, lang, draft.audience)
    await reply(
        request,
        context,
        t(
            lang,
            "broadcast.preview",
            id=draft.broadcast_id,
            count=draft.recipients,
            audience=audience,
        ),
    )
    await reply(request, context, draft.text)
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "button.broadcast_confirm"),
                    callback_data=f"{CONFIRM}yes:{draft.broadcast_id}",
                ),
                InlineKeyboardButton(
                    t(lang, "button.broadcast_cancel"),
                    callback_data=f"{CONFIRM}no:{draft.broadcast_id}",
                ),
            ]
        ]
    )
    question = t(
        lang,
        "broadcast.confirm_question",
        id=draft.broadcast_id,
        count=draft.recipients,
        audience=audience,
    )
    asked = await reply(request, context, question, buttons)
    if context.chat_data is not None:
        # /cancel_broadcast takes the buttons off this question.
        questions: dict[int, int] = context.chat_data.setdefault(QUESTIONS_KEY, {})
        questions[draft.broadcast_id] = asked.message_id
        while len(questions) > 20:
            del questions[next(iter(questions))]


@reader_button()
async def confirm(request: Request, context: Context) -> str | None:
    assert request.query is not None and request.query.data is not None
    lang = request.lang
    if not _is_admin(request):
        return t(lang, "admin.not_allowed")
    answer, _, id_text = request.query.data.removeprefix(CONFIRM).partition(":")
    if not id_text.isdigit():
        return None
    svc = request.services
    broadcast_id = int(id_text)
    if answer != "yes":
        cancelled = await broadcast.cancel(svc.db, broadcast_id, now=svc.now)
        text = (
            cancelled_text(lang, broadcast_id, cancelled.dropped)
            if cancelled is not None
            else t(lang, "broadcast.already", id=broadcast_id)
        )
        await edit_or_reply(request, context, text)
        return None
    if not await broadcast.is_draft(svc.db, broadcast_id):
        # Cancelled (or sent) since: the old buttons do nothing, and go away.
        await edit_or_reply(request, context, t(lang, "broadcast.already", id=broadcast_id))
        return None
    count = await broadcast.recipient_count(svc.db, broadcast_id)
    await edit_or_reply(
        request, context, t(lang, "broadcast.started", id=broadcast_id, count=count)
    )
    progress_message = request.query.message
    if progress_message is None:
        return None
    queued = await broadcast.start(
        svc.db,
        broadcast_id,
        progress_chat_id=request.chat_id,
        progress_message_id=progress_message.message_id,
        now=svc.now,
    )
    if queued is None:
        await edit_or_reply(request, context, t(lang, "broadcast.already", id=broadcast_id))
        return None
    svc.outbox_ready.set()
    return None


@admin_command
async def cancel_broadcast(request: Request, context: Context) -> None:
    lang = request.lang
    svc = request.services
    wanted = request.args.lstrip("#")
    cancelled = await broadcast.cancel(
        svc.db, int(wanted) if wanted.isdigit() else None, now=svc.now
    )
    if cancelled is None:
        await reply(request, context, t(lang, "broadcast.not_running"))
        return
    reply_text = cancelled_text(lang, cancelled.broadcast_id, cancelled.dropped)
    await reply(request, context, reply_text)
    questions = (context.chat_data or {}).get(QUESTIONS_KEY, {})
    asked = questions.pop(cancelled.broadcast_id, None)
    if asked is not None:
        await edit_message(context, request.chat_id, asked, reply_text)


@admin_command
async def stats_command(request: Request, context: Context) -> None:
    lang = request.lang
    svc = request.services
    tz = ZoneInfo(request.reader.timezone)
    figures = await stats.collect(svc.db, now=svc.clock(), tz=tz)
    names = await topic_names(svc.db, lang)
    topics = ", ".join(f"{names.get(slug, slug)} {n}" for slug, n in figures.topics.items()) or "—"
    # Removed feeds are history, not current sources.
    feeds = (
        ", ".join(
            t_plain(lang, f"stats.feeds_{health}", count=n)
            for health, n in sorted(figures.feeds.items())
            if health != "removed"
        )
        or "—"
    )
    by_mode = figures.by_mode or {}
    causes = (
        ", ".join(
            f"{cause_name(lang, kind)} {n}" for kind, n in (figures.failure_causes or {}).items()
        )
        or "—"
    )
    text = t(
        lang,
        "stats.text",
        articles=figures.articles,
        articles_today=figures.articles_today,
        active=figures.readers["active"],
        instant=by_mode.get("instant", 0),
        digest=by_mode.get("digest", 0),
        inactive=figures.readers["inactive"],
        topics=topics,
        feeds=feeds,
        causes=causes,
        backlog=figures.outbox.get("pending", 0) + figures.outbox.get("sending", 0),
        failed=figures.outbox.get("failed", 0),
        sent_today=figures.sent_today,
    )
    if figures.paused_feeds:
        lines = [t(lang, "stats.paused_feeds")]
        for feed in figures.paused_feeds:
            cause = cause_name(lang, feed.last_error_kind or "")
            lines.append(f"• {feed.name} ({cause}: {feed.last_error})")
        text += "\n\n" + html.escape("\n".join(lines), quote=False)
    if figures.destinations:
        text += "\n\n" + destination_lines(figures.destinations, lang, tz)
    await reply(request, context, text)
    # Then the last week as a picture (drawn in a worker thread by bot.admin.chart).
    png = await chart.stats_chart(svc.db, now=svc.clock(), tz=tz, language=lang)
    await context.bot.send_photo(request.chat_id, InputFile(png, filename="stats.png"))


@admin_command
async def export_command(request: Request, context: Context) -> None:
    """The sources being polled, sent as an OPML file."""
    svc = request.services
    now = svc.clock()
    export = await opml.export_opml(svc.db, now=now)
    if export.count == 0:
        await reply(request, context, t(request.lang, "opml.export_empty"))
        return
    await context.bot.send_document(
        request.chat_id,
        InputFile(export.data, filename=export.filename),
        caption=t(request.lang, "opml.export_caption", count=export.count, date=f"{now:%d/%m/%Y}"),
        parse_mode=ParseMode.HTML,
    )


@admin_command
async def import_command(request: Request, context: Context) -> None:
    """/import [topic] in reply to a message with the OPML file."""
    replied = request.message.reply_to_message if request.message else None
    if replied is None or replied.document is None:
        await reply(request, context, t(request.lang, "opml.import_usage"))
        return
    await _import(request, context, replied.document)


@admin_command
async def import_document(request: Request, context: Context) -> None:
    """An OPML file sent as a document, captioned /import [topic] (or named *.opml,
    the caption then being the topic)."""
    if request.message is None or request.message.document is None:
        return
    await _import(request, context, request.message.document)


async def _import(request: Request, context: Context, document: Document) -> None:
    lang = request.lang
    svc = request.services
    if document.file_size is not None and document.file_size > opml.MAX_OPML_BYTES:
        limit = opml.MAX_OPML_BYTES // (1024 * 1024)
        await reply(request, context, t(lang, "opml.too_large", limit=limit))
        return
    telegram_file = await document.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    try:
        report = await opml.import_opml(svc.db, data, topic=request.args or None, now=svc.now)
    except opml.OpmlError as exc:
        await reply(request, context, exc.html(lang))
        return
    await reply(request, context, opml.render_report(report, lang))


_IMPORT_CAPTION = r"^/import(@\w+)?(\s|$)"


def destination_lines(rows: list[DestinationRow], lang: str, tz: ZoneInfo) -> str:
    """Each destination with its last post, and why it is paused when it is."""
    lines = [t(lang, "stats.destinations")]
    for d in rows:
        last = (
            format_local(datetime.fromtimestamp(d.last_post_at, UTC), tz=tz, language=lang)
            if d.last_post_at
            else t(lang, "destination.never_posted")
        )
        line = "• " + t(lang, "stats.destination_line", id=d.id, name=label(d), last=last)
        if d.paused_at is not None:
            line += " · " + t(
                lang, "destination.paused_line", reason=destinations.pause_explanation(d, lang)
            )
        lines.append(line)
    return "\n".join(lines)


def cancelled_text(lang: str, broadcast_id: int, dropped: int) -> str:
    """'Đã hủy thông báo #2.' — and how many will not go out, when there were any."""
    if dropped == 0:
        return t(lang, "broadcast.cancelled_nothing", id=broadcast_id)
    return t(lang, "broadcast.cancelled", id=broadcast_id, dropped=dropped)


def handlers() -> Handlers:
    return [
        CommandHandler("broadcast", broadcast_command),
        CommandHandler("cancel_broadcast", cancel_broadcast),
        CommandHandler("stats", stats_command),
        CommandHandler("export", export_command),
        CommandHandler("import", import_command),
        MessageHandler(
            filters.Document.ALL
            & (filters.CaptionRegex(_IMPORT_CAPTION) | filters.Document.FileExtension("opml")),
            import_document,
        ),
        CallbackQueryHandler(confirm, pattern=f"^{CONFIRM}"),
    ]
