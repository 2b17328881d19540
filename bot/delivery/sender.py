"""The sender: the one way out for everything queued in the outbox, and the only
code that knows Telegram's error codes.

Each row is claimed ('sending') before the network call, then ends as sent,
failed with its reason, dropped (the chat left), or back in the queue with a
later not_before. Policies, per Telegram's answer:

- 429 RetryAfter: the shared rate limiter pauses everyone; the row waits retry_after.
- Forbidden (blocked, kicked, user deactivated) and "chat not found": the
  reader is deactivated, their pending rows dropped, this row failed.
- ChatMigrated (group → supergroup): the reader and the queue move to the new
  id; the row is sent again there.
- "can't parse entities": sent again at once as plain text.
- "message is too long": sent again at once, shortened.
- 5xx: retried with backoff; after max_attempts the row fails with "gave
  up after N tries".
- No connection at all (the Bot API is down): an outage. The row waits without
  using up a try; the sender probes with one message, 1 s doubling to a
  minute apart, and resumes at full speed once one goes through.
- TimedOut after the request left: Telegram may have delivered it. We retry
  (at-least-once): a rare duplicate beats a silent loss (ARCHITECTURE rule 6).

A row with edits_message_id is a correction of an alert already sent: the
article is rendered again and the message edited (editMessageText), never sent
anew, and without waiting for quiet hours (an edit makes no sound). "message
is not modified" means it already reads so (sent); "message to edit not found"
or "can't be edited" (deleted by the reader, too old) ends it as rejected.
Several processes may send from one database: each claims rows under its own
holder name and renews the claims while it works, so a process that dies
leaves its rows in flight to whoever claims after the claims expire (at
once, for a dead process on this machine), and never takes a live one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from math import ceil
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.clock import Clock, sleep_or_stop, utc_now
from bot.delivery.alert_buttons import alert_buttons
from bot.delivery.claim_book import ClaimBook
from bot.delivery.posts import (
    POST_LANGUAGE,
    Post,
    payload_post,
    queue_pause_notice,
    render_post,
)
from bot.delivery.ratelimit import TelegramRateLimiter, retry_after_seconds
from bot.delivery.render import MESSAGE_LIMIT, render_article, truncate_utf16, view_of
from bot.delivery.telegram_bot import NewsBot
from bot.delivery.telegram_http import BotApiUnreachable
from bot.holders import holder_is_dead, holder_name
from bot.readers.quiet_hours import alert_is_silent, quiet_until
from bot.readers.service import topic_name
from bot.text.htmltext import telegram_html_to_text
from storage import Database
from storage.rows import (
    CLAIM_TTL,
    ArticleRow,
    DestinationRow,
    FailureKind,
    OutboxRow,
    Priority,
    SubscriberRow,
)

log = logging.getLogger(__name__)

# The longest a post may hold a sender worker waiting for its chat's turn (seconds).
POST_HOLD = 1.0
_CHAT_GONE = ("chat not found", "user is deactivated", "bot was kicked", "have no rights to send")
# A destination's post: what Telegram says when it cannot use the photo (the post goes
# as text), when the bot may no longer post in the chat (every route there pauses),
# and when a forum topic is closed or gone (that route alone pauses).
_PHOTO_REFUSED = (
    "wrong file identifier",
    "failed to get http url content",
    "wrong type of the web page content",
    "too big",
    "image_process_failed",
    "photo_invalid_dimensions",
    "photo_save_file_invalid",
    "not enough rights to send photos",
)
_NO_RIGHTS = (
    "not enough rights",
    "need administrator rights",
    "have no rights to send",
    "chat_write_forbidden",
    "chat_admin_required",
)
_TOPIC_GONE = {
    "topic_closed": "topic_closed",
    "topic_deleted": "topic_deleted",
    "message thread not found": "topic_deleted",
}
_EDIT_GONE = ("message to edit not found", "message can't be edited")


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    parse_mode: str | None
    reply_markup: InlineKeyboardMarkup | None
    preview_url: str | None
    silent: bool = False  # sent with disable_notification: no sound
    # The buttons and the preview options as the Bot API reads them (JSON text),
    # made once: a rendered alert goes to every reader of its language, and
    # python-telegram-bot would otherwise serialize both objects for each send.
    markup_json: str | None = field(init=False, compare=False, repr=False)
    preview_json: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        markup = self.reply_markup.to_json() if self.reply_markup is not None else None
        object.__setattr__(self, "markup_json", markup)
        object.__setattr__(self, "preview_json", preview_options(self.preview_url).to_json())


def preview_options(url: str | None) -> LinkPreviewOptions:
    """A large preview of url, or none at all."""
    if url:
        return LinkPreviewOptions(url=url, prefer_large_media=True)
    return LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class _Batch:
    readers: dict[int, SubscriberRow]
    articles: dict[int, ArticleRow]
    names: dict[str, dict[str, str]]


class _SentLog:
    """Marks delivered rows sent, many per transaction (a group commit).

    One write at a time: rows delivered while a write is under way wait for
    the next one, which takes them all. Each worker waits until its row is
    written before it takes another, so at most `concurrency` delivered rows
    are ever unwritten: the same bound on repeats after a crash as writing one
    row at a time, for a fraction of the transactions.

    At more than 40 messages a second a write also waits up to `linger()`
    seconds for `enough` rows: a process sending a quarter of the rate (one of
    four) would otherwise write a row or two at a time, and each write costs
    it more CPU than a send. At Telegram's 30/s linger() is 0: nothing waits.
    """

    def __init__(
        self,
        db: Database,
        now: Callable[[], int],
        *,
        enough: int = 16,
        linger: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._db = db
        self._now = now
        self._enough = enough
        self._linger = linger
        self._pending: list[tuple[int, int | None]] = []
        self._next: asyncio.Future[None] | None = None  # done when _pending is written
        self._filled: asyncio.Future[None] | None = None  # done when enough rows wait
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row_id: int, message_id: int | None) -> None:
        loop = asyncio.get_running_loop()
        self._pending.append((row_id, message_id))
        if self._next is None:
            self._next = loop.create_future()
        written = self._next
        filled = self._filled
        if filled is not None and len(self._pending) >= self._enough and not filled.done():
            filled.set_result(None)
        if self._writer is None:
            self._writer = loop.create_task(self._write_all())
        await asyncio.shield(written)

    async def _write(self, batch: list[tuple[int, int | None]]) -> None:
        """Once more after a failure (a deadlock, a dropped connection): a delivered row
        whose mark is lost would be sent again."""
        try:
            await self._db.outbox.mark_sent_many(batch, now=self._now())
        except Exception:
            log.warning("marking sent failed; trying once more", exc_info=True)
            await self._db.outbox.mark_sent_many(batch, now=self._now())

    async def _gather(self) -> None:
        """Until enough rows wait or the linger is over, whichever comes first."""
        linger = self._linger()
        if linger <= 0 or len(self._pending) >= self._enough:
            return
        loop = asyncio.get_running_loop()
        filled = self._filled = loop.create_future()
        timer = loop.call_later(linger, _settle, filled)
        try:
            await filled
        finally:
            timer.cancel()
            self._filled = None

    async def _write_all(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # let the other workers' deliveries join this write
                await self._gather()
                batch, written = self._pending, self._next
                self._pending, self._next = [], None
                assert written is not None
                try:
                    await self._write(batch)
                except Exception as exc:
                    # Those rows stay 'sending' (re-sent after a restart); the
                    # workers waiting for them see why.
                    written.set_exception(exc)
                except BaseException:
                    written.cancel()
                    raise
                else:
                    written.set_result(None)
        finally:
            self._writer = None
            if self._next is not None and self._pending and not self._next.done():
                # Stopped before writing them: their workers must not wait forever.
                self._next.cancel()
                self._pending, self._next = [], None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# How long a sent mark may wait for others to share its write (_SentLog), when the
# rate allows a few in that time.
MARK_LINGER = 0.05


class Sender:
    def __init__(
        self,
        db: Database,
        bot: NewsBot,
        *,
        clock: Clock = utc_now,
        concurrency: int = 32,
        max_attempts: int = 5,
        wake: asyncio.Event | None = None,
        paid_broadcast: bool = False,
        admin_ids: Sequence[int] = (),
        notice_language: str = POST_LANGUAGE,
        holder: str | None = None,
        claim_ttl: int = CLAIM_TTL,
    ) -> None:
        """holder names this process in its claims (a fresh host:pid:random if None)."""
        self.holder = holder or holder_name()
        self._claim_ttl = claim_ttl
        self._db = db
        self._bot = bot
        self._clock = clock
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._paid_broadcast = paid_broadcast
        # Told when a destination pauses (with whoever added it from Telegram).
        self._admin_ids = tuple(admin_ids)
        self._notice_language = notice_language
        # Posts in flight per destination chat: a post that would wait longer than a
        # chat interval for its turn goes back to the queue instead of holding a worker.
        self._posting: dict[int, int] = {}
        self.wake = wake or asyncio.Event()
        self._render_cache: dict[tuple[int, str, str, str, str, str, str], Outgoing] = {}
        self._last_edits: dict[tuple[int, int], str] = {}
        self._sent_log = _SentLog(
            db, self._now, enough=max(1, concurrency // 2), linger=self._mark_linger
        )
        self._claims = ClaimBook(claim_ttl)
        self.late_sends = 0  # sends that ended after their claim may have lapsed
        self.outage = Outage()

    def _now(self) -> int:
        return int(self._clock().timestamp())

    async def release_dead_holders(self) -> int:
        """Rows in flight in a process on this machine that is gone (kill -9, a crash)
        go back to the queue now rather than when their claims expire."""
        released = 0
        for holder in await self._db.outbox.claim_holders(now=self._now()):
            if holder != self.holder and holder_is_dead(holder):
                released += await self._db.outbox.release_holder(holder)
        if released:
            log.warning("re-queued %d messages a stopped process had in flight", released)
        return released

    async def run_forever(self, stop: asyncio.Event, *, idle: float = 2.0) -> None:
        next_check = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self._claim_ttl / 3
                try:
                    await self.release_dead_holders()
                except Exception:
                    log.exception("looking for a stopped process's messages failed")
            if self.outage.active:
                # The Bot API did not answer: wait longer each time, then probe again.
                await sleep_or_stop(stop, self.outage.next_delay())
            try:
                sent = await self.drain(stop=stop)
            except Exception:
                log.exception("sender pass failed")
                sent = 0
            if sent or self.outage.active:
                continue
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def drain(self, *, max_rows: int = 5_000, stop: asyncio.Event | None = None) -> int:
        """Deliver every due row, concurrently; returns how many were handled.

        The next batch is claimed while the workers still send the last one, so
        a long fan-out never waits for a batch's slowest message. Rows that come
        due meanwhile are taken too, up to max_rows per call.
        """
        # A bounded queue: the claimer waits while the workers catch up.
        queue: asyncio.Queue[tuple[OutboxRow, _Batch] | None] = asyncio.Queue(self._concurrency)
        handled = 0
        stopping = stop or asyncio.Event()
        unsent: list[int] = []
        # Rows claimed and not yet done: about a second of this process's budget, so
        # that when the queue runs dry no process is left alone with a long tail of
        # rows the others may not take (and a crash repeats no more than that).
        window = self._claim_window()
        in_hand = 0
        room = asyncio.Condition()

        def has_room() -> bool:
            # Half the window free: claiming row by row would cost a claim (and the
            # batch's reads) per message.
            return in_hand <= window // 2

        async def claim() -> None:
            nonlocal handled, in_hand
            while handled < max_rows and not stopping.is_set():
                if self.outage.active and handled:
                    break  # the Bot API is down: wait before the next probe
                async with room:
                    await room.wait_for(has_room)
                    free = window - in_hand
                # During an outage one message probes whether the Bot API is back.
                limit = 1 if self.outage.active else min(self._concurrency * 2, free)
                claimed_at = self._now()
                rows = await self._db.outbox.claim_due(
                    now=claimed_at, limit=limit, holder=self.holder, ttl=self._claim_ttl
                )
                if not rows:
                    break
                self._claims.claimed((r.id for r in rows), now=claimed_at)
                handled += len(rows)
                in_hand += len(rows)
                batch = await self._batch(rows)
                for row in rows:
                    await queue.put((row, batch))
            for _ in range(self._concurrency):
                await queue.put(None)

        async def worker() -> None:
            nonlocal in_hand
            while (job := await queue.get()) is not None:
                row, batch = job
                try:
                    if stopping.is_set():
                        unsent.append(row.id)  # shutting down: back to the queue, unsent
                        continue
                    if not self._claims.may_send(row.id, now=self._now()):
                        continue  # perhaps another holder's now: neither sent nor written
                    await self._deliver(
                        row, batch.readers.get(row.chat_id), batch.articles, batch.names
                    )
                except Exception as exc:
                    log.exception("outbox row %s: unexpected error", row.id)
                    await self._retry_or_fail(row, f"unexpected {type(exc).__name__}")
                finally:
                    self._claims.done(row.id)
                    async with room:
                        in_hand -= 1
                        room.notify()

        renewing = asyncio.create_task(self._renew_claims())
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(claim())
                for _ in range(self._concurrency):
                    group.create_task(worker())
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        if unsent:
            await self._db.outbox.release(unsent)
        if len(self._render_cache) > 10_000:
            self._render_cache.clear()
        return handled - len(unsent)

    def _mark_linger(self) -> float:
        """MARK_LINGER when this process may send several messages in it, else 0."""
        limiter = self._bot.rate_limiter
        if isinstance(limiter, TelegramRateLimiter) and limiter.per_second * MARK_LINGER < 2:
            return 0.0
        return MARK_LINGER

    def _claim_window(self) -> int:
        """How many rows to hold at once: a second's worth of the rate budget, and no
        more than two per worker."""
        window = self._concurrency * 2
        limiter = self._bot.rate_limiter
        if isinstance(limiter, TelegramRateLimiter) and not math.isinf(limiter.per_second):
            window = min(window, max(1, math.ceil(limiter.per_second)))
        return window

    async def _renew_claims(self) -> None:
        """While a drain runs: our claims outlive the rows' wait for the rate budget,
        and a process here that died meanwhile has its rows queued again at once.

        Every sixth of the TTL, so that a renewal delayed by a busy loop or a busy
        pool still lands before the claims run out; a row it may have come too late
        for is never sent by us (ClaimBook)."""
        renewals = 0
        while True:
            await asyncio.sleep(self._claim_ttl / 6)
            renewals += 1
            until = self._now() + self._claim_ttl
            try:
                await self._db.outbox.renew_claims(holder=self.holder, until=until)
            except Exception:
                # Claims we fail to renew expire: another process may send those rows;
                # we no longer will.
                log.exception("renewing outbox claims failed")
            else:
                # Only rows not yet expired when the renewal had surely run were still
                # ours for it to renew.
                self._claims.renewed(self._claims.renewing(now=self._now()), until=until)
            if renewals % 2:
                continue
            try:
                await self.release_dead_holders()
            except Exception:
                log.exception("looking for a stopped process's messages failed")

    async def _batch(self, rows: Sequence[OutboxRow]) -> _Batch:
        """What a batch of rows needs from the database, read once for all of them."""
        readers = await self._db.subscribers.get_subscribers(sorted({r.chat_id for r in rows}))
        topics = await self._db.feeds.list_topics()
        names = {
            lang: {topic.slug: topic_name(topic, lang) for topic in topics} for lang in ("vi", "en")
        }
        return _Batch(readers, await self._articles(rows), names)

    async def _articles(self, rows: Sequence[OutboxRow]) -> dict[int, ArticleRow]:
        found = {}
        for article_id in {r.article_id for r in rows if r.article_id is not None}:
            article = await self._db.articles.get_article(article_id)
            if article is not None:
                found[article_id] = article
        return found

    def _build(
        self,
        row: OutboxRow,
        reader: SubscriberRow | None,
        articles: dict[int, ArticleRow],
        names: dict[str, dict[str, str]],
    ) -> Outgoing | None:
        if row.payload is not None:
            markup = row.payload.get("reply_markup")
            return Outgoing(
                text=str(row.payload["text"]),
                parse_mode=row.payload.get("parse_mode"),
                reply_markup=InlineKeyboardMarkup.de_json(markup, self._bot) if markup else None,
                preview_url=None,
            )
        if row.article_id is None or row.article_id not in articles:
            return None
        language = reader.language if reader else "vi"
        tz_name = reader.timezone if reader else "Asia/Ho_Chi_Minh"
        tz = ZoneInfo(tz_name)
        now = self._clock()
        article = articles[row.article_id]
        # The local date is in the key: "hôm nay 08:30" becomes "hôm qua" at midnight;
        # the title and lead too, so a corrected article is rendered again.
        key = (
            row.article_id,
            language,
            tz_name,
            now.astimezone(tz).date().isoformat(),
            row.keyword or "",
            article.title,
            article.summary,
        )
        cached = self._render_cache.get(key)
        if cached is None:
            message = render_article(
                view_of(article),
                language=language,
                tz=tz,
                topic_names=names[language],
                now=now,
                keyword=row.keyword,
            )
            buttons = alert_buttons(
                article, keyword=row.keyword, language=language, topic_names=names[language]
            )
            cached = Outgoing(message.text, message.parse_mode, buttons, article.url)
            self._render_cache[key] = cached
        return cached

    async def _deliver(
        self,
        row: OutboxRow,
        reader: SubscriberRow | None,
        articles: dict[int, ArticleRow],
        names: dict[str, dict[str, str]],
    ) -> None:
        if row.destination_id is not None:
            await self._deliver_post(row, articles, names)
            return
        if row.kind != "reply" and (reader is None or not reader.active):
            await self._db.outbox.mark_failed(
                row.id, "chat gone: reader inactive", kind=FailureKind.CHAT_GONE, now=self._now()
            )
            return
        if reader is not None and row.kind == "alert" and row.edits_message_id is None:
            resume_at = quiet_until(reader, self._clock())
            if resume_at is not None:
                await self._db.outbox.retry_later(row.id, "quiet hours", not_before=resume_at)
                return
        message = self._build(row, reader, articles, names)
        if message is None:
            await self._db.outbox.mark_failed(
                row.id, "article no longer stored", kind=FailureKind.ARTICLE_GONE, now=self._now()
            )
            return
        if reader is not None and row.kind == "alert" and alert_is_silent(reader, self._clock()):
            message = replace(message, silent=True)
        await self._send(row, message)

    async def _send(self, row: OutboxRow, message: Outgoing) -> None:
        if not self._claims.may_send(row.id, now=self._now()):
            return
        try:
            sent = await self._call(row, message)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            reason = f"flood limit, retry after {wait:g}s"
            later = self._now() + int(wait) + 1
            await self._db.outbox.retry_later(row.id, reason, not_before=later)
            return
        except ChatMigrated as exc:
            await self._db.subscribers.move_chat(row.chat_id, exc.new_chat_id, now=self._now())
            await self._db.outbox.retry_later(row.id, "chat migrated", not_before=self._now())
            return
        except Forbidden as exc:
            await self._chat_gone(row, str(exc))
            return
        except BadRequest as exc:
            await self._bad_request(row, message, exc)
            return
        except TelegramError as exc:
            await self._send_failed(row, exc)
            return
        await self._delivered(row, sent)

    async def _send_failed(self, row: OutboxRow, exc: TelegramError) -> None:
        """A send (a reader's message or a destination's post) failed in a way that says
        nothing about the chat: a timeout, no connection, or another Telegram error."""
        if isinstance(exc, BotApiUnreachable):
            # No connection at all: Telegram took nothing from us, and will again.
            self.outage.begin()
            reason = f"Bot API unreachable: {exc}"[:200]
            await self._db.outbox.postpone([row.id], reason, not_before=self._now())
        elif isinstance(exc, TimedOut):
            log.warning("outbox row %s: timed out (may have been delivered); tried again", row.id)
            await self._retry_or_fail(row, "timed out (may have been delivered)")
        else:
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}"[:200])

    async def _delivered(self, row: OutboxRow, message_id: int | None) -> None:
        self.outage.end()
        if not self._claims.still_held(row.id, now=self._now()):
            # Delivered, and perhaps by another holder too: counted, and still recorded.
            self.late_sends += 1
            log.warning("outbox row %s: sent after its claim may have lapsed", row.id)
        await self._sent_log.record(row.id, message_id)

    async def _call(self, row: OutboxRow, message: Outgoing) -> int:
        if row.edits_message_id is not None:
            await self._bot.edit_message_text(
                message.text,
                chat_id=row.chat_id,
                message_id=row.edits_message_id,
                parse_mode=message.parse_mode,
                reply_markup=message.reply_markup,
                link_preview_options=preview_options(message.preview_url),
                rate_limit_args=row.priority,
            )
            return row.edits_message_id
        paid = True if self._paid_broadcast and row.kind == "broadcast" else None
        return await self._bot.send_text(
            row.chat_id,
            message.text,
            parse_mode=message.parse_mode,
            reply_markup=message.markup_json,
            link_preview_options=message.preview_json,
            allow_paid_broadcast=paid,
            priority=row.priority,
            disable_notification=True if message.silent else None,
        )

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> bool:
        """Best-effort edit of a status message (broadcast progress). False if it failed."""
        key = (chat_id, message_id)
        if self._last_edits.get(key) == text:
            return True
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode="HTML",
                rate_limit_args=Priority.STATUS,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("status message %s/%s not edited: %s", chat_id, message_id, exc)
                return False
        except TelegramError as exc:
            # Progress is shown again on the next pass; nothing is lost by skipping one.
            log.info("status message %s/%s not edited: %s", chat_id, message_id, exc)
            return False
        self._last_edits[key] = text
        if len(self._last_edits) > 1000:
            self._last_edits.clear()
        return True

    async def _bad_request(self, row: OutboxRow, message: Outgoing, exc: BadRequest) -> None:
        reason = str(exc).lower()
        if any(marker in reason for marker in _CHAT_GONE):
            await self._chat_gone(row, str(exc))
            return
        if row.edits_message_id is not None and "not modified" in reason:
            await self._sent_log.record(row.id, row.edits_message_id)  # it already reads so
            return
        if row.edits_message_id is not None and any(m in reason for m in _EDIT_GONE):
            await self._db.outbox.mark_failed(
                row.id, f"edit: {exc}"[:200], kind=FailureKind.REJECTED, now=self._now()
            )
            return
        if "parse entities" in reason and message.parse_mode:
            await self._send(row, _plain(message))
            return
        if "too long" in reason:
            plain = _plain(message)
            shortened = truncate_utf16(plain.text, MESSAGE_LIMIT - 96)
            await self._send(row, replace(plain, text=shortened, preview_url=None))
            return
        await self._db.outbox.mark_failed(
            row.id, f"rejected: {exc}"[:200], kind=FailureKind.REJECTED, now=self._now()
        )

    async def _chat_gone(self, row: OutboxRow, reason: str) -> None:
        now = self._now()
        await self._db.outbox.mark_failed(
            row.id, f"chat gone: {reason}"[:200], kind=FailureKind.CHAT_GONE, now=now
        )
        dropped = await self._db.subscribers.deactivate(row.chat_id, reason[:100], now=now)
        log.info(
            "chat %s deactivated (%s); %d queued messages dropped", row.chat_id, reason, dropped
        )

    async def _retry_or_fail(self, row: OutboxRow, reason: str) -> None:
        if row.attempts >= self._max_attempts:
            await self._db.outbox.mark_failed(
                row.id,
                f"gave up after {row.attempts} tries: {reason}",
                kind=FailureKind.GAVE_UP,
                now=self._now(),
            )
            return
        backoff = min(300, 5 * 2 ** (row.attempts - 1))
        await self._db.outbox.retry_later(row.id, reason, not_before=self._now() + backoff)

    # ---- destination posts (channels, groups, forum topics) ------------------------

    async def _deliver_post(
        self, row: OutboxRow, articles: dict[int, ArticleRow], names: dict[str, dict[str, str]]
    ) -> None:
        assert row.destination_id is not None
        destination = await self._db.destinations.get(row.destination_id)
        if destination is None or destination.paused_at is not None:
            reason = destination.pause_reason if destination else "removed"
            await self._db.outbox.mark_failed(
                row.id,
                f"chat gone: destination paused: {reason}"[:200],
                kind=FailureKind.CHAT_GONE,
                now=self._now(),
            )
            return
        if row.payload is not None:
            post = payload_post(row, destination)
        elif row.article_id in articles:
            post = render_post(
                articles[row.article_id], destination, topic_names=names[POST_LANGUAGE]
            )
        else:
            await self._db.outbox.mark_failed(
                row.id, "article no longer stored", kind=FailureKind.ARTICLE_GONE, now=self._now()
            )
            return
        wait = self._post_wait(destination.chat_id)
        if wait > 0:
            # The chat's turn (1/s, 20/min) is not yet: the row waits in the queue, not
            # in a worker, so readers' alerts keep going meanwhile.
            await self._db.outbox.postpone(
                [row.id], "waiting for the chat's turn", not_before=self._now() + ceil(wait)
            )
            return
        self._posting[destination.chat_id] = self._posting.get(destination.chat_id, 0) + 1
        try:
            await self._send_post(row, destination, post)
        finally:
            left = self._posting.pop(destination.chat_id) - 1
            if left:
                self._posting[destination.chat_id] = left

    def _post_wait(self, chat_id: int) -> float:
        """How long the post would wait for its turn, beyond one chat interval (0: go)."""
        limiter = self._bot.rate_limiter
        if not isinstance(limiter, TelegramRateLimiter):
            return 0.0
        wait = limiter.chat_wait(chat_id, ahead=self._posting.get(chat_id, 0))
        return wait if wait > POST_HOLD else 0.0

    async def _send_post(self, row: OutboxRow, destination: DestinationRow, post: Post) -> None:
        if row.edits_message_id is not None:
            await self._edit_post(row, post)
            return
        preview = preview_options(post.preview_url)
        try:
            sent = await self._bot.send_post(
                post.chat_id,
                post.text,
                parse_mode=post.parse_mode,
                photo_url=post.photo_url,
                thread_id=post.thread_id,
                silent=post.silent,
                link_preview_options=preview,
                priority=row.priority,
            )
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            later = self._now() + int(wait) + 1
            await self._db.outbox.retry_later(
                row.id, f"flood limit, retry after {wait:g}s", not_before=later
            )
            return
        except ChatMigrated as exc:
            await self._db.destinations.move_chat(row.chat_id, exc.new_chat_id)
            await self._db.outbox.retry_later(row.id, "chat migrated", not_before=self._now())
            return
        except Forbidden as exc:
            await self._lose_destination(row, destination, "kicked", str(exc), whole_chat=True)
            return
        except BadRequest as exc:
            await self._post_refused(row, destination, post, exc)
            return
        except TelegramError as exc:
            await self._send_failed(row, exc)
            return
        await self._delivered(row, sent)

    async def _edit_post(self, row: OutboxRow, post: Post) -> None:
        """A correction of a destination's post: its caption when it went as a photo, its
        text otherwise (and when the photo was refused, the text post that went instead)."""
        assert row.edits_message_id is not None
        try:
            if post.photo_url is not None:
                await self._bot.edit_message_caption(
                    chat_id=post.chat_id,
                    message_id=row.edits_message_id,
                    caption=post.text,
                    parse_mode=post.parse_mode,
                    rate_limit_args=row.priority,
                )
            else:
                await self._bot.edit_message_text(
                    post.text,
                    chat_id=post.chat_id,
                    message_id=row.edits_message_id,
                    parse_mode=post.parse_mode,
                    link_preview_options=preview_options(post.preview_url),
                    rate_limit_args=row.priority,
                )
        except RetryAfter as exc:
            later = self._now() + int(retry_after_seconds(exc)) + 1
            await self._db.outbox.retry_later(row.id, "flood limit", not_before=later)
            return
        except BadRequest as exc:
            reason = str(exc).lower()
            if post.photo_url is not None and "no caption" in reason:
                await self._edit_post(row, post.as_text())
            elif "not modified" in reason:
                await self._sent_log.record(row.id, row.edits_message_id)
            else:
                # Deleted, too old to edit, rights gone: the post stays as it is.
                await self._db.outbox.mark_failed(
                    row.id, f"edit: {exc}"[:200], kind=FailureKind.REJECTED, now=self._now()
                )
            return
        except TelegramError as exc:
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}"[:200])
            return
        await self._sent_log.record(row.id, row.edits_message_id)

    async def _post_refused(
        self, row: OutboxRow, destination: DestinationRow, post: Post, exc: BadRequest
    ) -> None:
        reason = str(exc).lower()
        if post.photo_url is not None and any(m in reason for m in _PHOTO_REFUSED):
            log.info("destination %s: photo refused (%s); posting as text", destination.id, exc)
            await self._send_post(row, destination, post.as_text())
            return
        for marker, cause in _TOPIC_GONE.items():
            if marker in reason:
                await self._lose_destination(row, destination, cause, str(exc), whole_chat=False)
                return
        if "chat not found" in reason:
            await self._lose_destination(row, destination, "not_found", str(exc), whole_chat=True)
            return
        if any(m in reason for m in _NO_RIGHTS):
            await self._lose_destination(row, destination, "rights", str(exc), whole_chat=True)
            return
        if "parse entities" in reason and post.parse_mode:
            plain = telegram_html_to_text(post.text)
            await self._send_post(
                row, destination, replace(post, text=plain, parse_mode=None, fallback=None)
            )
            return
        await self._db.outbox.mark_failed(
            row.id, f"rejected: {exc}"[:200], kind=FailureKind.REJECTED, now=self._now()
        )

    async def _lose_destination(
        self,
        row: OutboxRow,
        destination: DestinationRow,
        cause: str,
        detail: str,
        *,
        whole_chat: bool,
    ) -> None:
        """The bot may not post there any more: pause the destination (every route in the
        chat when the chat itself is lost) and tell the admins, once per pause."""
        now = self._now()
        await self._db.outbox.mark_failed(
            row.id, f"chat gone: {detail}"[:200], kind=FailureKind.CHAT_GONE, now=now
        )
        reason = f"{cause}: {detail}"
        if whole_chat:
            paused = await self._db.destinations.pause_chat(destination.chat_id, reason, now=now)
        else:
            paused = (
                [destination.id]
                if await self._db.destinations.pause(destination.id, reason, now=now)
                else []
            )
        for destination_id in paused:
            row_now = await self._db.destinations.get(destination_id)
            if row_now is None:
                continue
            log.warning("destination %s paused: %s", destination_id, reason)
            await queue_pause_notice(
                self._db,
                row_now,
                cause=cause,
                detail=detail,
                admin_ids=self._admin_ids,
                language=self._notice_language,
                now=now,
            )


@dataclass(frozen=True, slots=True)
class ChatInfo:
    id: int
    type: str
    title: str


async def look_up_chat(bot: NewsBot, chat: int | str) -> ChatInfo | None:
    """getChat, for a destination feeds.toml names; None (logged) when Telegram does not
    know the chat or the bot may not see it."""
    try:
        found = await bot.get_chat(chat)
    except TelegramError as exc:
        log.warning("destination %s: Telegram cannot look it up (%s)", chat, exc)
        return None
    return ChatInfo(found.id, found.type, found.title or found.username or "")


def _plain(message: Outgoing) -> Outgoing:
    """The message without formatting: tags removed, entities decoded."""
    text = telegram_html_to_text(message.text) if message.parse_mode else message.text
    return replace(message, text=text, parse_mode=None)


class Outage:
    """The Bot API is not answering. The sender waits between probes, 1 s doubling to a
    minute; the messages wait meanwhile without using up their tries."""

    MAX_DELAY = 60.0

    def __init__(self) -> None:
        self.active = False
        self.delay = 0.0

    def begin(self) -> None:
        self.active = True

    def end(self) -> None:
        self.active = False
        self.delay = 0.0

    def next_delay(self) -> float:
        self.delay = 1.0 if self.delay == 0 else min(self.MAX_DELAY, self.delay * 2)
        return self.delay
