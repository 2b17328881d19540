"""Vietnamese text tools: cleaning (ARCHITECTURE rule 1) and accent folding (rule 2)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.vietnamese import (
    clean_line,
    clean_paragraphs,
    clean_text,
    contains_phrase,
    fold,
    fold_words,
)

VIETNAMESE = "Thủ tướng chỉ đạo ứng phó bão số 3 ở Đà Nẵng, Hà Nội và TP.HCM"

# Bidi overrides, embeddings, isolates and marks: each can reorder what a reader sees.
BIDI = [
    "\u202a",  # LRE
    "\u202b",  # RLE
    "\u202c",  # PDF
    "\u202d",  # LRO
    "\u202e",  # RLO
    "\u2066",  # LRI
    "\u2067",  # RLI
    "\u2068",  # FSI
    "\u2069",  # PDI
    "\u200e",  # LRM
    "\u200f",  # RLM
]
ZERO_WIDTH = ["\u200b", "\u2060", "\ufeff"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


# --- clean_text / clean_line / clean_paragraphs ---------------------------------------


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH + CONTROLS)
def test_clean_text_drops_unwanted_character(char: str) -> None:
    assert clean_text(f"Hà{char} Nội") == "Hà Nội"
    assert clean_line(f"{char}Hà Nội{char}") == "Hà Nội"


def test_clean_text_keeps_emoji_joiners() -> None:
    family = "👨\u200d👩\u200d👧"
    assert clean_text(f"Gia đình {family}") == f"Gia đình {family}"


def test_clean_text_defuses_trojan_source_title() -> None:
    # "\u202e" would show "gnàv áig" reversed; the override and its isolate are removed.
    raw = "Giá \u202evàng\u202c tăng \u2066mạnh\u2069 hôm nay"
    assert clean_text(raw) == "Giá vàng tăng mạnh hôm nay"


def test_clean_text_keeps_vietnamese_unchanged() -> None:
    assert clean_text(VIETNAMESE) == VIETNAMESE
    assert clean_line(VIETNAMESE) == VIETNAMESE
    letters = (
        "ăâđêôơư ĂÂĐÊÔƠƯ àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ"
    )
    assert clean_text(letters) == letters


def test_clean_text_keeps_newlines_and_tabs_but_not_carriage_returns() -> None:
    assert clean_text("Dòng một\r\nDòng hai\rDòng ba\n\tDòng bốn") == (
        "Dòng một\nDòng hai\nDòng ba\n\tDòng bốn"
    )


def test_clean_text_outputs_nfc_for_nfd_input() -> None:
    decomposed = nfd(VIETNAMESE)
    assert decomposed != VIETNAMESE
    assert clean_text(decomposed) == VIETNAMESE
    assert clean_line(decomposed) == VIETNAMESE
    assert is_nfc(clean_paragraphs(decomposed))


def test_clean_text_drops_lone_surrogates_but_keeps_astral_characters() -> None:
    # A lone surrogate (a JSON "\ud83d" escape) would make every encoder fail later.
    assert clean_text("Tin\ud83d mới \udca5😀") == "Tin mới 😀"
    clean_text("a\ud800b").encode("utf-8")  # no UnicodeEncodeError


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_become_plain_line_breaks(separator: str) -> None:
    # JavaScript and some clients end a line at U+2028/U+2029; a title keeps its words apart.
    assert clean_text(f"Giá vàng{separator}tăng mạnh") == "Giá vàng\ntăng mạnh"
    assert clean_line(f"Giá vàng{separator}tăng mạnh") == "Giá vàng tăng mạnh"
    assert clean_paragraphs(f"Đoạn một{separator}{separator}Đoạn hai") == "Đoạn một\n\nĐoạn hai"


def test_clean_line_collapses_all_white_space() -> None:
    raw = "  Giá\u00a0vàng \t tăng\n\nmạnh\u2003hôm\u3000nay  "
    assert clean_line(raw) == "Giá vàng tăng mạnh hôm nay"


def test_clean_paragraphs_keeps_paragraph_breaks() -> None:
    raw = "  Đoạn   một.  \n\n\n\n  Đoạn\u00a0hai.\n  \n \nĐoạn ba.  "
    assert clean_paragraphs(raw) == "Đoạn một.\n\nĐoạn hai.\n\nĐoạn ba."


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_clean_line_output_is_nfc_single_line_without_unwanted_characters(raw: str) -> None:
    line = clean_line(raw)
    assert is_nfc(line)
    assert line == line.strip()
    assert "\n" not in line
    assert "  " not in line
    unwanted = set(BIDI + ZERO_WIDTH + CONTROLS)
    assert not unwanted.intersection(line)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in line)


# --- fold ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Hà Nội", "ha noi"),
        ("Đà Nẵng", "da nang"),
        ("đường", "duong"),
        ("ĐẢNG", "dang"),
        ("Thành phố Hồ Chí Minh", "thanh pho ho chi minh"),
        ("Nghệ An", "nghe an"),
        ("Quảng Ngãi", "quang ngai"),
        ("Ưu đãi lãi suất", "uu dai lai suat"),
        ("ơn", "on"),
        ("KH&CN", "kh&cn"),
        ("VN-Index 1.800 điểm", "vn-index 1.800 diem"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Thuỵ", "Thụy"), ("uỷ ban", "ủy ban")],
)
def test_fold_ignores_tone_mark_placement(old_style: str, new_style: str) -> None:
    assert old_style != new_style
    assert fold(old_style) == fold(new_style)


def test_fold_is_the_same_for_nfd_and_nfc() -> None:
    assert fold(nfd(VIETNAMESE)) == fold(VIETNAMESE)
    assert fold(nfd("Đà Nẵng")) == "da nang"


def test_fold_ignores_case() -> None:
    assert fold("HÀ NỘI") == fold("hà nội") == fold("Hà Nội") == "ha noi"
    assert fold("ĐÀ NẴNG") == "da nang"


def test_fold_ignores_invisible_characters() -> None:
    assert fold("Hà\u200b Nội\u202e") == "ha noi"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fold_is_idempotent_and_mark_free(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert not any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", folded))
    assert "đ" not in folded


VIETNAMESE_ALPHABET = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    " .,-0123456789"
)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(VIETNAMESE_ALPHABET + VIETNAMESE_ALPHABET.upper())))
def test_fold_of_vietnamese_is_form_and_case_insensitive(text: str) -> None:
    folded = fold(text)
    assert fold(nfd(text)) == folded
    assert fold(text.upper()) == folded
    assert folded.isascii()


# --- fold_words / contains_phrase ----------------------------------------------------


def test_fold_words_drops_punctuation() -> None:
    assert fold_words("Giá vàng (SJC) tăng: 5.000 đồng/lượng!") == [
        "gia",
        "vang",
        "sjc",
        "tang",
        "5",
        "000",
        "dong",
        "luong",
    ]


def test_fold_words_of_nfd_upper_case_and_unaccented_text_agree() -> None:
    expected = ["chuyen", "doi", "so"]
    assert fold_words("chuyển đổi số") == expected
    assert fold_words(nfd("CHUYỂN ĐỔI SỐ")) == expected
    assert fold_words("chuyen doi so") == expected


def test_fold_words_of_empty_and_symbol_only_text() -> None:
    assert fold_words("") == []
    assert fold_words(" - … “” !? ") == []


def test_contains_phrase_finds_consecutive_words() -> None:
    words = fold_words("Ngân hàng Nhà nước giữ nguyên lãi suất điều hành")
    assert contains_phrase(words, fold_words("lãi suất"))
    assert contains_phrase(words, fold_words("LAI SUAT"))
    assert contains_phrase(words, fold_words("ngân hàng nhà nước"))
    assert contains_phrase(words, fold_words("điều hành"))


def test_contains_phrase_needs_the_words_in_order_and_adjacent() -> None:
    words = fold_words("lãi vay và suất đầu tư")
    assert not contains_phrase(words, fold_words("lãi suất"))
    assert not contains_phrase(words, fold_words("suất lãi"))


def test_contains_phrase_matches_whole_words_only() -> None:
    words = fold_words("Tân Sơn Nhất")
    assert not contains_phrase(words, fold_words("tân sơ"))
    assert not contains_phrase(words, fold_words("ân"))


def test_contains_phrase_edge_cases() -> None:
    assert not contains_phrase(["a", "b"], [])
    assert not contains_phrase([], ["a"])
    assert not contains_phrase(["a"], ["a", "b"])
    assert contains_phrase(["a", "a", "b"], ["a", "b"])
    assert contains_phrase(["x", "a"], ["a"])
