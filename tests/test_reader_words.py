"""What a Vietnamese reader types and reads: /help, /mode in Vietnamese, keywords,
search answers — through the running bot, as a reader would type it."""

from __future__ import annotations

import dataclasses

import pytest

from bot.admin.health import notify_paused_feeds
from bot.text.i18n import t
from storage.rows import FeedSpec
from tests.support.bot_world import BOT_USERNAME, BotWorld
from tests.support.feed_server import Route
from tests.support.rss import Item

READER = 4242
ADMIN = 77


async def test_help_lists_every_reader_command_and_admins_see_theirs(world: BotWorld) -> None:
    reader_help = (await world.reply(READER, "/help")).visible_text
    for command in ("/subscribe", "/unsubscribe", "/mysubs", "/search", "/latest",
                    "/settings", "/mode", "/digest", "/quiet", "/lang", "/stop"):  # fmt: skip
        assert command in reader_help
    assert "/broadcast" not in reader_help
    assert f"@{BOT_USERNAME} từ khóa" in reader_help  # inline mode

    world.services.settings = dataclasses.replace(
        world.services.settings, admin_ids=frozenset({ADMIN})
    )
    admin_help = (await world.reply(ADMIN, "/help")).visible_text
    assert admin_help.startswith(reader_help)
    for command in ("/broadcast", "/cancel_broadcast", "/stats", "/export", "/import"):
        assert command in admin_help


@pytest.mark.parametrize(
    ("typed", "mode"),
    [("/mode bản tin", "digest"), ("/mode ban tin", "digest"), ("/mode hằng ngày", "digest"),
     ("/mode ngay", "instant"), ("/mode digest", "digest"), ("/mode instant", "instant")],
)  # fmt: skip
async def test_mode_takes_the_readers_own_words(world: BotWorld, typed: str, mode: str) -> None:
    if mode == "instant":
        await world.reply(READER, "/mode bản tin")
    await world.reply(READER, typed)
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and reader.mode == mode


async def test_mode_usage_speaks_vietnamese(world: BotWorld) -> None:
    usage = await world.reply(READER, "/mode nhanh lên")
    assert usage.text == t("vi", "settings.mode_usage")
    assert "/mode ngay" in usage.visible_text and "/mode bản tin" in usage.visible_text


@pytest.mark.parametrize("keyword", ["a", "Đ", "x "])
async def test_a_one_letter_keyword_is_refused_politely(world: BotWorld, keyword: str) -> None:
    answer = await world.reply(READER, f"/subscribe {keyword}")
    assert answer.text == t("vi", "subscribe.keyword_too_short")
    assert await world.db.subscribers.keyword_alerts(READER) == []


async def test_a_keyword_is_followed_not_warned_about(world: BotWorld) -> None:
    answer = await world.reply(READER, "/subscribe giá vàng")
    assert answer.visible_text.startswith("Đã theo dõi từ khóa giá vàng.")
    assert "cảnh báo" not in answer.visible_text


async def test_search_advice_fits_the_query(world: BotWorld) -> None:
    short = await world.reply(READER, "/search a")
    assert short.text == t("vi", "search.none_short", query="a")
    assert "ngắn hơn" not in short.visible_text
    longer = await world.reply(READER, "/search cá sấu bay lượn")
    assert longer.text == t("vi", "search.none", query="cá sấu bay lượn")


async def test_only_start_or_following_something_makes_a_reader(world: BotWorld) -> None:
    # Answered, but not kept: no broadcast will ever reach these chats.
    typed = ["/help", "/search giá vàng", "/foo", "/broadcast Xin chào", "/latest", "/mysubs"]
    for chat, text in enumerate(typed, 901):
        assert await world.say(chat, text), text
        assert await world.db.subscribers.get_subscriber(chat) is None, text
    assert (await world.db.subscribers.count_subscribers())["active"] == 0

    await world.say(907, "/start")
    await world.reply(908, "/subscribe kinh tế")
    assert (await world.db.subscribers.count_subscribers())["active"] == 2


async def test_stats_speak_the_admins_language(world: BotWorld) -> None:
    world.services.settings = dataclasses.replace(
        world.services.settings, admin_ids=frozenset({ADMIN})
    )
    await world.add_feed("/rss", ["kinh-te"], [])
    await world.db.feeds.add_feed(
        FeedSpec(world.feeds.url("/gone"), "Báo đã bỏ", ("kinh-te",)), now=world.clock.ts
    )
    await world.db.feeds.disable_feed(world.feeds.url("/gone"))
    world.feeds.set("/rss", Route(status=500, body=b"down"))
    await world.poll()
    text = next(m for m in await world.say(ADMIN, "/stats", expect=2) if m.text).visible_text
    assert "1 đang lỗi" in text
    assert "removed" not in text and "failing" not in text and "đã bỏ" not in text
    assert "Lỗi hay gặp: trang báo lỗi 1" in text and "http_status" not in text


async def test_stats_count_articles_today_and_readers_by_mode(world: BotWorld) -> None:
    world.services.settings = dataclasses.replace(
        world.services.settings, admin_ids=frozenset({ADMIN})
    )
    await world.reply(READER, "/subscribe kinh tế")
    await world.reply(READER + 1, "/mode bản tin")
    await world.reply(READER + 2, "/start")
    items = [Item(title=f"Tin {n}", link=f"https://bao.example.vn/{n}.html", guid=str(n),
                  description="Tin.", published=world.clock.now) for n in range(3)]  # fmt: skip
    await world.add_feed("/rss", ["kinh-te"], items)
    await world.poll()
    text = next(m for m in await world.say(ADMIN, "/stats", expect=2) if m.text).visible_text
    assert "Bài viết: 3 hôm nay · 3 tất cả" in text
    assert "Người đọc: 3 đang nhận (2 nhận ngay · 1 bản tin)" in text
    assert "Lỗi hay gặp: —" in text


async def test_a_digest_hour_in_instant_mode_says_so_and_offers_the_switch(
    world: BotWorld,
) -> None:
    answer = await world.reply(READER, "/digest 6h")
    assert answer.text == t("vi", "settings.digest_set_instant", hour="06:00")
    [button] = answer.button_data()
    await world.press(READER, answer.message_id, button)
    reader = await world.db.subscribers.get_subscriber(READER)
    assert reader is not None and (reader.mode, reader.digest_hour) == ("digest", 6)
    assert (await world.reply(READER, "/digest 7 giờ")).text == t(
        "vi", "settings.digest_set", hour="07:00", first="ngày mai"
    )


@pytest.mark.parametrize(("typed", "topic"), [("kinh t", "Kinh tế"), ("bussiness", "Kinh tế")])
async def test_a_near_miss_asks_which_was_meant(world: BotWorld, typed: str, topic: str) -> None:
    answer = await world.reply(READER, f"/subscribe {typed}")
    assert answer.text == t("vi", "subscribe.did_you_mean", topic=topic)
    assert await world.db.subscribers.keyword_alerts(READER) == []
    topic_button, keyword_button = answer.button_data()
    assert topic_button == "t:kinh-te" and keyword_button == f"kw:{typed}"

    await world.press(READER, answer.message_id, keyword_button)
    [alert] = await world.db.subscribers.keyword_alerts(READER)
    assert alert.phrase == typed
    assert await world.db.subscribers.topic_subscriptions(READER) == []


async def test_exact_names_follow_at_once_and_far_words_are_keywords(world: BotWorld) -> None:
    exact = await world.reply(READER, "/subscribe thoi su")
    assert exact.text == t("vi", "subscribe.topic_added", topic="Thời sự")
    far = await world.reply(READER, "/subscribe giá vàng")
    assert far.text.startswith("Đã theo dõi từ khóa")


async def test_switching_to_digests_offers_one_at_once(world: BotWorld) -> None:
    await world.reply(READER, "/subscribe kinh tế")
    await world.add_feed("/rss", ["kinh-te"], [])
    await world.poll()  # the feed's first poll: silent
    switched = await world.reply(READER, "/mode bản tin")
    assert switched.button_data() == ["dg:now"]

    world.clock.advance(minutes=11)  # the feed is due again
    world.set_items(
        "/rss",
        [Item(title="Giá xăng giảm mạnh", link="https://bao.example.vn/xang.html",
              guid="xang", description="Giá xăng giảm.", published=world.clock.now)],
    )  # fmt: skip
    await world.poll()  # stored; a digest reader gets no alert
    answer = await world.press(READER, switched.message_id, "dg:now")
    assert answer.get("text") == t("vi", "digest.on_its_way")
    await world.outbox_settled()
    assert any("Giá xăng giảm mạnh" in m.visible_text for m in world.sent_to(READER))

    again = await world.press(READER, switched.message_id, "dg:now")
    assert again.get("text") == t("vi", "digest.nothing_new")
    assert (await world.reply(READER, "/mode ngay")).button_data() == []


async def test_a_keyword_alert_says_which_keyword_brought_it(world: BotWorld) -> None:
    await world.reply(READER, "/subscribe giá vàng")
    await world.reply(READER + 1, "/subscribe kinh tế")
    await world.add_feed("/rss", ["kinh-te"], [])
    await world.poll()  # the feed's first poll: silent
    world.clock.advance(minutes=11)
    world.set_items(
        "/rss",
        [Item(title="Giá vàng hôm nay tăng mạnh", link="https://bao.example.vn/vang.html",
              guid="vang", description="Giá vàng SJC tăng.", published=world.clock.now)],
    )  # fmt: skip
    await world.poll()
    await world.outbox_settled()

    [by_keyword] = [m for m in world.sent_to(READER) if "Giá vàng hôm nay" in m.visible_text]
    assert "🔔 từ khóa: giá vàng" in by_keyword.visible_text
    [by_topic] = [m for m in world.sent_to(READER + 1) if "Giá vàng hôm nay" in m.visible_text]
    assert "🔔" not in by_topic.visible_text


@pytest.mark.parametrize(
    ("first_name", "greeting"), [("Lan", "Xin chào Lan! 👋"), ("  ", "Xin chào! 👋")]
)
async def test_the_welcome_uses_the_first_name_or_none(
    world: BotWorld, first_name: str, greeting: str
) -> None:
    [welcome] = await world.say(READER, "/start", first_name=first_name)
    assert welcome.visible_text.startswith(f"{greeting}\n\nMình gửi tin mới")
    assert "Bạn!" not in welcome.visible_text and "mỗi sáng" not in welcome.visible_text


async def test_a_paused_feed_notice_names_the_cause_in_the_admins_words(world: BotWorld) -> None:
    await world.add_feed("/rss", ["kinh-te"], [])
    world.feeds.set("/rss", Route(status=500, body=b"down"))
    for _ in range(10):  # the pause comes after 10 failures in a row
        await world.poll()
        world.clock.advance(days=2)
    queued = await notify_paused_feeds(world.db, [ADMIN], language="vi", now=world.clock.ts)
    assert queued == 1
    [notice] = [r for r in await world.db.outbox.pending() if r.chat_id == ADMIN]
    assert notice.payload is not None
    text = str(notice.payload["text"])
    assert "(trang báo lỗi:" in text and "http_status" not in text
