"""Sending, editing and deleting messages, with Telegram's checks and wording."""

from __future__ import annotations

import time

from bot.botapi_standin.channels import ChannelState
from bot.botapi_standin.html import HtmlParseError, parse_html, utf16_len
from bot.botapi_standin.params import ApiError, JsonDict, bad_request, get_bool, get_int, get_str
from bot.botapi_standin.state import SentMessage, StoredMessage

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def _check_markup(params: JsonDict) -> JsonDict | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
            if len(button) == 1:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
    return markup


def _render(
    text: str, parse_mode: str | None, params: JsonDict, entities_field: str
) -> tuple[str, list[JsonDict]]:
    """Visible text and entities of a text or caption, as Telegram parses them."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text)
        except HtmlParseError as err:
            raise bad_request(f"can't parse entities: {err}") from None
    if mode not in ("", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    given = params.get(entities_field)
    return text, list(given) if isinstance(given, list) else []


class SendingMethods(ChannelState):
    """The methods that put messages in chats, and the per-chat faults they obey."""

    # ---- chats -------------------------------------------------------------------

    def _target_chat(self, params: JsonDict) -> JsonDict:
        """The chat a call is about, after the faults scripted for it."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        raw = self._resolve_username(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise bad_request("chat not found")
        if raw in self._not_found:
            raise bad_request("chat not found")
        if raw in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[raw]},
            )
        if raw in self._blocked:
            raise ApiError(403, self._blocked[raw])
        return self._chat(raw)

    def _check_flood(self, chat_id: int) -> None:
        if self._flood is None:
            return
        now = self._clock()
        is_group = self._is_group(chat_id)
        wait = self._flood.retry_after(chat_id, is_group=is_group, now=now)
        if wait is not None:
            self.flood_429_count += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self._flood.record(chat_id, is_group=is_group, now=now)

    # ---- sending -------------------------------------------------------------------

    def _reply_to(self, chat_id: int, params: JsonDict) -> JsonDict | None:
        reply_to = get_int(params, "reply_to_message_id")
        allow_missing = get_bool(params, "allow_sending_without_reply")
        parameters = params.get("reply_parameters")
        if isinstance(parameters, dict) and parameters.get("message_id") is not None:
            reply_to = int(parameters["message_id"])
            allow_missing = allow_missing or bool(parameters.get("allow_sending_without_reply"))
        if reply_to is None:
            return None
        replied = self.message(chat_id, reply_to)
        if replied is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return replied

    def _store_new(
        self,
        chat: JsonDict,
        content: JsonDict,
        markup: JsonDict | None,
        reply_to: JsonDict | None,
        source: str,
        parse_mode: str | None,
    ) -> JsonDict:
        chat_id = int(chat["id"])
        message: JsonDict = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        key = (chat_id, int(message["message_id"]))
        self._messages[key] = StoredMessage(message, True, source, parse_mode)
        return message

    async def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params)
        self._check_posting(int(chat["id"]), params)
        text = get_str(params, "text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        parse_mode = get_str(params, "parse_mode")
        visible, entities = _render(text, parse_mode, params, "entities")
        if not visible.strip():
            raise bad_request("message text is empty")
        if utf16_len(visible) > MESSAGE_LIMIT:
            raise bad_request("message is too long")
        markup = _check_markup(params)
        reply_to = self._reply_to(int(chat["id"]), params)
        self._check_flood(int(chat["id"]))
        content: JsonDict = {"text": visible, **self._thread_fields(int(chat["id"]), params)}
        if entities:
            content["entities"] = entities
        message = self._store_new(chat, content, markup, reply_to, text, parse_mode)
        self._record(
            SentMessage(
                chat_id=int(chat["id"]),
                message_id=int(message["message_id"]),
                text=text,
                parse_mode=parse_mode,
                reply_markup=message.get("reply_markup"),
                method="sendMessage",
                at=self._clock(),
                visible_text=visible,
                entities=entities,
                params=params,
            )
        )
        return message

    async def _send_photo(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params)
        self._check_posting(int(chat["id"]), params)
        photo = params.get("photo")
        if not photo:
            raise bad_request("there is no photo in the request")
        self._check_photo(photo)
        caption = get_str(params, "caption") or ""
        parse_mode = get_str(params, "parse_mode")
        visible, entities = _render(caption, parse_mode, params, "caption_entities")
        if utf16_len(visible) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        markup = _check_markup(params)
        reply_to = self._reply_to(int(chat["id"]), params)
        self._check_flood(int(chat["id"]))
        number = len(self._messages) + 1
        content: JsonDict = {
            "photo": [
                {
                    "file_id": f"standin-photo-{number}",
                    "file_unique_id": f"standin-u{number}",
                    "width": 800,
                    "height": 600,
                }
            ],
            **self._thread_fields(int(chat["id"]), params),
        }
        if visible:
            content["caption"] = visible
        if entities:
            content["caption_entities"] = entities
        message = self._store_new(chat, content, markup, reply_to, caption, parse_mode)
        self._record(
            SentMessage(
                chat_id=int(chat["id"]),
                message_id=int(message["message_id"]),
                text=caption,
                parse_mode=parse_mode,
                reply_markup=message.get("reply_markup"),
                method="sendPhoto",
                at=self._clock(),
                visible_text=visible,
                entities=entities,
                photo=photo,
                params=params,
            )
        )
        return message

    # ---- editing -------------------------------------------------------------------

    def _bot_message(self, params: JsonDict, missing: str) -> tuple[JsonDict, StoredMessage]:
        chat = self._target_chat(params)
        message_id = get_int(params, "message_id", missing="message identifier is not specified")
        assert message_id is not None
        stored = self._messages.get((int(chat["id"]), message_id))
        if stored is None:
            raise bad_request(missing)
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return chat, stored

    def _apply_edit(
        self,
        method: str,
        chat: JsonDict,
        stored: StoredMessage,
        content: JsonDict,
        params: JsonDict,
        source: str,
        parse_mode: str | None,
    ) -> JsonDict | bool:
        markup = _check_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        old = stored.message
        replaced = {"entities", "caption_entities", "reply_markup"}
        if method == "editMessageCaption":
            replaced.add("caption")
        new = {k: v for k, v in old.items() if k not in replaced}
        new.update(content)
        if markup is not None:
            new["reply_markup"] = markup
        unchanged = {k: v for k, v in new.items() if k != "edit_date"}
        if unchanged == {k: v for k, v in old.items() if k != "edit_date"}:
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        stored.message = new
        stored.source, stored.parse_mode = source, parse_mode
        visible = str(new.get("text", new.get("caption", "")))
        self._record(
            SentMessage(
                chat_id=int(chat["id"]),
                message_id=int(new["message_id"]),
                text=source,
                parse_mode=parse_mode,
                reply_markup=new.get("reply_markup"),
                method=method,
                edited=True,
                at=self._clock(),
                visible_text=visible,
                entities=list(new.get("entities", new.get("caption_entities", []))),
                photo=new.get("photo"),
                params=params,
            )
        )
        return new

    async def _edit_message_text(self, params: JsonDict) -> JsonDict | bool:
        if params.get("inline_message_id"):
            return True
        chat, stored = self._bot_message(params, "message to edit not found")
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        text = get_str(params, "text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        parse_mode = get_str(params, "parse_mode")
        visible, entities = _render(text, parse_mode, params, "entities")
        if not visible.strip():
            raise bad_request("message text is empty")
        if utf16_len(visible) > MESSAGE_LIMIT:
            raise bad_request("message is too long")
        content: JsonDict = {"text": visible}
        if entities:
            content["entities"] = entities
        return self._apply_edit("editMessageText", chat, stored, content, params, text, parse_mode)

    async def _edit_message_caption(self, params: JsonDict) -> JsonDict | bool:
        if params.get("inline_message_id"):
            return True
        chat, stored = self._bot_message(params, "message to edit not found")
        if "text" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        caption = get_str(params, "caption") or ""
        parse_mode = get_str(params, "parse_mode")
        visible, entities = _render(caption, parse_mode, params, "caption_entities")
        if utf16_len(visible) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        content: JsonDict = {"caption": visible} if visible else {}
        if entities:
            content["caption_entities"] = entities
        return self._apply_edit(
            "editMessageCaption", chat, stored, content, params, caption, parse_mode
        )

    async def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict | bool:
        if params.get("inline_message_id"):
            return True
        chat, stored = self._bot_message(params, "message to edit not found")
        content = {k: v for k, v in stored.message.items() if k in ("entities", "caption_entities")}
        return self._apply_edit(
            "editMessageReplyMarkup",
            chat,
            stored,
            content,
            params,
            stored.source,
            stored.parse_mode,
        )

    async def _delete_message(self, params: JsonDict) -> bool:
        chat = self._target_chat(params)
        message_id = get_int(params, "message_id", missing="message identifier is not specified")
        assert message_id is not None
        if self._messages.pop((int(chat["id"]), message_id), None) is None:
            raise bad_request("message to delete not found")
        self.deleted.append((int(chat["id"]), message_id))
        return True
