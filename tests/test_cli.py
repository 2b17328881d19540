"""The `newsbot` command as an operator runs it: a real process, a loopback feed, a real file."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest

from storage.rows import DestinationSpec
from storage.sqlite import SqliteDatabase
from tests.support.cli_run import CliResult, run_newsbot
from tests.support.feed_server import FeedServer, Route
from tests.support.rss import Item, rss

ARTICLE = Item(
    title="Đà Nẵng thử nghiệm xe buýt điện không người lái",
    link="https://bao.example.vn/da-nang-xe-buyt-dien.html",
    guid="da-nang-xe-buyt-dien",
    description=(
        '<a href="https://bao.example.vn/da-nang-xe-buyt-dien.html"><img src="https://img.example.vn/a.jpg"></a>'
        "</br>(PV) - TP. Đà Nẵng cho chạy thử 5 xe buýt điện tự lái trên tuyến ven biển. "
        "Dự kiến khai thác chính thức vào quý IV."
    ),
    published=datetime(2026, 9, 24, 8, 30, tzinfo=UTC),
)


@pytest.fixture
def workdir(tmp_path: Path, server: FeedServer) -> Path:
    (tmp_path / "feeds.toml").write_text(
        f"""
[[topics]]
slug = "giao-thong"
name_vi = "Giao thông"
name_en = "Transport"
keywords = ["xe buýt"]

[[feeds]]
url = "{server.url("/rss")}"
name = "Báo Thử"
topics = ["giao-thong"]
""",
        encoding="utf-8",
    )
    server.set_feed("/rss", rss([ARTICLE]))
    return tmp_path


async def newsbot(workdir: Path, *args: str, env: dict[str, str] | None = None) -> CliResult:
    return await run_newsbot(workdir, *args, env=env)


async def test_preview_url_prints_the_message_as_sent(workdir: Path, server: FeedServer) -> None:
    result = await newsbot(workdir, "preview", server.url("/rss"))

    assert result.code == 0, result.err
    assert "<b>Đà Nẵng thử nghiệm xe buýt điện không người lái</b>" in result.out
    assert "TP. Đà Nẵng cho chạy thử 5 xe buýt điện tự lái trên tuyến ven biển." in result.out
    assert "(PV)" not in result.out
    assert "15:30, 24/09/2026" in result.out  # 08:30 UTC in Asia/Ho_Chi_Minh


async def test_preview_json_has_the_fields_tools_rely_on(workdir: Path, server: FeedServer) -> None:
    result = await newsbot(workdir, "preview", "--json", server.url("/rss"))

    assert result.code == 0, result.err
    [entry] = result.json_lines()
    assert entry["key"] == "da-nang-xe-buyt-dien"
    assert entry["url"] == ARTICLE.link
    assert entry["image"] == "https://img.example.vn/a.jpg"
    assert entry["topics"] == ["giao-thong"]
    assert entry["parse_mode"] == "HTML"
    assert str(entry["text"]).startswith("<b>Đà Nẵng")


async def test_preview_of_a_file_in_english(workdir: Path) -> None:
    path = workdir / "feed.xml"
    path.write_bytes(rss([ARTICLE]))

    result = await newsbot(workdir, "preview", "--lang", "en", str(path))

    assert result.code == 0, result.err
    assert "Read more" in result.out
    assert "24 Sep 2026, 15:30" in result.out


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.xml", "cannot read missing.xml"),
        ("ftp://example.vn/feed", "only http(s) URLs and local files"),
    ],
)
async def test_preview_bad_sources_get_one_line(workdir: Path, source: str, message: str) -> None:
    result = await newsbot(workdir, "preview", source)

    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert message in result.err
    assert "Traceback" not in result.err


async def test_preview_html_page_and_unreachable_url(workdir: Path, server: FeedServer) -> None:
    server.set("/page", Route(body="<html><body>Trang chủ</body></html>".encode()))

    page = await newsbot(workdir, "preview", server.url("/page"))
    down = await newsbot(workdir, "preview", "http://127.0.0.1:9/rss")

    assert page.code == 1 and "not an RSS or Atom feed" in page.err
    assert down.code == 1 and "cannot fetch" in down.err
    assert "Traceback" not in page.err + down.err


async def test_private_feeds_are_refused_unless_allowed(workdir: Path, server: FeedServer) -> None:
    result = await newsbot(
        workdir, "preview", server.url("/rss"), env={"NEWSBOT_ALLOW_PRIVATE_FEEDS": "0"}
    )

    assert result.code == 1
    assert "blocked_address" in result.err


async def test_poll_then_search_without_accents(workdir: Path) -> None:
    poll = await newsbot(workdir, "poll", "--once")
    search = await newsbot(workdir, "search", "--json", "xe buyt dien", "da nang")
    empty = await newsbot(workdir, "search", "tàu ngầm")
    junk = await newsbot(workdir, "search", '"C++ AND * -(', "🙂")

    assert poll.code == 0, poll.err
    assert "1 feeds polled: 1 new articles" in poll.out
    [hit] = search.json_lines()
    assert hit["title"] == ARTICLE.title
    assert hit["source"] == "Báo Thử"
    assert empty.code == 0 and "no articles match" in empty.out
    assert junk.code == 0, junk.err


async def test_feeds_list_add_remove_and_stats(workdir: Path, server: FeedServer) -> None:
    await newsbot(workdir, "poll", "--once")
    server.set("/broken", Route(status=503))

    added = await newsbot(workdir, "feeds", "add", server.url("/broken"), "--topic", "giao-thong")
    unknown = await newsbot(workdir, "feeds", "add", server.url("/x"), "--topic", "the-thao")
    polled = await newsbot(workdir, "poll", "--once")
    listed = await newsbot(workdir, "feeds", "list", "--json")
    stats = await newsbot(workdir, "stats", "--json")
    removed = await newsbot(workdir, "feeds", "remove", "2")
    missing = await newsbot(workdir, "feeds", "remove", "99")

    assert added.code == 0 and "added feed 2" in added.out
    assert unknown.code == 1 and "unknown topic 'the-thao'" in unknown.err
    assert "http_status: HTTP 503" in polled.out
    health = {row["id"]: row["health"] for row in listed.json_lines()}
    assert health == {1: "ok", 2: "failing"}
    figures = stats.json_lines()[0]
    assert figures["articles"] == 1
    assert figures["feeds"] == {"ok": 1, "failing": 1}
    assert figures["failure_causes"] == {"http_status": 1}
    assert figures["articles_today"] == 1 and figures["by_mode"] == {}
    assert figures["articles_sealed"] == 0  # one article fills no search segment
    assert removed.code == 0
    assert missing.code == 1 and "no feed '99'" in missing.err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWSBOT_POLL_INTERVAL", "often"),
        ("NEWSBOT_TIMEZONE", "Asia/Saigon-ish"),
        ("ADMIN_IDS", "12,abc"),
        ("TELEGRAM_API_BASE_URL", "telegram"),
        ("NEWSBOT_ALLOW_PRIVATE_FEEDS", "maybe"),
    ],
)
async def test_bad_setting_stops_with_one_line_naming_it(
    workdir: Path, name: str, value: str
) -> None:
    result = await newsbot(workdir, "stats", env={name: value})

    assert result.code == 1
    assert result.err.startswith(f"newsbot: {name}:")
    assert result.err.strip().count("\n") == 0


async def test_bad_arguments_exit_non_zero(workdir: Path) -> None:
    result = await newsbot(workdir, "search", "x", "--limit", "0")

    assert result.code == 2
    assert "expected a number from 1 to 1000" in result.err


async def test_version_prints_the_installed_version(workdir: Path) -> None:
    result = await newsbot(workdir, "--version")

    assert result.code == 0, result.err
    assert result.out == f"newsbot {metadata.version('newsbot')}\n"


async def test_no_arguments_prints_the_help(workdir: Path) -> None:
    result = await newsbot(workdir)
    helped = await newsbot(workdir, "--help")

    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.startswith("usage: newsbot")
    assert result.out == helped.out
    for command in ("run", "preview", "poll", "search", "feeds", "stats"):
        assert f"    {command} " in result.out


# Imported by the service and preview only: an operator command must not pay for them.
HEAVY_MODULES = (
    "telegram",
    "trafilatura",
    "bot.cli.console",
    "bot.runtime.app",
    "bot.runtime.runner",
    "bot.botapi_standin",
)
LOADED_BY = """
import json, sys
from handlers.main import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:  # --help: argparse exits
    code = exc.code
heavy = json.loads(sys.argv[1])
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
sys.stderr.write("\\nLOADED " + json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""


async def _modules_loaded_by(workdir: Path, *args: str) -> tuple[object, list[str]]:
    """Run `newsbot ARGS` in-process in a fresh interpreter: (exit code, heavy modules loaded)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ.update(
        {
            "NEWSBOT_DB": str(workdir / "newsbot.db"),
            "NEWSBOT_FEEDS": str(workdir / "feeds.toml"),
            "NEWSBOT_LOG_LEVEL": "WARNING",
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOADED_BY,
        json.dumps(HEAVY_MODULES),
        *args,
        cwd=workdir,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    report = json.loads(err.decode().rsplit("\nLOADED ", 1)[1])
    return report["code"], report["loaded"]


async def test_operator_commands_import_neither_telegram_nor_trafilatura(workdir: Path) -> None:
    poll = await newsbot(workdir, "poll", "--once")
    assert poll.code == 0, poll.err

    for args in (["stats", "--json"], ["search", "xe buýt"], ["feeds", "list"], ["--help"]):
        code, loaded = await _modules_loaded_by(workdir, *args)

        assert code == 0, args
        assert loaded == [], f"newsbot {' '.join(args)} imported {loaded}"


async def test_counts_read_as_english_writes_them(workdir: Path, server: FeedServer) -> None:
    result = await newsbot(workdir, "preview", server.url("/rss"))
    assert result.out.splitlines()[-1].startswith("1 entry from ")
    assert "1 entries" not in result.out


async def test_adding_a_known_url_again_keeps_its_name(workdir: Path, server: FeedServer) -> None:
    url = server.url("/other")
    await newsbot(workdir, "feeds", "add", url, "--topic", "giao-thong", "--name", "Báo Khác")
    await newsbot(workdir, "feeds", "add", url, "--topic", "giao-thong")
    listed = await newsbot(workdir, "feeds", "list", "--json")
    assert {row["url"]: row["name"] for row in listed.json_lines()}[url] == "Báo Khác"


async def test_adding_a_private_url_warns_that_it_will_be_refused(workdir: Path) -> None:
    added = await newsbot(
        workdir, "feeds", "add", "http://127.0.0.1:9/rss", "--topic", "giao-thong",
        env={"NEWSBOT_ALLOW_PRIVATE_FEEDS": "0"},
    )  # fmt: skip
    assert added.code == 0
    assert "loopback or private address" in added.err
    assert "NEWSBOT_ALLOW_PRIVATE_FEEDS=1" in added.err


async def test_a_broken_feeds_toml_is_said_first(workdir: Path) -> None:
    (workdir / "feeds.toml").write_text("[[topics]\nslug = ", encoding="utf-8")
    listed = await newsbot(workdir, "feeds", "list")
    assert listed.err.startswith("newsbot: warning: ")
    assert "not synced" in listed.err.splitlines()[0]


async def test_stats_lists_destinations_with_last_post_and_pause(workdir: Path) -> None:
    await newsbot(workdir, "stats")  # creates the database
    async with await SqliteDatabase.open(workdir / "newsbot.db") as db:
        channel, _ = await db.destinations.add(
            DestinationSpec(-1001, "channel", "Kênh Giao thông", topics=("giao-thong",)),
            added_by=None,
            now=1_790_000_000,
        )
        await db.destinations.add(
            DestinationSpec(-1002, "supergroup", "Diễn đàn", thread_id=7), added_by=None, now=0
        )
        await db.destinations.pause(channel, "rights: not enough rights", now=1_790_000_100)

    text = await newsbot(workdir, "stats")
    as_json = await newsbot(workdir, "stats", "--json")

    assert text.code == 0, text.err
    assert "destinations 2" in text.out
    assert "#1 Kênh Giao thông [-1001] last post never, paused (rights: not enough rights)" in (
        text.out
    )
    assert "#2 Diễn đàn [-1002 topic 7] last post never, posting" in text.out
    destinations = as_json.json_lines()[0]["destinations"]
    assert isinstance(destinations, list)
    [first, second] = destinations
    assert (first["title"], first["pause_reason"], second["thread_id"]) == (
        "Kênh Giao thông",
        "rights: not enough rights",
        7,
    )
