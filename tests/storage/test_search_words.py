"""Search through the interface, on every backend, with words as a reader types them.

The words are built by `bot.readers.search.query_words` and the stored text by
`bot.text.vietnamese.fold`, as the bot does: accents, tone placement, Unicode
normalization and case never matter, words match whole, titles rank above
bodies, pages never repeat, and no input raises.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from bot.readers.search import phrase_words, query_terms, query_words
from bot.text.vietnamese import fold
from storage.api import Database
from storage.rows import ArticleInput
from tests.storage.support import DAY, NOW, add_feed, article


def vn_article(key: str, title: str, body: str = "", *, published_at: int = NOW) -> ArticleInput:
    """An article as the parser gives it: the text as written, the search copies folded."""
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


async def store(db: Database, *articles: ArticleInput) -> dict[str, int]:
    feed_id = await add_feed(db)
    outcome = await db.articles.store(feed_id, list(articles), now=NOW)
    return {a.item_key: article_id for a, article_id in zip(articles, outcome.new_ids, strict=True)}


async def keys(db: Database, query: str, *, limit: int = 10, offset: int = 0) -> list[str]:
    found = await db.articles.search_articles(query_words(query), limit=limit, offset=offset)
    return [a.item_key for a in found]


@pytest.fixture
async def vietnamese(db: Database) -> Database:
    await store(
        db,
        vn_article(
            "ha-noi",
            "Hà Nội mở rộng đường vành đai",
            "Thành phố Hà Nội khởi công đường mới.",
            published_at=NOW - 300,
        ),
        vn_article(
            "hoa-binh",
            "Hoà Bình tích nước thuỷ điện",
            "Nhà máy thủy điện Hòa Bình tích nước cho mùa khô.",
            published_at=NOW - 200,
        ),
        vn_article(
            "hanh-chinh",
            "Cải cách hành chính",
            "Thủ tục hành chính được rút gọn.",
            published_at=NOW - 100,
        ),
    )
    return db


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ha noi", ["ha-noi"]),  # no diacritics
        ("Hà Nội", ["ha-noi"]),
        ("HÀ NỘI", ["ha-noi"]),  # any case
        ("hÀ nỘi", ["ha-noi"]),
        (unicodedata.normalize("NFD", "Hà Nội"), ["ha-noi"]),  # decomposed input
        ("đường", ["ha-noi"]),  # đ → d
        ("ĐƯỜNG", ["ha-noi"]),
        ("duong", ["ha-noi"]),
        ("hoà", ["hoa-binh"]),  # old tone placement …
        ("hòa", ["hoa-binh"]),  # … and new
        ("thuỷ điện", ["hoa-binh"]),
        ("thủy điện", ["hoa-binh"]),
        (unicodedata.normalize("NFD", "thủy điện"), ["hoa-binh"]),
        ("hanh chinh", ["hanh-chinh"]),
    ],
)
async def test_search_ignores_accents_case_and_normalization(
    vietnamese: Database, query: str, expected: list[str]
) -> None:
    assert await keys(vietnamese, query) == expected


async def test_search_matches_whole_words_only(vietnamese: Database) -> None:
    assert await keys(vietnamese, "ha") == ["ha-noi"]  # "Hà", not inside "hành" or "thành"
    assert await keys(vietnamese, "hà") == ["ha-noi"]
    assert await keys(vietnamese, "han") == []
    assert await keys(vietnamese, "tha") == []
    assert await keys(vietnamese, "chin") == []
    assert await keys(vietnamese, "hanh") == ["hanh-chinh"]
    assert await keys(vietnamese, "thanh") == ["ha-noi"]
    assert await keys(vietnamese, "noi ha") == ["ha-noi"]  # every word, in any order
    assert await keys(vietnamese, "ha noi chinh") == []


async def test_search_ranks_title_over_body_then_newest_first(db: Database) -> None:
    await store(
        db,
        vn_article("body-newest", "Tin sáng", "Bão số 3 đổ bộ", published_at=NOW),
        vn_article("title-old", "Bão số 3", "Tin sáng", published_at=NOW - 2 * DAY),
        vn_article("title-new", "Bão số 3", "Tin sáng", published_at=NOW - DAY),
        vn_article("elsewhere", "Giá vàng", "Tin sáng", published_at=NOW + 60),
    )

    assert await keys(db, "bão") == ["title-new", "title-old", "body-newest"]
    assert await keys(db, "bao so 3") == ["title-new", "title-old", "body-newest"]
    assert await keys(db, "tin sang") == ["body-newest", "elsewhere", "title-new", "title-old"]


async def test_more_of_the_words_in_the_title_rank_first_then_newest(db: Database) -> None:
    await store(
        db,
        vn_article("both", "Giá vàng bạc hôm nay", "Thị trường", published_at=NOW - 3 * DAY),
        vn_article("one", "Giá vàng tăng", "Bạc đứng yên", published_at=NOW - 2 * DAY),
        vn_article("one-newer", "Bạc giảm", "Vàng đứng yên", published_at=NOW - DAY),
        vn_article("none", "Thị trường sáng nay", "Vàng và bạc", published_at=NOW),
        vn_article("place", "Hà Nội: giá vàng", "Tin sáng", published_at=NOW - 4 * DAY),
        vn_article("place-body", "Giá vàng", "Ở Hà Nội", published_at=NOW - DAY),
        vn_article("start-in-body", "Giá xăng", "Vàng", published_at=NOW),
    )

    assert await keys(db, "vàng bạc") == ["both", "one-newer", "one", "none"]
    # A place's spellings are one word: "hanoi" in the title counts once, as "ha noi".
    hits = await db.articles.search_articles(query_terms("hanoi vang"))
    assert [a.item_key for a in hits] == ["place", "place-body"]
    # A start of a word counts in the title as the whole word would.
    started = await db.articles.search_articles(query_words("gia va"), prefix=True)
    assert [a.item_key for a in started] == ["place-body", "one", "both", "place", "start-in-body"]


async def test_search_pages_never_repeat_or_skip(db: Database) -> None:
    await store(
        db,
        *(
            vn_article(
                f"a{i}",
                "Thủy điện tích nước" if i % 3 == 0 else "Tin vắn",
                "Mùa khô, thủy điện" if i % 2 else "Thủy điện, mùa khô, thủy điện",
                published_at=NOW - (i % 5) * 60,
            )
            for i in range(23)
        ),
    )

    everything = await keys(db, "thuy dien", limit=100)
    pages = [await keys(db, "thủy điện", limit=5, offset=offset) for offset in range(0, 30, 5)]

    paged = [key for page in pages for key in page]
    assert len(everything) == 23
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3, 0]
    assert len(set(paged)) == len(paged) == 23  # no repeats …
    assert set(paged) == set(everything)  # … and none left out
    assert paged == everything  # in the order of one long page
    titled = {f"a{i}" for i in range(0, 23, 3)}
    assert set(everything[: len(titled)]) == titled  # title matches first


HOSTILE = [
    "'",
    "''",
    "\\",
    "\\'",
    ":*",
    "bao:*",
    "&",
    "|",
    "!",
    "!bao",
    "<->",
    "<1>",
    "bao <-> so",
    "bao & !so",
    "(bao | so)",
    '"bao"',
    "a'b",
    "'; DROP TABLE articles; --",
    "bao AND NOT so",
    "*",
    "-",
    "%",
    "_",
    "a_b",
    "\x01\x02",
    "x" * 5000,
    "bao" * 1000,
    "đ" * 3000,
    "bao " * 500,
    "🙂",
    "\u200b",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
async def test_no_input_makes_search_raise(db: Database, text: str) -> None:
    """What a reader types, through query_words, and the same text passed as words."""
    await store(db, vn_article("bao", "Bão số 3", "Tin bão"))

    typed = await db.articles.search_articles(query_words(text))
    raw = await db.articles.search_articles([text])
    pieces = await db.articles.search_articles(text.split() or [text], limit=3, offset=1)
    phrase = await db.digests.phrase_articles(
        phrase_words(text), chat_id=1, since=NOW - DAY, until=NOW + DAY, limit=5
    )
    raw_phrase = await db.digests.phrase_articles(
        [text], chat_id=1, since=NOW - DAY, until=NOW + DAY, limit=5
    )

    for found in (typed, raw, pieces, phrase, raw_phrase):
        assert all(a.item_key == "bao" for a in found)


async def test_query_syntax_is_only_ever_words(db: Database) -> None:
    await store(db, vn_article("bao", "Bão số 3", "Tin bão"), vn_article("lu", "Lũ", "Tin lũ"))

    for words in (["'"], ["\\"], [":*"], ["&"], ["|"], ["!"], ["<->"], ["x" * 5000]):
        assert await db.articles.search_articles(words) == [], words
    # an operator between words is no operator, and a word it sticks to is just that word
    assert [a.item_key for a in await db.articles.search_articles(["bao:*"])] == ["bao"]
    assert [a.item_key for a in await db.articles.search_articles(["!bao"])] == ["bao"]
    assert [a.item_key for a in await db.articles.search_articles(["bao", "&"])] == ["bao"]
    assert await db.articles.search_articles(["bao", "|", "lu"]) == []  # both words, no "or"
    assert await db.articles.search_articles(["ba:*"]) == []  # no prefix search
    assert [a.item_key for a in await db.articles.search_articles(["tin"])] == ["lu", "bao"]


async def test_phrase_articles_take_folded_words_as_typed(db: Database) -> None:
    await store(
        db,
        vn_article("title", "Giá vàng hôm nay", "Thị trường", published_at=NOW - 10),
        vn_article("split", "Thị trường giá", "vàng tăng", published_at=NOW - 5),  # title | body
        vn_article("body", "Thị trường", "Tin giá vàng mới", published_at=NOW - 1),
    )

    found = await db.digests.phrase_articles(
        phrase_words("GIÁ VÀNG"), chat_id=1, since=NOW - DAY, until=NOW + DAY, limit=10
    )

    # a phrase runs within the title or within the body, never from one into the other
    assert [a.item_key for a in found] == ["body", "title"]


async def test_punctuation_splits_words_as_it_does_for_every_backend(db: Database) -> None:
    await store(
        db,
        vn_article(
            "mixed",
            "Covid-19: KH&CN tăng 3,5% trên VnExpress.net",
            "Xem https://vnexpress.net/suc-khoe/covid-19-4790123.html và a_b@c.vn",
        ),
    )

    for query in ("covid 19", "vnexpress", "net", "5", "kh cn", "suc khoe", "4790123", "c vn"):
        assert await keys(db, query) == ["mixed"], query
    assert await keys(db, "vnexpress.net") == ["mixed"]
    assert await keys(db, "covid19") == []


async def test_with_prefix_the_last_word_may_be_the_start_of_a_word(db: Database) -> None:
    await store(
        db,
        article("kt", title="kinh te phuc hoi", body="tang truong"),
        article("kd", title="kinh doanh online", body="ban hang"),
    )
    words = query_words("kinh t")
    assert await db.articles.search_articles(words) == []  # whole words: no "t"
    found = await db.articles.search_articles(words, prefix=True)
    assert [a.item_key for a in found] == ["kt"]
    # Only the last word: "kin t" finds nothing, whatever the prefix.
    assert await db.articles.search_articles(query_words("kin t"), prefix=True) == []


@pytest.fixture
async def cities(db: Database) -> Database:
    await store(
        db,
        vn_article("hn", "Hà Nội cấm xe máy ở phố cổ", "Thành phố Hà Nội thí điểm."),
        vn_article("dn", "Đà Nẵng đón khách du lịch", "Bãi biển Đà Nẵng đông khách."),
        vn_article("sg", "Sài Gòn mưa lớn chiều nay", "Nhiều tuyến đường ngập."),
        vn_article("hcm", "TP.HCM mở thêm tuyến metro", "Người dân TP.HCM đi tàu."),
        vn_article("ha", "Giá hành tăng", "Hành lá và nội thất: không liên quan."),
    )
    return db


@pytest.mark.parametrize(
    ("query", "found"),
    [("hanoi", ["hn"]), ("Hà Nội", ["hn"]), ("danang", ["dn"]), ("saigon", ["hcm", "sg"]),
     ("tphcm", ["hcm", "sg"]), ("hcm", ["hcm", "sg"]), ("hanoi pho co", ["hn"]),
     ("ha", ["hn"]), ("noi", ["ha", "hn"])],  # "ha" is not "hành"
)  # fmt: skip
async def test_run_together_and_short_place_names(
    cities: Database, query: str, found: list[str]
) -> None:
    hits = await cities.articles.search_articles(query_terms(query))
    assert sorted(a.item_key for a in hits) == found


async def test_alternatives_are_any_one_and_terms_all(db: Database) -> None:
    await store(
        db,
        vn_article("a", "Ha noi mua", ""),
        vn_article("b", "Hanoi nang", ""),
        vn_article("c", "Da nang mua", ""),
    )

    async def found(*terms: str | tuple[str, ...]) -> list[str]:
        return sorted(a.item_key for a in await db.articles.search_articles(list(terms)))

    assert await found(("hanoi", "ha noi")) == ["a", "b"]
    assert await found(("hanoi", "ha noi"), "mua") == ["a"]
    assert await found(("zzz", "da nang")) == ["c"]
    assert await found(("zzz",)) == []
    assert await found((), "mua") == ["a", "c"]  # an empty term asks nothing
    assert await found(("x" * 3000, "mua")) == ["a", "c"]  # too long for any index: no match
