"""Synthetic but realistic Vietnamese news text and RSS documents for the benchmarks.

Deterministic: the same seed gives the same words, titles, bodies and feed
bytes, so the feed server (in its own process) and the benchmark that parses
the same bytes for its baseline agree without sharing memory.

The vocabulary is a few hundred real high-frequency news syllables followed by
a few thousand well-formed generated syllables (onset + rhyme + tone), drawn
with Zipf-like frequencies: "của", "và", "các" are in nearly every article,
the tail appears in a few hundred.
"""

from __future__ import annotations

import functools
import itertools
import random
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from xml.sax.saxutils import escape

# Real, frequent syllables of Vietnamese news, most frequent first (roughly).
_COMMON_TEXT = """
    của và các có là được trong cho với người không này đã những một năm
    tại về từ khi đến theo để như ra lại cũng nhiều trên sẽ đó phải thì làm
    nước Việt Nam ngày hơn vào đồng tỷ triệu thành phố Hà Nội công ty
    chính phủ kinh tế xã hội quốc gia phát triển doanh nghiệp thị trường
    tin tức mới nhất hôm nay tuần tháng sau trước giá tăng giảm dân vụ
    học sinh trường đại giáo dục bệnh viện y tế sức khỏe cảnh sát công an
    tỉnh huyện quận xã phường đường giao thông tai nạn xe máy ô tô
    bóng đá đội tuyển cầu thủ trận đấu giải vô địch thể thao bàn thắng
    chứng khoán ngân hàng lãi suất vàng đô la tiền bất động sản nhà đất
    dự án đầu tư vốn xây dựng cao tốc sân bay cảng biển điện năng lượng
    khoa học công nghệ trí tuệ nhân tạo chuyển đổi số điện thoại mạng
    sở hữu bản quyền sáng chế nhãn hiệu khởi nghiệp quỹ mạo hiểm
    Mỹ Trung Quốc Nhật Bản Hàn Nga Ukraine châu Âu Á thế giới quân sự
    tổng thống thủ tướng bộ trưởng chủ tịch Quốc hội đại biểu luật nghị định
    thời tiết mưa bão lũ nắng nóng miền Bắc Trung Nam Tây Nguyên
    Sài Gòn Hồ Chí Minh Đà Nẵng Hải Phòng Cần Thơ Huế Quảng Ninh
    văn hóa du lịch nghệ thuật phim ca sĩ âm nhạc lễ hội truyền thống
    gia đình trẻ em phụ nữ nông dân công nhân lao động việc lương
    xuất khẩu nhập khẩu hàng hóa sản xuất nông sản gạo cà phê thủy sản
    ông bà anh chị em cho biết cho rằng nói rằng thông tin kết quả
    đầu tiên cuối cùng lớn nhỏ cao thấp mạnh yếu nhanh chậm tốt xấu
    vừa đang còn chưa rất quá hết lần thứ hai ba bốn năm sáu bảy tám chín mười
"""
COMMON_WORDS: tuple[str, ...] = tuple(_COMMON_TEXT.split())

_ONSETS = (
    "", "b", "c", "ch", "d", "đ", "g", "gi", "h", "kh", "l", "m", "n", "ng", "nh", "ph",
    "qu", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip
# "*" marks where the tone goes (after that vowel letter).
_OPEN_RHYMES = (
    "a*", "a*i", "a*n", "a*ng", "a*nh", "a*o", "a*u", "a*y", "ă*n", "ă*ng", "ă*m", "â*m",
    "â*n", "â*ng", "â*u", "â*y", "e*", "e*m", "e*n", "e*o", "ê*", "ê*n", "ê*nh", "ê*u", "i*",
    "i*m", "i*n", "i*nh", "iê*n", "iê*m", "iê*u", "o*", "oa*", "oa*i", "oa*n", "oa*ng",
    "oa*nh", "o*i", "o*m", "o*n", "o*ng", "ô*", "ô*i", "ô*m", "ô*n", "ô*ng", "ơ*", "ơ*i",
    "ơ*m", "ơ*n", "u*", "u*i", "u*m", "u*n", "u*ng", "uyê*n", "uy*", "ư*", "ư*a", "ư*ng",
    "ươ*i", "ươ*ng", "ươ*n", "ư*u",
)  # fmt: skip
_STOP_RHYMES = (
    "a*c", "a*ch", "a*t", "a*p", "ă*c", "ă*t", "â*t", "â*p", "e*t", "ê*t", "ê*ch", "i*t",
    "i*ch", "iê*t", "o*c", "o*t", "oa*t", "ô*c", "ô*t", "ơ*t", "u*c", "u*t", "ư*c", "ươ*c",
)  # fmt: skip
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_STOP_TONES = ("\u0301", "\u0323")

SITE = "https://vnexpress.net"
IMAGE_HOST = "https://i1-vnexpress.vnecdn.net"
ICT = timezone(timedelta(hours=7))
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _spell(onset: str, rhyme: str) -> str | None:
    first = rhyme[0]
    if onset == "qu" and first in "uoô":
        return None
    if first in "eêi":
        onset = {"c": "k", "g": "gh", "ng": "ngh"}.get(onset, onset)
    if onset == "gi" and first == "i":
        return None
    return onset + rhyme


def _generated_syllables() -> list[str]:
    out: list[str] = []
    for onset, rhyme in itertools.product(_ONSETS, _OPEN_RHYMES + _STOP_RHYMES):
        spelled = _spell(onset, rhyme)
        if spelled is None:
            continue
        tones = _STOP_TONES if rhyme in _STOP_RHYMES else _TONES
        out.extend(unicodedata.normalize("NFC", spelled.replace("*", tone)) for tone in tones)
    return out


@functools.cache
def vocabulary(size: int = 4000, seed: int = 7) -> tuple[str, ...]:
    """COMMON_WORDS (deduplicated, most frequent first), then generated syllables."""
    seen: set[str] = set()
    words: list[str] = []
    for word in COMMON_WORDS:
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    generated = _generated_syllables()
    random.Random(seed).shuffle(generated)
    for word in generated:
        if len(words) >= size:
            break
        if word not in seen:
            seen.add(word)
            words.append(word)
    return tuple(words)


class ZipfWords:
    """Draws words with probability proportional to 1 / rank**s."""

    def __init__(self, words: Sequence[str], s: float = 1.0) -> None:
        self.words = tuple(words)
        weights = [1.0 / (rank**s) for rank in range(1, len(self.words) + 1)]
        self._cum = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self._cum, k=k)

    def probability(self, rank: int) -> float:
        """Probability of the word at 0-based rank."""
        previous = self._cum[rank - 1] if rank else 0.0
        return float((self._cum[rank] - previous) / self._cum[-1])


@functools.cache
def default_words() -> ZipfWords:
    return ZipfWords(vocabulary())


def sentence(rng: random.Random, words: ZipfWords, n: int) -> str:
    drawn = words.draw(rng, n)
    drawn[0] = drawn[0][:1].upper() + drawn[0][1:]
    if n > 8 and rng.random() < 0.5:
        drawn[n // 2] += ","
    return " ".join(drawn) + "."


def title(rng: random.Random, words: ZipfWords, n: int = 12) -> str:
    drawn = words.draw(rng, n + rng.randint(-2, 2))
    drawn[0] = drawn[0][:1].upper() + drawn[0][1:]
    return " ".join(drawn)


def paragraph(rng: random.Random, words: ZipfWords, n_words: int) -> str:
    parts: list[str] = []
    left = n_words
    while left > 0:
        n = min(left, rng.randint(10, 22))
        parts.append(sentence(rng, words, n))
        left -= n
    return " ".join(parts)


def slug(text: str) -> str:
    """An ASCII URL slug, VnExpress style: "gia-vang-tang-manh"."""
    decomposed = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    ascii_text = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == " "))
    return "-".join(ascii_text.split())[:80]


def rfc822(ts: int) -> str:
    """'Sat, 04 Jun 2023 07:30:00 +0700' without depending on the C locale."""
    t = datetime.fromtimestamp(ts, tz=UTC).astimezone(ICT)
    return (
        f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0700"
    )


# --- RSS feeds for the poll benchmark ---------------------------------------------------

ITEMS_PER_FEED = 25
NEW_ITEMS_PER_CHANGE = 2
ITEM_SPACING_S = 15 * 60


def feed_url(base: str, index: int) -> str:
    return f"{base}/rss/{index}.rss"


def item_published(t0: int, k: int) -> int:
    """Item k of a feed: the first ITEMS_PER_FEED items end just before t0."""
    return t0 + (k - ITEMS_PER_FEED) * ITEM_SPACING_S


def item_range(version: int) -> range:
    """Item numbers a feed lists at a version, oldest first (newest is listed first)."""
    start = version * NEW_ITEMS_PER_CHANGE
    return range(start, start + ITEMS_PER_FEED)


def _item_xml(feed: int, k: int, t0: int, words: ZipfWords) -> str:
    rng = random.Random(feed * 1_000_003 + k)
    head = title(rng, words)
    article_id = 4_000_000 + feed * 1000 + k
    link = f"{SITE}/{slug(head)}-{article_id}.html"
    published = datetime.fromtimestamp(item_published(t0, k), tz=UTC)
    image = (
        f"{IMAGE_HOST}/{published:%Y/%m/%d}/anh-{article_id}-{rng.randrange(10**8):08d}.jpg"
        f"?w=1200&amp;h=0&amp;q=100&amp;dpr=1&amp;fit=crop&amp;s={rng.randrange(16**16):016x}"
    )
    lead = paragraph(rng, words, rng.randint(30, 55))
    if rng.random() < 0.3:
        lead = f"(VnE) - {lead}"
    return (
        "<item>\n"
        f"<title>{escape(head)}</title>\n"
        f'<description><![CDATA[<a href="{link}"><img src="{image}" ></a></br>'
        f"{lead}]]></description>\n"
        f"<pubDate>{rfc822(item_published(t0, k))}</pubDate>\n"
        f"<link>{link}</link>\n"
        f"<guid>{link}</guid>\n"
        "<slash:comments>0</slash:comments>\n"
        "</item>\n"
    )


def feed_bytes(feed: int, version: int, t0: int, base: str = SITE) -> bytes:
    """The RSS document of feed `feed` at `version` (0: first poll; each +1: two new items)."""
    words = default_words()
    items = [_item_xml(feed, k, t0, words) for k in reversed(item_range(version))]
    newest = item_published(t0, item_range(version)[-1])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">\n'
        "<channel>\n"
        f"<title>Tin mới nhất {feed} - VnExpress RSS</title>\n"
        "<description>VnExpress RSS - Tin mới nhất</description>\n"
        f"<image><url>{SITE}/i/logo.gif</url><title>Tin mới nhất - VnExpress RSS</title>"
        f"<link>{SITE}</link></image>\n"
        f"<pubDate>{rfc822(newest)}</pubDate>\n"
        "<generator>FeedCreator</generator>\n"
        f"<link>{feed_url(base, feed)}</link>\n"
        f'<atom:link href="{feed_url(base, feed)}" rel="self" type="application/rss+xml"/>\n'
        + "".join(items)
        + "</channel>\n</rss>\n"
    ).encode()


def changed_feeds(n_feeds: int, fraction: float, seed: int = 42) -> frozenset[int]:
    """Which feeds publish two new items between the cold and the warm poll."""
    count = max(0, min(n_feeds, round(n_feeds * fraction)))
    return frozenset(random.Random(seed).sample(range(n_feeds), count))
