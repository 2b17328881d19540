"""Inline mode: "@bot từ khóa" in any chat offers the search results as articles to share;
"@bot" alone offers the latest news."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler

from bot.delivery.render import render_article, short_source, truncate_utf16, view_of
from bot.readers.search import inline_results
from bot.readers.service import clip_query, known_language, topic_names
from bot.text.htmltext import safe_http_url
from bot.text.i18n import normalize_language
from bot.text.vietnamese import clean_line
from handlers.common import Context, Handlers, services

# Telegram shows a list this long before the reader scrolls; more come by next_offset.
RESULTS_PER_PAGE = 10
# Telegram may cache an answer this long; per user, as it is in the user's language.
CACHE_SECONDS = 60


async def inline_search(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    fallback = (
        normalize_language(query.from_user.language_code)
        if query.from_user.language_code
        else svc.settings.default_language
    )
    # A reader's own chat with us has the reader's id: their language, when they are one.
    language = await known_language(svc.db, query.from_user.id, fallback=fallback)
    offset = int(query.offset) if query.offset.isdigit() else 0
    text = clip_query(query.query)
    if text is None:  # too long to be a query: nothing to offer
        await query.answer([], cache_time=CACHE_SECONDS)
        return
    found = await inline_results(svc.db, text, limit=RESULTS_PER_PAGE, offset=min(offset, 200))
    names = await topic_names(svc.db, language)
    tz = ZoneInfo(svc.settings.default_timezone)
    now = datetime.fromtimestamp(svc.now, UTC)
    results = []
    for article in found.articles:
        message = render_article(
            view_of(article), language=language, tz=tz, topic_names=names, now=now
        )
        url = safe_http_url(article.url)
        results.append(
            InlineQueryResultArticle(
                id=str(article.id),
                title=truncate_utf16(clean_line(article.title), 120),
                description=truncate_utf16(
                    f"{short_source(article.feed_name)} · {clean_line(article.summary)}", 160
                ),
                url=url,
                thumbnail_url=safe_http_url(article.image_url or ""),
                input_message_content=InputTextMessageContent(
                    message.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(url=url, prefer_large_media=True)
                    if url
                    else LinkPreviewOptions(is_disabled=True),
                ),
            )
        )
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=True,
        next_offset=str(offset + RESULTS_PER_PAGE) if found.has_more else "",
    )


def handlers() -> Handlers:
    return [InlineQueryHandler(inline_search)]
