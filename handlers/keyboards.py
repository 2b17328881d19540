"""Inline keyboards and the callback data they carry (at most 64 bytes each).

Callback data: "t:<slug>" toggle a topic · "u:t:<slug>" / "u:k:<id>" remove a
subscription · "sp:<offset>" search page · "set:mode:<m>", "set:lang:<l>",
"set:hours", "set:hour:<h>", "set:time:<hh:mm>", "set:quiet", "set:q:<22-6|off>",
"set:silent", "set:sil:<off|night|always>", "set:menu" settings · "stop:yes" / "stop:no" ·
"dt:<id>:<slug>" toggle a topic of a destination (a channel, group or forum topic),
"do:<id>:<style|hashtags|silent>" one of its options.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.admin.destinations import DestinationRow
from bot.readers.service import (
    SILENT_CHOICES,
    SubscriberRow,
    Subscriptions,
    TopicRow,
    topic_name,
)
from bot.text.i18n import hour_label, t, t_plain

TOGGLE_TOPIC = "t:"
REMOVE = "u:"
SEARCH_PAGE = "sp:"
SETTINGS = "set:"
FOLLOW_KEYWORD = "kw:"
# Telegram carries at most 64 bytes of callback data.
CALLBACK_LIMIT = 64
STOP = "stop:"


def topic_picker(topics: Sequence[TopicRow], chosen: Set[str], lang: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            ("✅ " if topic.slug in chosen else "") + topic_name(topic, lang),
            callback_data=f"{TOGGLE_TOPIC}{topic.slug}",
        )
        for topic in topics
    ]
    return InlineKeyboardMarkup(_rows(buttons, 2))


def removal_list(subs: Subscriptions, lang: str) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(
            t_plain(lang, "button.remove", what=topic_name(topic, lang)),
            callback_data=f"{REMOVE}t:{topic.slug}",
        )
        for topic in subs.topics
    ] + [
        InlineKeyboardButton(
            t_plain(lang, "button.remove", what=alert.phrase[:40]),
            callback_data=f"{REMOVE}k:{alert.id}",
        )
        for alert in subs.keywords
    ]
    return InlineKeyboardMarkup(_rows(buttons, 2)) if buttons else None


def search_pages(offset: int, page: int, has_more: bool, lang: str) -> InlineKeyboardMarkup | None:
    row = []
    if offset > 0:
        row.append(
            InlineKeyboardButton(
                t(lang, "search.previous"), callback_data=f"{SEARCH_PAGE}{max(0, offset - page)}"
            )
        )
    if has_more:
        row.append(
            InlineKeyboardButton(
                t(lang, "search.more"), callback_data=f"{SEARCH_PAGE}{offset + page}"
            )
        )
    return InlineKeyboardMarkup([row]) if row else None


def digest_label(reader: SubscriberRow) -> str:
    return hour_label(reader.digest_hour, reader.digest_minute)


def settings_menu(lang: str, mode: str) -> InlineKeyboardMarkup:
    """Every setting one tap away: mode, digest time, quiet hours, silent alerts, language."""
    other_mode = "digest" if mode == "instant" else "instant"
    other_lang = "en" if lang == "vi" else "vi"

    def button(key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(t_plain(lang, key), callback_data=f"{SETTINGS}{data}")

    rows = [
        [button(f"button.mode_{other_mode}", f"mode:{other_mode}")],
        [button("button.digest_hour", "hours"), button("button.quiet", "quiet")],
        [button("button.silent", "silent"), button("button.language", f"lang:{other_lang}")],
    ]
    if mode == "digest":
        # A reader who just switched here may want today's digest without waiting.
        digest_now_button = InlineKeyboardButton(
            t_plain(lang, "button.digest_now"), callback_data=DIGEST_NOW
        )
        rows.insert(1, [digest_now_button])
    return InlineKeyboardMarkup(rows)


def did_you_mean(topic_name: str, slug: str, phrase: str, lang: str) -> InlineKeyboardMarkup:
    """Follow the topic the reader nearly named, or the words as a keyword after all."""
    rows = [
        [
            InlineKeyboardButton(
                t_plain(lang, "button.follow_topic", topic=topic_name),
                callback_data=f"{TOGGLE_TOPIC}{slug}",
            )
        ]
    ]
    keyword_data = f"{FOLLOW_KEYWORD}{phrase}"
    if len(keyword_data.encode()) <= CALLBACK_LIMIT:
        rows.append(
            [
                InlineKeyboardButton(
                    t_plain(lang, "button.follow_keyword", phrase=phrase),
                    callback_data=keyword_data,
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


DIGEST_NOW = "dg:now"


def digest_now(lang: str) -> InlineKeyboardMarkup:
    """One button: today's digest at once, for a reader who just switched to digests."""
    button = InlineKeyboardButton(t(lang, "button.digest_now"), callback_data=DIGEST_NOW)
    return InlineKeyboardMarkup([[button]])


def switch_to_digest(lang: str) -> InlineKeyboardMarkup:
    """One button: from instant alerts to the daily digest."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "button.mode_digest"), callback_data=f"{SETTINGS}mode:digest"
                )
            ]
        ]
    )


def _back(lang: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(t_plain(lang, "button.back"), callback_data=f"{SETTINGS}menu")]


def hour_picker(current: int, lang: str) -> InlineKeyboardMarkup:
    """The digest's hour; the minutes come next (minute_picker)."""
    buttons = [
        InlineKeyboardButton(
            ("✅ " if hour == current else "") + f"{hour:02d}:…",
            callback_data=f"{SETTINGS}hour:{hour}",
        )
        for hour in range(5, 23)
    ]
    return InlineKeyboardMarkup([*_rows(buttons, 4), _back(lang)])


def minute_picker(hour: int, lang: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            hour_label(hour, minute), callback_data=f"{SETTINGS}time:{hour:02d}:{minute:02d}"
        )
        for minute in (0, 15, 30, 45)
    ]
    return InlineKeyboardMarkup([buttons, _back(lang)])


# Quiet hours readers pick most; any other span is one /quiet away.
QUIET_PRESETS = ((22, 6), (23, 7), (21, 6), (0, 6))


def quiet_picker(reader: SubscriberRow, lang: str) -> InlineKeyboardMarkup:
    current = (reader.quiet_start, reader.quiet_end)
    buttons = [
        InlineKeyboardButton(
            ("✅ " if (start, end) == current else "") + f"{hour_label(start)}–{hour_label(end)}",
            callback_data=f"{SETTINGS}q:{start}-{end}",
        )
        for start, end in QUIET_PRESETS
    ]
    off = InlineKeyboardButton(
        ("✅ " if reader.quiet_start is None else "") + t_plain(lang, "button.quiet_off"),
        callback_data=f"{SETTINGS}q:off",
    )
    return InlineKeyboardMarkup([*_rows(buttons, 2), [off], _back(lang)])


def silent_picker(current: str, lang: str) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if choice == current else "") + t_plain(lang, f"button.silent_{choice}"),
                callback_data=f"{SETTINGS}sil:{choice}",
            )
        ]
        for choice in SILENT_CHOICES
    ]
    return InlineKeyboardMarkup([*rows, _back(lang)])


def stop_confirm(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "button.stop_yes"), callback_data=f"{STOP}yes"),
                InlineKeyboardButton(t(lang, "button.stop_no"), callback_data=f"{STOP}no"),
            ]
        ]
    )


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


DESTINATION_TOPIC = "dt:"
DESTINATION_OPTION = "do:"
DESTINATION_OPTIONS = ("style", "hashtags", "silent")


def destination_picker(
    destination: DestinationRow, topics: Sequence[TopicRow], lang: str
) -> InlineKeyboardMarkup:
    """The topics routed to a destination, each a toggle ("dt:<destination>:<slug>"),
    then how it posts: photo or text, hashtags, silent ("do:<destination>:<option>")."""
    chosen = set(destination.topics)
    buttons = [
        InlineKeyboardButton(
            ("✅ " if topic.slug in chosen else "") + topic_name(topic, lang),
            callback_data=f"{DESTINATION_TOPIC}{destination.id}:{topic.slug}",
        )
        for topic in topics
    ]
    style = "button.dest_photo" if destination.style == "photo" else "button.dest_text"
    options = [
        InlineKeyboardButton(
            t_plain(lang, style), callback_data=f"{DESTINATION_OPTION}{destination.id}:style"
        ),
        InlineKeyboardButton(
            ("✅ " if destination.hashtags else "") + t_plain(lang, "button.dest_hashtags"),
            callback_data=f"{DESTINATION_OPTION}{destination.id}:hashtags",
        ),
        InlineKeyboardButton(
            ("✅ " if destination.silent else "") + t_plain(lang, "button.dest_silent"),
            callback_data=f"{DESTINATION_OPTION}{destination.id}:silent",
        ),
    ]
    return InlineKeyboardMarkup([*_rows(buttons, 2), options])
