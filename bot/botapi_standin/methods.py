"""The Bot API methods the stand-in answers, by name."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.botapi_standin.params import ApiError, JsonDict, bad_request, get_bool, get_int, get_str
from bot.botapi_standin.sending import SendingMethods

Handler = Callable[[JsonDict], Awaitable[Any]]


class BotApiMethods(SendingMethods):
    """Method handlers; each takes the decoded parameters and returns the result."""

    def _handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "close": self._ok,
            "logOut": self._ok,
            "setMyDescription": self._ok,
            "setMyShortDescription": self._ok,
            "setMyName": self._ok,
            "setChatMenuButton": self._ok,
        }

    async def _ok(self, params: JsonDict) -> bool:
        return True

    # ---- updates and webhook ----------------------------------------------------

    async def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        limit = min(max(get_int(params, "limit") or 100, 1), 100)
        timeout = params.get("timeout") or 0.0
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(get_int(params, "offset"))
        self._bump()  # an older long poll still waiting is told it was superseded
        deadline = asyncio.get_running_loop().time() + max(timeout, 0.0)
        while True:
            changed = self._changed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            if self._updates or self._closing:
                return self._updates[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                return []

    async def _set_webhook(self, params: JsonDict) -> bool:
        url = get_str(params, "url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JsonDict) -> bool:
        self._webhook_url = ""
        if get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ---- callbacks, commands ---------------------------------------------------------

    async def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = get_str(params, "callback_query_id") or ""
        if query_id not in self._open_callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = get_str(params, "text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.answered_callbacks.append(dict(params))
        self._bump()
        return True

    async def _answer_inline_query(self, params: JsonDict) -> bool:
        """Telegram's checks: an open query, at most 50 results with unique ids of at
        most 64 bytes, articles with a title and a message of 1–4096 characters, a
        next_offset of at most 64 bytes."""
        query_id = get_str(params, "inline_query_id") or ""
        if query_id not in self._open_inline_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            check_inline_result(result, ids)
        if len((get_str(params, "next_offset") or "").encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        self._open_inline_queries.discard(query_id)
        self.answered_inline_queries.append({**params, "results": results})
        self._bump()
        return True

    @staticmethod
    def _scope_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope")
        key = "default"
        if isinstance(scope, dict) and scope.get("type"):
            key = str(scope["type"])
            if "chat_id" in scope:
                key += f":{scope['chat_id']}"
            if "user_id" in scope:
                key += f":{scope['user_id']}"
        return key, get_str(params, "language_code") or ""

    async def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.islower()):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters long")
        self._commands[self._scope_key(params)] = [dict(c) for c in commands]
        self._bump()
        return True

    async def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        return list(self._commands.get(self._scope_key(params), []))

    async def _delete_my_commands(self, params: JsonDict) -> bool:
        self._commands.pop(self._scope_key(params), None)
        self._bump()
        return True

    # ---- chat information -------------------------------------------------------------

    async def _send_chat_action(self, params: JsonDict) -> bool:
        self._target_chat(params)
        return True

    async def _get_chat(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat: JsonDict, user_id: int) -> JsonDict:
        chat_id = int(chat["id"])
        user = self.bot_user if user_id == self.bot_user["id"] else self._user(user_id)
        is_owner = (chat["type"] == "private" and user_id == chat_id) or self._owners.get(
            chat_id
        ) == user_id
        if is_owner:
            return {"status": "creator", "user": dict(user), "is_anonymous": False}
        if user_id in self._admins.get(chat_id, []):
            rights = (
                "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
                "can_promote_members can_change_info can_invite_users can_post_stories "
                "can_edit_stories can_delete_stories can_pin_messages"
            )
            member: JsonDict = {"status": "administrator", "user": dict(user)}
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update(dict.fromkeys(rights.split(), True))
            return member
        return {"status": "member", "user": dict(user)}

    async def _get_chat_member(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params)
        user_id = get_int(params, "user_id", missing="user_id is empty")
        assert user_id is not None
        return self._member(chat, user_id)

    async def _get_chat_administrators(self, params: JsonDict) -> list[JsonDict]:
        chat = self._target_chat(params)
        chat_id = int(chat["id"])
        if chat["type"] == "private":
            return [self._member(chat, chat_id)]
        ids = ([self._owners[chat_id]] if chat_id in self._owners else []) + [
            u for u in self._admins.get(chat_id, []) if u != self._owners.get(chat_id)
        ]
        return [self._member(chat, user_id) for user_id in ids]


def check_inline_result(result: object, ids: set[str]) -> None:
    """One InlineQueryResult as Telegram checks it (articles in full, others by id)."""
    if not isinstance(result, dict):
        raise bad_request("can't parse inline query result")
    result_id = str(result.get("id", ""))
    if not 1 <= len(result_id.encode()) <= 64:
        raise bad_request("RESULT_ID_INVALID")
    if result_id in ids:
        raise bad_request("RESULT_ID_DUPLICATE")
    ids.add(result_id)
    if result.get("type") != "article":
        return
    if not str(result.get("title", "")).strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    text = content.get("message_text") if isinstance(content, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise bad_request("MESSAGE_EMPTY")
    if len(text) > 4096:
        raise bad_request("MESSAGE_TOO_LONG")
