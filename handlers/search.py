"""/search with paging buttons, and /latest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Message
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.delivery.render import render_article_list
from bot.readers.search import is_short_query, search, search_start
from bot.readers.search import latest as latest_articles
from bot.readers.service import MAX_QUERY_CHARS, clip_query, topic_name
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
from handlers.keyboards import SEARCH_PAGE, search_pages

PAGE_SIZE = 5
LATEST_COUNT = 8
# The search behind the paging buttons lives in chat_data (callback data holds 64 bytes),
# keyed by the results message, so each message pages its own search: the query, and
# the newest article when it began, so that later pages hold what page 1 was drawn from.
QUERY_KEY = "search_queries"
REMEMBERED_SEARCHES = 20


@dataclass(frozen=True, slots=True)
class _Search:
    query: str
    as_of: int


def _remember(chat_data: dict[Any, Any], message_id: int, shown: _Search) -> None:
    searches: dict[int, _Search] = chat_data.setdefault(QUERY_KEY, {})
    searches[message_id] = shown
    while len(searches) > REMEMBERED_SEARCHES:
        del searches[next(iter(searches))]


def _recall(chat_data: dict[Any, Any] | None, message: object) -> _Search | None:
    if chat_data is None or not isinstance(message, Message):
        return None
    shown = chat_data.get(QUERY_KEY, {}).get(message.message_id)
    return shown if isinstance(shown, _Search) else None


async def _show_results(
    request: Request, context: Context, shown: _Search, offset: int
) -> Message | None:
    """The results page; returns the message when a new one was sent (not edited)."""
    svc = request.services
    lang = request.lang
    query = shown.query
    # One extra row tells whether a "more" button is needed.
    rows = await search(svc.db, query, limit=PAGE_SIZE + 1, offset=offset, as_of=shown.as_of)
    if not rows:
        # "Fewer words" is no help after a word of one letter or two.
        key = "search.none_short" if is_short_query(query) else "search.none"
        return await edit_or_reply(request, context, t(lang, key, query=query))
    page = rows[:PAGE_SIZE]
    if offset == 0 and len(rows) == 1:
        header = t(lang, "search.header_one", query=query)
    else:
        header = t(lang, "search.header", query=query, first=offset + 1, last=offset + len(page))
    text = render_article_list(
        header, page, language=lang, tz=ZoneInfo(request.reader.timezone), first_number=offset + 1
    )
    markup = search_pages(offset, PAGE_SIZE, len(rows) > PAGE_SIZE, lang)
    return await edit_or_reply(request, context, text, markup)


@reader_command()
async def search_command(request: Request, context: Context) -> None:
    if not request.args:
        await reply(request, context, t(request.lang, "search.usage"))
        return
    await search_for(request, context, request.args)


async def search_for(request: Request, context: Context, text: str) -> None:
    """The first page of results for what the reader typed (a /search, or plain text)."""
    query = clip_query(text)
    if query is None:
        await reply(request, context, t(request.lang, "limit.too_long", limit=MAX_QUERY_CHARS))
        return
    shown = _Search(query, await search_start(request.services.db))
    sent = await _show_results(request, context, shown, 0)
    if sent is not None and context.chat_data is not None:
        _remember(context.chat_data, sent.message_id, shown)


@reader_button()
async def page(request: Request, context: Context) -> str | None:
    assert request.query is not None and request.query.data is not None
    offset_text = request.query.data.removeprefix(SEARCH_PAGE)
    shown = _recall(context.chat_data, request.query.message)
    if not offset_text.isdigit() or shown is None:
        return t(request.lang, "search.expired")
    await _show_results(request, context, shown, min(int(offset_text), 1000))
    return None


@reader_command()
async def latest(request: Request, context: Context) -> None:
    lang = request.lang
    found = await latest_articles(request.services.db, request.args, limit=LATEST_COUNT)
    if found.unknown_topic:
        names = ", ".join(topic_name(x, lang) for x in found.topics)
        await reply(
            request, context, t(lang, "latest.unknown_topic", topic=request.args[:60], topics=names)
        )
        return
    if not found.articles:
        await reply(request, context, t(lang, "latest.none"))
        return
    header = (
        t(lang, "latest.header_topic", topic=topic_name(found.topic, lang))
        if found.topic
        else t(lang, "latest.header")
    )
    text = render_article_list(
        header, found.articles, language=lang, tz=ZoneInfo(request.reader.timezone)
    )
    await reply(request, context, text)


def handlers() -> Handlers:
    return [
        CommandHandler("search", search_command),
        CommandHandler("latest", latest),
        CallbackQueryHandler(page, pattern=f"^{SEARCH_PAGE}"),
    ]
