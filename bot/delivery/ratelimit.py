"""One rate budget for everything the bot sends, with replies ahead of bulk traffic.

Plugged into python-telegram-bot as its rate limiter, so handler replies and
the outbox sender draw on the same budget: ~30 messages/s overall, at most
one per second to a chat, 20 per minute to a group. A request waits first for
its chat's turn, then for a global slot; global slots go to the waiting
request of best priority (lowest number), so a reader's /search answer
overtakes a 10,000-reader broadcast already in the queue.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

# Re-exported: handlers choose a reply's priority without importing storage.
from storage.rows import Priority as Priority

# Methods that deliver something to a chat and count against Telegram's limits.
_LIMITED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendMediaGroup",
        "sendDocument",
        "sendAnimation",
        "sendVideo",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

# Of those, the methods that put a new message in a chat (what newsbot_messages_sent counts).
_SENDS = _LIMITED - {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}

Sleep = Callable[[float], Coroutine[Any, Any, None]]


class SendMetrics(Protocol):
    """Told of every message Telegram accepted (bot.runtime.metrics counts them)."""

    def message_sent(self, priority: int) -> None: ...


WINDOW_MARGIN = 0.01
# Slots closer together than BURST_SPACING (over 33 a second: limits off, paid
# broadcasts, or a share of such a rate) are granted in bursts: every one due
# within GRANT_HORIZON of the slot the dispatcher woke for goes with it. A timer
# wake-up per message cost a process more than its sends, the more so the smaller
# its share. The window check still caps every window; at 30/s (33 ms apart) or
# any share of it nothing changes.
BURST_SPACING = 0.03
GRANT_HORIZON = 0.05
# Telegram's published limits (python-telegram-bot's constants): the defaults below.
MESSAGES_PER_SECOND = float(FloodLimit.MESSAGES_PER_SECOND)  # 30
CHAT_INTERVAL = 1.0 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT  # 1 s
GROUP_PER_MINUTE = int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)  # 20


class TelegramRateLimiter(BaseRateLimiter[int]):
    """rate_limit_args is the priority: Priority.REPLY (default) … Priority.BROADCAST."""

    def __init__(
        self,
        *,
        per_second: float = MESSAGES_PER_SECOND,
        chat_interval: float = CHAT_INTERVAL,
        group_per_minute: int = GROUP_PER_MINUTE,
        reply_retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        metrics: SendMetrics | None = None,
    ) -> None:
        self._per_second = per_second
        self._set_rate(per_second, _whole(per_second))
        self.share = 1
        self._index = 0
        # One [time] per grant, moved to when the request really left (see acquire).
        self._granted: deque[list[float]] = deque()
        self._chat_interval = chat_interval
        self._group_per_minute = group_per_minute
        self._reply_retries = reply_retries
        self._clock = clock
        self._sleep = sleep
        self._next_global = 0.0
        self._chats: dict[int | str, _Chat] = {}
        self._next_prune = 0.0
        self._waiting: list[tuple[int, int, asyncio.Future[list[float]]]] = []
        self._order = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self.metrics = metrics

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            self._dispatcher = None
        for _, _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    def _set_rate(self, per_second: float, per_window: int) -> None:
        if math.isinf(per_second):
            # No budget of our own (a load test against a stand-in): every request is
            # granted at once; chats' limits and Telegram's 429 pauses still hold.
            self._spacing, self._early = 0.0, 0.0
            self._per_window, self._window = sys.maxsize, 0.0
            return
        self._spacing = 1.0 / per_second
        self._early = GRANT_HORIZON if self._spacing < BURST_SPACING else 0.0
        # Telegram counts what arrives in any second; requests reach it a little
        # unevenly (event-loop and network jitter). Besides the even spacing,
        # no more than per_window grants in any per_window / per_second
        # (+ WINDOW_MARGIN) seconds.
        self._per_window = per_window
        self._window = (per_window / per_second) * (1.0 + WINDOW_MARGIN)

    @property
    def per_second(self) -> float:
        """This process's overall rate now (its share, when several send); math.inf
        when unlimited."""
        return 1.0 / self._spacing if self._spacing else math.inf

    def set_share(self, processes: int, index: int = 0) -> None:
        """Several processes send with one token: this one, the index-th of them (in an
        order they all agree on), keeps its whole-message share of the overall budget.

        Shares are whole messages per window, so that N windows, however they fall
        against each other, never add up to more than the budget: 30 among 4
        processes is 8 + 8 + 7 + 7. (The per-chat limits are the outbox claims'.)
        """
        processes = max(1, processes)
        if (processes, index) == (self.share, self._index):
            return
        self.share, self._index = processes, index
        if processes == 1 or math.isinf(self._per_second):
            self._set_rate(self._per_second, _whole(self._per_second))
            return
        total = max(1, round(self._per_second))
        mine = max(1, total // processes + (1 if index % processes < total % processes else 0))
        self._set_rate(float(mine), mine)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: no one sends until it has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._next_global = max(self._next_global, self._paused_until)

    def flood_wait(self) -> float:
        """Seconds left of the pause Telegram's last 429 imposed (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def chat_wait(self, chat_id: int | str, *, ahead: int = 0) -> float:
        """Seconds before one more message to chat_id could leave, with `ahead` others
        (or the chat's own waiting ones, if more) going first: the chat's interval and a
        group's 20 a minute. 0 when it may go now. A caller that would rather do other
        work meanwhile (the sender, for a busy channel) asks first."""
        chat = self._chats.get(chat_id)
        now = self._clock()
        ahead = max(ahead, chat.waiting if chat else 0)
        start = now if chat is None or chat.last is None else chat.last[0] + self._chat_interval
        due = max(now, start) + ahead * self._chat_interval
        if chat is not None and chat.sends is not None:
            recent = [sent[0] for sent in chat.sends if sent[0] > now - 60.0]
            over = len(recent) + ahead - self._group_per_minute
            if over >= 0:
                due = max(due, recent[over] + 60.0 if over < len(recent) else now + 60.0)
        return max(0.0, due - now)

    @property
    def chats_tracked(self) -> int:
        """Chats whose limits are held in memory: bounded, however many readers a
        fan-out reaches (idle ones are forgotten, at most once a second)."""
        return len(self._chats)

    def budget_in_use(self) -> float:
        """Grants in the last window over what one window allows: 1.0 is sending flat out."""
        since = self._clock() - self._window
        return sum(1 for departure in self._granted if departure[0] > since) / self._per_window

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in _LIMITED:
            return await callback(*args, **kwargs)
        priority = Priority.REPLY if rate_limit_args is None else rate_limit_args
        chat_id = data.get("chat_id")
        if not isinstance(chat_id, int | str):
            result = await self._send(callback, args, kwargs, priority, None)
        else:
            chat = self._chat(chat_id)
            chat.waiting += 1
            try:
                # One message per chat at a time, until Telegram answered it: the chat's
                # next one is counted from that answer, whatever the queue did meanwhile.
                async with chat.turn:
                    result = await self._send(callback, args, kwargs, priority, chat)
            finally:
                chat.waiting -= 1
        if self.metrics is not None and endpoint in _SENDS:
            self.metrics.message_sent(priority)
        return result

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        priority: int,
        chat: _Chat | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempts = 0
        while True:
            departure = await self._grant_for(priority, chat)
            # An event-loop stall between the grant and this line would make the
            # request reach Telegram later than the budget assumed; count it from now.
            departure[0] = max(departure[0], self._clock())
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_after_seconds(exc))
                # Replies are retried here, the user is waiting; the outbox sender
                # reschedules its own rows, so bulk traffic gets the error back.
                if priority >= Priority.STATUS or attempts >= self._reply_retries:
                    raise
                attempts += 1
            finally:
                # Telegram saw the request no later than its answer came back:
                # counting it from then makes the budget immune to send jitter.
                departure[0] = max(departure[0], self._clock())

    async def acquire(self, priority: int, chat_id: object = None) -> list[float]:
        """Wait until a message to chat_id may go, honouring priority for global slots.

        Returns the grant's departure time, which the caller may move later.
        One message per chat waits for a global slot at a time, in the order they
        came; the next may go a chat interval after that one's departure.
        """
        if not isinstance(chat_id, int | str):
            return await self._grant(priority)
        chat = self._chat(chat_id)
        chat.waiting += 1
        try:
            async with chat.turn:
                return await self._grant_for(priority, chat)
        finally:
            chat.waiting -= 1

    def _chat(self, chat_id: int | str) -> _Chat:
        now = self._clock()
        if len(self._chats) > 10_000 and now >= self._next_prune:
            # At most once a second: a scan per request would make a big
            # broadcast quadratic, and at 2,000/s a minute's chats held 100 MB.
            self._forget_idle_chats(now)
            self._next_prune = now + 1.0
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(group=_is_group(chat_id))
        return chat

    async def _grant_for(self, priority: int, chat: _Chat | None) -> list[float]:
        """A global slot, once the chat (if any) may receive again; the chat holds its turn."""
        if chat is None:
            return await self._grant(priority)
        await self._wait_for_chat(chat)
        departure = await self._grant(priority)
        chat.last = departure
        if chat.sends is not None:
            chat.sends.append(departure)
        return departure

    async def _grant(self, priority: int) -> list[float]:
        future: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        return await future

    async def _wait_for_chat(self, chat: _Chat) -> None:
        """Until the chat's previous message left a chat interval ago, and a group has
        room in its last minute. Re-checked after each sleep: departures move later."""
        while True:
            now = self._clock()
            due = now if chat.last is None else chat.last[0] + self._chat_interval
            sends = chat.sends
            if sends is not None:
                while sends and sends[0][0] <= now - 60.0:
                    sends.popleft()
                if len(sends) >= self._group_per_minute:
                    due = max(due, sends[-self._group_per_minute][0] + 60.0)
            if due <= now:
                return
            await self._sleep(due - now)

    def _forget_idle_chats(self, now: float) -> None:
        """Chats nothing waits for and whose limits no longer bind: a private chat a
        chat interval after its last message, a group a minute after."""
        private_since, group_since = now - self._chat_interval, now - 60.0
        idle = [
            chat_id
            for chat_id, chat in self._chats.items()
            if chat.waiting == 0
            and (
                chat.last is None
                or chat.last[0] < (private_since if chat.sends is None else group_since)
            )
        ]
        for chat_id in idle:
            del self._chats[chat_id]

    async def _dispatch(self) -> None:
        granted = self._granted
        early = 0.0
        while self._waiting:
            now = self._clock()
            while granted and granted[0][0] <= now - self._window:
                granted.popleft()
            # A 429's pause and a full window are waited out to the end ...
            hold = self._paused_until
            if len(granted) >= self._per_window:
                hold = max(hold, granted[0][0] + self._window)
            if hold > now:
                await self._sleep(hold - now)
                early = 0.0
                continue
            # ... the next slot, less what a burst may take early.
            if self._next_global > now + early:
                await self._sleep(self._next_global - now)
                early = self._early  # woken for a slot: those due soon after go with it
                continue
            _, _, future = heapq.heappop(self._waiting)
            if future.cancelled():
                continue
            departure = [now]
            future.set_result(departure)
            granted.append(departure)
            # Slots follow the ideal schedule, so a late wake-up is caught up on
            # the next slot instead of shifting every later one (which cost ~3%
            # of the rate); after an idle spell the schedule restarts from now.
            if self._next_global < now - self._spacing:
                self._next_global = now + self._spacing
            else:
                self._next_global += self._spacing


class _Chat:
    """One chat's turn (a FIFO lock), its last grant and, for a group, its last
    minute (`sends`; None for a private chat, which has only its interval)."""

    __slots__ = ("last", "sends", "turn", "waiting")

    def __init__(self, *, group: bool) -> None:
        self.turn = asyncio.Lock()
        self.last: list[float] | None = None
        # An empty deque is 600 bytes: 60 MB in a fan-out to 100,000 readers.
        self.sends: deque[list[float]] | None = deque() if group else None
        self.waiting = 0


def _whole(per_second: float) -> int:
    """Grants in one window: the rate in whole messages (unlimited: no count)."""
    return sys.maxsize if math.isinf(per_second) else max(1, round(per_second))


def _is_group(chat_id: int | str) -> bool:
    # Group and channel ids are negative; @channelname strings are channels too.
    return isinstance(chat_id, str) or chat_id < 0


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's delay in seconds. PTB 22 keeps it as a timedelta; its public
    property warns about a coming type change, so the stored value is read."""
    value: Any = exc._retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)
