"""The bot object: python-telegram-bot's ExtBot plus one lean send for bulk traffic."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.ext import ExtBot


class NewsBot(ExtBot[int]):
    """ExtBot whose rate-limiter argument is a send priority (bot.delivery.ratelimit)."""

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except BaseException:
            # The Application does not shut down a bot whose start failed (a rejected
            # token, no connection): its HTTP sessions would be left open.
            await self.shutdown()
            raise

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None,
        reply_markup: InlineKeyboardMarkup | str | None,
        link_preview_options: LinkPreviewOptions | str,
        allow_paid_broadcast: bool | None,
        priority: int,
        disable_notification: bool | None = None,
    ) -> int:
        """sendMessage, returning only the new message's id.

        The outbox sender needs nothing else from Telegram's answer, and
        building a full Message object for each of 100,000 sends is a quarter
        of the send path's CPU. Errors are raised exactly as send_message
        raises them: the request goes through the same _post. The markup and
        preview options may be given as their JSON text, made once for many sends.
        """
        data: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup,
            "link_preview_options": link_preview_options,
            "allow_paid_broadcast": allow_paid_broadcast,
            "disable_notification": disable_notification,
        }
        result = await self._post(
            "sendMessage", data, api_kwargs=self._merge_api_rl_kwargs(None, priority)
        )
        return int(result["message_id"])

    async def send_post(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None,
        photo_url: str | None,
        thread_id: int | None,
        silent: bool,
        link_preview_options: LinkPreviewOptions,
        priority: int,
    ) -> int:
        """A destination's post: sendPhoto with the image URL and text as the caption, or
        sendMessage; in a forum topic when thread_id is given. Returns the message id."""
        data: dict[str, Any] = {
            "chat_id": chat_id,
            "parse_mode": parse_mode,
            "message_thread_id": thread_id,
            "disable_notification": silent or None,
        }
        if photo_url is not None:
            data.update(photo=photo_url, caption=text)
            method = "sendPhoto"
        else:
            data.update(text=text, link_preview_options=link_preview_options)
            method = "sendMessage"
        result = await self._post(
            method, data, api_kwargs=self._merge_api_rl_kwargs(None, priority)
        )
        return int(result["message_id"])
