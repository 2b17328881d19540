"""User text → folded words (bot.readers.search.query_words) → a safe FTS5 MATCH
expression (storage.sqlite.articles.match_all)."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.readers.search import MAX_QUERY_WORDS, MAX_WORD_CHARS, query_words
from bot.text.vietnamese import fold
from storage.sqlite.articles import match_all

# Only double-quoted, non-empty, ASCII-folded words separated by single spaces.
_EXPRESSION = re.compile(r'"[^"\s]+"(?: "[^"\s]+")*')

DOCUMENTS = [
    "Sở Khoa học và Công nghệ Hà Nội: Những kết quả đạt được sau 5 tháng đầu năm 2023",
    "Thủy điện Hòa Bình xả lũ",
    "Đà Nẵng đón khách quốc tế",
    "C++ and NOT operators in title: near the AND gate",
]


def match_expression(query: str) -> str | None:
    """What the SQLite backend runs for a reader's query; None when nothing is searchable."""
    words = query_words(query)
    return match_all(words) if words else None


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    """An FTS5 table built like the real index: folded text, the same tokenizer."""
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE s USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')"
    )
    connection.executemany(
        "INSERT INTO s (rowid, title, body) VALUES (?, ?, '')",
        [(i, fold(doc)) for i, doc in enumerate(DOCUMENTS)],
    )
    yield connection
    connection.close()


def search(connection: sqlite3.Connection, query: str) -> list[int]:
    expression = match_expression(query)
    if expression is None:
        return []
    rows = connection.execute("SELECT rowid FROM s WHERE s MATCH ? ORDER BY rowid", (expression,))
    return [row[0] for row in rows]


def assert_safe(expression: str | None) -> None:
    if expression is None:
        return
    assert _EXPRESSION.fullmatch(expression), expression
    words = expression.split(" ")
    assert len(words) <= MAX_QUERY_WORDS
    assert len(set(words)) == len(words)
    for word in words:
        inner = word[1:-1]
        assert 0 < len(inner) <= MAX_WORD_CHARS
        assert inner == fold(inner)  # folded: lower case, no marks, no đ


# --- shape of the expression --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Hà Nội", '"ha" "noi"'),
        ("ĐÀ NẴNG", '"da" "nang"'),
        (unicodedata.normalize("NFD", "Hà Nội"), '"ha" "noi"'),
        ("thuỷ điện", '"thuy" "dien"'),
        ("thủy điện", '"thuy" "dien"'),
        ("  giá   vàng\n", '"gia" "vang"'),
        ("vàng VANG Vàng", '"vang"'),
        ("2023", '"2023"'),
    ],
)
def test_words_are_folded_and_quoted(query: str, expected: str) -> None:
    assert match_expression(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("AND", '"and"'),
        ("vàng AND bạc", '"vang" "and" "bac"'),
        ("NOT vàng", '"not" "vang"'),
        ("vàng OR bạc", '"vang" "or" "bac"'),
        ("vàng*", '"vang"'),
        ("*", None),
        ("-vàng", '"vang"'),
        ('"giá vàng', '"gia" "vang"'),
        ('""', None),
        ("C++", '"c"'),
        ("title:x", '"title" "x"'),
        ("body:vàng", '"body" "vang"'),
        ("(vàng", '"vang"'),
        ("vàng)", '"vang"'),
        ("NEAR(vàng bạc, 2)", '"near" "vang" "bac" "2"'),
        ("^vàng", '"vang"'),
        ("{title body}: vàng", '"title" "body" "vang"'),
        ("vàng + bạc", '"vang" "bac"'),
        ("'; DROP TABLE articles; --", '"drop" "table" "articles"'),
    ],
)
def test_operators_and_syntax_become_plain_words(query: str, expected: str | None) -> None:
    expression = match_expression(query)
    assert expression == expected
    assert_safe(expression)


@pytest.mark.parametrize(
    "query", ["", " ", "\n\t", "😀", "😀🎉👨‍👩‍👧", "!!! ??? …", "___", "\u202e\u200b"]
)
def test_nothing_searchable_gives_none(query: str) -> None:
    assert match_expression(query) is None


def test_emoji_around_words_are_dropped() -> None:
    assert match_expression("🔥 giá vàng 🔥") == '"gia" "vang"'


def test_long_input_is_bounded() -> None:
    query = " ".join(f"từ{i}" for i in range(1000))[:4000]
    expression = match_expression(query)
    assert expression is not None
    assert_safe(expression)
    assert expression.split(" ")[:2] == ['"tu0"', '"tu1"']
    assert len(expression.split(" ")) == MAX_QUERY_WORDS


def test_long_single_word_is_cut() -> None:
    expression = match_expression("a" * 4000)
    assert expression == '"' + "a" * MAX_WORD_CHARS + '"'


def test_long_emoji_input() -> None:
    assert match_expression("😀" * 4000) is None
    assert_safe(match_expression("😀" * 100 + " vàng"))
    assert match_expression("😀" * 100 + " vàng") == '"vang"'


# --- against a real FTS5 table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("Hà Nội", [0]),
        ("ha noi", [0]),
        ("HÀ NỘI", [0]),
        (unicodedata.normalize("NFD", "hà nội"), [0]),
        ("khoa hoc cong nghe", [0]),
        ("thuỷ điện", [1]),
        ("thuy dien hoa binh", [1]),
        ("hoà bình", [1]),
        ("da nang", [2]),
        ("Đà Nẵng", [2]),
        ("AND", [3]),
        ("NOT", [3]),
        ("title:near", [3]),
        ("C++", [3]),
        ("Hà Nội Đà Nẵng", []),  # every word must occur
        ("chưa có", []),
    ],
)
def test_expressions_find_the_right_rows(
    fts: sqlite3.Connection, query: str, rows: list[int]
) -> None:
    assert search(fts, query) == rows


QUERY_PIECES = [
    "AND", "OR", "NOT", "NEAR", "*", "-", '"', "(", ")", ":", "^", "+", "{", "}",
    "title:", "C++", "Hà", "Nội", "đ", " ", "😀", "\u0301", "_",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"])),
        st.lists(st.sampled_from(QUERY_PIECES)).map("".join),
    )
)
def test_any_input_gives_none_or_a_valid_expression(fts: sqlite3.Connection, query: str) -> None:
    expression = match_expression(query)
    assert_safe(expression)
    if expression is not None:
        # FTS5 accepts it: no sqlite3.OperationalError ("fts5: syntax error").
        fts.execute("SELECT rowid FROM s WHERE s MATCH ?", (expression,)).fetchall()
