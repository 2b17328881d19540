"""The buttons under an alert, and the callback data they carry (64 bytes at most).

"al:ut:<article id>" unfollow the topics that brought the article · "al:uk:<folded
keyword>" unfollow the keyword · "al:rel:<article id>" related articles ·
"al:rt:<slug,slug>" / "al:rk:<keyword>" undo an unfollow.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.readers.search import phrase_words
from bot.text.i18n import t_plain
from storage.rows import ArticleRow

ALERT = "al:"
UNFOLLOW_TOPIC = "al:ut:"
UNFOLLOW_KEYWORD = "al:uk:"
RELATED = "al:rel:"
UNDO_TOPIC = "al:rt:"
UNDO_KEYWORD = "al:rk:"
CALLBACK_LIMIT = 64
LABEL_CHARS = 30


def fit_callback(prefix: str, value: str) -> str:
    """prefix + value, value cut (on a character) so the whole fits Telegram's 64 bytes."""
    room = CALLBACK_LIMIT - len(prefix.encode())
    encoded = value.encode()[:room]
    return prefix + encoded.decode(errors="ignore")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def alert_buttons(
    article: ArticleRow, *, keyword: str | None, language: str, topic_names: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """Unfollow what brought the alert (one tap, with undo), and "Tin tương tự"."""
    if keyword:
        label = t_plain(language, "button.unfollow_keyword", keyword=_short(keyword))
        data = fit_callback(UNFOLLOW_KEYWORD, " ".join(phrase_words(keyword)))
    elif len(article.topics) == 1:
        name = topic_names.get(article.topics[0], article.topics[0])
        label = t_plain(language, "button.unfollow_topic", topic=_short(name))
        data = f"{UNFOLLOW_TOPIC}{article.id}"
    else:
        label = t_plain(language, "button.unfollow_this_topic")
        data = f"{UNFOLLOW_TOPIC}{article.id}"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=data),
                InlineKeyboardButton(
                    t_plain(language, "button.related"), callback_data=f"{RELATED}{article.id}"
                ),
            ]
        ]
    )


def undo_buttons(undo_data: str, related_data: str | None, language: str) -> InlineKeyboardMarkup:
    """The alert's buttons after an unfollow: undo it, and still "Tin tương tự"."""
    row = [InlineKeyboardButton(t_plain(language, "button.undo"), callback_data=undo_data)]
    if related_data:
        row.append(
            InlineKeyboardButton(t_plain(language, "button.related"), callback_data=related_data)
        )
    return InlineKeyboardMarkup([row])
