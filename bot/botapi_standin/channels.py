"""Channels, groups and forum topics as a publisher's bot meets them: being made an
administrator (`my_chat_member`), posting rights taken away, forum topics closed or
deleted, @usernames, and photo URLs Telegram cannot fetch.

Descriptions are Telegram's own wording, so the bot's error handling is tested
against what it will really read.
"""

from __future__ import annotations

import time
from typing import Any

from bot.botapi_standin.params import ApiError, JsonDict, bad_request, get_int
from bot.botapi_standin.state import DEFAULT_GROUP_USER_ID, StandInState

TOPIC_CLOSED = "Bad Request: TOPIC_CLOSED"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
URL_CONTENT = "Bad Request: failed to get HTTP URL content"
_ADMIN_RIGHTS = {
    "can_manage_chat": True,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_delete_messages": True,
    "can_invite_users": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "is_anonymous": False,
    "can_manage_video_chats": False,
    "can_be_edited": False,
}


def _member(status: str, user: JsonDict) -> JsonDict:
    """A ChatMember as Telegram sends it: an administrator's rights, a ban's end."""
    member: JsonDict = {"status": status, "user": user}
    if status == "administrator":
        member.update(_ADMIN_RIGHTS)
    if status == "kicked":
        member["until_date"] = 0
    if status == "restricted":
        member.update(
            is_member=True,
            can_send_messages=False,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_manage_topics=False,
            until_date=0,
        )
    return member


class ChannelState(StandInState):
    """What a test scripts about channels, groups and forums, and the checks sends obey."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # chat id -> thread id -> 'open' | 'closed'; a chat listed here is a forum
        self._threads: dict[int, dict[int, str]] = {}
        self._no_rights: dict[int, str] = {}
        self._refused_photos: dict[str, str] = {}
        self._usernames: dict[str, int] = {}

    # ---- scripting ------------------------------------------------------------------

    def set_username(self, chat_id: int, username: str) -> None:
        """The chat's public @username (getChat and sends accept it for channels)."""
        self._chat(chat_id)["username"] = username.lstrip("@")
        self._usernames[username.lstrip("@").lower()] = chat_id

    def open_topic(self, chat_id: int, thread_id: int, *, title: str = "Forum") -> None:
        """The supergroup is a forum and thread_id one of its open topics."""
        if self._chat(chat_id)["type"] != "supergroup":
            self.set_chat(chat_id, "supergroup", title=title)
        self._chat(chat_id)["is_forum"] = True
        self._threads.setdefault(chat_id, {})[thread_id] = "open"

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        self._threads.setdefault(chat_id, {})[thread_id] = "closed"

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        self._threads.setdefault(chat_id, {}).pop(thread_id, None)

    def take_rights(self, chat_id: int, *, description: str | None = None) -> None:
        """The bot may no longer post there (demoted in a channel, restricted in a group)."""
        if description is None:
            description = (
                "Bad Request: need administrator rights in the channel chat"
                if self._chat(chat_id)["type"] == "channel"
                else "Bad Request: not enough rights to send text messages to the chat"
            )
        self._no_rights[chat_id] = description

    def give_rights(self, chat_id: int) -> None:
        self._no_rights.pop(chat_id, None)

    def refuse_photo(self, url: str, *, description: str = URL_CONTENT) -> None:
        """sendPhoto with this URL fails as Telegram fails a URL it cannot use."""
        self._refused_photos[url] = description

    def bot_made_admin(
        self,
        chat_id: int,
        chat_type: str,
        *,
        by_user: int = DEFAULT_GROUP_USER_ID,
        title: str | None = None,
        status: str = "administrator",
        old_status: str = "left",
    ) -> int:
        """An admin of the chat changes the bot's membership (by default: adds it as an
        administrator); returns the update id of the `my_chat_member` update."""
        chat = self._chat(chat_id)
        if chat["type"] != chat_type or (title and chat.get("title") != title):
            self.set_chat(chat_id, chat_type, title=title or chat.get("title"))
            chat = self._chat(chat_id)
        if status == "administrator":
            self.give_rights(chat_id)
            self.unblock(chat_id)
        bot = dict(self.bot_user)
        new_member, old_member = _member(status, bot), _member(old_status, bot)
        update: JsonDict = {
            "chat": dict(chat),
            "from": dict(self._user(by_user)),
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return self._push_update("my_chat_member", update)

    # ---- checks the sending methods make ----------------------------------------------

    def _resolve_username(self, raw: object) -> object:
        """'@name' -> the chat's id, when a chat has that username; else raw unchanged."""
        if isinstance(raw, str) and raw.startswith("@"):
            found = self._usernames.get(raw[1:].lower())
            if found is None:
                raise bad_request("chat not found")
            return found
        return raw

    def _check_posting(self, chat_id: int, params: JsonDict) -> None:
        """Rights and forum topics, after the chat itself passed its checks."""
        if chat_id in self._no_rights:
            raise ApiError(400, self._no_rights[chat_id])
        thread_id = get_int(params, "message_thread_id")
        if thread_id is None or chat_id not in self._threads:
            return
        state = self._threads[chat_id].get(thread_id)
        if state is None:
            raise ApiError(400, THREAD_NOT_FOUND)
        if state == "closed":
            raise ApiError(400, TOPIC_CLOSED)

    def _check_photo(self, photo: object) -> None:
        if not isinstance(photo, str):
            return  # an upload
        if photo in self._refused_photos:
            raise ApiError(400, self._refused_photos[photo])
        if not photo.startswith(("http://", "https://")) and not photo.startswith("standin-"):
            raise ApiError(400, WRONG_FILE)

    def _thread_fields(self, chat_id: int, params: JsonDict) -> JsonDict:
        thread_id = get_int(params, "message_thread_id")
        if thread_id is None or chat_id not in self._threads:
            return {}
        return {"message_thread_id": thread_id, "is_topic_message": True}

    def topic_message(
        self, chat_id: int, thread_id: int, text: str, *, user_id: int = DEFAULT_GROUP_USER_ID
    ) -> int:
        """A member writes in a forum topic; returns the update id."""
        self.open_topic(chat_id, thread_id)
        update_id = self.user_message(chat_id, text, user_id=user_id, chat_type="supergroup")
        message = self._updates[-1]["message"]
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        message["chat"]["is_forum"] = True
        return update_id
