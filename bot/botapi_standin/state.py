"""What the stand-in knows: chats, messages, pending updates, records and faults.

This is the side a test (or the console) talks to: inject a user's message or
button press, read what the bot sent, script Telegram's faults, wait for the
bot to act. The HTTP side lives in `methods.py` and `server.py`.

Everything here runs on the event loop's thread; from another thread, go
through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.botapi_standin.flood import Fault, FloodLimiter, FloodLimits
from bot.botapi_standin.html import utf16_len
from bot.botapi_standin.params import JsonDict

log = logging.getLogger(__name__)

DEFAULT_GROUP_USER_ID = 10001
# A command where Telegram would mark one: at the start or after whitespace.
_COMMAND = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


@dataclass
class SentMessage:
    """One thing the bot put in a chat: a send, or an edit of an earlier message.

    `text` is what the bot sent (the HTML source when parse_mode is "HTML",
    the caption for photos); `visible_text` is what a user would read.
    """

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JsonDict | None
    method: str
    edited: bool = False
    at: float = 0.0
    visible_text: str = ""
    entities: list[JsonDict] = field(default_factory=list)
    photo: Any = None
    params: JsonDict = field(default_factory=dict)

    def button_data(self) -> list[str]:
        """callback_data of every inline button, row by row."""
        return _callback_data(self.reply_markup)


@dataclass
class StoredMessage:
    message: JsonDict  # the Message object as getUpdates / a send returns it
    from_bot: bool
    source: str = ""  # the text or caption as the bot sent it
    parse_mode: str | None = None


def _callback_data(markup: JsonDict | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [
        str(button["callback_data"])
        for row in rows
        for button in row
        if isinstance(button, dict) and "callback_data" in button
    ]


def command_entities(text: str) -> list[JsonDict]:
    """bot_command entities, as Telegram adds them to a user's message."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND.finditer(text)
    ]


class StandInState:
    def __init__(
        self,
        *,
        token: str = "123456:STANDIN",
        bot_username: str = "newsbot",
        clock: Callable[[], float] = time.monotonic,
        bot_name: str = "Newsbot",
    ) -> None:
        self._token = token
        self._clock = clock
        bot_id = token.split(":", 1)[0]
        self.bot_user: JsonDict = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, JsonDict]] = []
        self.answered_callbacks: list[JsonDict] = []
        self.deleted: list[tuple[int, int]] = []
        self.flood_429_count = 0
        # 409 Conflict answers that reached a caller still waiting for them (getUpdates
        # while a webhook is set, or superseded by another caller's getUpdates).
        self.conflict_409_count = 0
        self.on_sent: list[Callable[[SentMessage], None]] = []
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._chats: dict[int, JsonDict] = {}
        self._users: dict[int, JsonDict] = {}
        self._messages: dict[tuple[int, int], StoredMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._open_callbacks: set[str] = set()
        self._next_callback = 1
        # Inline mode, as BotFather's /setinline turns it on.
        self.supports_inline_queries = True
        self.answered_inline_queries: list[JsonDict] = []
        self._open_inline_queries: set[str] = set()
        self._blocked: dict[int, str] = {}
        self._not_found: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._admins: dict[int, list[int]] = {}
        self._owners: dict[int, int] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._flood: FloodLimiter | None = None
        self._webhook_url = ""
        self._poll_generation = 0
        self._closing = False
        self._changed = asyncio.Event()

    # ---- waiting -------------------------------------------------------------

    def _bump(self) -> None:
        """Wake everything waiting for a change (wait_for, long polls)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait is the point of this helper
    ) -> None:
        """Return once predicate() holds; re-checked at each recorded call or injection."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    if predicate():
                        return
                    await changed.wait()
        except TimeoutError:
            recent = ", ".join(name for name, _ in self.calls[-10:]) or "none"
            raise TimeoutError(
                f"condition not met within {timeout}s; last calls: {recent}"
            ) from None

    # ---- what the bot did ----------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage | None:
        found = self.messages_to(chat_id)
        return found[-1] if found else None

    def calls_to(self, method: str) -> list[JsonDict]:
        return [params for name, params in self.calls if name == method]

    @property
    def my_commands(self) -> dict[str, list[JsonDict]]:
        """Commands of the default scope, by language_code ("" for all languages)."""
        return {lang: cmds for (scope, lang), cmds in self._commands.items() if scope == "default"}

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[JsonDict]:
        """Commands set for a scope key: "default", "all_private_chats", "chat:<id>", ..."""
        return list(self._commands.get((scope, language_code), []))

    def _record(self, message: SentMessage) -> None:
        self.sent.append(message)
        for listener in list(self.on_sent):
            try:
                listener(message)
            except Exception:
                log.exception("an on_sent listener failed")
        self._bump()

    # ---- chats, users, messages ------------------------------------------------

    def _chat(self, chat_id: int) -> JsonDict:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "Test"}
            elif chat_id <= -1_000_000_000_000:
                chat = {"id": chat_id, "type": "supergroup", "title": "Test supergroup"}
            else:
                chat = {"id": chat_id, "type": "group", "title": "Test group"}
            self._chats[chat_id] = chat
        return chat

    def set_chat(self, chat_id: int, chat_type: str, *, title: str | None = None) -> None:
        """Declare a chat's type ("private", "group", "supergroup", "channel") and title."""
        chat: JsonDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = title or "Test"
        else:
            chat["title"] = title or f"Test {chat_type}"
        self._chats[chat_id] = chat

    def _is_group(self, chat_id: int) -> bool:
        return self._chat(chat_id)["type"] in ("group", "supergroup", "channel")

    def _user(self, user_id: int) -> JsonDict:
        return self._users.get(
            user_id, {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "vi"}
        )

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """The current Message object (after edits) of a message in a chat, if it exists."""
        stored = self._messages.get((chat_id, message_id))
        return stored.message if stored else None

    def _push_update(self, kind: str, payload: JsonDict) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._bump()
        return update_id

    # ---- injecting what users do ------------------------------------------------

    def user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Test",
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user writes `text` in a chat; returns the update_id getUpdates will carry.

        In a private chat the user is the chat (user_id defaults to chat_id), and
        writing unblocks the bot, as pressing "Start" after unblocking does.
        """
        if chat_type == "private":
            user_id = chat_id if user_id is None else user_id
            self._blocked.pop(chat_id, None)
            chat: JsonDict = {"id": chat_id, "type": "private", "first_name": first_name}
            self._chats[chat_id] = chat
        else:
            user_id = DEFAULT_GROUP_USER_ID if user_id is None else user_id
            chat = self._chat(chat_id)
            if chat["type"] != chat_type:
                self.set_chat(chat_id, chat_type, title=chat.get("title"))
                chat = self._chats[chat_id]
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        message_id = self._new_message_id(chat_id)
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": dict(chat),
            "text": text,
        }
        if chat_type == "channel":
            message["sender_chat"] = dict(chat)
        else:
            message["from"] = dict(user)
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            replied = self.message(chat_id, reply_to_message_id)
            if replied is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
            message["reply_to_message"] = dict(replied)
        self._messages[(chat_id, message_id)] = StoredMessage(message, from_bot=False)
        return self._push_update("channel_post" if chat_type == "channel" else "message", message)

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> str:
        """A user presses the inline button with callback_data `data` on a bot's message.

        Returns the callback query id. Raises ValueError when the message is not
        the bot's or has no such button: a real user could not press it either.
        """
        stored = self._messages.get((chat_id, message_id))
        if stored is None or not stored.from_bot:
            raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
        buttons = _callback_data(stored.message.get("reply_markup"))
        if data not in buttons:
            raise ValueError(f"message {message_id} has no button {data!r}; it has {buttons}")
        if user_id is None:
            chat_type = self._chat(chat_id)["type"]
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER_ID
        query_id = str(4_000_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._open_callbacks.add(query_id)
        query: JsonDict = {
            "id": query_id,
            "from": dict(self._user(user_id)),
            "message": dict(stored.message),
            "chat_instance": str(abs(chat_id) * 7919 + 17),
            "data": data,
        }
        self._push_update("callback_query", query)
        return query_id

    def inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        chat_type: str = "private",
        language_code: str | None = "vi",
        first_name: str = "Test",
    ) -> str:
        """A user types "@bot <query>" in a chat of chat_type; returns the query's id.

        Telegram sends it only to a bot with inline mode on, and at most 256
        characters of it.
        """
        if not self.supports_inline_queries:
            raise ValueError("inline mode is off for this bot")
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        query_id = str(5_000_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._open_inline_queries.add(query_id)
        payload: JsonDict = {
            "id": query_id,
            "from": dict(user),
            "query": query[:256],
            "offset": offset,
            "chat_type": chat_type,
        }
        self._push_update("inline_query", payload)
        return query_id

    def inline_answer(self, query_id: str) -> JsonDict | None:
        """The bot's answerInlineQuery for the query, once it answered."""
        for answer in self.answered_inline_queries:
            if answer.get("inline_query_id") == query_id:
                return answer
        return None

    # ---- faults ------------------------------------------------------------------

    def set_flood_limits(
        self,
        enabled: bool = True,
        *,
        global_per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
    ) -> None:
        """Answer sends over Telegram's limits with 429 and retry_after (off by default)."""
        limits = FloodLimits(global_per_second, per_chat_per_second, per_group_per_minute)
        self._flood = FloodLimiter(limits) if enabled else None

    def block(self, chat_id: int, *, description: str | None = None) -> None:
        """Calls about this chat get 403, worded as Telegram words it for the chat's type."""
        if description is None:
            description = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
                "channel": "Forbidden: bot is not a member of the channel chat",
            }.get(self._chat(chat_id)["type"], "Forbidden: bot was blocked by the user")
        self._blocked[chat_id] = description

    def unblock(self, chat_id: int) -> None:
        self._blocked.pop(chat_id, None)

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """The user deleted a message in their chat: editing it now gets
        "message to edit not found", as from Telegram."""
        self._messages.pop((chat_id, message_id), None)
        self._bump()

    def chat_not_found(self, chat_id: int) -> None:
        """Calls about this chat get 400 "Bad Request: chat not found"."""
        self._not_found.add(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: calls about it get 400 with migrate_to_chat_id."""
        self._migrated[chat_id] = new_chat_id
        old = self._chat(chat_id)
        self.set_chat(new_chat_id, "supergroup", title=old.get("title"))

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        count: int = 1,
        delay: float = 0.0,
        retry_after: int | None = None,
    ) -> None:
        """The next `count` calls of `method` ("*": any method) wait `delay` s, then fail.

        A status below 300 answers normally after the delay: a slow server.
        With status 429, parameters.retry_after is `retry_after` (default 1).
        """
        queue = self._faults.setdefault(method, deque())
        for _ in range(count):
            queue.append(Fault(status, description, delay, retry_after))

    def set_admins(self, chat_id: int, user_ids: list[int], *, owner: int | None = None) -> None:
        """Who getChatMember / getChatAdministrators call administrators (and creator)."""
        self._admins[chat_id] = list(user_ids)
        if owner is not None:
            self._owners[chat_id] = owner
