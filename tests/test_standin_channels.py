"""The stand-in's channels, groups and forum topics, driven over real HTTP by
python-telegram-bot: posting rights, forum topics, photo URLs, @usernames and the
my_chat_member update, in Telegram's own wording."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, ChatMemberAdministrator, ChatMemberLeft
from telegram.error import BadRequest

from bot.botapi_standin import BotApiStandIn
from bot.botapi_standin.channels import THREAD_NOT_FOUND, TOPIC_CLOSED, URL_CONTENT, WRONG_FILE

TOKEN = "123456:STANDIN-secret-token"
CHANNEL = -1001000000001
FORUM = -1001000000002


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as tg:
        yield tg


async def test_posts_land_in_forum_topics_and_closed_or_deleted_ones_refuse(
    api: BotApiStandIn, bot: Bot
) -> None:
    for thread in (1, 2, 3):
        api.open_topic(FORUM, thread)
    api.close_topic(FORUM, 2)
    api.delete_topic(FORUM, 3)

    sent = await bot.send_message(FORUM, "chào", message_thread_id=1)

    assert (sent.message_thread_id, sent.is_topic_message) == (1, True)
    assert api.last_to(FORUM) is not None
    for thread, description in ((2, TOPIC_CLOSED), (3, THREAD_NOT_FOUND)):
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(FORUM, "chào", message_thread_id=thread)
        assert description.removeprefix("Bad Request: ").lower() in str(caught.value).lower()


async def test_a_channel_without_rights_refuses_posts(api: BotApiStandIn, bot: Bot) -> None:
    api.set_chat(CHANNEL, "channel", title="Kênh")
    api.take_rights(CHANNEL)

    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "tin")

    api.give_rights(CHANNEL)
    assert (await bot.send_message(CHANNEL, "tin")).chat.type == "channel"


async def test_photo_urls_telegram_cannot_use(api: BotApiStandIn, bot: Bot) -> None:
    api.refuse_photo("https://img.example.vn/hong.jpg")

    sent = await bot.send_photo(CHANNEL, "https://img.example.vn/tot.jpg", caption="ảnh")
    assert sent.caption == "ảnh" and api.sent[-1].photo == "https://img.example.vn/tot.jpg"
    for photo, description in (
        ("https://img.example.vn/hong.jpg", URL_CONTENT),
        ("not-a-url", WRONG_FILE),
    ):
        with pytest.raises(BadRequest) as caught:
            await bot.send_photo(CHANNEL, photo)
        assert description.removeprefix("Bad Request: ").lower() in str(caught.value).lower()


async def test_a_channel_is_found_by_its_username(api: BotApiStandIn, bot: Bot) -> None:
    api.set_chat(CHANNEL, "channel", title="Báo Thử")
    api.set_username(CHANNEL, "@bao_thu")

    chat = await bot.get_chat("@Bao_Thu")

    assert (chat.id, chat.type, chat.title, chat.username) == (
        CHANNEL,
        "channel",
        "Báo Thử",
        "bao_thu",
    )
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat("@khong_co")


async def test_my_chat_member_updates_parse_as_telegram_sends_them(
    api: BotApiStandIn, bot: Bot
) -> None:
    api.bot_made_admin(CHANNEL, "channel", by_user=501, title="Kênh")
    api.bot_made_admin(CHANNEL, "channel", by_user=501, status="left", old_status="administrator")

    added, removed = await bot.get_updates()

    assert added.my_chat_member is not None and removed.my_chat_member is not None
    assert isinstance(added.my_chat_member.new_chat_member, ChatMemberAdministrator)
    assert added.my_chat_member.new_chat_member.can_post_messages is True
    assert added.my_chat_member.from_user.id == 501
    assert isinstance(removed.my_chat_member.new_chat_member, ChatMemberLeft)
    assert removed.my_chat_member.chat.id == CHANNEL
