"""/subscribe, /unsubscribe, /mysubs and their buttons."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.readers import service as readers
from bot.readers.service import Change, Outcome, topic_name
from bot.text.i18n import t
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
    FOLLOW_KEYWORD,
    REMOVE,
    TOGGLE_TOPIC,
    did_you_mean,
    digest_label,
    removal_list,
    topic_picker,
)


async def _topic_display(request: Request, slug: str) -> str:
    names = await readers.topic_names(request.services.db, request.lang)
    return names.get(slug, slug)


async def _describe(request: Request, change: Change) -> str:
    lang = request.lang
    outcome = change.outcome
    if outcome in (Outcome.TOPIC_ADDED, Outcome.TOPIC_ALREADY, Outcome.TOPIC_REMOVED):
        topic = await _topic_display(request, change.subject)
        key = {
            Outcome.TOPIC_ADDED: "subscribe.topic_added",
            Outcome.TOPIC_ALREADY: "subscribe.topic_already",
            Outcome.TOPIC_REMOVED: "unsubscribe.topic_removed",
        }[outcome]
        return t(lang, key, topic=topic)
    if outcome is Outcome.TOPIC_SUGGESTED:
        return t(
            lang, "subscribe.did_you_mean", topic=await _topic_display(request, change.subject)
        )
    if outcome is Outcome.TOO_MANY_TOPICS:
        return t(lang, "subscribe.too_many_topics", limit=readers.MAX_TOPICS)
    if outcome is Outcome.TOO_MANY_KEYWORDS:
        return t(lang, "subscribe.too_many_keywords", limit=readers.MAX_KEYWORDS)
    if outcome is Outcome.TOO_LONG:
        return t(lang, "limit.too_long", limit=readers.MAX_KEYWORD_CHARS)
    if outcome is Outcome.KEYWORD_TOO_SHORT:
        return t(lang, "subscribe.keyword_too_short")
    if outcome is Outcome.NOT_FOUND:
        return t(lang, "unsubscribe.not_found", what=await _topic_display(request, change.subject))
    key = {
        Outcome.KEYWORD_ADDED: "subscribe.keyword_added",
        Outcome.KEYWORD_EXISTS: "subscribe.keyword_exists",
        Outcome.KEYWORD_REMOVED: "unsubscribe.keyword_removed",
    }[outcome]
    return t(lang, key, phrase=change.subject)


async def _picker(request: Request, context: Context) -> None:
    choices = await readers.topic_choices(request.services.db, request.chat_id)
    await edit_or_reply(
        request,
        context,
        t(request.lang, "subscribe.pick"),
        topic_picker(choices.topics, choices.chosen, request.lang),
    )


@reader_command(changes_subscriptions=True)
async def subscribe(request: Request, context: Context) -> None:
    if not request.args:
        await _picker(request, context)
        return
    svc = request.services
    change = await readers.subscribe_words(svc.db, request.chat_id, request.args, now=svc.now)
    markup = None
    if change.outcome is Outcome.TOPIC_SUGGESTED:
        topic = await _topic_display(request, change.subject)
        markup = did_you_mean(topic, change.subject, request.args.strip(), request.lang)
    await reply(request, context, await _describe(request, change), markup)


@reader_button(changes_subscriptions=True)
async def follow_keyword(request: Request, context: Context) -> str | None:
    """The reader meant the words as a keyword, not the topic we asked about."""
    assert request.query is not None and request.query.data is not None
    phrase = request.query.data.removeprefix(FOLLOW_KEYWORD)
    svc = request.services
    change = await readers.subscribe_words(
        svc.db, request.chat_id, phrase, now=svc.now, as_keyword=True
    )
    await edit_or_reply(request, context, await _describe(request, change))
    return None


@reader_button(changes_subscriptions=True)
async def toggle_topic(request: Request, context: Context) -> str | None:
    assert request.query is not None and request.query.data is not None
    slug = request.query.data.removeprefix(TOGGLE_TOPIC)
    svc = request.services
    change = await readers.toggle_topic(svc.db, request.chat_id, slug, now=svc.now)
    await _picker(request, context)
    if change.outcome is Outcome.TOO_MANY_TOPICS:
        return await _describe(request, change)
    return None


async def _removal_list(request: Request, context: Context, *, header_key: str) -> None:
    subs = await readers.subscriptions(request.services.db, request.reader)
    markup = removal_list(subs, request.lang)
    if markup is None:
        await edit_or_reply(request, context, t(request.lang, "unsubscribe.nothing"))
        return
    await edit_or_reply(request, context, await _summary(request, subs, header_key), markup)


async def _summary(request: Request, subs: readers.Subscriptions, header_key: str) -> str:
    lang = request.lang
    none = t(lang, "mysubs.none")
    topics = ", ".join(topic_name(topic, lang) for topic in subs.topics) or none
    keywords = ", ".join(f"«{alert.phrase}»" for alert in subs.keywords) or none
    reader = subs.reader
    delivery = (
        t(lang, "mysubs.mode_digest", hour=digest_label(reader))
        if reader.mode == "digest"
        else t(lang, "mysubs.mode_instant")
    )
    return "\n".join(
        [
            t(lang, header_key),
            t(lang, "mysubs.topics", topics=topics),
            t(lang, "mysubs.keywords", keywords=keywords),
            delivery,
        ]
    )


@reader_command(changes_subscriptions=True)
async def unsubscribe(request: Request, context: Context) -> None:
    if not request.args:
        await _removal_list(request, context, header_key="unsubscribe.pick")
        return
    change = await readers.unsubscribe_words(request.services.db, request.chat_id, request.args)
    await reply(request, context, await _describe(request, change))


@reader_command()
async def mysubs(request: Request, context: Context) -> None:
    subs = await readers.subscriptions(request.services.db, request.reader)
    if not subs.topics and not subs.keywords:
        await reply(request, context, t(request.lang, "mysubs.empty"))
        return
    await reply(
        request,
        context,
        await _summary(request, subs, "mysubs.header"),
        removal_list(subs, request.lang),
    )


@reader_button(changes_subscriptions=True)
async def remove(request: Request, context: Context) -> str | None:
    assert request.query is not None and request.query.data is not None
    kind, _, value = request.query.data.removeprefix(REMOVE).partition(":")
    db = request.services.db
    if kind == "t":
        change = await readers.unsubscribe_words(db, request.chat_id, value)
    elif value.isdigit():
        change = await readers.remove_keyword(db, request.chat_id, int(value))
    else:
        return None
    await _removal_list(request, context, header_key="mysubs.header")
    return await _describe(request, change)


def handlers() -> Handlers:
    return [
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
        CommandHandler("mysubs", mysubs),
        CallbackQueryHandler(toggle_topic, pattern=f"^{TOGGLE_TOPIC}"),
        CallbackQueryHandler(follow_keyword, pattern=f"^{FOLLOW_KEYWORD}"),
        CallbackQueryHandler(remove, pattern=f"^{REMOVE}"),
    ]
