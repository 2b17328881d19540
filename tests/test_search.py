"""Search over a real SQLite file: accent-insensitive, ranked, unbreakable."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.readers.search import search
from bot.text.vietnamese import fold
from storage.rows import ArticleInput, ArticleRow, FeedSpec, SearchTerm
from storage.sqlite import SqliteDatabase

NOW = 1_790_000_000


def article(key: str, title: str, body: str, published_at: int) -> ArticleInput:
    return ArticleInput(
        item_key=key,
        url=f"https://bao.example.vn/{key}.html",
        title=title,
        summary=body[:200],
        content_text=body,
        author=None,
        image_url=None,
        published_at=datetime.fromtimestamp(published_at, UTC),
        topics=(),
        search_title=fold(title),
        search_body=fold(body),
        canonical_url=f"https://bao.example.vn/{key}.html",
    )


@pytest.fixture
async def stored(db: SqliteDatabase) -> SqliteDatabase:
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=NOW)
    articles = [
        article(
            "thuy-dien",
            "Hoà Bình tích nước thuỷ điện",
            "Nhà máy thủy điện Hòa Bình tích nước cho mùa khô; Đà Nẵng theo dõi.",
            NOW - 300,
        ),
        article(
            "dang-uy",
            "Đảng uỷ khối doanh nghiệp họp",
            "Hội nghị bàn về đổi mới sáng tạo và KH&CN tại Thành phố Hồ Chí Minh.",
            NOW - 200,
        ),
        article("body-only", "Tin vắn buổi sáng", "Tin ngắn: thủy điện mùa khô.", NOW - 100),
        article("older-same", "Tin vắn buổi sáng", "Tin ngắn: thủy điện mùa khô.", NOW - 5000),
    ]
    await db.articles.store(feed_id, articles, now=NOW, alert_keys=frozenset(), keyword_chats={})
    return db


@pytest.mark.parametrize(
    "query",
    [
        "hoa binh",
        "Hòa Bình",
        "Hoà Bình",
        "HOÀ BÌNH",
        unicodedata.normalize("NFD", "Hòa Bình"),
        "thuỷ điện hoà bình",
        "thuy dien hoa binh",
    ],
)
async def test_accent_and_form_insensitive(stored: SqliteDatabase, query: str) -> None:
    results = await search(stored, query)

    assert results[0].item_key == "thuy-dien"


@pytest.mark.parametrize("query", ["dang uy", "Đảng ủy", "DANG UY", "đảng uỷ"])
async def test_d_with_stroke_folds_to_d(stored: SqliteDatabase, query: str) -> None:
    [hit] = await search(stored, query)

    assert hit.item_key == "dang-uy"


async def test_body_text_is_searched(stored: SqliteDatabase) -> None:
    [hit] = await search(stored, "doi moi sang tao ho chi minh")

    assert hit.item_key == "dang-uy"


async def test_title_match_ranks_first_then_recency(stored: SqliteDatabase) -> None:
    results = await search(stored, "thuy dien")

    assert [r.item_key for r in results] == ["thuy-dien", "body-only", "older-same"]


async def test_all_words_must_match(stored: SqliteDatabase) -> None:
    assert await search(stored, "thuy dien tau ngam") == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"hoa',
        "*",
        "hoa*",
        "-hoa",
        "NOT",
        "hoa AND binh",
        "hoa OR",
        "C++",
        "KH&CN",
        "title:hoa",
        "(hoa",
        "NEAR(hoa binh)",
        "🙂🙃",
        "x" * 4000,
        "hoa " * 1000,
        "",
        "   ",
        "\x00\u202e",
    ],
)
async def test_no_input_breaks_the_query(stored: SqliteDatabase, query: str) -> None:
    results = await search(stored, query)

    assert isinstance(results, list)


async def test_operator_words_are_plain_words(stored: SqliteDatabase) -> None:
    assert [r.item_key for r in await search(stored, "KH&CN")] == ["dang-uy"]
    assert [r.item_key for r in await search(stored, "hoa AND binh")] == []


async def test_paging(stored: SqliteDatabase) -> None:
    first = await search(stored, "thuy dien", limit=2)
    second = await search(stored, "thuy dien", limit=2, offset=2)

    assert [r.item_key for r in first + second] == ["thuy-dien", "body-only", "older-same"]


async def test_an_unfinished_last_word_is_taken_as_its_start(db: SqliteDatabase) -> None:
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=NOW)
    await db.articles.store(
        feed_id,
        [
            article("kt", "Kinh tế phục hồi", "Tăng trưởng quý ba.", NOW - 10),
            article("hanh", "Hành trình xe buýt", "Xe buýt điện.", NOW - 20),
            article("ha", "Hà Giang mùa hoa", "Du lịch.", NOW - 30),
        ],
        now=NOW,
    )
    assert [a.item_key for a in await search(db, "kinh t")] == ["kt"]
    assert [a.item_key for a in await search(db, "kinh tế")] == ["kt"]
    # A whole word that finds something is never widened: "ha" is Hà, not Hành.
    assert [a.item_key for a in await search(db, "ha")] == ["ha"]


async def test_a_lone_letter_is_never_widened_but_two_letters_or_more_words_are(
    db: SqliteDatabase,
) -> None:
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=NOW)
    await db.articles.store(
        feed_id,
        [
            article("ca-phe", "Cà phê Tây Nguyên được mùa", "Giá cà phê tăng.", NOW - 10),
            article("hanh", "Hành trình xe buýt", "Xe buýt điện.", NOW - 20),
            article("kt", "Kinh tế phục hồi", "Tăng trưởng quý ba.", NOW - 30),
        ],
        now=NOW,
    )
    # "C++" is the word "c": no article has it, and "c" as a start would be every c…
    assert await search(db, "C++") == []
    assert await search(db, "c", offset=10) == []
    # Two letters are a start worth widening: "trình" in a title first, "trưởng" after.
    assert [a.item_key for a in await search(db, "tr")] == ["hanh", "kt"]
    # One letter after whole words still finishes the last one.
    assert [a.item_key for a in await search(db, "xe b")] == ["hanh"]
    assert [a.item_key for a in await search(db, "ca p")] == ["ca-phe"]


async def test_a_last_word_is_not_widened_after_words_that_find_nothing(
    db: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://bao.example.vn/rss", "Báo", ()), now=NOW)
    await db.articles.store(
        feed_id,
        [article("bus", "Hành trình xe buýt", "Xe buýt điện.", NOW - 20)],
        now=NOW,
    )
    widened: list[list[SearchTerm]] = []
    plain = db.articles.search_articles

    async def recorded(words: list[SearchTerm], **options: Any) -> list[ArticleRow]:
        if options.get("prefix"):
            widened.append(list(words))
        return await plain(words, **options)

    monkeypatch.setattr(db.articles, "search_articles", recorded)

    assert [a.item_key for a in await search(db, "xe b")] == ["bus"]
    assert widened == [["xe", "b"]]
    # "tau" finds nothing, so no "b…" can help: the costly widening never runs.
    assert await search(db, "tàu b") == []
    assert await search(db, "NEAR(xe b)") == []
    assert widened == [["xe", "b"]]
