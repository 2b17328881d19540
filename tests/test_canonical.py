"""canonical_url: every address newsrooms give one article folds to one identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.canonical import canonical_url, fold_host, same_site

ARTICLE = "https://vnexpress.net/gia-vang-tang-manh-4790123.html"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "http://vnexpress.net/gia-vang-tang-manh-4790123.html",
        "https://VnExpress.NET/gia-vang-tang-manh-4790123.html",
        "https://www.vnexpress.net/gia-vang-tang-manh-4790123.html",
        "https://m.vnexpress.net/gia-vang-tang-manh-4790123.html",
        "https://amp.vnexpress.net/gia-vang-tang-manh-4790123.html",
        "https://vnexpress.net/amp/gia-vang-tang-manh-4790123.html",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html/amp",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html/amp/",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?amp=1",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?outputType=amp",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html/",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html#box_comment",
        "https://vnexpress.net:443/gia-vang-tang-manh-4790123.html",
        "http://vnexpress.net:80/gia-vang-tang-manh-4790123.html",
        "https://vnexpress.net./gia-vang-tang-manh-4790123.html",
        "https://user:pw@vnexpress.net/gia-vang-tang-manh-4790123.html",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?utm_source=rss&utm_medium=feed",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?UTM_Campaign=x",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?fbclid=IwAR0abc",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?gclid=abc&zarsrc=30",
        "https://vnexpress.net/gia-vang-tang-manh-4790123.html?zarsrc=31&gidzl=Xyz",
        "https://vnexpress.net/gia%2Dvang%2Dtang%2Dmanh%2D4790123.html",
        "  https://vnexpress.net/gia-vang-tang-manh-\n4790123.html  ",
        "https://www.m.vnexpress.net/gia-vang-tang-manh-4790123.html/amp?utm_source=zalo#top",
    ],
)
def test_every_address_of_one_article_folds_to_one(variant: str) -> None:
    assert canonical_url(variant) == ARTICLE


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://vnexpress.net/a-1.html", "https://vnexpress.net/a-2.html"),
        ("https://vnexpress.net/tin?id=1", "https://vnexpress.net/tin?id=2"),
        ("https://vnexpress.net/a-1.html", "https://vietnamnet.vn/a-1.html"),
        ("https://vnexpress.net/a-1.html", "https://vnexpress.net:8443/a-1.html"),
        ("https://vnexpress.net/Tin-Moi.html", "https://vnexpress.net/tin-moi.html"),
        ("https://e.vnexpress.net/a-1.html", "https://vnexpress.net/a-1.html"),
        ("https://vnexpress.net/example", "https://vnexpress.net/examples"),
    ],
)
def test_different_pages_stay_different(first: str, second: str) -> None:
    assert canonical_url(first) != canonical_url(second)


def test_remaining_parameters_are_kept_and_sorted() -> None:
    assert (
        canonical_url("https://baomoi.vn/tin?page=2&id=7&utm_source=x")
        == "https://baomoi.vn/tin?id=7&page=2"
    )
    assert canonical_url("https://baomoi.vn/tin?b=2&a=1") == canonical_url(
        "https://baomoi.vn/tin?a=1&b=2"
    )


def test_root_keeps_its_slash() -> None:
    assert canonical_url("https://www.sggp.org.vn") == "https://sggp.org.vn/"
    assert canonical_url("https://www.sggp.org.vn/") == "https://sggp.org.vn/"


@pytest.mark.parametrize(
    "not_a_page",
    [
        "",
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "mailto:toa-soan@vnexpress.net",
        "12345",
        "miss-c",
        "/relative/path.html",
        "https://",
        "https://vnexpress.net:99999/x",
        "ftp://vnexpress.net/x",
    ],
)
def test_anything_but_an_absolute_http_url_has_no_identity(not_a_page: str) -> None:
    assert canonical_url(not_a_page) is None


def test_edition_prefixes_never_fold_a_host_to_a_bare_suffix() -> None:
    assert fold_host("m.vn") == "m.vn"
    assert fold_host("www.com.vn") == "com.vn"  # "com.vn" still has a dot: a registrable pair
    assert fold_host("WWW.M.Tuoitre.VN") == "tuoitre.vn"


def test_same_site_folds_editions() -> None:
    assert same_site("https://m.vnexpress.net/a", "https://www.vnexpress.net/b")
    assert not same_site("https://vnexpress.net/a", "https://vietnamnet.vn/a")
    assert not same_site("/relative", "https://vnexpress.net/a")


_segment = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12)
_urls = st.builds(
    lambda scheme, host, segments, query, fragment: (
        f"{scheme}://{host}/{'/'.join(segments)}" + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    ),
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["vnexpress.net", "www.VnExpress.net", "m.tuoitre.vn", "amp.sggp.org.vn"]),
    st.lists(_segment, max_size=4),
    st.text(alphabet="abc=&%2F+utm_zarsrc", max_size=20),
    st.text(max_size=5),
)  # fmt: skip


@given(_urls)
def test_folding_twice_changes_nothing(url: str) -> None:
    once = canonical_url(url)
    assert once is not None
    assert canonical_url(once) == once


@given(_urls, st.sampled_from(["utm_source=rss", "fbclid=IwAR1", "zarsrc=30", "gclid=x"]))
def test_a_tracking_parameter_never_changes_the_identity(url: str, tracking: str) -> None:
    base = url.partition("#")[0]
    separator = "&" if "?" in base else "?"
    assert canonical_url(f"{base}{separator}{tracking}") == canonical_url(base)
