"""Site sources from the operator's side: preview pages, add a site, poll it from feeds.toml."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.cli_run import run_newsbot
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer
from tests.support.site import (
    SAMPLE_PATH,
    Story,
    article_page,
    fresh_story,
    listing_page,
    sample_story,
    serve_listing,
    serve_story,
)

SAMPLE_TITLE = "Sở Khoa học và Công nghệ Hà Nội: Những kết quả đạt được sau 5 tháng đầu năm 2023"
GONE = "/bai-da-go-d40404.html"


@pytest.fixture
def workdir(tmp_path: Path, server: FeedServer) -> Path:
    (tmp_path / "feeds.toml").write_text(
        f"""
[[topics]]
slug = "so-huu-tri-tue"
name_vi = "Sở hữu trí tuệ"
name_en = "Intellectual property"

[[feeds]]
url = "{server.url("/tin-tuc")}"
name = "Tạp chí Sở hữu trí tuệ"
kind = "site"
article_pattern = '-d\\d+\\.html$'
topics = ["so-huu-tri-tue"]
""",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def site(server: FeedServer, samples: Path) -> list[Story]:
    """The sample, a recent story and a listed page that answers 404."""
    now = ManualClock().now
    stories = [sample_story(samples), fresh_story(1, now - timedelta(hours=1))]
    for story in stories:
        serve_story(server, story)
    serve_listing(server, "/tin-tuc", [*stories, Story(GONE, "Đã gỡ", "", "", (), "")])
    return stories


async def test_preview_of_a_section_page_lists_links_then_articles(
    workdir: Path, server: FeedServer, site: list[Story]
) -> None:
    result = await run_newsbot(workdir, "preview", "--delay", "0", server.url("/tin-tuc"))

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("link")] == [
        server.url(SAMPLE_PATH),
        server.url(site[1].path),
        server.url(GONE),
    ]
    assert f"<b>{SAMPLE_TITLE}</b>" in result.out
    assert "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội 2021-2025." in result.out
    assert "06:23, 04/06/2023" in result.out
    assert "(SHTT)" not in result.out and "Click" not in result.out
    assert any(line.startswith("skipped") and "HTTP 404" in line for line in lines)
    assert lines[-1] == "3 article links, 2 articles shown, from 127.0.0.1"


async def test_preview_json_of_a_section_page(
    workdir: Path, server: FeedServer, site: list[Story]
) -> None:
    result = await run_newsbot(workdir, "preview", "--json", "--delay", "0", server.url("/tin-tuc"))

    assert result.code == 0, result.err
    objects = result.json_lines()
    assert [o["type"] for o in objects if "type" in o] == ["link", "link", "link", "skipped"]
    [sample] = [o for o in objects if o.get("title") == SAMPLE_TITLE]
    assert sample["url"] == sample["key"] == server.url(SAMPLE_PATH)
    assert sample["published_at"] == "2023-06-03T23:23:00+00:00"
    assert str(sample["summary"]).startswith("Năm 2023 là năm bản lề")
    assert sample["parse_mode"] == "HTML"


async def test_preview_of_an_article_url_and_file(
    workdir: Path, server: FeedServer, site: list[Story], samples: Path
) -> None:
    by_url = await run_newsbot(workdir, "preview", "--lang", "en", server.url(SAMPLE_PATH))
    saved = workdir / "bai.html"
    saved.write_bytes(article_page(sample_story(samples), base_url=server.url("/"), meta=False))
    by_file = await run_newsbot(workdir, "preview", "--json", str(saved))

    assert by_url.code == 0, by_url.err
    assert f"<b>{SAMPLE_TITLE}</b>" in by_url.out
    assert "04 Jun 2023, 06:23" in by_url.out
    assert by_url.out.splitlines()[-1] == "1 article from SO HUU TRI TUE"
    assert by_file.code == 0, by_file.err
    [entry] = by_file.json_lines()
    assert entry["title"] == SAMPLE_TITLE
    assert str(entry["summary"]).startswith("Năm 2023 là năm bản lề")
    assert "16.11" not in str(entry["text"])


async def test_preview_of_a_saved_section_page_only_lists_links(
    workdir: Path, server: FeedServer, site: list[Story]
) -> None:
    saved = workdir / "tin-tuc.html"
    body = listing_page(site).replace(
        b"</title>", f'</title><link rel="canonical" href="{server.url("/tin-tuc")}">'.encode()
    )
    saved.write_bytes(body)

    result = await run_newsbot(workdir, "preview", str(saved))

    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"link     {server.url(SAMPLE_PATH)}",
        f"link     {server.url(site[1].path)}",
        f"2 article links, 0 articles shown, from {saved}",
    ]
    assert server.hits(SAMPLE_PATH) == 0


async def test_feeds_add_site_beside_the_configured_one(workdir: Path, server: FeedServer) -> None:
    added = await run_newsbot(
        workdir,
        "feeds",
        "add",
        server.url("/muc-khac"),
        "--topic",
        "so-huu-tri-tue",
        "--site",
        r"--pattern=-d\d{5}\.html$",  # "=": a pattern may start with "-"
        "--selector",
        ".list h3",
    )
    listed = await run_newsbot(workdir, "feeds", "list", "--json")

    assert added.code == 0, added.err
    assert added.out.startswith("added site ")
    assert [f["url"] for f in listed.json_lines()] == [
        server.url("/tin-tuc"),
        server.url("/muc-khac"),
    ]
    with sqlite3.connect(workdir / "newsbot.db") as conn:
        rows = conn.execute(
            "SELECT kind, article_pattern, link_selector FROM feeds ORDER BY id"
        ).fetchall()
    assert rows == [("site", r"-d\d+\.html$", None), ("site", r"-d\d{5}\.html$", ".list h3")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--site", "--pattern", "(unclosed"), "not a valid regex"),
        (("--site", "--selector", "div[["), "not a valid CSS selector"),
        (("--pattern=-d\\d+",), "add --site"),
    ],
)
async def test_feeds_add_site_rejects_bad_rules(
    workdir: Path, args: tuple[str, ...], message: str
) -> None:
    result = await run_newsbot(
        workdir, "feeds", "add", "https://bao.example.vn/", "--topic", "so-huu-tri-tue", *args
    )

    assert result.code == 1
    assert message in result.err
    assert result.err.strip().count("\n") == 0
