"""A whole running bot for end-to-end tests.

A real python-telegram-bot `Application` long-polls the local Bot API
stand-in over loopback HTTP, on a real SQLite file, with feeds served by the
loopback `FeedServer`. Time is injected: `clock` (a ManualClock) drives the
poller, the sender and the handlers; `throttle_clock` drives the per-user
command throttle. Feeds are polled by hand (`await world.poll()`), never by a
background loop, so every test decides when articles arrive.

    async with open_world(tmp_path) as world:
        [welcome] = await world.say(42, "/start", expect=1)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.botapi_standin.params import JsonDict
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.poller import CycleReport, Poller
from bot.runtime.app import AnyApplication, build_application, running
from bot.runtime.background import Background
from bot.runtime.context import BotServices
from bot.runtime.feeds_config import DestinationConfig, FeedsConfig, load_feeds_config
from bot.runtime.settings import load_settings
from bot.runtime.throttle import CommandThrottle
from bot.runtime.updates import PerChatUpdateProcessor
from handlers.app import install as install_handlers
from storage.rows import FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer
from tests.support.rss import Item, rss

# Shaped like a real token (digits, colon, 35 characters), so both the exact-secret
# and the token-shape redaction of bot.runtime.logsafe are exercised.
TOKEN = "7350123456:AAFh3-tEstT0ken_NotReal_0123456789"
BOT_USERNAME = "tin_nhanh_test_bot"
FEEDS_TOML = Path(__file__).resolve().parents[2] / "feeds.toml"
# Each barrier is a fresh user, so the throttle never delays it.
_FIRST_BARRIER_USER = 900_000_000


class TickClock:
    """A monotonic clock moved by hand (the command throttle's clock)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class BotWorld:
    standin: BotApiStandIn
    db: SqliteDatabase
    services: BotServices
    poller: Poller
    feeds: FeedServer
    clock: ManualClock
    throttle_clock: TickClock
    app: AnyApplication
    _next_barrier_user: int = field(default=_FIRST_BARRIER_USER)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return self.standin.messages_to(chat_id)

    def current(self, chat_id: int, message_id: int) -> JsonDict:
        """The message as the user sees it now (after every edit)."""
        found = self.standin.message(chat_id, message_id)
        assert found is not None, f"no message {message_id} in chat {chat_id}"
        return found

    def buttons(self, chat_id: int, message_id: int) -> list[str]:
        """callback_data of the message's buttons as the user sees them now."""
        rows = self.current(chat_id, message_id).get("reply_markup", {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

    def visible(self, chat_id: int, message_id: int) -> str:
        """The message's text as the user reads it now (after every edit)."""
        versions = [m for m in self.sent_to(chat_id) if m.message_id == message_id]
        assert versions, f"no message {message_id} in chat {chat_id}"
        return versions[-1].visible_text

    def inject(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Lan",
    ) -> None:
        """A user writes, without waiting for the bot (and without pacing the throttle)."""
        self.standin.user_message(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            first_name=first_name,
        )

    async def say(
        self,
        chat_id: int,
        text: str,
        *,
        expect: int = 1,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Lan",
    ) -> list[SentMessage]:
        """A user writes at a human pace; returns what the bot put in the chat for it."""
        self.throttle_clock.advance(2.0)
        before = len(self.sent_to(chat_id))
        self.inject(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            first_name=first_name,
        )
        await self.standin.wait_for(lambda: len(self.sent_to(chat_id)) >= before + expect)
        await self.barrier()  # nothing more is on its way for this message
        return self.sent_to(chat_id)[before:]

    async def reply(self, chat_id: int, text: str, **kwargs: Any) -> SentMessage:
        """The one message the bot answers with."""
        answers = await self.say(chat_id, text, **kwargs)
        assert len(answers) == 1, [m.text for m in answers]
        return answers[0]

    async def press(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> JsonDict:
        """A user presses an inline button; returns the bot's answerCallbackQuery."""
        self.throttle_clock.advance(2.0)
        query_id = self.standin.press_button(chat_id, message_id, data, user_id=user_id)
        await self.standin.wait_for(lambda: self._answer(query_id) is not None)
        answer = self._answer(query_id)
        assert answer is not None
        return answer

    def _answer(self, query_id: str) -> JsonDict | None:
        for answer in self.standin.answered_callbacks:
            if answer.get("callback_query_id") == query_id:
                return answer
        return None

    async def barrier(self) -> None:
        """Return once every update injected so far has been handled.

        A fresh user's /help, injected last, is fetched after all the others,
        so once it is answered they are all being handled; then the
        application's update processor says when none is left.
        """
        self._next_barrier_user += 1
        user = self._next_barrier_user
        self.standin.user_message(user, "/help", language_code="en")
        await self.standin.wait_for(lambda: bool(self.sent_to(user)))
        processor = self.app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        async with asyncio.timeout(5):
            await processor.idle()

    async def add_feed(self, path: str, topics: Sequence[str], items: list[Item]) -> int:
        self.feeds.set_feed(path, rss(items))
        feed_id, _ = await self.db.feeds.add_feed(
            FeedSpec(self.feeds.url(path), f"Báo thử {path}", tuple(topics)),
            now=self.clock.ts,
        )
        return feed_id

    def set_items(self, path: str, items: list[Item]) -> None:
        self.feeds.set_feed(path, rss(items))

    async def outbox_settled(self, within: float = 5.0) -> None:
        """Wait until the sender has finished every row that is due (none pending or
        in flight). The sender's last step is a database write with no HTTP call to
        wait on, so this one wait polls the database — in a single query, so that a
        row moving from pending to sending between two reads cannot look settled."""
        async with asyncio.timeout(within):
            while True:
                async with self.db.sql.reader.execute(
                    """SELECT count(*) FROM outbox WHERE status = 'sending'
                       OR (status = 'pending' AND not_before <= ?)""",
                    (self.clock.ts,),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is not None and row[0] == 0:
                    return
                await asyncio.sleep(0.01)

    async def poll(self) -> CycleReport:
        """Poll every due feed now and wake the sender for what was queued."""
        report = await self.poller.poll_due()
        self.services.outbox_ready.set()
        return report


def fast_rate_limiter() -> TelegramRateLimiter:
    """The real limiter, with limits loose enough that a test never waits on them."""
    return TelegramRateLimiter(per_second=1_000.0, chat_interval=0.0, group_per_minute=10_000)


@asynccontextmanager
async def open_world(
    tmp_path: Path,
    *,
    rate_limiter: TelegramRateLimiter | None = None,
    env: Mapping[str, str] | None = None,
    destinations: tuple[DestinationConfig, ...] = (),
    prepare: Callable[[BotApiStandIn], None] | None = None,
) -> AsyncIterator[BotWorld]:
    """The bot running against the stand-in, with the project's real topics.

    env holds settings (ADMIN_IDS=…); destinations are feeds.toml's, synced when the
    bot starts; prepare scripts the stand-in (chats, usernames) before it does.
    """
    loaded = load_feeds_config(FEEDS_TOML)
    # The topics; feeds come from the loopback server.
    config = FeedsConfig(loaded.topics, (), destinations)
    settings = load_settings(dict(env or {}), env_file=None)
    clock = ManualClock()
    throttle_clock = TickClock()
    async with AsyncExitStack() as stack:
        db = await SqliteDatabase.open(tmp_path / "newsbot.db")
        stack.push_async_callback(db.close)
        await db.feeds.sync_topics(config.topics)
        feeds = await stack.enter_async_context(FeedServer())
        fetcher = await stack.enter_async_context(
            Fetcher(FetchLimits(allow_private=True, total_timeout=5.0))
        )
        poller = Poller(db, fetcher, matcher=config.matcher(), clock=clock)
        services = BotServices(
            settings=settings,
            db=db,
            config=config,
            clock=clock,
            throttle=CommandThrottle(clock=throttle_clock),
        )
        standin = await stack.enter_async_context(
            BotApiStandIn(token=TOKEN, bot_username=BOT_USERNAME)
        )
        if prepare is not None:
            prepare(standin)
        app = build_application(
            services,
            install_handlers=install_handlers,
            token=standin.token,
            api_base_url=standin.base_url.removesuffix("/bot"),
            # Digests and feed-health notices run once at start-up, then not again
            # during a test: a test decides when things happen.
            background=Background(poller=None, housekeeping_interval=3_600.0),
            rate_limiter=rate_limiter or fast_rate_limiter(),
        )
        await stack.enter_async_context(running(app))
        yield BotWorld(standin, db, services, poller, feeds, clock, throttle_clock, app)
