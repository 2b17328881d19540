"""Feed bytes → normalized entries: real Vietnamese feeds, encodings, keys, hostile input."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.ingest.parse import NotAFeedError, ParsedFeed, _item_key, parse_feed
from bot.ingest.summary import TITLE_MAX_CHARS
from bot.ingest.topics import TopicMatcher
from bot.text.vietnamese import fold
from storage.rows import ArticleInput

# The shared samples live beside the repository clone (../shared); they are read in place
# and never copied into the project.
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
FEEDS = SAMPLES / "feeds"
SHTT_ARTICLE = SAMPLES / "shtt-article-2023-06-04.txt"

# After every date in the samples, so none of them counts as "in the future".
FETCHED_AT = datetime(2026, 9, 24, 12, 0, tzinfo=UTC)

VNEXPRESS_THOI_SU = "vnexpress_thoi-su_2017-03-25.rss.xml"
VNEXPRESS_TIN_MOI = "vnexpress_tin-moi-nhat_2017-11-14.rss.xml"
VNEXPRESS_2025 = "vnexpress_the-gioi_2025-02-06.rss.xml"
SGGP = "sggp_kinh-te_2026-09-24.rss.xml"
VIETNAMNET = "vietnamnet_kinh-doanh_2026-09-24.rss.xml"
NGUOIQUANSAT = "nguoiquansat_trang-chu_2026-09-24.rss.xml"
SAMPLE_NAMES = [
    VNEXPRESS_THOI_SU,
    VNEXPRESS_TIN_MOI,
    VNEXPRESS_2025,
    SGGP,
    VIETNAMNET,
    NGUOIQUANSAT,
]

BIDI_AND_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def sample(name: str) -> bytes:
    path = FEEDS / name
    if not path.is_file():
        pytest.skip(f"shared sample not available: {path}")
    return path.read_bytes()


def parse_sample(name: str) -> ParsedFeed:
    return parse_feed(sample(name), fetched_at=FETCHED_AT)


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def is_http(url: str | None) -> bool:
    return url is not None and url.startswith(("http://", "https://"))


def rss(items: str, *, channel_link: str = "https://bao.example.vn/", decl: bool = True) -> str:
    """A small RSS 2.0 document around raw <item> markup."""
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if decl else ""
    return (
        f'{head}<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Báo thử nghiệm</title><link>{channel_link}</link>"
        f"<description>Tin thử</description>{items}</channel></rss>"
    )


def item(
    *,
    title: str | None = "Tiêu đề bài viết",
    link: str | None = "https://bao.example.vn/bai-1.html",
    guid: str | None = None,
    description: str | None = "<p>Nội dung tóm tắt của bài viết.</p>",
    pub_date: str | None = None,
    extra: str = "",
) -> str:
    parts = ["<item>"]
    if title is not None:
        parts.append(f"<title>{escape(title)}</title>")
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f"<guid>{escape(guid)}</guid>")
    if description is not None:
        parts.append(f"<description><![CDATA[{description}]]></description>")
    if pub_date is not None:
        parts.append(f"<pubDate>{pub_date}</pubDate>")
    parts.append(extra)
    parts.append("</item>")
    return "".join(parts)


def parse_items(
    *items: str, feed_topics: Sequence[str] = (), matcher: TopicMatcher | None = None
) -> tuple[ArticleInput, ...]:
    body = rss("".join(items)).encode("utf-8")
    feed = parse_feed(body, fetched_at=FETCHED_AT, feed_topics=feed_topics, matcher=matcher)
    return feed.entries


def only(entries: tuple[ArticleInput, ...]) -> ArticleInput:
    assert len(entries) == 1, entries
    return entries[0]


# --- every real feed ------------------------------------------------------------------


def related_link_titles(raw: str) -> list[str]:
    """The texts of <li><a>…</a></li> links in a raw feed (SGGP's "related news" lists)."""
    found = re.findall(r"<li>\s*<a [^>]*>([^<]+)</a>\s*</li>", raw)
    return [unicodedata.normalize("NFC", text.strip()) for text in found]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_real_feed_parses_into_clean_entries(name: str) -> None:
    raw = sample(name).decode("utf-8")
    feed = parse_sample(name)
    assert feed.entries
    assert feed.title and is_nfc(feed.title)
    related = related_link_titles(raw)
    for entry in feed.entries:
        for text in (entry.title, entry.summary, entry.content_text):
            assert text == text.strip()
            assert is_nfc(text)
            assert not BIDI_AND_INVISIBLE.search(text)
        assert entry.title
        assert "\n" not in entry.title
        assert entry.summary
        for markup in ("<", ">", "&amp;", "&nbsp;", "&#", "&lt;", "\u00a0"):
            assert markup not in entry.summary, (markup, entry.summary)
            assert markup not in entry.title
        # The thumbnail link and the image alt text are not article text.
        assert "http" not in entry.summary
        assert entry.title not in entry.summary
        for link_title in related:
            assert link_title not in entry.summary
            assert link_title not in entry.content_text
        assert is_http(entry.url)
        assert entry.image_url is None or is_http(entry.image_url)
        assert entry.published_at.utcoffset() == timedelta(0)
        assert entry.published_at <= FETCHED_AT
        assert entry.search_title == fold(entry.title)
        assert fold(entry.summary) in entry.search_body
    assert len({e.item_key for e in feed.entries}) == len(feed.entries)


def test_vnexpress_thoi_su() -> None:
    feed = parse_sample(VNEXPRESS_THOI_SU)
    assert len(feed.entries) == 25
    assert feed.title == "Thời sự - VnExpress RSS"
    assert feed.recovered_error is None
    first = feed.entries[0]
    assert first.title == "Bộ Nông nghiệp kiểm tra vết rạn nứt trên thân đập dâng ở Hà Tĩnh"
    assert first.url == (
        "http://vnexpress.net/tin-tuc/thoi-su/"
        "bo-nong-nghiep-kiem-tra-vet-ran-nut-tren-than-dap-dang-o-ha-tinh-3560819.html"
    )
    assert first.item_key == first.url  # the guid, once its wrapping white space is gone
    # "Sat, 25 Mar 2017 19:40:38 +0700"
    assert first.published_at == datetime(2017, 3, 25, 12, 40, 38, tzinfo=UTC)
    assert first.summary.startswith("Sau khi thân đập dâng Vũ Quang (Hà Tĩnh) xuất hiện")
    assert first.summary.endswith("do hiện tượng co ngót và tỏa nhiệt bê tông.")
    assert first.image_url == (
        "http://img.f31.vnecdn.net/2017/03/25/"
        "doancongtacbonongnghiepk125851821490442522-1490445232_180x108.jpg"
    )
    assert fold("vết rạn nứt") in first.search_title


def test_vnexpress_tin_moi_nhat_skips_the_empty_item() -> None:
    raw = sample(VNEXPRESS_TIN_MOI)
    assert raw.count(b"<item>") == 25
    assert b"<title/>" in raw  # an item with no title and no link, only "No Description"
    feed = parse_sample(VNEXPRESS_TIN_MOI)
    assert len(feed.entries) == 24
    for entry in feed.entries:
        assert "No Description" not in (entry.title, entry.summary)
    assert feed.entries[0].title == "Con hẻm trăm tuổi ở Sài Gòn nhiều lần lên phim TVB 4"
    assert feed.entries[0].published_at == datetime(2017, 11, 14, 10, 42, 1, tzinfo=UTC)


def test_vnexpress_2025_is_malformed_and_still_yields_its_entry() -> None:
    feed = parse_sample(VNEXPRESS_2025)
    assert feed.recovered_error  # the raw "&" in the enclosure URL is not well-formed XML
    entry = only(feed.entries)
    assert entry.title == "Israel nối gót Mỹ rời Hội đồng Nhân quyền LHQ"
    assert entry.summary == (
        "Ngoại trưởng Israel cho biết nước này sẽ rút khỏi Hội đồng Nhân quyền Liên Hợp Quốc, "
        "hưởng ứng quyết định tương tự của Mỹ."
    )
    assert entry.published_at == datetime(2025, 2, 6, 13, 30, 48, tzinfo=UTC)
    assert entry.image_url == (
        "https://i1-vnexpress.vnecdn.net/2025/02/06/"
        "afp-20250123-36vm3wf-v1-highre-6597-7613-1738846835.jpg"
        "?w=1200&h=0&q=100&dpr=1&fit=crop&s=EZLAecVUZhLBSg818oeXbA"
    )


def test_vnexpress_2025_image_comes_from_the_enclosure_alone() -> None:
    # The same document without the <img> in its description: the enclosure still gives it.
    raw = re.sub(rb"<img [^>]*>", b"", sample(VNEXPRESS_2025))
    entry = only(parse_feed(raw, fetched_at=FETCHED_AT).entries)
    assert entry.image_url is not None
    assert entry.image_url.endswith("?w=1200&h=0&q=100&dpr=1&fit=crop&s=EZLAecVUZhLBSg818oeXbA")


def test_sggp() -> None:
    feed = parse_sample(SGGP)
    assert feed.title == "Kinh tế"
    assert feed.ttl_minutes == 5
    assert len(feed.entries) == 2
    rain, stocks = feed.entries
    assert rain.title == "Mưa lớn, nhiều tuyến đường TPHCM ngập nặng"
    assert rain.summary == (
        "Cơn mưa lớn vào chiều 23-9, trên địa bàn TPHCM khiến nhiều tuyến đường ngập, "
        "gây khó khăn cho việc đi lại của người dân."
    )
    # pubDate "Wed, 23 Sep 2026 17:02:29 +07:00", not the later <updated>.
    assert rain.published_at == datetime(2026, 9, 23, 10, 2, 29, tzinfo=UTC)
    assert rain.image_url == (
        "https://image.sggp.org.vn/w800/Uploaded/2026/squycgmv/2026_09_23/"
        "ngap-duong-dinh-bo-linh-anh-kien-cuong-3970-6959.jpg.webp"
    )
    assert stocks.summary.startswith("VN-Index chốt phiên vẫn giữ được 1.800 điểm")
    assert stocks.published_at == datetime(2026, 9, 23, 9, 42, 46, tzinfo=UTC)
    for related in (
        "VN-Index tăng hơn 25 điểm",
        "Hai con gái bà Cao Thị Ngọc Dung",
        "Dòng tiền giảm mạnh",
        "TPHCM: Mưa lớn, có nơi ngập sâu",
    ):
        for entry in feed.entries:
            assert related not in entry.summary
            assert related not in entry.content_text
            assert fold(related) not in entry.search_body


def test_sggp_text_is_nfc_even_from_nfd_source() -> None:
    raw = sample(SGGP).decode("utf-8")
    assert not is_nfc(raw)  # "SÀI GÒN GIẢI PHÓNG" is written with combining marks
    expected = parse_sample(SGGP)
    # The whole document in NFD: every string out of the parser is still NFC and the same.
    decomposed = parse_feed(
        unicodedata.normalize("NFD", raw).encode("utf-8"), fetched_at=FETCHED_AT
    )
    assert decomposed.title == expected.title
    assert [(e.title, e.summary, e.search_body) for e in decomposed.entries] == [
        (e.title, e.summary, e.search_body) for e in expected.entries
    ]
    for entry in decomposed.entries:
        assert is_nfc(entry.title) and is_nfc(entry.summary) and is_nfc(entry.content_text)


def test_vietnamnet() -> None:
    feed = parse_sample(VIETNAMNET)
    assert feed.title == "Tin Kinh doanh - Kinh tế thị trường, tài chính, mới nhất"
    first = feed.entries[0]
    assert first.title == (
        "Lãi suất ngân hàng hôm nay 24/9/2026: Thận trọng với lời chào lãi suất 14%/năm"
    )
    assert first.summary.startswith("Lãi suất ngân hàng hôm nay, 24/9/2026, trong khi")
    assert first.published_at == datetime(2026, 9, 24, 2, 13, 34, tzinfo=UTC)
    assert first.image_url == (
        "https://static-images.vnncdn.net/vps_images_publish/000001/000003/2026/9/24/"
        "nam-364.jpg?width=0&s=2gBWobJyCLke8HOhd-68iw"
    )


def test_nguoiquansat() -> None:
    feed = parse_sample(NGUOIQUANSAT)
    first = feed.entries[0]
    assert first.title.startswith("Việt Nam sẽ xây dựng cầu dây văng 2 tầng hơn 27.000 tỷ")
    assert first.summary == (
        "Theo kế hoạch, phần đường dẫn hai đầu cầu dự kiến được khởi công vào quý IV/2027, "
        "phần cầu chính khởi công vào quý II/2028."
    )
    assert first.published_at == datetime(2026, 9, 24, 1, 30, 1, tzinfo=UTC)
    assert first.image_url == (
        "https://nqs.1cdn.vn/2026/09/23/6603_anh-man-hinh-2026-09-23-luc-10.08.43.png"
    )


# --- a feed built from the real SHTT article --------------------------------------------

SHTT_TITLE = "Sở Khoa học và Công nghệ Hà Nội: Những kết quả đạt được sau 5 tháng đầu năm 2023"


def shtt_lead_and_body() -> tuple[str, list[str]]:
    if not SHTT_ARTICLE.is_file():
        pytest.skip(f"shared sample not available: {SHTT_ARTICLE}")
    lines = [line.strip() for line in SHTT_ARTICLE.read_text(encoding="utf-8").splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("(SHTT) - Năm 2023"))
    end = lines.index("Khánh An")  # the author line closes the body
    body = [line for line in lines[start + 1 : end] if line]
    return lines[start], body


def shtt_feed() -> bytes:
    lead, body = shtt_lead_and_body()
    content = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in body)
    return rss(
        item(
            title=SHTT_TITLE,
            link="https://sohuutritue.net.vn/so-khoa-hoc-va-cong-nghe-ha-noi-d123456.html",
            guid="https://sohuutritue.net.vn/so-khoa-hoc-va-cong-nghe-ha-noi-d123456.html",
            description=f"<p>{escape(lead)}</p>",
            pub_date="Sun, 04 Jun 2023 06:23:00 +0700",
            extra=(
                f"<author>Khánh An</author><content:encoded><![CDATA[{content}]]></content:encoded>"
            ),
        ),
        channel_link="https://sohuutritue.net.vn/",
    ).encode("utf-8")


def test_feed_from_the_shtt_article() -> None:
    feed = parse_feed(shtt_feed(), fetched_at=FETCHED_AT)
    entry = only(feed.entries)
    assert entry.title == SHTT_TITLE
    assert entry.summary == (
        "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội 2021-2025. "
        "Do đó, trong 5 tháng đầu năm, Sở Khoa học và Công nghệ Hà Nội đã tập trung triển khai "
        "các nhiệm vụ và công tác được giao, từ đó đạt được nhiều kết quả tích cực, "
        "tạo nền tảng có 7 tháng cuối năm."
    )
    assert "(SHTT)" not in entry.summary
    assert entry.author == "Khánh An"
    assert entry.published_at == datetime(2023, 6, 3, 23, 23, tzinfo=UTC)
    assert entry.search_title == fold(SHTT_TITLE)
    # The body, not only the lead, is searchable, accent-insensitively.
    assert fold("chuyển đổi số") in entry.search_body
    assert fold("Sàn Giao dịch công nghệ Hà Nội") in entry.search_body
    assert fold("Luật Thủ đô (sửa đổi)") in entry.search_body
    assert "KH&CN" in entry.content_text
    assert "\n\n" in entry.content_text  # paragraphs stay apart
    assert is_nfc(entry.content_text)


# --- windows-1258 ----------------------------------------------------------------------

CP1258_TITLE = "Thủ tướng chỉ đạo ứng phó bão số 3 ở Đà Nẵng, Quảng Ngãi"
CP1258_SUMMARY = "Người dân miền Trung được sơ tán khỏi vùng nguy hiểm trước khi bão đổ bộ."
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def cp1258(text: str) -> bytes:
    """Encode as Vietnamese Windows does: precomposed base letters, separate tone marks.

    windows-1258 has ă â ê ô ơ ư đ but few toned letters, so a full NFD (which would
    also split off the horn of ơ/ư) cannot be encoded; only tone marks are split.
    """
    out = []
    for char in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out.append(base + "".join(c for c in parts if c in _TONE_MARKS))
    return "".join(out).encode("cp1258")


def cp1258_feed(*, decl: bool) -> bytes:
    document = rss(
        item(title=CP1258_TITLE, description=CP1258_SUMMARY),
        decl=False,
    )
    if decl:
        document = '<?xml version="1.0" encoding="windows-1258"?>\n' + document
    return cp1258(document)


def test_cp1258_helper_really_uses_combining_tone_marks() -> None:
    encoded = cp1258(CP1258_TITLE)
    assert encoded.decode("cp1258") != CP1258_TITLE
    assert unicodedata.normalize("NFC", encoded.decode("cp1258")) == CP1258_TITLE
    with pytest.raises(UnicodeDecodeError):
        encoded.decode("utf-8")


@pytest.mark.parametrize(
    ("decl", "headers"),
    [
        (True, None),
        (False, {"Content-Type": "application/rss+xml; charset=windows-1258"}),
        (True, {"Content-Type": "text/xml; charset=windows-1258"}),
    ],
    ids=["xml-declaration", "content-type-header", "both"],
)
def test_windows_1258_feed(decl: bool, headers: dict[str, str] | None) -> None:
    feed = parse_feed(cp1258_feed(decl=decl), headers=headers, fetched_at=FETCHED_AT)
    entry = only(feed.entries)
    assert entry.title == CP1258_TITLE
    assert entry.summary == CP1258_SUMMARY
    assert feed.title == "Báo thử nghiệm"
    assert entry.search_title == fold(CP1258_TITLE)


# --- item keys -------------------------------------------------------------------------


def test_unique_guids_are_the_keys() -> None:
    entries = parse_items(
        item(title="Bài một", link="https://bao.example.vn/1.html", guid="bao-1"),
        item(title="Bài hai", link="https://bao.example.vn/2.html", guid="bao-2"),
    )
    assert [e.item_key for e in entries] == ["bao-1", "bao-2"]


def test_duplicate_guids_fall_back_to_links() -> None:
    # A CMS that gives every item the channel URL as its guid.
    entries = parse_items(
        item(title="Bài một", link="https://bao.example.vn/1.html", guid="https://bao.example.vn/"),
        item(title="Bài hai", link="https://bao.example.vn/2.html", guid="https://bao.example.vn/"),
        item(title="Bài ba", link="https://bao.example.vn/3.html", guid="bao-3"),
    )
    assert [e.item_key for e in entries] == [
        "https://bao.example.vn/1.html",
        "https://bao.example.vn/2.html",
        "bao-3",
    ]


def test_guid_permalink_serves_as_the_link() -> None:
    entry = only(parse_items(item(link=None, guid="https://bao.example.vn/chi-guid.html")))
    assert entry.url == "https://bao.example.vn/chi-guid.html"
    assert entry.item_key == "https://bao.example.vn/chi-guid.html"


def test_item_without_guid_or_link_is_kept_without_a_link() -> None:
    # RSS requires only a title or a description: the story is news even without a page.
    entries = parse_items(
        item(title="Không có liên kết", link=None),
        item(title="Có liên kết", link="https://bao.example.vn/co.html"),
    )
    assert [(e.title, e.url) for e in entries] == [
        ("Không có liên kết", ""),
        ("Có liên kết", "https://bao.example.vn/co.html"),
    ]
    assert entries[0].canonical_url is None
    assert entries[0].item_key.startswith("sha256:")
    assert entries[1].canonical_url == "https://bao.example.vn/co.html"


@pytest.mark.parametrize(
    "guid",
    ['<guid isPermaLink="false">https://bao.example.vn/la-link.html</guid>',
     "<guid>12345</guid>", "<guid>miss-c</guid>", '<guid isPermaLink="true">miss-c</guid>'],
)  # fmt: skip
def test_a_guid_that_is_no_permalink_is_an_identifier_never_a_link(guid: str) -> None:
    entry = only(parse_items(item(title="Tin", link=None, extra=guid)))
    assert entry.url == ""  # not the guid, and not the guid resolved against the site
    assert entry.canonical_url is None
    assert entry.item_key in ("https://bao.example.vn/la-link.html", "12345", "miss-c")


def test_an_identifier_guid_keeps_the_items_own_link() -> None:
    entry = only(parse_items(item(link="https://bao.example.vn/bai.html", guid="12345")))
    assert (entry.item_key, entry.url) == ("12345", "https://bao.example.vn/bai.html")


def test_placeholder_text_is_no_headline() -> None:
    # VnExpress' CMS once listed an empty item: no title, no link, "No Description".
    entries = parse_items(
        item(title=None, link=None, description=" No Description "),
        item(title="Tin thật"),
    )
    assert [e.title for e in entries] == ["Tin thật"]


def test_a_huge_title_is_stored_cut() -> None:
    entry = only(parse_items(item(title="Giá vàng " * 25_000)))
    assert len(entry.title) <= TITLE_MAX_CHARS
    assert entry.title.startswith("Giá vàng Giá vàng") and entry.title.endswith("…")
    assert entry.search_title == fold(entry.title)


def test_line_separators_in_a_title_are_spaces() -> None:
    entry = only(parse_items(item(title="Giá vàng\u2028tăng\u2029mạnh")))
    assert entry.title == "Giá vàng tăng mạnh"


def test_item_key_without_guid_or_url_is_a_content_hash() -> None:
    # The last resort of _item_key (parse_feed itself drops items with no URL).
    key = _item_key({"title": "Tin"}, Counter(), "", "Tin", "Tóm tắt")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", key)
    assert key == "sha256:" + hashlib.sha256("Tin\nTóm tắt".encode()).hexdigest()
    assert _item_key({}, Counter(), "", "Tin khác", "Tóm tắt") != key


def test_the_same_story_listed_twice_is_kept_once() -> None:
    story = item(title="Tin trùng", link="https://bao.example.vn/trung.html", guid="trung-1")
    entries = parse_items(
        story, item(title="Tin khác", link="https://bao.example.vn/k.html"), story
    )
    assert [e.title for e in entries] == ["Tin trùng", "Tin khác"]
    # Without guids the link identifies the story.
    same_link = item(title="Tin trùng", link="https://bao.example.vn/trung.html")
    assert len(parse_items(same_link, same_link)) == 1


# --- hostile HTML ----------------------------------------------------------------------

HOSTILE_DESCRIPTION = (
    '<img src="javascript:alert(1)" onerror="alert(2)">'
    '<img src="data:image/png;base64,iVBORw0KGgo=">'
    "<script>alert(3)</script>"
    '<iframe src="https://evil.example/"><p>iframe text</p></iframe>'
    "<style>p { color: red }</style>"
    '<p onclick="steal()">Nội dung <a href="javascript:alert(4)">bình thường</a> của bài.</p>'
    f'<div title="{"A" * 200_000}">Đoạn hai.</div>'
    '<form action="https://evil.example/"><input value="mật khẩu"><button>Gửi</button></form>'
)
HOSTILE_WORDS = ("alert", "script", "javascript", "onerror", "onclick", "iframe", "AAAA", "evil")


def test_hostile_html_leaves_only_harmless_text() -> None:
    entry = only(
        parse_items(
            item(
                title="Tin \u202enóng\u202c <b onmouseover=alert(5)>hôm</b> \u2066nay\u2069",
                description=HOSTILE_DESCRIPTION,
                extra=(
                    '<enclosure url="javascript:alert(6)" type="image/jpeg" length="1"/>'
                    '<media:content url="data:image/png;base64,AAAA" medium="image"/>'
                ),
            )
        )
    )
    assert entry.title == "Tin nóng hôm nay"
    assert entry.summary == "Nội dung bình thường của bài."
    assert "Đoạn hai." in entry.content_text
    for text in (entry.title, entry.summary, entry.content_text, entry.search_body):
        assert "<" not in text and ">" not in text
        assert not BIDI_AND_INVISIBLE.search(text)
        for word in HOSTILE_WORDS:
            assert word not in text.lower()
        assert "iframe text" not in text
        assert "mật khẩu" not in text
    assert entry.image_url is None


def test_escaped_markup_in_titles_is_reduced_to_text() -> None:
    entry = only(parse_items(item(title="<script>alert(1)</script>Giá <i>vàng</i> tăng")))
    assert entry.title == "Giá vàng tăng"


def test_image_url_is_never_javascript_or_data() -> None:
    entries = parse_items(
        item(
            title="Ảnh 1",
            link="https://bao.example.vn/1.html",
            description=(
                '<img src="javascript:alert(1)"><img src=" data:image/gif;base64,R0lGOD">'
                '<img src="https://anh.example.vn/that.jpg"><p>Bài có ảnh thật.</p>'
            ),
            extra='<media:content url="JaVaScRiPt:alert(2)" medium="image"/>',
        ),
        item(
            title="Ảnh 2",
            link="https://bao.example.vn/2.html",
            description='<img src="vbscript:x"><img src="file:///etc/passwd"><p>Không ảnh.</p>',
        ),
    )
    assert [e.image_url for e in entries] == ["https://anh.example.vn/that.jpg", None]


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd"]
)
def test_unsafe_links_are_left_out_not_replaced(link: str) -> None:
    entries = parse_items(
        item(title="Độc", link=link, guid="doc-1"),
        item(title="Lành", link="https://bao.example.vn/lanh.html"),
    )
    assert [(e.title, e.url) for e in entries] == [
        ("Độc", ""),
        ("Lành", "https://bao.example.vn/lanh.html"),
    ]
    assert entries[0].item_key == "doc-1"


def test_tracking_pixels_are_not_lead_images() -> None:
    entry = only(
        parse_items(
            item(
                description=(
                    '<img src="https://track.example/p.gif" width="1" height="1">'
                    '<img src="https://anh.example.vn/chinh.jpg"><p>Nội dung.</p>'
                )
            )
        )
    )
    assert entry.image_url == "https://anh.example.vn/chinh.jpg"


# --- missing and wrong fields ----------------------------------------------------------


def test_missing_pub_date_is_the_fetch_time() -> None:
    entry = only(parse_items(item(pub_date=None)))
    assert entry.published_at == FETCHED_AT


def test_future_pub_date_is_the_fetch_time() -> None:
    entry = only(parse_items(item(pub_date="Fri, 24 Sep 2027 09:00:00 +0700")))
    assert entry.published_at == FETCHED_AT


def test_unreadable_pub_date_is_the_fetch_time() -> None:
    entry = only(parse_items(item(pub_date="hôm qua")))
    assert entry.published_at == FETCHED_AT


def test_pub_date_without_zone_is_vietnam_time() -> None:
    entry = only(parse_items(item(pub_date="24/09/2026 09:05")))
    assert entry.published_at == datetime(2026, 9, 24, 2, 5, tzinfo=UTC)


def test_source_line_wrapping_is_not_a_paragraph_break() -> None:
    description = (
        "<p>(Dân trí) – Sáng nay, giá xăng\n    giảm mạnh lần thứ ba\r\n liên tiếp. "
        "Người dân vui mừng.</p>\n<p>Đoạn hai<br>dòng hai.</p>"
    )
    entry = only(parse_items(item(description=description)))
    assert entry.summary == "Sáng nay, giá xăng giảm mạnh lần thứ ba liên tiếp. Người dân vui mừng."
    assert entry.content_text.endswith("\n\nĐoạn hai\ndòng hai.")


def test_missing_title_comes_from_the_summary() -> None:
    entry = only(
        parse_items(
            item(
                title=None,
                description="<p>(PLO)- Tòa án TP.HCM đã xét xử vụ án. Bị cáo nhận tội.</p>",
            )
        )
    )
    assert entry.title == "Tòa án TP.HCM đã xét xử vụ án. Bị cáo nhận tội."
    assert entry.summary == ""  # the alert would only say it twice


def test_title_from_a_long_summary_is_short() -> None:
    long_sentence = "Người dân " + "đổ xô đi mua vàng " * 20 + "trong sáng nay."
    entry = only(parse_items(item(title="", description=f"<p>{long_sentence}</p>")))
    assert len(entry.title) <= 120
    assert entry.title.endswith("…")
    assert entry.title.startswith("Người dân đổ xô đi mua vàng")


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe\x89PNG\r\n\x1a\n garbage \x80\x81\x82",
        b"",
        b"{}",
        (
            "<!DOCTYPE html><html><head><title>Trang chủ</title></head>"
            "<body><h1>Tin tức</h1><p>Xin chào</p><a href='/rss'>RSS</a></body></html>"
        ).encode(),
        b"<html><body>502 Bad Gateway</body></html>",
    ],
    ids=["garbage", "empty", "json", "html-page", "error-page"],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeedError):
        parse_feed(body, fetched_at=FETCHED_AT)


def test_not_a_feed_is_a_value_error() -> None:
    assert issubclass(NotAFeedError, ValueError)


# --- Atom ------------------------------------------------------------------------------

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom thử nghiệm</title>
  <id>urn:uuid:bao-thu</id>
  <updated>2026-09-24T08:00:00+07:00</updated>
  <entry>
    <title type="html">Giá &lt;b&gt;vàng&lt;/b&gt; &amp;amp; đô la tăng</title>
    <link rel="alternate" href="/kinh-te/gia-vang.html"/>
    <id>urn:uuid:bai-1</id>
    <updated>2026-09-24T08:00:00+07:00</updated>
    <author><name>Minh Anh</name></author>
    <content type="html">&lt;p&gt;&lt;img src="/images/vang.jpg"&gt;(VOV.VN) - Giá vàng hôm nay
      tăng mạnh. Người dân đổ xô đi mua.&lt;/p&gt;&lt;p&gt;Đoạn thứ hai.&lt;/p&gt;</content>
  </entry>
</feed>
"""


def test_atom_html_content_and_relative_links() -> None:
    feed = parse_feed(
        ATOM.encode("utf-8"),
        base_url="https://bao.example.vn/rss/atom.xml",
        fetched_at=FETCHED_AT,
    )
    assert feed.title == "Atom thử nghiệm"
    entry = only(feed.entries)
    assert entry.title == "Giá vàng & đô la tăng"
    assert entry.url == "https://bao.example.vn/kinh-te/gia-vang.html"
    assert entry.image_url == "https://bao.example.vn/images/vang.jpg"
    assert entry.summary == "Giá vàng hôm nay tăng mạnh. Người dân đổ xô đi mua."
    assert "Đoạn thứ hai." in entry.content_text
    assert entry.item_key == "urn:uuid:bai-1"
    assert entry.author == "Minh Anh"
    assert entry.published_at == datetime(2026, 9, 24, 1, 0, tzinfo=UTC)


def test_atom_relative_links_without_a_base_are_left_out() -> None:
    # A relative link with nothing to resolve it against is no link; the story stays.
    [entry] = parse_feed(ATOM.encode("utf-8"), fetched_at=FETCHED_AT).entries
    assert (entry.item_key, entry.url, entry.canonical_url) == ("urn:uuid:bai-1", "", None)


# --- topics ----------------------------------------------------------------------------

MATCHER = TopicMatcher.from_keywords(
    {"tai-chinh": ["lãi suất", "ngân hàng"], "the-thao": ["bóng đá"], "trong": ["", "  "]}
)


def test_feed_topics_apply_to_every_entry() -> None:
    entries = parse_items(
        item(title="Một", link="https://bao.example.vn/1.html"),
        item(title="Hai", link="https://bao.example.vn/2.html"),
        feed_topics=("kinh-te", "thoi-su"),
    )
    assert [e.topics for e in entries] == [("kinh-te", "thoi-su"), ("kinh-te", "thoi-su")]


def test_keywords_match_accent_and_case_insensitively() -> None:
    entries = parse_items(
        item(title="LAI SUAT tang", link="https://bao.example.vn/1.html"),
        item(
            title="Tin thể thao",
            link="https://bao.example.vn/2.html",
            description="<p>Đội tuyển BÓNG ĐÁ Việt Nam thắng.</p>",
        ),
        item(title="Lãi vay và suất đầu tư", link="https://bao.example.vn/3.html"),
        item(
            title=unicodedata.normalize("NFD", "Ngân hàng giảm lãi suất"),
            link="https://bao.example.vn/4.html",
        ),
        feed_topics=("kinh-te",),
        matcher=MATCHER,
    )
    assert [e.topics for e in entries] == [
        ("kinh-te", "tai-chinh"),
        ("kinh-te", "the-thao"),
        ("kinh-te",),
        ("kinh-te", "tai-chinh"),
    ]


def test_topic_matcher_directly() -> None:
    assert MATCHER.match("LAI SUAT tang") == {"tai-chinh"}
    assert MATCHER.match("lãi suất", "bong da") == {"tai-chinh", "the-thao"}
    assert MATCHER.match("lãi") == set()
    assert MATCHER.match("") == set()
    assert TopicMatcher.from_keywords({}).match("lãi suất") == set()
    # Empty keywords never match everything.
    assert all(words for _, words in MATCHER.phrases)


# --- JSON Feed ---------------------------------------------------------------------------

JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Báo JSON",
    "home_page_url": "https://json.example.vn/",
    "items": [
        {
            "id": "2001",
            "url": "https://json.example.vn/gia-vang-2001.html?utm_source=json",
            "title": "Giá vàng <tăng> mạnh",
            "content_html": "<p>Sáng nay giá vàng tăng. Người dân đổ xô đi mua.</p>",
            "image": "https://json.example.vn/anh.jpg",
            "date_published": "2024-06-25T08:30:00+07:00",
            "authors": [{"name": "Minh Anh"}],
        },
        {"id": 2002, "content_text": "Tin không tiêu đề & không liên kết."},
        {"id": "2003", "title": "Chỉ có tiêu đề", "summary": "Tóm tắt <thuần> văn bản."},
    ],
}


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", None])
def test_json_feed_items_are_entries(content_type: str | None) -> None:
    import json

    headers = {"Content-Type": content_type} if content_type else {}
    feed = parse_feed(
        json.dumps(JSON_FEED_11, ensure_ascii=False).encode(), headers=headers,
        fetched_at=FETCHED_AT,
    )  # fmt: skip

    assert feed.title == "Báo JSON" and feed.link == "https://json.example.vn/"
    first, second, third = feed.entries
    assert first.item_key == "2001"
    assert first.url == "https://json.example.vn/gia-vang-2001.html"
    assert first.canonical_url == "https://json.example.vn/gia-vang-2001.html"
    assert first.title == "Giá vàng <tăng> mạnh"  # plain text, kept as written
    assert first.summary == "Sáng nay giá vàng tăng. Người dân đổ xô đi mua."
    assert first.image_url == "https://json.example.vn/anh.jpg"
    assert first.author == "Minh Anh"
    assert first.published_at == datetime(2024, 6, 25, 1, 30, tzinfo=UTC)
    assert (second.item_key, second.url) == ("2002", "")
    assert second.title == "Tin không tiêu đề & không liên kết."
    assert third.summary == "Tóm tắt <thuần> văn bản."


def test_json_feed_1_0_author_and_a_json_that_is_no_feed() -> None:
    import json

    old = {
        "version": "https://jsonfeed.org/version/1",
        "title": "Cũ",
        "items": [{"id": "a", "title": "Bài", "author": {"name": "Lan"}}],
    }
    [entry] = parse_feed(json.dumps(old).encode(), fetched_at=FETCHED_AT).entries
    assert entry.author == "Lan"
    with pytest.raises(NotAFeedError):
        parse_feed(b'{"error": "not found"}', headers={"Content-Type": "application/json"})
    with pytest.raises(NotAFeedError):
        parse_feed(b"{not json", headers={"Content-Type": "application/feed+json"})
