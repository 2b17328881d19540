"""The message catalogs: the same messages in both languages, Vietnamese that is Vietnamese,
and every message short enough for one phone screen."""

from __future__ import annotations

import re
import string

import pytest

from bot.text.htmltext import telegram_html_to_text
from bot.text.i18n import CATALOGS

# English words that crept into Vietnamese messages before; a reader on a phone in
# Vietnamese should never meet them (commands, <code> examples and names aside).
ENGLISH_WORDS = frozenset(
    [
        "alert",
        "alerts",
        "digest",
        "instant",
        "failing",
        "failed",
        "removed",
        "keyword",
        "keywords",
        "topic",
        "topics",
        "feed",
        "feeds",
        "settings",
        "setting",
        "quiet",
        "hours",
        "broadcast",
        "subscribe",
        "unsubscribe",
        "search",
        "admin",
        "error",
        "outbox",
        "pending",
        "sent",
        "mode",
        "off",
        "on",
        "reader",
        "readers",
        "daily",
        "none",
        "blocked",
        "chat",
        "timeout",
        "status",
    ]
)
# A phone screen holds about this many characters of chat text.
SCREEN_CHARS = 900


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def words_a_reader_sees(template: str) -> list[str]:
    text = re.sub(r"<code>.*?</code>", " ", template, flags=re.S)
    text = re.sub(r"\{[a-z_]+\}", " ", text)
    text = re.sub(r"/[a-z_]+", " ", text)  # commands are typed as they are
    text = telegram_html_to_text(text)
    return re.findall(r"[A-Za-z]+", text)


def test_both_catalogs_have_the_same_messages() -> None:
    assert set(CATALOGS["vi"]) == set(CATALOGS["en"])


@pytest.mark.parametrize("key", sorted(CATALOGS["vi"]))
def test_both_languages_fill_the_same_placeholders(key: str) -> None:
    assert placeholders(CATALOGS["vi"][key]) == placeholders(CATALOGS["en"][key])


@pytest.mark.parametrize("key", sorted(CATALOGS["vi"]))
def test_vietnamese_messages_have_no_english_words(key: str) -> None:
    assert english_in(CATALOGS["vi"][key]) == [], key


@pytest.mark.parametrize(
    ("language", "key"), [(lang, k) for lang in CATALOGS for k in CATALOGS[lang]]
)
def test_every_message_fits_one_phone_screen(language: str, key: str) -> None:
    visible = telegram_html_to_text(re.sub(r"\{[a-z_]+\}", "x" * 12, CATALOGS[language][key]))
    assert len(visible) <= SCREEN_CHARS, f"{language} {key}: {len(visible)} characters"


def english_in(template: str) -> list[str]:
    return [w for w in words_a_reader_sees(template) if w.lower() in ENGLISH_WORDS]


def test_the_english_word_check_catches_what_it_should() -> None:
    assert english_in("Nguồn tin: failing 13, removed 1") == ["failing", "removed"]
    assert english_in("Gõ <code>/mode digest</code> hoặc /settings, {mode}") == []
