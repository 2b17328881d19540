"""The buttons under an alert: unfollow what brought it (one tap, with undo), and
"Tin tương tự" (related articles, found by search)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram.ext import CallbackQueryHandler

from bot.delivery.alert_buttons import (
    ALERT,
    RELATED,
    UNDO_KEYWORD,
    UNDO_TOPIC,
    UNFOLLOW_KEYWORD,
    UNFOLLOW_TOPIC,
    alert_buttons,
    fit_callback,
    undo_buttons,
)
from bot.delivery.render import render_article_list
from bot.readers import service as readers
from bot.readers.related import related
from bot.text.i18n import t
from handlers.common import Context, Handlers, Request, edit_buttons, reader_button, reply


@reader_button()
async def related_button(request: Request, context: Context) -> str | None:
    """Anyone may ask for related articles, in a group too."""
    assert request.query is not None and request.query.data is not None
    return await _related(request, context, request.query.data.removeprefix(RELATED))


@reader_button(changes_subscriptions=True)
async def alert_button(request: Request, context: Context) -> str | None:
    """Unfollow and undo: what the chat follows, so a group's admins only."""
    assert request.query is not None and request.query.data is not None
    data = request.query.data
    if data.startswith(UNFOLLOW_TOPIC):
        return await _unfollow_topic(request, context, data.removeprefix(UNFOLLOW_TOPIC))
    if data.startswith(UNFOLLOW_KEYWORD):
        return await _unfollow_keyword(request, context, data.removeprefix(UNFOLLOW_KEYWORD))
    if data.startswith(UNDO_TOPIC):
        return await _undo_topic(request, context, data.removeprefix(UNDO_TOPIC))
    if data.startswith(UNDO_KEYWORD):
        return await _undo_keyword(request, context, data.removeprefix(UNDO_KEYWORD))
    return None


async def _unfollow_topic(request: Request, context: Context, id_text: str) -> str | None:
    if not id_text.isdigit():
        return None
    svc = request.services
    dropped = await readers.unfollow_article_topics(svc.db, request.chat_id, int(id_text))
    if not dropped:
        return t(request.lang, "alert.nothing_to_unfollow")
    names = await readers.topic_names(svc.db, request.lang)
    undo = fit_callback(UNDO_TOPIC, f"{id_text}:{','.join(dropped)}")
    await edit_buttons(request, undo_buttons(undo, f"{RELATED}{id_text}", request.lang))
    shown = ", ".join(names.get(slug, slug) for slug in dropped)
    return t(request.lang, "alert.unfollowed_topic", topic=shown)


async def _unfollow_keyword(request: Request, context: Context, folded: str) -> str | None:
    svc = request.services
    dropped = await readers.unfollow_keyword(svc.db, request.chat_id, folded)
    if dropped is None:
        return t(request.lang, "alert.nothing_to_unfollow")
    related_data = _related_data(request)
    article_id = related_data.removeprefix(RELATED) if related_data else ""
    undo = fit_callback(UNDO_KEYWORD, f"{article_id}:{dropped.phrase}")
    if not undo.endswith(dropped.phrase):
        _remember_phrase(context, request, dropped.phrase)  # too long for the button
    await edit_buttons(request, undo_buttons(undo, related_data, request.lang))
    return t(request.lang, "alert.unfollowed_keyword", keyword=dropped.phrase)


async def _undo_topic(request: Request, context: Context, value: str) -> str | None:
    id_text, _, slugs = value.partition(":")
    svc = request.services
    again = await readers.follow_topics_again(
        svc.db, request.chat_id, [s for s in slugs.split(",") if s], now=svc.now
    )
    if not again:
        return None
    await _restore(request, id_text, keyword=None)
    return t(request.lang, "alert.undone")


async def _undo_keyword(request: Request, context: Context, value: str) -> str | None:
    id_text, _, phrase = value.partition(":")
    phrase = _recall_phrase(context, request) or phrase
    svc = request.services
    change = await readers.subscribe_words(
        svc.db, request.chat_id, phrase, now=svc.now, as_keyword=True
    )
    if change.outcome not in (readers.Outcome.KEYWORD_ADDED, readers.Outcome.KEYWORD_EXISTS):
        return None
    await _restore(request, id_text, keyword=phrase)
    return t(request.lang, "alert.undone")


async def _restore(request: Request, id_text: str, *, keyword: str | None) -> None:
    """The alert's own buttons again, after an undo."""
    db = request.services.db
    found = await readers.article(db, int(id_text)) if id_text.isdigit() else None
    if found is None:
        await edit_buttons(request, None)
        return
    names = await readers.topic_names(db, request.lang)
    await edit_buttons(
        request,
        alert_buttons(found, keyword=keyword, language=request.lang, topic_names=names),
    )


# A keyword too long for the Undo button's 64 bytes waits here, by the alert's message id.
UNDO_PHRASES = "alert_undo_phrases"
REMEMBERED_PHRASES = 20


def _remember_phrase(context: Context, request: Request, phrase: str) -> None:
    message = request.query.message if request.query else None
    if context.chat_data is None or message is None:
        return
    phrases: dict[int, str] = context.chat_data.setdefault(UNDO_PHRASES, {})
    phrases[message.message_id] = phrase
    while len(phrases) > REMEMBERED_PHRASES:
        del phrases[next(iter(phrases))]


def _recall_phrase(context: Context, request: Request) -> str | None:
    message = request.query.message if request.query else None
    if context.chat_data is None or message is None:
        return None
    phrase = context.chat_data.get(UNDO_PHRASES, {}).pop(message.message_id, None)
    return phrase if isinstance(phrase, str) else None


def _related_data(request: Request) -> str | None:
    """The "Tin tương tự" button's data on the message pressed, if it has one."""
    message = request.query.message if request.query else None
    markup = getattr(message, "reply_markup", None)
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if isinstance(button.callback_data, str) and button.callback_data.startswith(RELATED):
                return button.callback_data
    return None


async def _related(request: Request, context: Context, id_text: str) -> str | None:
    if not id_text.isdigit():
        return None
    lang = request.lang
    found = await related(request.services.db, int(id_text))
    if not found:
        return t(lang, "alert.related_none")
    text = render_article_list(
        t(lang, "alert.related_header"),
        found,
        language=lang,
        tz=ZoneInfo(request.reader.timezone),
    )
    await reply(request, context, text)
    return None


def handlers() -> Handlers:
    return [
        CallbackQueryHandler(related_button, pattern=f"^{RELATED}"),
        CallbackQueryHandler(alert_button, pattern=f"^{ALERT}"),
    ]
