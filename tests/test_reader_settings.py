"""Settings and topic names as a reader types and taps them, through the running bot:
digest times with minutes, the /settings buttons, topics by any of their names."""

from __future__ import annotations

import pytest

from bot.text.i18n import t
from tests.support.bot_world import BotWorld

READER = 4242


async def digest_time(world: BotWorld) -> tuple[int, int]:
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None
    return reader.digest_hour, reader.digest_minute


@pytest.mark.parametrize(
    ("typed", "hour", "minute"),
    [("18:30", 18, 30), ("18h30", 18, 30), ("6h", 6, 0), ("6 giờ", 6, 0), ("6:05", 6, 5),
     ("6 gio 30", 6, 30), ("6h chiều", 18, 0), ("7", 7, 0)],
)  # fmt: skip
async def test_digest_takes_the_time_as_readers_write_it(
    world: BotWorld, typed: str, hour: int, minute: int
) -> None:
    await world.reply(READER, "/mode bản tin")
    answer = await world.reply(READER, f"/digest {typed}")
    # 09:00 in Hà Nội: the switch marked today's 07:00 digest done, so the next is tomorrow.
    label = f"{hour:02d}:{minute:02d}"
    assert answer.text == t("vi", "settings.digest_set", hour=label, first="ngày mai")
    assert await digest_time(world) == (hour, minute)
    settings = await world.reply(READER, "/settings")
    assert f"Giờ nhận bản tin: {hour:02d}:{minute:02d}" in settings.visible_text


async def test_the_promise_says_when_the_first_digest_comes(world: BotWorld) -> None:
    # 09:00 in Hà Nội. A digest at 18:30 set first: the first one is today.
    await world.reply(READER, "/digest 18:30")
    today = await world.reply(READER, "/mode bản tin")
    assert today.visible_text == (
        "Từ giờ bạn sẽ nhận một bản tin lúc 18:30 mỗi ngày, bắt đầu từ hôm nay."
    )
    # Another reader switches with 07:00, already past: tomorrow, and "send now" offered.
    tomorrow = await world.reply(READER + 1, "/mode bản tin")
    assert tomorrow.visible_text.endswith("mỗi ngày, bắt đầu từ ngày mai.")
    assert tomorrow.button_data() == ["dg:now"]


@pytest.mark.parametrize("typed", ["25:00", "18:75", "sáng mai", "18:3"])
async def test_a_time_that_is_not_one_gets_an_example(world: BotWorld, typed: str) -> None:
    answer = await world.reply(READER, f"/digest {typed}")
    assert answer.text == t("vi", "settings.digest_usage")
    assert "/digest 18:30" in answer.visible_text
    assert await world.db.subscribers.get_subscriber(READER) is not None
    assert await digest_time(world) == (7, 0)  # nothing changed


async def test_settings_buttons_set_every_setting(world: BotWorld) -> None:
    menu = await world.reply(READER, "/settings")
    buttons = menu.button_data()
    assert buttons == [
        "set:mode:digest", "set:hours", "set:quiet", "set:silent", "set:lang:en",
    ]  # fmt: skip
    message = menu.message_id

    # Digest time: an hour, then its minutes.
    await world.press(READER, message, "set:hours")
    assert "set:hour:18" in world.buttons(READER, message)
    await world.press(READER, message, "set:hour:18")
    assert world.buttons(READER, message)[:4] == [
        "set:time:18:00", "set:time:18:15", "set:time:18:30", "set:time:18:45",
    ]  # fmt: skip
    notice = await world.press(READER, message, "set:time:18:30")
    assert notice.get("text") == "Đã đặt giờ bản tin là 18:30. Bạn đang nhận tin ngay khi có bài."
    assert await digest_time(world) == (18, 30)

    # Quiet hours from a preset, then off.
    await world.press(READER, message, "set:quiet")
    await world.press(READER, message, "set:q:22-6")
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and (reader.quiet_start, reader.quiet_end) == (22, 6)
    assert "Không làm phiền: 22:00–06:00" in world.visible(READER, message)
    await world.press(READER, message, "set:quiet")
    await world.press(READER, message, "set:q:off")
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and reader.quiet_start is None

    # Silent alerts.
    await world.press(READER, message, "set:silent")
    assert world.buttons(READER, message)[:3] == [
        "set:sil:off", "set:sil:night", "set:sil:always",
    ]  # fmt: skip
    notice = await world.press(READER, message, "set:sil:night")
    assert notice.get("text") == t("vi", "settings.silent_set_night")
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and reader.silent_alerts == "night"
    assert "Tin mới không chuông: ban đêm" in world.visible(READER, message)

    # Back leaves everything as it was; the mode and language buttons still work.
    await world.press(READER, message, "set:silent")
    await world.press(READER, message, "set:menu")
    assert world.buttons(READER, message) == buttons
    await world.press(READER, message, "set:mode:digest")
    assert "Nhận tin: bản tin hằng ngày" in world.visible(READER, message)
    assert world.buttons(READER, message)[:2] == ["set:mode:instant", "dg:now"]
    nothing = await world.press(READER, message, "dg:now")
    assert nothing.get("text") == t("vi", "digest.nothing_new")
    await world.press(READER, message, "set:lang:en")
    assert "Silent alerts: at night" in world.visible(READER, message)


async def test_bare_digest_and_quiet_ask_with_buttons(world: BotWorld) -> None:
    asked = await world.reply(READER, "/digest")
    assert asked.text == t("vi", "settings.pick_hour")
    await world.press(READER, asked.message_id, "set:hour:6")
    await world.press(READER, asked.message_id, "set:time:06:45")
    assert await digest_time(world) == (6, 45)
    quiet = await world.reply(READER, "/quiet")
    assert quiet.text == t("vi", "settings.pick_quiet")
    await world.press(READER, quiet.message_id, "set:q:23-7")
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and (reader.quiet_start, reader.quiet_end) == (23, 7)


@pytest.mark.parametrize(
    "typed", ["Economy", "kinh te", "kinh-te", "KINH TẾ", "Business", "kinh doanh", "tài chính"]
)
async def test_a_topic_by_any_of_its_names(world: BotWorld, typed: str) -> None:
    answer = await world.reply(READER, f"/subscribe {typed}")
    assert answer.text == t("vi", "subscribe.topic_added", topic="Kinh tế")
    assert await world.db.subscribers.topic_subscriptions(READER) == ["kinh-te"]
    assert await world.db.subscribers.keyword_alerts(READER) == []


async def test_an_alias_in_english_ui_and_in_latest(world: BotWorld) -> None:
    answer = await world.reply(READER, "/subscribe economy", language_code="en")
    assert answer.text == t("en", "subscribe.topic_added", topic="Business")
    latest = await world.reply(READER, "/latest economy")
    assert latest.text == t("en", "latest.none")  # the topic was found; it has no articles


async def test_a_near_miss_of_an_alias_asks_with_a_button(world: BotWorld) -> None:
    answer = await world.reply(READER, "/subscribe econom")
    assert answer.text == t("vi", "subscribe.did_you_mean", topic="Kinh tế")
    assert answer.visible_text == "Ý bạn là chủ đề Kinh tế?"
    await world.press(READER, answer.message_id, answer.button_data()[0])
    assert await world.db.subscribers.topic_subscriptions(READER) == ["kinh-te"]


@pytest.mark.parametrize(
    "typed", ["22-6", "22h-6h", "22:00–06:00", "từ 22 giờ đến 6 giờ sáng", "22 den 6"]
)
async def test_quiet_hours_as_readers_write_them(world: BotWorld, typed: str) -> None:
    answer = await world.reply(READER, f"/quiet {typed}")
    assert answer.text == t("vi", "settings.quiet_set", start="22:00", end="06:00")
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and (reader.quiet_start, reader.quiet_end) == (22, 6)
    assert (await world.reply(READER, "/quiet tắt")).text == t("vi", "settings.quiet_off_set")
