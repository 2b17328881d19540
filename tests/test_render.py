"""Telegram HTML for an article: escaping, safe links, labels, and Telegram's length limits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.render import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    ArticleView,
    RenderedMessage,
    render_article,
    truncate_utf16,
    utf16_len,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# 09:05:26 in Vietnam on 24 Sep 2026.
PUBLISHED = datetime(2026, 9, 24, 2, 5, 26, tzinfo=UTC)

ARTICLE = ArticleView(
    title="Giá vàng hôm nay tăng mạnh",
    url="https://bao.example.vn/gia-vang.html",
    summary="Giá vàng SJC tăng 500.000 đồng mỗi lượng trong sáng nay.",
    source="Báo Thử Nghiệm",
    topics=("kinh-te",),
    published_at=PUBLISHED,
    image_url="https://anh.example.vn/vang.jpg",
)

# --- a validator for Telegram's HTML subset ---------------------------------------------

ALLOWED_TAGS = frozenset({"b", "a", "i", "code", "pre", "strong", "em"})
# Telegram knows these named entities and any numeric one.
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
# The only raw "<" and ">" allowed: tags of the subset, with at most a double-quoted href.
_TAG = re.compile(r'<(?:/(?:b|a|i|code|pre|strong|em)|b|i|code|pre|strong|em|a href="[^"<>]*")>')


@dataclass
class Parsed:
    """What a Telegram client would show: visible text and the links behind it."""

    text: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)
    bold: list[str] = field(default_factory=list)


class TelegramHtmlValidator(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.parsed = Parsed()
        self._href: str | None = None
        self._link_text: list[str] = []
        self._bold_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> is not allowed")
        if tag == "a":
            if len(attrs) != 1 or attrs[0][0] != "href" or not attrs[0][1]:
                self.errors.append(f"<a> must have exactly one href, got {attrs}")
            else:
                self._href = attrs[0][1]
                self._link_text = []
        elif attrs:
            self.errors.append(f"<{tag}> must have no attributes, got {attrs}")
        if tag == "b":
            self._bold_text = []
        if self.stack and tag in self.stack:
            self.errors.append(f"<{tag}> nested in itself")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack})")
            return
        self.stack.pop()
        if tag == "a" and self._href is not None:
            self.parsed.links.append((self._href, "".join(self._link_text)))
            self._href = None
        if tag == "b":
            self.parsed.bold.append("".join(self._bold_text))

    def handle_data(self, data: str) -> None:
        self.parsed.text += data
        if self._href is not None:
            self._link_text.append(data)
        if "b" in self.stack:
            self._bold_text.append(data)

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.errors.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.errors.append("unknown declaration")


def validate(html_text: str, *, limit: int = MESSAGE_LIMIT) -> Parsed:
    """Assert html_text is Telegram-valid and within limit; return what a reader sees."""
    assert utf16_len(html_text) <= limit, utf16_len(html_text)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in html_text), "lone surrogate"
    html_text.encode("utf-16-le")
    for amp in re.finditer("&", html_text):
        assert _ENTITY.match(html_text, amp.start()), html_text[amp.start() : amp.start() + 12]
    outside_tags = _TAG.sub("", html_text)
    assert "<" not in outside_tags and ">" not in outside_tags
    validator = TelegramHtmlValidator()
    validator.feed(html_text)
    validator.close()
    assert not validator.errors, validator.errors
    assert not validator.stack, f"unclosed tags: {validator.stack}"
    return validator.parsed


def render(
    article: ArticleView = ARTICLE,
    *,
    language: str = "vi",
    limit: int = MESSAGE_LIMIT,
    topic_names: dict[str, str] | None = None,
) -> RenderedMessage:
    return render_article(article, language=language, tz=VN, topic_names=topic_names, limit=limit)


def body_of(parsed: Parsed) -> str:
    """The summary paragraph of a rendered message (between the title and the frame)."""
    paragraphs = parsed.text.split("\n\n")
    assert len(paragraphs) == 3, paragraphs
    return paragraphs[1]


# --- the ordinary message -----------------------------------------------------------


def test_plain_article_in_vietnamese() -> None:
    message = render()
    assert message.parse_mode == "HTML"
    assert message.image_url == "https://anh.example.vn/vang.jpg"
    assert message.text == (
        "<b>Giá vàng hôm nay tăng mạnh</b>\n\n"
        "Giá vàng SJC tăng 500.000 đồng mỗi lượng trong sáng nay.\n\n"
        "📰 Báo Thử Nghiệm · kinh-te\n"
        "🕒 09:05, 24/09/2026\n"
        '<a href="https://bao.example.vn/gia-vang.html">Đọc tiếp</a>'
    )
    parsed = validate(message.text)
    assert parsed.bold == ["Giá vàng hôm nay tăng mạnh"]
    assert parsed.links == [("https://bao.example.vn/gia-vang.html", "Đọc tiếp")]


def test_english_labels_and_date_style() -> None:
    parsed = validate(render(language="en", topic_names={"kinh-te": "Economy"}).text)
    assert "🕒 24 Sep 2026, 09:05" in parsed.text
    assert "📰 Báo Thử Nghiệm · Economy" in parsed.text
    assert parsed.links == [("https://bao.example.vn/gia-vang.html", "Read more")]


def test_vietnamese_labels_and_date_style() -> None:
    parsed = validate(render(language="vi", topic_names={"kinh-te": "Kinh tế"}).text)
    assert "🕒 09:05, 24/09/2026" in parsed.text
    assert "📰 Báo Thử Nghiệm · Kinh tế" in parsed.text
    assert parsed.links[0][1] == "Đọc tiếp"


def test_time_is_shown_in_the_readers_zone() -> None:
    message = render_article(ARTICLE, language="en", tz=ZoneInfo("Europe/Berlin"))
    assert "🕒 24 Sep 2026, 04:05" in validate(message.text).text


def test_no_topics_means_no_separator() -> None:
    parsed = validate(render(replace(ARTICLE, topics=())).text)
    assert "📰 Báo Thử Nghiệm\n" in parsed.text
    assert "·" not in parsed.text


def test_empty_summary_leaves_no_empty_paragraph() -> None:
    message = render(replace(ARTICLE, summary=" \n\u200b "))
    assert "\n\n\n" not in message.text
    assert validate(message.text).text.count("\n\n") == 1


# --- escaping ---------------------------------------------------------------------------

HOSTILE = '<b>x</b> & "q" \'a\' <a href="javascript:alert(1)">y</a> &amp; &lt;'
SHORT_HOSTILE = "<i>&\"'</i> &lt;"  # source and topics have little room


def test_every_field_is_escaped_and_shown_as_written() -> None:
    article = replace(
        ARTICLE,
        title=f"Tiêu đề {HOSTILE}",
        summary=f"Tóm tắt {HOSTILE}",
        source=f"Nguồn {SHORT_HOSTILE}",
        topics=("t",),
    )
    message = render(article, topic_names={"t": f"Chủ đề {SHORT_HOSTILE}"})
    parsed = validate(message.text)
    # The hostile text is visible text, character for character, in every field.
    assert parsed.bold == [f"Tiêu đề {HOSTILE}"]
    assert body_of(parsed) == f"Tóm tắt {HOSTILE}"
    assert f"📰 Nguồn {SHORT_HOSTILE} · Chủ đề {SHORT_HOSTILE}" in parsed.text
    assert parsed.links == [("https://bao.example.vn/gia-vang.html", "Đọc tiếp")]
    assert "<b>x</b>" not in message.text
    assert "&lt;b&gt;x&lt;/b&gt; &amp; " in message.text
    assert "&amp;amp; &amp;lt;" in message.text


def test_quotes_are_escaped_in_title_source_and_topics() -> None:
    article = replace(ARTICLE, title="Tin \"nóng\" 'mới'", source='Báo "A"', topics=('"x"',))
    text = render(article).text
    frame = text.replace('<a href="https://bao.example.vn/gia-vang.html">', "")
    assert '"' not in frame and "'" not in frame
    assert "Tin &quot;nóng&quot; &#x27;mới&#x27;" in text
    assert "Báo &quot;A&quot; · &quot;x&quot;" in text


def test_quotes_in_the_url_cannot_break_out_of_href() -> None:
    url = 'https://bao.example.vn/a?x=1&y="2"onclick="alert(1)"><b>x</b>'
    message = render(replace(ARTICLE, url=url))
    parsed = validate(message.text)  # exactly one attribute, href, on the one <a>
    assert parsed.links == [(url, "Đọc tiếp")]
    assert 'href="https://bao.example.vn/a?x=1&amp;y=&quot;2&quot;onclick=' in message.text


def test_bidi_and_control_characters_are_removed_from_fields() -> None:
    article = replace(
        ARTICLE, title="Tin \u202enóng\u202c\x00", summary="A\u2066b\u2069\x1b.", source="S\u200bS"
    )
    parsed = validate(render(article).text)
    assert parsed.bold == ["Tin nóng"]
    assert body_of(parsed) == "Ab."
    assert "📰 SS" in parsed.text


def test_lone_surrogates_never_reach_the_message() -> None:
    article = replace(ARTICLE, title="Tin\ud83d mới", summary="Tóm\udca5 tắt", source="\ud800S")
    parsed = validate(render(article).text)
    assert parsed.bold == ["Tin mới"]
    assert body_of(parsed) == "Tóm tắt"


# --- links ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://bao.example.vn/a",
        "tg://resolve?domain=evil",
        "/tin-tuc/bai-viet.html",
        "",
        "https://",
    ],
)
def test_no_link_unless_http(url: str) -> None:
    message = render(replace(ARTICLE, url=url))
    parsed = validate(message.text)
    assert parsed.links == []
    assert "<a" not in message.text
    assert "javascript" not in message.text.lower()


@pytest.mark.parametrize(
    "url", ["http://bao.example.vn/a.html", "https://bao.example.vn/a.html?id=1&p=2#top"]
)
def test_http_links_are_kept(url: str) -> None:
    assert validate(render(replace(ARTICLE, url=url)).text).links == [(url, "Đọc tiếp")]


@pytest.mark.parametrize("image", ["javascript:alert(1)", "data:image/png;base64,AAAA", "x.jpg"])
def test_image_is_http_only(image: str) -> None:
    assert render(replace(ARTICLE, image_url=image)).image_url is None


# --- limits -------------------------------------------------------------------------------

HUGE_SUMMARIES = [
    "&😀" * 5000,  # escaping growth and astral characters
    "Tin & tức 👨‍👩‍👧 <x> " * 1000,
    "e\u0301" * 9000,  # combining marks (NFC makes each é)
    "🇻🇳" * 3000,  # flags: pairs of regional indicators
    "Đoạn văn dài. " * 1000 + "\n\n" + "Đoạn hai. " * 500,
]


@pytest.mark.parametrize("limit", [MESSAGE_LIMIT, CAPTION_LIMIT])
@pytest.mark.parametrize("summary", HUGE_SUMMARIES, ids=["amp-emoji", "mixed", "nfd", "flags", "p"])
def test_huge_summary_is_cut_to_fit(summary: str, limit: int) -> None:
    message = render(replace(ARTICLE, summary=summary), limit=limit)
    parsed = validate(message.text, limit=limit)
    body = body_of(parsed)
    assert body.endswith("…")
    assert len(body) > 1  # the summary is shortened, not dropped
    assert utf16_len(message.text) > limit - 20  # and fills what room there is
    assert parsed.bold == [ARTICLE.title]
    assert parsed.links == [(ARTICLE.url, "Đọc tiếp")]


def test_cut_summary_keeps_flags_whole() -> None:
    body = body_of(validate(render(replace(ARTICLE, summary="🇻🇳" * 3000)).text))
    assert body.removesuffix("…") == "🇻🇳" * (len(body.removesuffix("…")) // 2)


@pytest.mark.parametrize("limit", [MESSAGE_LIMIT, CAPTION_LIMIT])
def test_hostile_frame_still_fits(limit: int) -> None:
    article = replace(
        ARTICLE,
        title="<" * 600,
        source="&" * 300,
        topics=tuple(f'chủ đề "{i}" & <{i}>' for i in range(400)),
        summary="Tóm tắt. " * 600,
        url="https://bao.example.vn/" + "a" * 400,
    )
    message = render(article, limit=limit)
    parsed = validate(message.text, limit=limit)
    assert parsed.bold and parsed.bold[0].startswith("<<<") and parsed.bold[0].endswith("…")
    assert parsed.links == [(article.url, "Đọc tiếp")]
    assert "Tóm tắt." in parsed.text


def test_absurdly_long_url_drops_only_the_link() -> None:
    article = replace(ARTICLE, url="https://bao.example.vn/" + "a" * 5000)
    parsed = validate(render(article).text)
    assert parsed.links == []
    assert parsed.bold == [ARTICLE.title]
    assert ARTICLE.summary in parsed.text


# --- a property over arbitrary text -------------------------------------------------------

HTMLISH = st.sampled_from(
    [
        "<",
        ">",
        "&",
        '"',
        "'",
        "<b>",
        "</b>",
        "</a>",
        "<a href='javascript:alert(1)'>",
        "&amp;",
        "&#x27;",
        "&lt;",
        "<!--",
        "<![CDATA[",
        "\u202e",
        "\u2066",
        "\x00",
        "\x1b",
        "\r\n",
        "\n\n",
        "\u00a0",
        "👨\u200d👩\u200d👧",
        "e\u0301",
        "🇻🇳",
        "😀",
        "Hà Nội",
        "Đ",
        " ",
    ]
)
# Any code point but surrogates (a Python str from a feed or Telegram has none paired).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
FIELD = st.lists(st.one_of(ANY_TEXT, HTMLISH), max_size=12).map("".join)
# Long enough to need cutting: a field repeated up to a few hundred times.
LONG_FIELD = st.tuples(FIELD, st.integers(min_value=1, max_value=400)).map(lambda p: p[0] * p[1])
URLS = st.one_of(
    st.sampled_from(
        ["https://bao.example.vn/a.html", "javascript:alert(1)", 'http://x.vn/?a=1&b="2"', ""]
    ),
    st.builds(lambda path: "https://bao.example.vn/" + path, FIELD),
    FIELD,
)
ARTICLES = st.builds(
    ArticleView,
    title=st.one_of(FIELD, LONG_FIELD),
    url=URLS,
    summary=st.one_of(FIELD, LONG_FIELD),
    source=st.one_of(FIELD, LONG_FIELD),
    topics=st.lists(FIELD, max_size=6).map(tuple),
    published_at=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    image_url=st.one_of(st.none(), URLS),
)


@settings(max_examples=200, deadline=None)
@given(
    article=ARTICLES,
    language=st.sampled_from(["vi", "en"]),
    limit=st.sampled_from([MESSAGE_LIMIT, CAPTION_LIMIT]),
)
def test_any_article_renders_to_valid_html_within_the_limit(
    article: ArticleView, language: str, limit: int
) -> None:
    message = render_article(article, language=language, tz=VN, limit=limit)
    parsed = validate(message.text, limit=limit)
    assert len(parsed.bold) == 1
    for href, _ in parsed.links:
        assert href.startswith(("http://", "https://"))
    assert message.image_url is None or message.image_url.startswith(("http://", "https://"))


# --- utf16_len / truncate_utf16 -----------------------------------------------------------

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 11 UTF-16 units
E_ACUTE = "e\u0301"  # one grapheme, 2 units


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("") == 0
    assert utf16_len("Hà Nội") == 6
    assert utf16_len("😀") == 2
    assert utf16_len(FAMILY) == 11
    assert utf16_len(E_ACUTE) == 2


def test_truncate_utf16_leaves_short_text_alone() -> None:
    assert truncate_utf16("Hà Nội", 6) == "Hà Nội"
    assert truncate_utf16(FAMILY, 11) == FAMILY


@pytest.mark.parametrize("limit", range(0, 25))
def test_truncate_utf16_never_splits_a_family_emoji(limit: int) -> None:
    text = "A" + FAMILY + "B" + FAMILY
    cut = truncate_utf16(text, limit)
    assert utf16_len(cut) <= limit
    kept = cut.removesuffix("…")
    assert text.startswith(kept)
    assert kept in ("", "A", "A" + FAMILY, "A" + FAMILY + "B", text)


@pytest.mark.parametrize("limit", range(0, 12))
def test_truncate_utf16_never_splits_a_combining_sequence(limit: int) -> None:
    text = E_ACUTE * 5
    cut = truncate_utf16(text, limit)
    assert utf16_len(cut) <= limit
    kept = cut.removesuffix("…")
    assert kept == E_ACUTE * (len(kept) // 2)
    assert len(kept) % 2 == 0


def test_truncate_utf16_ends_with_the_ellipsis_and_trims_spaces() -> None:
    assert truncate_utf16("một hai ba bốn", 9) == "một hai…"
    assert truncate_utf16("abcdef", 4, ellipsis="...") == "a..."
    assert truncate_utf16("abcdef", 1) == ""


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(ANY_TEXT, st.sampled_from([FAMILY, E_ACUTE, "🇻🇳", "😀"])), max_size=10).map(
        "".join
    ),
    st.integers(min_value=0, max_value=60),
)
def test_truncate_utf16_property(text: str, limit: int) -> None:
    cut = truncate_utf16(text, limit)
    assert utf16_len(cut) <= limit
    if utf16_len(text) <= limit:
        assert cut == text
    elif cut:
        assert cut.endswith("…")
        assert text.startswith(cut.removesuffix("…"))


# --- the source line and the time, as a reader reads them ---------------------------------


def test_the_time_reads_today_or_yesterday_in_the_readers_zone() -> None:
    now = datetime(2026, 9, 24, 15, 0, tzinfo=UTC)  # 22:00 in Vietnam
    today = render_article(ARTICLE, language="vi", tz=VN, now=now).text
    assert "🕒 hôm nay 09:05" in today
    tomorrow = datetime(2026, 9, 24, 18, 0, tzinfo=UTC)  # 01:00 on the 25th in Vietnam
    assert "🕒 hôm qua 09:05" in render_article(ARTICLE, language="vi", tz=VN, now=tomorrow).text
    assert "🕒 yesterday 09:05" in render_article(ARTICLE, language="en", tz=VN, now=tomorrow).text
    later = datetime(2026, 9, 30, 3, 0, tzinfo=UTC)
    assert "🕒 09:05, 24/09/2026" in render_article(ARTICLE, language="vi", tz=VN, now=later).text
    # Without now (newsbot preview), the full date as before.
    assert "🕒 09:05, 24/09/2026" in render_article(ARTICLE, language="vi", tz=VN).text


def test_the_source_line_names_the_outlet_once() -> None:
    names = {"thoi-su": "Thời sự", "kinh-te": "Kinh tế"}
    section = replace(ARTICLE, source="VnExpress – Thời sự", topics=("thoi-su", "kinh-te"))
    text = render_article(section, language="vi", tz=VN, topic_names=names).text
    assert "📰 VnExpress – Thời sự · Kinh tế\n" in text
    same = replace(ARTICLE, source="Kinh tế", topics=("kinh-te",))
    assert "📰 Kinh tế\n" in render_article(same, language="vi", tz=VN, topic_names=names).text
    tagline = replace(
        ARTICLE,
        source="Người quan sát | Tin tức tài chính, kinh doanh, bất động sản, hàng hóa",
        topics=(),
    )
    assert "📰 Người quan sát\n" in render_article(tagline, language="vi", tz=VN).text


def test_the_author_is_shown_when_the_source_gives_one() -> None:
    signed = replace(ARTICLE, author="Khánh An", topics=())
    assert "📰 Báo Thử Nghiệm · ✍️ Khánh An\n" in render_article(signed, language="vi", tz=VN).text
    hostile = replace(ARTICLE, author="<b>x</b>", topics=())
    assert "✍️ &lt;b&gt;x&lt;/b&gt;" in render_article(hostile, language="vi", tz=VN).text
