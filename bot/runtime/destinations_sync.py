"""feeds.toml's [[destinations]] brought into the database when the bot starts.

A channel named by @username needs Telegram to learn its id, so this runs with the
bot (not with the operator commands, which never talk to Telegram).
"""

from __future__ import annotations

import logging

from bot.delivery.sender import look_up_chat
from bot.delivery.telegram_bot import NewsBot
from bot.runtime.feeds_config import DestinationConfig
from storage import Database
from storage.rows import DestinationSpec

log = logging.getLogger(__name__)

_TYPES = ("channel", "group", "supergroup")


async def sync_destinations(
    db: Database, bot: NewsBot, destinations: tuple[DestinationConfig, ...], *, now: int
) -> int:
    """Look each destination up and make the stored ones match the file; returns how
    many were added. One Telegram cannot find is kept as it was, not removed."""
    specs: list[DestinationSpec] = []
    complete = True
    for entry in destinations:
        spec = await _spec(bot, entry)
        if spec is None:
            complete = False
            continue
        specs.append(spec)
    added = await db.destinations.sync_config(specs, now=now, remove_missing=complete)
    if destinations:
        log.info("destinations from feeds.toml: %d synced, %d new", len(specs), added)
    return added


async def _spec(bot: NewsBot, entry: DestinationConfig) -> DestinationSpec | None:
    info = await look_up_chat(bot, entry.chat)
    if info is None and isinstance(entry.chat, str):
        return None  # an @username only Telegram can turn into a chat id
    if info is not None and info.type not in _TYPES:
        log.warning("destination %s is a %s chat, not a channel or group", entry.chat, info.type)
        return None
    if info is None:
        assert isinstance(entry.chat, int)
        # Not visible yet (the bot is not in it): supergroups and channels have
        # -100… ids; posting will tell, and pause it if the bot cannot post.
        chat_id, chat_type, title = (
            entry.chat,
            "channel" if str(entry.chat).startswith("-100") else "group",
            "",
        )
    else:
        chat_id, chat_type, title = info.id, info.type, info.title
    return DestinationSpec(
        chat_id=chat_id,
        chat_type=chat_type,
        title=entry.name or title,
        thread_id=entry.thread_id,
        topics=entry.topics,
        feed_urls=entry.sources,
        style=entry.style,
        hashtags=entry.hashtags,
        silent=entry.silent,
    )
