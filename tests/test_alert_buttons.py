"""The buttons under an alert and how it rings, as a reader taps them, through the running
bot: unfollow with one tap and undo, "Tin tương tự", alerts without sound."""

from __future__ import annotations

from bot.botapi_standin import SentMessage
from bot.text.i18n import t
from tests.support.bot_world import BotWorld
from tests.support.rss import Item

READER = 4242


def story(world: BotWorld, key: str, title: str) -> Item:
    link = f"https://bao.example.vn/{key}.html"
    return Item(
        title=title,
        link=link,
        guid=link,
        description=f"<p>{title}. Câu thứ hai.</p>",
        published=world.clock.now,
    )


OLD = ["Giá vàng SJC tăng mạnh phiên sáng", "Giá vàng thế giới lập đỉnh mới", "Bão số 3 vào bờ"]


async def alert_for(
    world: BotWorld, title: str, *, follow: str = "/subscribe kinh tế"
) -> SentMessage:
    """The reader follows something, a feed's first poll stores OLD, the next brings title."""
    await world.reply(READER, follow)
    old = [story(world, f"old-{n}", x) for n, x in enumerate(OLD)]
    await world.add_feed("/rss", ["kinh-te"], old)
    await world.poll()  # the feed's first poll: silent
    world.clock.advance(minutes=11)
    world.set_items("/rss", [story(world, "new", title), *old])
    await world.poll()
    await world.outbox_settled()
    [alert] = [m for m in world.sent_to(READER) if title in m.visible_text]
    return alert


def labels(world: BotWorld, message: SentMessage) -> dict[str, str]:
    rows = (
        world.current(READER, message.message_id).get("reply_markup", {}).get("inline_keyboard", [])
    )
    return {b["callback_data"]: b["text"] for row in rows for b in row}


async def test_unfollow_a_topic_in_one_tap_and_undo(world: BotWorld) -> None:
    alert = await alert_for(world, "Giá vàng hôm nay giảm nhẹ")
    [unfollow, similar] = alert.button_data()
    assert unfollow.startswith("al:ut:") and similar.startswith("al:rel:")
    assert labels(world, alert) == {unfollow: "🔕 Bỏ theo dõi Kinh tế", similar: "🔎 Tin tương tự"}

    notice = await world.press(READER, alert.message_id, unfollow)
    assert notice.get("text") == "Đã bỏ theo dõi Kinh tế. Nhầm thì bấm Hoàn tác nhé."
    assert await world.db.subscribers.topic_subscriptions(READER) == []
    [undo, still_similar] = world.buttons(READER, alert.message_id)
    assert labels(world, alert)[undo] == "↩️ Hoàn tác" and still_similar == similar

    again = await world.press(READER, alert.message_id, undo)
    assert again.get("text") == t("vi", "alert.undone")
    assert await world.db.subscribers.topic_subscriptions(READER) == ["kinh-te"]
    assert world.buttons(READER, alert.message_id) == [unfollow, similar]


async def test_unfollow_a_keyword_and_undo_keeps_its_accents(world: BotWorld) -> None:
    alert = await alert_for(world, "Giá vàng hôm nay giảm nhẹ", follow="/subscribe giá vàng")
    [unfollow, _] = alert.button_data()
    assert labels(world, alert)[unfollow] == "🔕 Bỏ từ khóa “giá vàng”"

    notice = await world.press(READER, alert.message_id, unfollow)
    assert notice.get("text") == "Đã bỏ từ khóa “giá vàng”. Nhầm thì bấm Hoàn tác nhé."
    assert await world.db.subscribers.keyword_alerts(READER) == []
    [undo, _] = world.buttons(READER, alert.message_id)
    await world.press(READER, alert.message_id, undo)
    [again] = await world.db.subscribers.keyword_alerts(READER)
    assert again.phrase == "giá vàng"
    assert world.buttons(READER, alert.message_id) == alert.button_data()


async def test_a_second_tap_on_unfollow_says_so_and_changes_nothing(world: BotWorld) -> None:
    alert = await alert_for(world, "Giá vàng hôm nay giảm nhẹ")
    [unfollow, _] = alert.button_data()
    await world.reply(READER, "/unsubscribe kinh tế")  # gone another way meanwhile
    notice = await world.press(READER, alert.message_id, unfollow)
    assert notice.get("text") == t("vi", "alert.nothing_to_unfollow")
    assert world.buttons(READER, alert.message_id) == alert.button_data()


async def test_related_news_finds_the_same_story_elsewhere(world: BotWorld) -> None:
    alert = await alert_for(world, "Giá vàng hôm nay giảm nhẹ")
    [_, similar] = alert.button_data()
    before = len(world.sent_to(READER))
    answer = await world.press(READER, alert.message_id, similar)
    assert answer.get("text") is None
    await world.standin.wait_for(lambda: len(world.sent_to(READER)) > before)
    listing = world.sent_to(READER)[before].visible_text
    assert listing.startswith("Tin tương tự")
    assert OLD[0] in listing and OLD[1] in listing
    assert "Bão số 3" not in listing and "hôm nay giảm nhẹ" not in listing


async def test_alerts_without_sound_always_or_at_night(world: BotWorld) -> None:
    await world.reply(READER, "/subscribe kinh tế")
    await world.add_feed("/rss", ["kinh-te"], [])
    await world.poll()
    menu = await world.reply(READER, "/settings")
    await world.press(READER, menu.message_id, "set:silent")
    await world.press(READER, menu.message_id, "set:sil:night")

    async def next_alert(key: str, title: str) -> SentMessage:
        world.clock.advance(hours=1)
        world.set_items("/rss", [story(world, key, title)])
        await world.poll()
        await world.outbox_settled()
        [alert] = [m for m in world.sent_to(READER) if title in m.visible_text]
        return alert

    day = await next_alert("d", "Lãi suất giảm buổi sáng")  # 10:00 in Hà Nội
    assert "disable_notification" not in day.params
    world.clock.advance(hours=12)
    night = await next_alert("n", "Lãi suất giảm lúc nửa đêm")  # 23:00
    assert night.params.get("disable_notification") is True

    await world.press(READER, menu.message_id, "set:silent")
    await world.press(READER, menu.message_id, "set:sil:always")
    world.clock.advance(hours=11, minutes=-1)  # 09:59 next day
    morning = await next_alert("m", "Tỷ giá đứng yên")
    assert morning.params.get("disable_notification") is True
    # Replies to the reader's own commands ring as usual.
    assert "disable_notification" not in menu.params


async def test_a_keyword_too_long_for_a_button_is_still_unfollowed(world: BotWorld) -> None:
    phrase = "giá vàng miếng SJC hôm nay tại các cửa hàng kinh doanh vàng bạc đá quý lớn"
    alert = await alert_for(world, f"Cập nhật {phrase}", follow=f"/subscribe {phrase}")
    [unfollow, _] = alert.button_data()
    assert len(unfollow.encode()) <= 64
    await world.press(READER, alert.message_id, unfollow)
    assert await world.db.subscribers.keyword_alerts(READER) == []
    [undo, _] = world.buttons(READER, alert.message_id)
    await world.press(READER, alert.message_id, undo)
    [again] = await world.db.subscribers.keyword_alerts(READER)
    assert again.phrase == phrase  # whole, though the button holds only its start
