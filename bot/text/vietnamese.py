"""Vietnamese text tools: cleaning (ARCHITECTURE rule 1) and accent folding (rule 2)."""

from __future__ import annotations

import re
import unicodedata

# Cc controls except tab/newline, plus the bidi overrides, embeddings and isolates
# that can reorder what a reader sees (Trojan-source style tricks), plus BOM and
# zero-width spaces that only hide text from search. The joiners (U+200C, U+200D)
# stay: emoji sequences such as 👨‍👩‍👧 are built with them. Lone surrogates (from
# JSON "\ud83d" escapes, say) go too: no UTF-8 or UTF-16 encoder accepts them.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n"})
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(text: str) -> str:
    """NFC-normalize and drop control and bidi-override characters.

    Newlines survive; every other kind of white space becomes one plain space.
    """
    # U+2028/U+2029 end a line in JavaScript and in some renderers, never in Telegram;
    # they become the plain line break they stand for (two words stay two words).
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    text = _UNWANTED.sub("", unicodedata.normalize("NFC", text))
    return text


def clean_line(text: str) -> str:
    """clean_text, then collapse all white space (newlines included) to single spaces."""
    return _SPACES.sub(" ", clean_text(text).replace("\n", " ")).strip()


def clean_paragraphs(text: str) -> str:
    """clean_text, keeping paragraph breaks but collapsing runs of spaces and blank lines."""
    lines = [_SPACES.sub(" ", line).strip() for line in clean_text(text).split("\n")]
    joined = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", joined).strip()


_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "ı": "i"})


def fold(text: str) -> str:
    """Fold text for accent-insensitive matching: lower case, no marks, đ → d.

    NFD splits every precomposed letter into base + combining marks, so tone-mark
    placement (hoà/hòa, thuỷ/thủy) and the input's normalization form stop mattering.
    đ has no decomposition in Unicode, so it is mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", clean_text(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_FOLD_TABLE)


_WORD = re.compile(r"\w+")


def fold_words(text: str) -> list[str]:
    """The folded words of text, in order (letters and digits; punctuation dropped)."""
    return _WORD.findall(fold(text))


def contains_phrase(haystack_words: list[str], phrase_words: list[str]) -> bool:
    """True when phrase_words occur consecutively in haystack_words."""
    n = len(phrase_words)
    if n == 0:
        return False
    first = phrase_words[0]
    for i, word in enumerate(haystack_words):
        if word == first and haystack_words[i : i + n] == phrase_words:
            return True
    return False
