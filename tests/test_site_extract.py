"""Web pages → article links and articles: the pure functions the site poller runs in workers."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.extract import extract_article
from bot.ingest.sites.links import (
    PatternError,
    check_selector,
    compile_pattern,
    find_article_links,
    is_article_url,
    read_listing,
)
from bot.ingest.sites.page import decode_html, parse_html
from bot.ingest.sites.preview import read_page
from tests.support.site import (
    SAMPLE_PATH,
    article_page,
    fresh_story,
    listing_page,
    sample_story,
)

BASE = "https://sohuutritue.example.vn/"
FETCHED = datetime(2026, 9, 24, 2, 0, tzinfo=UTC)
STORY = fresh_story(7, datetime(2026, 9, 24, 1, 30, tzinfo=UTC))


def page(html: str) -> bytes:
    return f"<!doctype html><html><head><meta charset='utf-8'>{html}".encode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://sohuutritue.net.vn/so-khoa-hoc-d208979.html", True),
        ("https://vnexpress.net/gia-vang-hom-nay-4790123.html", True),
        ("https://tuoitre.vn/ha-noi-mo-rong-duong-20240625101530123.htm", True),
        ("https://thanhnien.vn/post1234567.html", True),
        ("https://baomoi.example.vn/tin-nong-post123.html", True),
        ("https://sohuutritue.net.vn/tin-tuc", False),
        ("https://sohuutritue.net.vn/tin-tuc/trang-2.html", False),
        ("https://sohuutritue.net.vn/tag/sang-che", False),
        ("https://sohuutritue.net.vn/dang-nhap.html", False),
        ("https://sohuutritue.net.vn/video-2024.html", False),
    ],
)
def test_default_pattern_knows_article_urls(url: str, expected: bool) -> None:
    assert is_article_url(url) is expected


def test_listing_links_are_the_articles_only() -> None:
    stories = [STORY, replace(STORY, path="/khac-d555.html")]
    body = listing_page(stories)

    links = read_listing(body, headers={}, url=BASE + "tin-tuc")

    # Each story is linked twice (once with utm_ and a fragment): listed once, clean.
    assert links == [BASE.rstrip("/") + STORY.path, BASE + "khac-d555.html"]


def test_links_stay_on_the_site_and_resolve_relative_hrefs() -> None:
    html = (
        "<base href='/chuyen-muc/'>"
        "<a href='bai-mot-d11111.html'>1</a>"
        "<a href='https://www.sohuutritue.example.vn/bai-hai-d22222.html'>2</a>"
        "<a href='https://khac.example.vn/bai-ba-d33333.html'>3</a>"
        "<a href='javascript:void(0)'>4</a><a>5</a>"
    )

    links = find_article_links(parse_html(html), page_url=BASE + "tin-tuc")

    assert links == [
        BASE + "chuyen-muc/bai-mot-d11111.html",
        "https://www.sohuutritue.example.vn/bai-hai-d22222.html",
    ]


def test_selector_and_pattern_rules() -> None:
    html = (
        "<nav><a href='/nong-d99999.html'>hot</a></nav>"
        "<div class='list'><a href='/bai-viet/12'>a</a>"
        "<h3><a href='/x-d12345.html'>b</a></h3></div>"
    )
    tree = parse_html(html)

    assert find_article_links(tree, page_url=BASE, selector=".list") == [
        BASE + "bai-viet/12",
        BASE + "x-d12345.html",
    ]
    assert find_article_links(tree, page_url=BASE, selector=".list", pattern=r"-d\d+") == [
        BASE + "x-d12345.html"
    ]
    assert find_article_links(tree, page_url=BASE, pattern=r"/bai-viet/\d+$") == [
        BASE + "bai-viet/12"
    ]
    with pytest.raises(PatternError, match="not a valid regex"):
        compile_pattern("(unclosed")
    with pytest.raises(PatternError, match="not a valid CSS selector"):
        check_selector("div[[")


def test_saved_listing_uses_its_own_address() -> None:
    body = page("<link rel='canonical' href='https://bao.example.vn/tin-tuc'></head><body>")
    body += b"<a href='/a-d12345.html'>a</a><a href='/tin-tuc'>x</a></body></html>"

    assert read_listing(body, headers={}, url=None) == ["https://bao.example.vn/a-d12345.html"]
    assert read_listing(b"<a href='/a-d12345.html'>a</a>", headers={}, url=None) == []


def test_sample_article_with_and_without_metadata(samples: Path) -> None:
    sample = sample_story(samples)
    url = BASE.rstrip("/") + SAMPLE_PATH
    for meta in (True, False):
        body = article_page(sample, base_url=BASE, meta=meta)

        entry = extract_article(body, headers={}, url=url, fetched_at=FETCHED)

        assert entry is not None
        assert entry.title == sample.title
        assert entry.item_key == entry.url == url
        assert entry.published_at == datetime(2023, 6, 3, 23, 23, tzinfo=UTC)
        assert entry.author == "Khánh An"
        assert entry.summary.startswith("Năm 2023 là năm bản lề")
        assert entry.content_text.startswith("(SHTT) - Năm 2023 là năm bản lề")
        assert entry.image_url == (BASE + ("images/cover.jpg" if meta else "images/1.jpg"))
        for chrome in ("Click", "16.11", "16.15", "Tin khác", "Thứ ba", "Khánh An", "06:23"):
            assert chrome not in entry.content_text
        assert "san giao dich cong nghe ha noi" in entry.search_body


def test_page_date_in_the_header_is_never_the_article_date() -> None:
    body = article_page(replace(STORY, time_text="Lượt xem: 1.234"), base_url=BASE, meta=False)

    entry = extract_article(body, url=BASE + "a-d12345.html", fetched_at=FETCHED)

    assert entry is not None
    assert entry.published_at == FETCHED  # not 25/06/2024 from the header


def test_json_ld_alone_gives_date_author_and_image() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Báo"},
            {
                "@type": ["NewsArticle"],
                "headline": "Giá lúa tăng mạnh",
                "datePublished": "2026-09-24T08:05:00+07:00",
                "author": [{"@type": "Person", "name": "Lan Hương"}, "https://x/profile"],
                "image": {"@type": "ImageObject", "url": "https://img.example.vn/lua.jpg"},
                "description": "Giá lúa tại Đồng bằng sông Cửu Long tăng 300 đồng mỗi kg.",
            },
        ],
    }
    body = page(
        "<script type='application/ld+json'>{ broken</script>"
        f"<script type='application/ld+json'>{json.dumps(ld)}</script></head>"
        "<body><article><p>Nông dân phấn khởi.</p></article></body></html>"
    )

    entry = extract_article(body, url=BASE + "gia-lua-d1.html", fetched_at=FETCHED)

    assert entry is not None
    assert (entry.title, entry.author) == ("Giá lúa tăng mạnh", "Lan Hương")
    assert entry.published_at == datetime(2026, 9, 24, 1, 5, tzinfo=UTC)
    assert entry.image_url == "https://img.example.vn/lua.jpg"
    assert entry.summary == "Giá lúa tại Đồng bằng sông Cửu Long tăng 300 đồng mỗi kg."


def test_foreign_canonical_is_ignored_and_title_loses_the_site_name() -> None:
    body = page(
        "<meta property='og:site_name' content='Báo Mẫu'>"
        "<meta property='og:title' content='Khai mạc hội chợ | Báo Mẫu'>"
        "<link rel='canonical' href='https://other.example.vn/copy-d9.html'></head>"
        "<body><h1>Khai mạc hội chợ</h1><p>Hội chợ mở cửa đến hết Chủ nhật tuần này.</p></body>"
    )
    url = BASE + "hoi-cho-d12.html"

    entry = extract_article(body, url=url, fetched_at=FETCHED)

    assert entry is not None
    assert (entry.title, entry.item_key) == ("Khai mạc hội chợ", url)


@pytest.mark.parametrize(
    ("fetched", "declared"),
    [
        ("https://m.bao.example.vn/hoi-cho-d12.html", "https://bao.example.vn/hoi-cho-d12.html"),
        ("https://bao.example.vn/amp/hoi-cho-d12.html", "https://www.bao.example.vn/hoi-cho-d12.html"),
    ],
)  # fmt: skip
def test_the_mobile_or_amp_page_takes_its_sites_canonical(fetched: str, declared: str) -> None:
    body = page(
        f"<link rel='canonical' href='{declared}'></head>"
        "<body><h1>Khai mạc hội chợ</h1><p>Hội chợ mở cửa đến hết Chủ nhật tuần này.</p></body>"
    )

    entry = extract_article(body, url=fetched, fetched_at=FETCHED)

    assert entry is not None
    assert (entry.item_key, entry.url) == (declared, declared)
    assert entry.canonical_url == "https://bao.example.vn/hoi-cho-d12.html"


def test_an_og_url_on_the_same_site_is_the_canonical() -> None:
    body = page(
        f"<meta property='og:url' content='{BASE}hoi-cho-d12.html?utm_source=fb'>"
        "</head><body><h1>Khai mạc hội chợ</h1><p>Hội chợ mở cửa đến hết tuần này.</p></body>"
    )

    entry = extract_article(body, url=BASE + "hoi-cho-d12.html?from=home", fetched_at=FETCHED)

    assert entry is not None
    assert entry.canonical_url == "https://sohuutritue.example.vn/hoi-cho-d12.html"


def test_windows_1258_declared_in_the_page() -> None:
    # windows-1258 writes tone marks as combining characters: "Nô" + U+0323 + "i".
    text = "<meta http-equiv='Content-Type' content='text/html; charset=windows-1258'>Hà Nô\u0323i"
    body = text.encode("cp1258")

    assert unicodedata.normalize("NFC", decode_html(body, {})).endswith("Hà Nội")
    assert decode_html("Đà Nẵng".encode(), {"Content-Type": "text/html"}) == "Đà Nẵng"


def test_page_without_an_article() -> None:
    assert extract_article(b"<html><body></body></html>", url=BASE, fetched_at=FETCHED) is None


def test_read_page_tells_articles_from_listings(samples: Path) -> None:
    sample = sample_story(samples)
    bare = article_page(sample, base_url=BASE, meta=False)
    listing = listing_page([STORY, sample])

    assert read_page(article_page(sample, base_url=BASE), headers={}, url=None).kind == "article"
    # No metadata: an article's URL, or a single <article> with its <h1>, still says so,
    # although the page links to other stories ("Tin khác").
    assert read_page(bare, headers={}, url=BASE + "x-d12345.html").kind == "article"
    assert read_page(bare, headers={}, url=None).kind == "article"
    reading = read_page(listing, headers={}, url=BASE + "tin-tuc")
    assert (reading.kind, len(reading.links)) == ("listing", 2)


LEAD = "Số đơn đăng ký nhãn hiệu tăng 20% so với cùng kỳ. Thời gian xử lý đã rút ngắn."


def test_chrome_the_extractor_keeps_is_removed_by_our_rules() -> None:
    """Buttons, a date line, a caption number and the byline as plain paragraphs."""
    body = page(
        "<title>Đơn nhãn hiệu tăng mạnh</title></head><body>"
        "<header><div>Thứ ba, 25/06/2024</div></header><div class='article'>"
        "<h1>Đơn nhãn hiệu tăng mạnh</h1><p>Click để copy</p><p>Chia sẻ</p>"
        "<p>09:15, 20/09/2026</p>"
        f"<p>(SHTT) - {LEAD}</p>"
        "<p>Trong 8 tháng đầu năm, Cục đã tiếp nhận hơn 50.000 đơn từ doanh nghiệp.</p>"
        "<p>16.11</p><p>Doanh nghiệp cho biết thủ tục trực tuyến giúp tiết kiệm chi phí.</p>"
        "<p>Phương Linh</p><h3>Tin liên quan</h3>"
        "<p><a href='/a-d1.html'>Bài khác về bản quyền âm nhạc trên mạng xã hội</a></p>"
        "</div></body></html>"
    )

    entry = extract_article(body, url=BASE + "don-d9.html", fetched_at=FETCHED)

    assert entry is not None
    assert entry.published_at == datetime(2026, 9, 20, 2, 15, tzinfo=UTC)
    assert entry.author == "Phương Linh"
    assert (
        entry.summary
        == "Số đơn đăng ký nhãn hiệu tăng 20% so với cùng kỳ. Thời gian xử lý đã rút ngắn."
    )
    assert entry.content_text.split("\n\n") == [
        "(SHTT) - Số đơn đăng ký nhãn hiệu tăng 20% so với cùng kỳ. Thời gian xử lý đã rút ngắn.",
        "Trong 8 tháng đầu năm, Cục đã tiếp nhận hơn 50.000 đơn từ doanh nghiệp.",
        "Doanh nghiệp cho biết thủ tục trực tuyến giúp tiết kiệm chi phí.",
    ]
