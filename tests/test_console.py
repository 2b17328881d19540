"""Console mode: the real bot against the local stand-in, the terminal as one reader's chat."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from bot.botapi_standin import parse_html
from bot.cli.console import (
    DEMO_UPDATE_DELAY,
    SAMPLE_FEED,
    SAMPLE_FEED_UPDATE,
    feed_dates,
    run_console,
    sample_feed,
    shift_feed_dates,
    terminal_text,
)
from bot.ingest.parse import parse_feed
from bot.runtime.settings import Settings, load_settings
from handlers.app import install as install_handlers

FEEDS_TOML = """
[[topics]]
slug = "thoi-su"
name_vi = "Thời sự"
name_en = "News"

[[topics]]
slug = "the-gioi"
name_vi = "Thế giới"
name_en = "World"

[[topics]]
slug = "kinh-te"
name_vi = "Kinh tế"
name_en = "Business"
keywords = ["lãi suất"]

[[feeds]]
url = "http://127.0.0.1:9/rss"
name = "Báo không tới được"
topics = ["thoi-su"]
"""

WAIT = 10.0  # an upper bound only: every wait returns as soon as its condition holds
STEP = 0.01


def start_console(
    settings: Settings,
    term: Terminal,
    *,
    stop: asyncio.Event | None = None,
    demo_update_delay: float = DEMO_UPDATE_DELAY,
) -> asyncio.Task[None]:
    """The console session with the terminal as its reader's chat, running."""
    return asyncio.create_task(
        run_console(
            settings,
            stop or asyncio.Event(),
            install_handlers=install_handlers,
            input_lines=term.lines(),
            output=term.out,
            demo_update_delay=demo_update_delay,
        )
    )


def _environment(tmp_path: Path) -> dict[str, str]:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(FEEDS_TOML, encoding="utf-8")
    return {
        "NEWSBOT_DB": str(tmp_path / "newsbot.db"),
        "NEWSBOT_FEEDS": str(feeds),
        # Port 9 on loopback refuses connections: a feed that can never be fetched.
        "NEWSBOT_ALLOW_PRIVATE_FEEDS": "1",
        "NEWSBOT_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(_environment(tmp_path), env_file=None)


class Terminal:
    """Typed lines in, printed text out, and bounded waits on what was printed."""

    def __init__(self) -> None:
        self.typed: asyncio.Queue[str | None] = asyncio.Queue()
        self.out = io.StringIO()
        self.seen = 0  # where the next `expect` starts looking

    async def lines(self) -> AsyncIterator[str]:
        while True:
            line = await self.typed.get()
            if line is None:
                return
            yield line

    def type(self, line: str) -> None:
        self.typed.put_nowait(line + "\n")

    def close(self) -> None:
        self.typed.put_nowait(None)

    @property
    def text(self) -> str:
        return self.out.getvalue()

    async def expect(
        self,
        *fragments: str,
        timeout: float = WAIT,  # noqa: ASYNC109 - a bound, not a sleep
        anywhere: bool = False,
    ) -> str:
        """Wait until every fragment has been printed since the last expect (or at all,
        with `anywhere`, for what is printed at its own pace); returns that text."""
        deadline = time.monotonic() + timeout
        start = 0 if anywhere else self.seen
        while True:
            part = self.text[start:]
            if all(f in part for f in fragments):
                if not anywhere:
                    self.seen += max(part.index(f) + len(f) for f in fragments)
                return part
            if time.monotonic() > deadline:
                missing = [f for f in fragments if f not in part]
                raise AssertionError(f"not printed within {timeout}s: {missing}\n---\n{part}")
            await asyncio.sleep(STEP)


async def _finished(task: asyncio.Task[None], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        await task


async def test_the_demo_run_twice_keeps_each_article_once(settings: Settings) -> None:
    # Each run serves the sample feed on a new port, so it is a new feed whose items
    # have the same links: the second run stores nothing again and searches list once.
    for run in (1, 2):
        term = Terminal()
        task = start_console(settings, term, demo_update_delay=0.05)
        try:
            await term.expect("Sẵn sàng")
            if run == 1:
                term.type("/start")
                await term.expect("[1] Thời sự")
                term.type("1")
                await term.expect("[1] ✅ Thời sự")
            term.type("/demo")
            await term.expect("Đã lưu 6 bài từ nguồn tin mẫu")
            news = await term.expect("Nguồn tin mẫu vừa có")
            assert ("vừa có 2 bài mới" in news) == (run == 1)
            term.type("/search ha noi")
            await term.expect("Kết quả cho ha noi (1–2)")
            term.type("/quit")
            await _finished(task)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_reader_chats_subscribes_searches_and_gets_demo_alerts(settings: Settings) -> None:
    term = Terminal()
    task = start_console(settings, term, demo_update_delay=0.05)
    try:
        await term.expect("chế độ console", "/search ha noi", "Ctrl-D", "/quit", "Sẵn sàng")

        term.type("/start")
        shown = await term.expect("Xin chào Bạn!", "[1] Thời sự", "[2] Thế giới", "[3] Kinh tế")
        assert "Bạn › /start" in shown

        term.type("#3")  # a button, by its number
        shown = await term.expect("(đã sửa)", "[3] ✅ Kinh tế")
        assert "[1] Thời sự" in shown and "✅ Thời sự" not in shown
        term.type("3")  # pressed again: unsubscribed
        shown = await term.expect("(đã sửa)", "[3] Kinh tế")
        assert "Bạn › [3] ✅ Kinh tế" in shown  # the echo names the button as it was
        assert "✅" not in shown.split("(đã sửa)", 1)[1]
        term.type("99")
        await term.expect("Không có nút số 99")

        term.type("/search ha noi")
        await term.expect("Mình chưa tìm thấy bài nào cho ha noi")

        # The only configured feed refuses connections: the console offers the sample feed.
        await term.expect(
            "Không tải được nguồn tin nào (1 nguồn; lỗi: connection ×1)",
            "Gõ /demo để dùng nguồn tin mẫu đi kèm",
            anywhere=True,
        )

        term.type("/demo")
        await term.expect("Đã lưu 6 bài từ nguồn tin mẫu")
        # The reader follows no topic of the sample feed yet, so the console says how.
        await term.expect("gõ /start và chọn một trong các chủ đề: Thời sự, Kinh tế")
        term.type("1")
        await term.expect("[1] ✅ Thời sự")

        # The sample feed publishes two new items; both reach the reader as pushed alerts.
        shown = await term.expect(
            "VN-Index vượt mốc 1.300 điểm nhờ nhóm cổ phiếu ngân hàng",
            "Hà Nội khai trương phố đi bộ quanh hồ Thiền Quang",
        )
        assert "📰 Tin mẫu newsbot" in shown
        assert "Đọc tiếp (https://example.vn/kinh-te/vn-index-vuot-moc-1300-diem)" in shown
        assert "<b>" not in shown and "&amp;" not in shown
        assert "\x1b[" not in shown  # no ANSI styles when the output is not a terminal

        term.type("/search ha noi")
        shown = await term.expect("Kết quả cho ha noi (1–2)")
        await term.expect("Hà Nội mở thêm ba tuyến xe buýt điện")

        term.type("/demo")
        await term.expect("Nguồn tin mẫu đang chạy rồi")

        term.type("/quit")
        await _finished(task)
        assert term.text.rstrip().endswith("Tạm biệt! (Bye.)")
        # Console commands never reach the bot (it would answer "unknown command").
        assert "Mình chưa hiểu lệnh này" not in term.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_end_of_input_ends_the_session_and_restores_logging(settings: Settings) -> None:
    term = Terminal()
    root = logging.getLogger()
    before = root.level
    task = start_console(settings, term)
    await term.expect("Sẵn sàng")
    assert root.level == logging.WARNING  # log lines stay out of the chat
    term.close()  # Ctrl-D
    await _finished(task)
    assert "Tạm biệt!" in term.text
    assert root.level == before


async def test_the_stop_event_ends_the_session(settings: Settings) -> None:
    term = Terminal()
    stop = asyncio.Event()
    task = start_console(settings, term, stop=stop)
    await term.expect("Sẵn sàng")
    term.type("/start")
    await term.expect("[1] Thời sự")
    stop.set()  # SIGINT, as `newsbot run` wires it
    await _finished(task)
    assert "Tạm biệt!" in term.text


async def _newsbot_run(tmp_path: Path, stdin: bytes | None) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    environ.update(_environment(tmp_path))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.main",
        "run",
        cwd=tmp_path,
        env=environ,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_newsbot_run_without_a_token_and_with_stdin_closed_exits_cleanly(
    tmp_path: Path,
) -> None:
    code, out, err = await _newsbot_run(tmp_path, None)
    assert code == 0, err
    assert "newsbot — chế độ console (console mode)" in out
    assert out.rstrip().endswith("Tạm biệt! (Bye.)")
    assert "Traceback" not in err


async def test_a_script_piped_into_newsbot_run_waits_for_each_answer(tmp_path: Path) -> None:
    code, out, err = await _newsbot_run(tmp_path, b"/start\n1\n/quit\n")
    assert code == 0, err
    assert "newsbot — chế độ console (console mode)" in out
    # Each line waits for the answer to the one before: the button exists when "1" comes.
    welcome = out.index("Xin chào Bạn!")
    pressed = out.index("Bạn › [1] Thời sự")
    edited = out.index("[1] ✅ Thời sự")
    assert welcome < pressed < edited < out.index("Bạn › /quit") < out.index("Tạm biệt!")
    assert "Traceback" not in err


# ---- rendering -----------------------------------------------------------------------------


def test_terminal_text_unescapes_shows_links_and_styles_only_for_terminals() -> None:
    visible, entities = parse_html(
        "😀 <b>Giá &amp; &lt;lãi suất&gt;</b>\n"
        '<i>Tin mẫu</i> · <a href="https://example.vn/a?x=1&amp;y=2">Đọc tiếp</a>\n'
        '<a href="https://example.vn/b">https://example.vn/b</a>'
    )
    plain = terminal_text(visible, entities, color=False)
    assert plain == (
        "😀 Giá & <lãi suất>\n"
        "Tin mẫu · Đọc tiếp (https://example.vn/a?x=1&y=2)\n"
        "https://example.vn/b"
    )
    styled = terminal_text(visible, entities, color=True)
    # The emoji counts two UTF-16 units: the bold starts right after it and the space.
    assert styled.startswith("😀 \x1b[1mGiá & <lãi suất>\x1b[22m\n\x1b[3mTin mẫu\x1b[23m")
    assert "Đọc tiếp (https://example.vn/a?x=1&y=2)" in styled


def test_nested_styles_close_inside_out_and_the_url_follows_the_link() -> None:
    visible, entities = parse_html('<b><a href="https://example.vn/c">Tiêu đề</a></b> tiếp')
    assert terminal_text(visible, entities) == "Tiêu đề (https://example.vn/c) tiếp"
    assert (
        terminal_text(visible, entities, color=True)
        == "\x1b[1mTiêu đề\x1b[22m (https://example.vn/c) tiếp"
    )


# ---- the bundled sample feed -------------------------------------------------------------------


def test_the_sample_feed_is_bundled_and_its_update_adds_two_items() -> None:
    first = parse_feed(sample_feed(SAMPLE_FEED), headers={}, base_url=None)
    update = parse_feed(sample_feed(SAMPLE_FEED_UPDATE), headers={}, base_url=None)
    assert 5 <= len(first.entries) <= 8
    old_keys = {e.item_key for e in first.entries}
    new = [e for e in update.entries if e.item_key not in old_keys]
    assert len(new) == 2 and old_keys <= {e.item_key for e in update.entries}
    assert min(e.published_at for e in new) > max(e.published_at for e in first.entries)
    for entry in update.entries:
        assert entry.url.startswith("https://example.vn/")
        assert entry.title and entry.summary


def test_shifting_the_dates_keeps_their_spacing_and_zone() -> None:
    document = sample_feed(SAMPLE_FEED_UPDATE)
    dates = feed_dates(document)
    target = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    shifted = shift_feed_dates(document, target - max(dates))
    moved = feed_dates(shifted)
    assert max(moved) == target
    assert [b - a for a, b in pairwise(dates)] == [b - a for a, b in pairwise(moved)]
    assert all(d.utcoffset() == timedelta(hours=7) for d in moved)
    assert b"+0700</pubDate>" in shifted


async def test_the_person_at_the_terminal_is_an_admin(settings: Settings) -> None:
    term = Terminal()
    task = start_console(settings, term)
    await term.expect("Sẵn sàng")
    term.type("/stats")
    await term.expect("Thống kê")
    assert "chỉ dành cho quản trị viên" not in term.text
    term.close()
    await _finished(task)
