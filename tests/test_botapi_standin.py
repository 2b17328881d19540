"""The local Bot API stand-in, driven over real HTTP by python-telegram-bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.botapi_standin import BotApiStandIn, HtmlParseError, parse_html

TOKEN = "123456:STANDIN-secret-token"

# PTB itself reads RetryAfter.retry_after when it builds the exception's message.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*`retry_after` will be of type:telegram.warnings.PTBDeprecationWarning"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(fake_clock: FakeClock) -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=TOKEN, clock=fake_clock) as standin:
        yield standin


@pytest.fixture
async def bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as tg:
        yield tg


def _retry_seconds(err: RetryAfter) -> float:
    value = err._retry_after  # the timedelta; the public property warns about its future type
    return value.total_seconds()


# ---- basics ------------------------------------------------------------------------


async def test_get_me(api: BotApiStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "newsbot"
    assert me.id == 123456
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is True  # the bot answers "@bot words"
    assert api.calls[0][0] == "getMe"


async def test_send_message_with_html_and_keyboard_is_recorded(
    api: BotApiStandIn, bot: Bot, fake_clock: FakeClock
) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Xem thêm", callback_data="more:1")],
            [InlineKeyboardButton("Mở", url="https://example.vn/a")],
        ]
    )
    text = '<b>Tin mới</b> — <a href="https://example.vn/a">Đọc</a> &amp; bàn luận 👍'
    sent = await bot.send_message(42, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)

    assert sent.text == "Tin mới — Đọc & bàn luận 👍"
    assert sent.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 7),
        MessageEntity(MessageEntity.TEXT_LINK, 10, 3, url="https://example.vn/a"),
    )
    assert sent.reply_markup == keyboard
    assert sent.chat.id == 42
    assert sent.from_user is not None and sent.from_user.username == "newsbot"

    record = api.last_to(42)
    assert record is not None
    assert record.method == "sendMessage"
    assert record.text == text
    assert record.visible_text == sent.text
    assert record.parse_mode == "HTML"
    assert record.message_id == sent.message_id
    assert record.reply_markup is not None
    assert record.button_data() == ["more:1"]
    assert record.edited is False
    assert record.at == fake_clock.now
    method, params = api.calls[-1]
    assert method == "sendMessage"
    assert params["chat_id"] == 42  # PTB sends "42" as form data; decoded
    assert isinstance(params["reply_markup"], dict)  # PTB sends it as a JSON string


async def test_edit_message_text(api: BotApiStandIn, bot: Bot) -> None:
    first = await bot.send_message(7, "đang tải…")
    edited = await bot.edit_message_text("<i>xong</i>", 7, first.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool)
    assert edited.text == "xong"
    assert edited.edit_date is not None

    records = api.messages_to(7)
    assert [(r.method, r.edited, r.text) for r in records] == [
        ("sendMessage", False, "đang tải…"),
        ("editMessageText", True, "<i>xong</i>"),
    ]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<i>xong</i>", 7, first.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 7, 999)


async def test_edit_reply_markup_and_delete(api: BotApiStandIn, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(8, "chọn", reply_markup=keyboard)
    await bot.edit_message_reply_markup(8, sent.message_id, reply_markup=None)
    last = api.last_to(8)
    assert last is not None and last.edited and last.reply_markup is None
    assert await bot.delete_message(8, sent.message_id)
    assert api.deleted == [(8, sent.message_id)]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(8, sent.message_id)


async def test_upload_and_reply(api: BotApiStandIn, bot: Bot) -> None:
    api.user_message(3, "ảnh đâu?")
    data = b"\x89PNG fake bytes"
    photo = await bot.send_photo(3, photo=data, caption="đây", reply_to_message_id=1)
    assert photo.reply_to_message is not None
    assert photo.reply_to_message.text == "ảnh đâu?"
    _, params = api.calls[-1]
    assert params["photo"]["upload"] == "photo"  # PTB uploads bytes as multipart/form-data
    assert params["photo"]["size"] == len(data)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(3, "x", reply_to_message_id=99)


# ---- updates -----------------------------------------------------------------------


async def test_user_message_arrives_through_get_updates(api: BotApiStandIn, bot: Bot) -> None:
    update_id = api.user_message(42, "/start tin-moi", first_name="Lan")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start tin-moi"
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.id == 42
    assert message.from_user.first_name == "Lan"
    assert message.from_user.language_code == "vi"
    assert message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 6),)

    # confirming with offset drops it
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_group_command_with_bot_name(api: BotApiStandIn, bot: Bot) -> None:
    api.user_message(-100, "/subscribe@newsbot kinh-te", chat_type="group", user_id=5)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.chat.type == "group"
    assert update.message.from_user is not None and update.message.from_user.id == 5
    assert update.message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 18),)


async def test_long_poll_waits_for_an_update(api: BotApiStandIn, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await api.wait_for(lambda: any(name == "getUpdates" for name, _ in api.calls))
    await asyncio.sleep(0.05)
    assert not poll.done()
    api.user_message(1, "chào")
    updates = await poll
    assert len(updates) == 1
    assert time.monotonic() - started < 2


async def get_updates_raw(api: BotApiStandIn, wait: float) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}{api.token}/getUpdates", json={"timeout": wait}) as answer,
    ):
        return answer.status


async def polls_waiting(api: BotApiStandIn, count: int) -> None:
    await api.wait_for(lambda: sum(name == "getUpdates" for name, _ in api.calls) >= count)
    await asyncio.sleep(0.05)


async def test_a_second_get_updates_caller_ends_the_first_with_409(api: BotApiStandIn) -> None:
    first = asyncio.create_task(get_updates_raw(api, 3))
    await polls_waiting(api, 1)

    second = asyncio.create_task(get_updates_raw(api, 0.2))

    assert await first == 409
    assert await second == 200
    assert api.conflict_409_count == 1


async def test_a_long_poll_whose_caller_left_is_no_conflict(api: BotApiStandIn) -> None:
    gone = asyncio.create_task(get_updates_raw(api, 3))
    await polls_waiting(api, 1)
    gone.cancel()  # the caller was stopped or killed: its connection closes
    await asyncio.gather(gone, return_exceptions=True)
    await asyncio.sleep(0.05)

    assert await get_updates_raw(api, 0.2) == 200
    await asyncio.sleep(0.1)
    assert api.conflict_409_count == 0


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=timedelta(seconds=0.3)) == ()
    assert 0.25 < time.monotonic() - started < 2


async def test_press_button_and_answer_callback(api: BotApiStandIn, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Thể thao", callback_data="t:sport")]])
    sent = await bot.send_message(42, "Chọn chủ đề", reply_markup=keyboard)
    query_id = api.press_button(42, sent.message_id, "t:sport")

    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "t:sport"
    assert query.from_user.id == 42
    assert query.message is not None and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query_id, text="Đã đăng ký")
    assert api.answered_callbacks == [{"callback_query_id": query_id, "text": "Đã đăng ký"}]
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ValueError, match="no button"):
        api.press_button(42, sent.message_id, "t:other")


def _article(result_id: str, text: str = "Tin") -> InlineQueryResultArticle:
    return InlineQueryResultArticle(result_id, "Tiêu đề", InputTextMessageContent(text))


async def test_inline_query_and_its_answer_as_telegram_checks_it(
    api: BotApiStandIn, bot: Bot
) -> None:
    query_id = api.inline_query(42, "giá vàng", chat_type="group", language_code="en")
    (update,) = await bot.get_updates(timeout=0)
    query = update.inline_query
    assert query is not None and query.id == query_id
    assert (query.query, query.chat_type, query.from_user.language_code) == (
        "giá vàng", "group", "en",
    )  # fmt: skip

    refused = {
        "RESULTS_TOO_MUCH": [_article(str(n)) for n in range(51)],
        "RESULT_ID_DUPLICATE": [_article("1"), _article("1")],
        "RESULT_ID_INVALID": [_article("x" * 65)],
        "MESSAGE_TOO_LONG": [_article("1", "x" * 4097)],
    }
    for description, results in refused.items():
        with pytest.raises(BadRequest, match=rf"(?i){description}"):
            await bot.answer_inline_query(query_id, results)
    with pytest.raises(BadRequest, match=r"(?i)next_offset_invalid"):
        await bot.answer_inline_query(query_id, [], next_offset="9" * 65)

    assert await bot.answer_inline_query(query_id, [_article("1")], next_offset="10")
    answer = api.inline_answer(query_id)
    assert answer is not None and answer["next_offset"] == "10"
    assert answer["results"][0]["input_message_content"]["message_text"] == "Tin"
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_inline_query(query_id, [])  # answered once, as on Telegram


async def test_set_my_commands_per_language(api: BotApiStandIn, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands([BotCommand("stop", "Dừng")], scope=BotCommandScopeAllPrivateChats())
    assert api.my_commands == {
        "": [
            {"command": "start", "description": "Bắt đầu"},
            {"command": "help", "description": "Trợ giúp"},
        ],
        "en": [{"command": "start", "description": "Start"}],
    }
    assert api.commands_for("all_private_chats") == [{"command": "stop", "description": "Dừng"}]
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    await bot.delete_my_commands(language_code="en")
    assert "en" not in api.my_commands
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chat_member_and_admins(api: BotApiStandIn, bot: Bot) -> None:
    assert (await bot.get_chat_member(42, 42)).status == "creator"
    api.set_admins(-200, [5, 6], owner=5)
    assert (await bot.get_chat_member(-200, 5)).status == "creator"
    assert (await bot.get_chat_member(-200, 6)).status == "administrator"
    assert (await bot.get_chat_member(-200, 7)).status == "member"
    admins = await bot.get_chat_administrators(-200)
    assert [m.user.id for m in admins] == [5, 6]
    chat = await bot.get_chat(-200)
    assert chat.type == "group"
    assert await bot.send_chat_action(42, "typing")


# ---- faults ------------------------------------------------------------------------


async def test_blocked_user_is_forbidden(api: BotApiStandIn, bot: Bot) -> None:
    api.block(42)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "xin chào")
    assert api.messages_to(42) == []
    api.user_message(42, "/start")  # writing again unblocks, as in Telegram
    await bot.send_message(42, "xin chào")


async def test_chat_not_found(api: BotApiStandIn, bot: Bot) -> None:
    api.chat_not_found(99)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(99, "x")


async def test_migrated_group(api: BotApiStandIn, bot: Bot) -> None:
    api.migrate(-300, -1001234567890)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-300, "x")
    assert caught.value.new_chat_id == -1001234567890
    sent = await bot.send_message(-1001234567890, "x")
    assert sent.chat.type == "supergroup"


async def test_flood_limits_with_injected_clock(
    api: BotApiStandIn, bot: Bot, fake_clock: FakeClock
) -> None:
    api.set_flood_limits(global_per_second=3, per_chat_per_second=1, per_group_per_minute=2)
    await bot.send_message(1, "một")
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(1, "hai")
    assert _retry_seconds(per_chat.value) == 1

    await bot.send_message(2, "x")
    await bot.send_message(3, "x")
    with pytest.raises(RetryAfter):  # a 4th send within the same second, to a fresh chat
        await bot.send_message(4, "x")

    fake_clock.now += 1.0
    await bot.send_message(1, "hai")  # the window moved on

    await bot.send_message(-500, "nhóm 1")
    fake_clock.now += 1.0
    await bot.send_message(-500, "nhóm 2")
    fake_clock.now += 1.0
    with pytest.raises(RetryAfter) as per_group:
        await bot.send_message(-500, "nhóm 3")
    assert _retry_seconds(per_group.value) == 58  # the first group send leaves the minute then
    assert api.flood_429_count == 3
    assert [m.text for m in api.messages_to(1)] == ["một", "hai"]

    api.set_flood_limits(False)
    await bot.send_message(-500, "nhóm 3")


async def test_flood_answer_shape(api: BotApiStandIn) -> None:
    api.set_flood_limits()
    url = f"{api.base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"chat_id": 5, "text": "a"}) as first:
            assert first.status == 200
        async with session.post(url, json={"chat_id": 5, "text": "b"}) as second:
            assert second.status == 429
            assert await second.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }


async def test_bad_html_is_refused(api: BotApiStandIn, bot: Bot) -> None:
    for text in ("<b>đậm", "<p>đoạn</p>", "<b><i>x</b></i>", "a &nbsp; b", "1 < 2"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(1, text, parse_mode="HTML")
    assert api.sent == []
    # unescaped characters are fine without a parse mode
    await bot.send_message(1, "1 < 2 & <p>")


async def test_length_limits(api: BotApiStandIn, bot: Bot) -> None:
    # tags do not count; an emoji counts two UTF-16 units
    await bot.send_message(1, "<b>" + "đ" * 4094 + "</b>👍", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "đ" * 4095 + "👍")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(1, "https://example.vn/a.jpg", caption="x" * 1025)
    photo = await bot.send_photo(
        1, "https://example.vn/a.jpg", caption="<b>Ảnh</b>", parse_mode="HTML"
    )
    assert photo.caption == "Ảnh"
    last = api.last_to(1)
    assert last is not None and last.method == "sendPhoto"
    assert last.photo == "https://example.vn/a.jpg"
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "<b></b>", parse_mode="HTML")


async def test_server_error_and_slow_answer(api: BotApiStandIn, bot: Bot) -> None:
    api.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(1, "x")
    api.fail_next("sendMessage", status=502, description="Bad Gateway", count=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
    await bot.send_message(1, "x")

    api.fail_next("sendMessage", status=200, delay=0.3)
    started = time.monotonic()
    await bot.send_message(1, "chậm")
    assert time.monotonic() - started >= 0.3

    async with Bot(TOKEN, base_url=api.base_url, request=HTTPXRequest(read_timeout=0.2)) as fast:
        api.fail_next("*", status=200, delay=1.0)
        with pytest.raises(TimedOut):
            await fast.send_message(1, "quá chậm")


async def test_wrong_token_and_secrecy(
    api: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidToken):
        async with Bot("654321:WRONG", base_url=api.base_url) as wrong:
            await wrong.get_me()
    async with Bot(TOKEN, base_url=api.base_url) as right:
        api.fail_next("sendMessage", status=500)
        with pytest.raises(NetworkError):
            await right.send_message(1, "x")
        with pytest.raises(BadRequest):
            await right.send_message(1, "<x>", parse_mode="HTML")
    ours = [r for r in caplog.records if r.name.startswith(("bot.botapi_standin", "aiohttp"))]
    assert all(TOKEN not in r.getMessage() for r in ours)
    assert TOKEN not in repr(api.calls)
    assert all("WRONG" not in repr(params) for _, params in api.calls)


async def test_unknown_method_is_404(api: BotApiStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api.base_url}{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
        async with session.get(f"{api.base_url}{TOKEN}/GETME") as response:
            assert response.status == 200  # method names are case-insensitive


# ---- HTML parsing ------------------------------------------------------------------


def test_parse_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>Hà Nội</b> <pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">bí mật</span> &lt;&#39;&#x41;&gt;'
    )
    assert text == "😀 Hà Nội x = 1bí mật <'A>"
    assert entities == [
        {"offset": 3, "length": 6, "type": "bold"},
        {"offset": 10, "length": 5, "type": "pre", "language": "python"},
        {"offset": 15, "length": 6, "type": "spoiler"},
    ]


def test_parse_html_errors_are_telegrams() -> None:
    with pytest.raises(HtmlParseError, match=r'Unsupported start tag "br/" at byte offset 2'):
        parse_html("ab<br/>")
    with pytest.raises(HtmlParseError, match="Can't find end tag corresponding to start tag"):
        parse_html("<i>x")
    with pytest.raises(HtmlParseError, match="Unmatched end tag"):
        parse_html("<b><i>x</b></i>")
    with pytest.raises(HtmlParseError, match='must have class "tg-spoiler"'):
        parse_html("<span>x</span>")
    assert parse_html("AT&T") == ("AT&T", [])  # a bare & is accepted, as Telegram does


# ---- a real Application ------------------------------------------------------------


async def test_application_replies_to_start(
    api: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "xin chào")

    app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        api.user_message(42, "/start")
        await api.wait_for(lambda: api.last_to(42) is not None)
        reply = api.last_to(42)
        assert reply is not None and reply.text == "xin chào"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    names = [name for name, _ in api.calls]
    assert names[0] == "getMe"
    assert "deleteWebhook" in names
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
