"""Console mode: `newsbot run` without a token, so a newcomer sees the bot work with
no Telegram account and no network.

The real bot (handlers, poller, sender, database) runs unchanged against the
local Bot API stand-in (`bot.botapi_standin`), all on one event loop. The
terminal is the private chat of one reader: each line typed is that reader's
message, every message the bot puts in the chat is printed as readable text,
and inline buttons are pressed by typing their number. Two commands belong to
the console and never reach the bot: /demo (serve the bundled sample feed and
watch alerts arrive) and /quit.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import dataclasses
import logging
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

from aiohttp import web

from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.ingest.poller import FeedPollReport, Poller
from bot.runtime.app import AnyApplication, HandlerInstaller
from bot.runtime.context import BOT_DATA_KEY, BotServices
from bot.runtime.database import opened_database
from bot.runtime.runner import bot_running
from bot.runtime.settings import Settings
from storage.rows import FeedRow, FeedSpec

log = logging.getLogger(__name__)

CHAT_ID = 1
READER_NAME = "Bạn"
DEMO_PATH = "/newsbot-demo/sample.rss"
DEMO_FEED_NAME = "Tin mẫu newsbot"
DEMO_TOPICS = ("thoi-su", "kinh-te")
DEMO_UPDATE_DELAY = 5.0
SAMPLE_FEED = "sample_feed.xml"
SAMPLE_FEED_UPDATE = "sample_feed_update.xml"
WIDTH = 56
QUIT_COMMANDS = frozenset({"/quit", "/exit"})
# How often console-side waits look at the database (feed health, subscriptions).
CHECK_EVERY = 0.2
# Piped input: how long to wait for the bot to start answering a line, and the quiet
# that says it is done.
SETTLE_LIMIT = 10.0
SETTLE_QUIET = 1.5

_BUTTON_NUMBER = re.compile(r"#?(\d{1,3})")
_FEED_DATE = re.compile(rb"<(pubDate|lastBuildDate)>([^<]+)</(?:pubDate|lastBuildDate)>")
_VN_TIME = timezone(timedelta(hours=7))

BANNER = """\
════════════════════════════════════════════════════════
 newsbot — chế độ console (console mode)
════════════════════════════════════════════════════════
Không cần tài khoản Telegram: cửa sổ này là khung chat với bot.
(No Telegram account needed: this terminal is your chat with the bot.)

  • Gõ lệnh như trên Telegram: /start, /search ha noi, /help
    (type commands as you would in Telegram)
  • Gõ số để bấm nút: 1 hoặc #1
    (type a number to press a button)
  • /demo — dùng nguồn tin mẫu đi kèm, không cần mạng
    (use the bundled sample feed, no network needed)
  • Ctrl-D hoặc /quit để thoát (Ctrl-D or /quit to exit)
"""

# ANSI styles for entity types, used only when stdout is a terminal.
_STYLES = {
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "underline": ("\x1b[4m", "\x1b[24m"),
    "strikethrough": ("\x1b[9m", "\x1b[29m"),
}


async def run_console(
    settings: Settings,
    stop: asyncio.Event,
    *,
    install_handlers: HandlerInstaller,
    input_lines: AsyncIterator[str] | None = None,
    output: TextIO | None = None,
    demo_update_delay: float = DEMO_UPDATE_DELAY,
) -> None:
    """The bot against the local stand-in, with the terminal as one reader's chat.

    Ends on end of input (Ctrl-D), on /quit, or when `stop` is set. `input_lines`
    and `output` replace stdin and stdout (tests); `demo_update_delay` is how long
    /demo waits before its sample feed publishes new items.
    """
    out = output if output is not None else sys.stdout
    lines = input_lines if input_lines is not None else stdin_lines()
    # Lines typed in a terminal are already on screen; piped or injected ones are not.
    echo = input_lines is not None or not _isatty(sys.stdin)
    # A script piped into stdin arrives all at once: take each line only once the bot
    # has answered the one before, as a person reading the chat would.
    paced = input_lines is None and not _isatty(sys.stdin)
    root = logging.getLogger()
    previous_level = root.level
    if settings.log_level != "DEBUG":
        root.setLevel(logging.WARNING)  # log lines would drown the chat
    try:
        session = ConsoleSession(
            settings,
            out,
            install_handlers=install_handlers,
            # https://no-color.org: styles only on a terminal that wants them.
            color=_isatty(out) and not os.environ.get("NO_COLOR"),
            echo=echo,
            paced=paced,
            demo_update_delay=demo_update_delay,
        )
        await session.run(lines, stop)
    finally:
        root.setLevel(previous_level)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


# ---- reading the terminal ------------------------------------------------------------------


async def stdin_lines(fd: int = 0) -> AsyncIterator[str]:
    """Lines from a file descriptor, read by a daemon thread so the loop never blocks.

    The thread uses os.read rather than sys.stdin: a daemon thread still blocked in
    the buffered reader at exit (Ctrl-C while waiting for input) would hold its lock
    while the interpreter shuts down.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(item: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    def pump() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        try:
            while True:
                try:
                    chunk = os.read(fd, 4096)
                except InterruptedError:
                    continue
                except OSError:
                    chunk = b""  # stdin closed or unreadable: the same as end of input
                if not chunk:
                    break
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for line in complete:
                    if not put(line):
                        return
            pending += decoder.decode(b"", final=True)
            if pending and not put(pending):
                return
        finally:
            put(None)

    threading.Thread(target=pump, name="newsbot-console-stdin", daemon=True).start()
    while True:
        line = await queue.get()
        if line is None:
            return
        yield line


# ---- Telegram HTML to terminal text -----------------------------------------------------------


def _utf16_index(text: str) -> list[int]:
    """For each UTF-16 offset into text (and its end), the index of the character there."""
    index: list[int] = []
    for i, char in enumerate(text):
        index.append(i)
        if ord(char) > 0xFFFF:
            index.append(i)
    index.append(len(text))
    return index


def terminal_text(
    visible: str, entities: Sequence[Mapping[str, Any]] = (), *, color: bool = False
) -> str:
    """A message as a terminal shows it: the text Telegram displays (entities already
    unescaped), links as "text (url)", and bold/italic as ANSI styles when `color`."""
    index = _utf16_index(visible)
    last = len(index) - 1
    # (position, rank, order, text): at one position closing styles come first, then a
    # link's URL, then opening styles; inner styles close before outer ones.
    inserts: list[tuple[int, int, int, str]] = []
    for order, entity in enumerate(entities):
        try:
            start = index[min(max(int(entity["offset"]), 0), last)]
            end = index[min(max(int(entity["offset"]) + int(entity["length"]), 0), last)]
        except (KeyError, TypeError, ValueError):
            continue
        kind = entity.get("type")
        if kind == "text_link":
            url = str(entity.get("url", ""))
            if url and url != visible[start:end]:
                inserts.append((end, 1, -order, f" ({url})"))
        elif color and kind in _STYLES:
            opening, closing = _STYLES[str(kind)]
            inserts.append((start, 2, order, opening))
            inserts.append((end, 0, -order, closing))
    pieces: list[str] = []
    cursor = 0
    for position, _rank, _order, text in sorted(inserts):
        pieces.append(visible[cursor:position])
        pieces.append(text)
        cursor = position
    pieces.append(visible[cursor:])
    return "".join(pieces)


def _button_rows(markup: Mapping[str, Any] | None) -> list[list[Mapping[str, Any]]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [
        [button for button in row if isinstance(button, Mapping)]
        for row in rows
        if isinstance(row, list)
    ]


# ---- the bundled sample feed ---------------------------------------------------------------


def sample_feed(name: str) -> bytes:
    """One of the bundled sample feed documents (bot/data/)."""
    return resources.files("bot").joinpath("data", name).read_bytes()


def feed_dates(document: bytes) -> list[datetime]:
    dates = []
    for match in _FEED_DATE.finditer(document):
        with contextlib.suppress(TypeError, ValueError):
            dates.append(parsedate_to_datetime(match.group(2).decode("ascii", "replace")))
    return dates


def shift_feed_dates(document: bytes, delta: timedelta) -> bytes:
    """The document with every pubDate and lastBuildDate moved by `delta` (+0700 kept).

    The sample items keep their spacing but are dated just now: the poller alerts
    no one about items published days before they are first seen.
    """

    def moved(match: re.Match[bytes]) -> bytes:
        tag = match.group(1)
        try:
            when = parsedate_to_datetime(match.group(2).decode("ascii", "replace"))
        except (TypeError, ValueError):
            return match.group(0)
        text = format_datetime((when + delta).astimezone(_VN_TIME)).encode("ascii")
        return b"<" + tag + b">" + text + b"</" + tag + b">"

    return _FEED_DATE.sub(moved, document)


class SampleFeedServer:
    """The sample feed on 127.0.0.1 (a random port); `publish` swaps the document."""

    def __init__(self, document: bytes) -> None:
        self.document = document
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(DEMO_PATH, self._serve)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address: Any = runner.addresses[0]
        self.url = f"http://127.0.0.1:{int(address[1])}{DEMO_PATH}"

    def publish(self, document: bytes) -> None:
        self.document = document

    async def _serve(self, request: web.Request) -> web.Response:
        return web.Response(body=self.document, content_type="application/rss+xml", charset="utf-8")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _is_demo_feed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname == "127.0.0.1" and parts.path == DEMO_PATH


async def retire_demo_feeds(settings: Settings) -> None:
    """Disable sample feeds a previous console session left behind (its port is gone)."""
    async with opened_database(settings) as db:
        for feed in await db.feeds.list_feeds(include_disabled=False):
            if _is_demo_feed(feed.url):
                await db.feeds.disable_feed(str(feed.id))


# ---- the session ----------------------------------------------------------------------------


class ConsoleSession:
    """One console run: the stand-in, the bot, the terminal chat and the /demo feed."""

    def __init__(
        self,
        settings: Settings,
        out: TextIO,
        *,
        install_handlers: HandlerInstaller,
        color: bool = False,
        echo: bool = True,
        paced: bool = False,
        demo_update_delay: float = DEMO_UPDATE_DELAY,
    ) -> None:
        # Console mode is a local demo: the sample feed /demo serves lives on
        # 127.0.0.1, which the fetcher refuses unless private addresses are allowed.
        # The fetcher's guard is fixed when the service starts, so it is lifted for
        # the whole console session. Only feeds.toml and operator commands add feeds;
        # the reader at the terminal cannot point the bot anywhere.
        # The person at the terminal runs this bot: they are its admin too, so /stats,
        # /broadcast and /export can be tried without an ADMIN_IDS setting.
        self.settings = dataclasses.replace(
            settings, allow_private_feeds=True, admin_ids=settings.admin_ids | {CHAT_ID}
        )
        self.out = out
        self.install_handlers = install_handlers
        self.color = color
        self.echo = echo
        self.paced = paced
        self.demo_update_delay = demo_update_delay
        self.standin = BotApiStandIn()
        self.application: AnyApplication | None = None
        # The reader at the terminal speaks the bot's default language (Vietnamese
        # unless NEWSBOT_LANGUAGE says otherwise), and so do the console's marks.
        self.language = settings.default_language
        self.edited_mark = "(đã sửa)" if self.language == "vi" else "(edited)"
        # The buttons of the most recently printed keyboard: (message_id, data, label).
        self.buttons: list[tuple[int, str, str]] = []
        self.buttons_message: int | None = None
        self.demo: SampleFeedServer | None = None
        self.demo_feed_id: int | None = None
        self.demo_requested = False
        # Set once /demo has nothing more to do for now (done, failed, or waiting for
        # the reader to subscribe).
        self.demo_settled = asyncio.Event()
        self._quit = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- output ----------------------------------------------------------------------

    def write(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except (OSError, ValueError):
            self._quit.set()  # nobody can read us any more (a closed pipe)

    def note(self, text: str) -> None:
        """A line from the console itself, not from the bot."""
        self.write("» " + text.replace("\n", "\n  "))

    def show(self, message: SentMessage) -> None:
        """Print a message the bot put in the reader's chat (a stand-in on_sent listener)."""
        if message.chat_id != CHAT_ID:
            return
        stamp = datetime.now(self.settings.timezone).strftime("%H:%M")
        bot_name = str(self.standin.bot_user.get("first_name") or "Bot")
        head = f"─── {bot_name} · {stamp}" + (f" {self.edited_mark}" if message.edited else "")
        lines = [f"{head} {'─' * max(3, WIDTH - len(head) - 1)}"]
        if message.photo is not None:
            photo = message.photo if isinstance(message.photo, str) else "…"
            lines.append(f"🖼  {photo}")
        text = terminal_text(message.visible_text, message.entities, color=self.color)
        if text:
            lines.append(text)
        lines.extend(self._keyboard(message))
        self.write("\n".join(lines))

    def _keyboard(self, message: SentMessage) -> list[str]:
        rows = _button_rows(message.reply_markup)
        if not rows:
            if message.message_id == self.buttons_message:
                self.buttons, self.buttons_message = [], None  # its buttons are gone
            return []
        self.buttons, self.buttons_message = [], message.message_id
        lines = []
        for row in rows:
            cells = []
            for button in row:
                label = str(button.get("text", ""))
                if "callback_data" in button:
                    data = str(button["callback_data"])
                    self.buttons.append((message.message_id, data, label))
                    cells.append(f"[{len(self.buttons)}] {label}")
                elif button.get("url"):
                    cells.append(f"{label} ({button['url']})")
                else:
                    cells.append(label)
            lines.append("  ".join(cells))
        return lines

    # ---- running ---------------------------------------------------------------------------

    async def run(self, lines: AsyncIterator[str], stop: asyncio.Event) -> None:
        self.write(BANNER)
        self.note("Đang khởi động… (starting)")
        await retire_demo_feeds(self.settings)
        await self.standin.start()
        self.standin.on_sent.append(self.show)
        try:
            root_url = self.standin.base_url.removesuffix("/bot")
            async with bot_running(
                self.settings,
                token=self.standin.token,
                api_base_url=root_url,
                install_handlers=self.install_handlers,
            ) as application:
                self.application = application
                await self._converse(lines, stop)
        finally:
            with contextlib.suppress(ValueError):
                self.standin.on_sent.remove(self.show)
            await self.standin.stop()
        self.note("Tạm biệt! (Bye.)")

    async def _converse(self, lines: AsyncIterator[str], stop: asyncio.Event) -> None:
        self.note("Sẵn sàng — gõ /start để bắt đầu. (Ready — type /start to begin.)")
        self.spawn(self._watch_feeds())
        reading = asyncio.create_task(self._read(lines))
        stopping = asyncio.create_task(stop.wait())
        quitting = asyncio.create_task(self._quit.wait())
        try:
            await asyncio.wait({reading, stopping, quitting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pending = [reading, stopping, quitting, *self._tasks]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if not reading.cancelled() and reading.exception() is not None:
                log.error("console input failed", exc_info=reading.exception())
            await self._close_demo()

    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, lines: AsyncIterator[str]) -> None:
        async for raw in lines:
            line = raw.strip()
            if not line:
                continue
            try:
                outcome = self.handle(line)
            except Exception as exc:  # one bad line must not end the session
                log.exception("console: could not handle %r", line)
                self.note(f"Không gửi được dòng này ({exc!r}). (Could not send that line.)")
                continue
            if outcome == "quit":
                return
            if self.paced:
                await self._settle(expect_answer=outcome == "bot")

    def handle(self, line: str) -> Literal["quit", "bot", "console"]:
        """Act on one typed line: "quit", "bot" (the bot will answer) or "console"
        (the console answered itself)."""
        command = line.split(maxsplit=1)[0].lower()
        number = _BUTTON_NUMBER.fullmatch(line)
        if self.echo and number is None:
            self.write(f"{READER_NAME} › {line}")
        if command in QUIT_COMMANDS:
            return "quit"
        if number is not None:
            return "bot" if self.press(int(number.group(1))) else "console"
        if command == "/demo":
            self.start_demo()
            return "console"
        self.standin.user_message(
            CHAT_ID, line, first_name=READER_NAME, language_code=self.language
        )
        return "bot"

    def press(self, number: int) -> bool:
        """Press button `number` of the last keyboard; False when there is no such button."""
        if not 1 <= number <= len(self.buttons):
            if self.echo:
                self.write(f"{READER_NAME} › {number}")
            self.note(
                f"Không có nút số {number}. (There is no button {number}.)"
                if self.buttons
                else "Chưa có nút nào để bấm. (No buttons to press yet.)"
            )
            return False
        message_id, data, label = self.buttons[number - 1]
        if self.echo:
            self.write(f"{READER_NAME} › [{number}] {label}")
        try:
            query_id = self.standin.press_button(CHAT_ID, message_id, data)
        except ValueError:
            self.note("Nút này không còn nữa. (That button is gone.)")
            return False
        self.spawn(self._show_answer(query_id))
        return True

    def _activity(self) -> int:
        return len(self.standin.sent) + len(self.standin.answered_callbacks)

    def _changed_since(self, count: int) -> Callable[[], bool]:
        return lambda: self._activity() != count

    def _demo_busy(self) -> bool:
        return self.demo_requested and not self.demo_settled.is_set()

    async def _settle(self, *, expect_answer: bool) -> None:
        """Wait for the bot to answer: something happens, then a moment of quiet (a
        second reply to one chat comes a second after the first, as on Telegram).
        While /demo is fetching and publishing, wait for it too."""
        before = self._activity()  # no await since the line was handled: nothing yet
        if not self._demo_busy():
            if not expect_answer:
                return
            try:
                await self.standin.wait_for(self._changed_since(before), SETTLE_LIMIT)
            except TimeoutError:
                return
        deadline = time.monotonic() + self.demo_update_delay + 3 * SETTLE_LIMIT
        while time.monotonic() < deadline:
            if self._demo_busy():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                        await self.demo_settled.wait()
            seen = self._activity()
            try:
                await self.standin.wait_for(self._changed_since(seen), SETTLE_QUIET)
            except TimeoutError:
                if not self._demo_busy():
                    return

    async def _show_answer(self, query_id: str) -> None:
        """The small notice Telegram shows when the bot answers a button press."""

        def answer() -> dict[str, Any] | None:
            for found in self.standin.answered_callbacks:
                if str(found.get("callback_query_id")) == query_id:
                    return found
            return None

        try:
            await self.standin.wait_for(lambda: answer() is not None, timeout=30.0)
        except TimeoutError:
            return
        found = answer()
        text = str(found.get("text") or "") if found else ""
        if text:
            self.write(f"  ⓘ {text}")

    # ---- services of the running bot -----------------------------------------------------

    def _services(self) -> BotServices:
        assert self.application is not None
        services: BotServices = self.application.bot_data[BOT_DATA_KEY]
        return services

    def _poller(self) -> Poller | None:
        assert self.application is not None
        poller = getattr(self.application.bot_data.get("background"), "poller", None)
        return poller if isinstance(poller, Poller) else None

    # ---- feed health -------------------------------------------------------------------------

    async def _watch_feeds(self) -> None:
        """Tell the operator when no configured feed can be fetched, and offer /demo."""
        db = self._services().db
        while not self.demo_requested:
            feeds = [
                f
                for f in await db.feeds.list_feeds(include_disabled=False)
                if not _is_demo_feed(f.url)
            ]
            if any(f.last_success_at is not None for f in feeds):
                return  # at least one feed works: real news will come
            if all(f.failures > 0 for f in feeds):
                if not self.demo_requested:
                    self.note(_unreachable_notice(feeds))
                return
            await asyncio.sleep(CHECK_EVERY)

    # ---- /demo -----------------------------------------------------------------------------------

    def start_demo(self) -> None:
        if self.demo_requested:
            self.note("Nguồn tin mẫu đang chạy rồi. (The sample feed is already running.)")
            return
        self.demo_requested = True
        self.spawn(self._run_demo())

    async def _run_demo(self) -> None:
        try:
            await self._demo_steps()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("console /demo failed")
            self.note(f"Không chạy được nguồn tin mẫu: {exc!r} (the sample feed failed)")
        finally:
            self.demo_settled.set()

    async def _demo_steps(self) -> None:
        services = self._services()
        db = services.db
        poller = self._poller()
        if poller is None:
            self.note("Bộ lấy tin không chạy. (The poller is not running.)")
            return
        topics = await db.feeds.list_topics()
        names = {t.slug: t.name_vi for t in topics}
        chosen = [slug for slug in DEMO_TOPICS if slug in names]
        chosen += [t.slug for t in topics if t.slug not in chosen][: max(0, 2 - len(chosen))]
        if not chosen:
            self.note("feeds.toml chưa có chủ đề nào. (feeds.toml has no topics.)")
            return
        topic_names = ", ".join(names[slug] for slug in chosen)

        first, update = sample_feed(SAMPLE_FEED), sample_feed(SAMPLE_FEED_UPDATE)
        newest = max(feed_dates(update), default=None)
        delta = datetime.now(UTC) - timedelta(minutes=1) - newest if newest else timedelta()
        self.demo = SampleFeedServer(shift_feed_dates(first, delta))
        await self.demo.start()
        now = int(time.time())
        self.demo_feed_id, _ = await db.feeds.add_feed(
            FeedSpec(self.demo.url, DEMO_FEED_NAME, tuple(chosen)), now=now
        )
        self.note(
            f"Nguồn tin mẫu chạy tại {self.demo.url} (chủ đề: {topic_names}). Đang tải…\n"
            f"(The sample feed is served at that address; fetching it now…)"
        )
        report = await self._poll_demo(poller)
        if report is None:
            return
        # A second demo run finds the articles of the first: each is kept once.
        stored = report.new_articles + report.merged_articles
        self.note(
            f"Đã lưu {stored} bài từ nguồn tin mẫu. Lần tải đầu tiên không gửi "
            "cho ai — nguồn mới không làm phiền người đọc. Thử /search ha noi hoặc /latest.\n"
            f"(Stored {stored} sample articles. A feed's first fetch alerts no "
            "one; try /search ha noi or /latest.)"
        )
        await self._wait_for_reader(chosen, topic_names)
        self.demo_settled.clear()
        wait = max(self.demo_update_delay, 0.0)
        self.note(
            f"Nguồn tin mẫu sẽ đăng 2 bài mới sau khoảng {wait:g} giây…\n"
            f"(The sample feed publishes 2 new items in about {wait:g} s…)"
        )
        await asyncio.sleep(wait)
        self.demo.publish(shift_feed_dates(update, delta))
        report = await self._poll_demo(poller)
        if report is None:
            return
        services.outbox_ready.set()  # wake the sender now rather than at its next pass
        self.note(
            f"Nguồn tin mẫu vừa có {report.new_articles} bài mới; bot gửi "
            f"{report.alerts_queued} tin cho người theo dõi.\n"
            f"({report.new_articles} new sample items; {report.alerts_queued} alerts queued.)"
        )

    async def _poll_demo(self, poller: Poller) -> FeedPollReport | None:
        assert self.demo_feed_id is not None
        feed = await self._services().db.feeds.get_feed(self.demo_feed_id)
        assert feed is not None
        cycle = await poller.poll_feeds([feed])
        report = cycle.feeds[0] if cycle.feeds else None
        if report is None or report.outcome in ("failed", "error"):
            detail = f"{report.error_kind}: {report.error}" if report else "no report"
            self.note(f"Không tải được nguồn tin mẫu ({detail}). (The sample feed failed.)")
            return None
        return report

    async def _wait_for_reader(self, topics: list[str], topic_names: str) -> None:
        """Wait until the reader follows a topic of the sample feed, with a hint once."""
        db = self._services().db
        hinted = False
        while not set(await db.subscribers.topic_subscriptions(CHAT_ID)) & set(topics):
            if not hinted:
                self.demo_settled.set()  # a script may subscribe next
                self.note(
                    f"Để nhận tin mới, gõ /start và chọn một trong các chủ đề: {topic_names}.\n"
                    "(To receive the new items, type /start and pick one of these topics.)"
                )
                hinted = True
            await asyncio.sleep(CHECK_EVERY)

    async def _close_demo(self) -> None:
        demo, self.demo = self.demo, None
        if demo is not None:
            await demo.stop()
        if self.demo_feed_id is not None and self.application is not None:
            # The next run serves the sample on another port; this address is dead.
            try:
                await self._services().db.feeds.disable_feed(str(self.demo_feed_id))
            except Exception:
                log.warning("could not disable the sample feed", exc_info=True)


def _unreachable_notice(feeds: Sequence[FeedRow]) -> str:
    if not feeds:
        return (
            "Chưa có nguồn tin nào trong feeds.toml. Gõ /demo để dùng nguồn tin mẫu đi kèm.\n"
            "(No feeds are configured. Type /demo to use the bundled sample feed.)"
        )
    causes = Counter(f.last_error_kind or "?" for f in feeds)
    summary = ", ".join(f"{kind} ×{count}" for kind, count in causes.most_common())
    return (
        f"Không tải được nguồn tin nào ({len(feeds)} nguồn; lỗi: {summary}) — máy không có "
        "mạng, hoặc các trang báo từ chối. Gõ /demo để dùng nguồn tin mẫu đi kèm.\n"
        "(None of the configured feeds could be fetched. Type /demo to use the bundled "
        "sample feed.)"
    )
