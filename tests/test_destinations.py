"""The publisher's own channels, groups and forum topics, end to end: the bot runs
against the Bot API stand-in over loopback HTTP, on a real SQLite file, with feeds
from the loopback feed server; destinations come from feeds.toml or from Telegram."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.botapi_standin import BotApiStandIn, SentMessage, utf16_len
from bot.botapi_standin.channels import WRONG_FILE
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.runtime.feeds_config import DestinationConfig
from tests.support.bot_world import BotWorld, open_world
from tests.support.clock import ManualClock
from tests.support.rss import Item

ADMIN = 501
STRANGER = 777
CHANNEL = -1001000000101
GROUP = -4101
FORUM = -1001000000303
ENV = {"ADMIN_IDS": str(ADMIN)}


def item(n: int, clock: ManualClock, title: str, *, image: str | None = None) -> Item:
    link = f"https://bao.example.vn/kinh-te/bai-{n}.html"
    picture = f'<img src="{image}">' if image else ""
    return Item(
        title=title,
        link=link,
        guid=link,
        # Each its own story: the lead repeats the title (bot.ingest.stories groups
        # near-identical articles, and a destination gets a story once).
        description=f"{picture}<p>{title}: bài số {n} kể chuyện riêng của nó.</p>",
        published=clock.now - timedelta(minutes=n),
    )


async def first_poll(world: BotWorld, path: str, topics: list[str]) -> None:
    """A feed's first poll: what it finds is stored and posted nowhere."""
    await world.add_feed(path, topics, [item(100, world.clock, "Bài cũ đã có từ trước")])
    report = await world.poll()
    assert report.new_articles == 1


async def publish(world: BotWorld, path: str, items: list[Item]) -> None:
    world.set_items(path, [*items, item(100, world.clock, "Bài cũ đã có từ trước")])
    world.clock.advance(hours=7)
    await world.poll()
    await world.outbox_settled()


def posts(world: BotWorld, chat_id: int) -> list[SentMessage]:
    return [m for m in world.sent_to(chat_id) if m.method in ("sendMessage", "sendPhoto")]


def channel_setup(api: BotApiStandIn) -> None:
    api.set_chat(CHANNEL, "channel", title="Báo Thử Kinh tế")
    api.set_username(CHANNEL, "baothu_kinhte")


@pytest.fixture
async def channel_world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    config = DestinationConfig(
        chat="@baothu_kinhte",
        thread_id=None,
        name="",
        topics=("kinh-te",),
        sources=(),
        hashtags=True,
        silent=True,
    )
    async with open_world(
        tmp_path, env=ENV, destinations=(config,), prepare=channel_setup
    ) as world:
        yield world


async def test_a_channel_from_feeds_toml_gets_photo_and_text_posts(channel_world: BotWorld) -> None:
    world = channel_world
    [destination] = await world.db.destinations.list_all()
    assert (destination.chat_id, destination.title, destination.origin) == (
        CHANNEL,
        "Báo Thử Kinh tế",
        "config",
    )
    await first_poll(world, "kinh-te.rss", ["kinh-te"])
    await world.outbox_settled()
    assert posts(world, CHANNEL) == []  # a new feed's first poll posts nothing

    long_title = "Giá vàng hôm nay: " + "vàng miếng SJC tăng mạnh, " * 60
    await publish(
        world,
        "kinh-te.rss",
        [
            item(1, world.clock, long_title, image="https://img.example.vn/vang.jpg"),
            item(2, world.clock, "Lãi suất tiết kiệm giữ nguyên"),
        ],
    )

    photo, text = sorted(posts(world, CHANNEL), key=lambda m: m.method, reverse=True)
    assert photo.method == "sendPhoto" and photo.photo == "https://img.example.vn/vang.jpg"
    assert utf16_len(photo.visible_text) <= 1024
    assert photo.visible_text.startswith("Giá vàng hôm nay: vàng miếng SJC")
    assert photo.visible_text.endswith("#KinhTế")  # the caption is cut, not the hashtag
    assert "Đọc tiếp" in photo.visible_text
    assert photo.params.get("disable_notification") is True
    assert text.method == "sendMessage"
    assert "Lãi suất tiết kiệm giữ nguyên" in text.visible_text
    assert "Báo thử kinh-te.rss" in text.visible_text  # the source
    assert text.params["link_preview_options"] == {
        "url": "https://bao.example.vn/kinh-te/bai-2.html",
        "prefer_large_media": True,
    }
    assert any(e.get("url") == "https://bao.example.vn/kinh-te/bai-2.html" for e in text.entities)

    # The same feed again: each article once per destination.
    world.clock.advance(hours=7)
    await world.poll()
    await world.outbox_settled()
    assert len(posts(world, CHANNEL)) == 2
    [row] = await world.db.destinations.list_all()
    assert row.last_post_at == world.clock.ts - 7 * 3600


async def test_a_refused_photo_is_posted_as_text(channel_world: BotWorld) -> None:
    world = channel_world
    world.standin.refuse_photo("https://img.example.vn/hong.jpg")
    world.standin.refuse_photo("https://img.example.vn/sai.jpg", description=WRONG_FILE)
    await first_poll(world, "kinh-te.rss", ["kinh-te"])

    await publish(
        world,
        "kinh-te.rss",
        [
            item(1, world.clock, "Ảnh không tải được", image="https://img.example.vn/hong.jpg"),
            item(2, world.clock, "Ảnh sai định dạng", image="https://img.example.vn/sai.jpg"),
        ],
    )

    sent = posts(world, CHANNEL)
    assert sorted(m.method for m in sent) == ["sendMessage", "sendMessage"]
    assert sorted(m.visible_text.split("\n")[0] for m in sent) == [
        "Ảnh không tải được",
        "Ảnh sai định dạng",
    ]
    assert all(m.visible_text.endswith("#KinhTế") for m in sent)
    refused = [c for c in world.standin.calls_to("sendPhoto") if c.get("chat_id") == CHANNEL]
    assert len(refused) == 2


async def test_a_group_is_routed_from_chat_after_the_bot_is_made_admin(tmp_path: Path) -> None:
    async with open_world(tmp_path, env=ENV) as world:
        await world.say(ADMIN, "/start")
        await first_poll(world, "kinh-te.rss", ["kinh-te"])

        # Someone who is not the bot's admin adds it: nothing happens.
        world.standin.bot_made_admin(-4999, "group", by_user=STRANGER, title="Nhóm lạ")
        world.standin.bot_made_admin(GROUP, "group", by_user=ADMIN, title="Nhóm Kinh tế")
        await world.standin.wait_for(lambda: len(world.sent_to(ADMIN)) >= 2)
        await world.barrier()

        picker = world.sent_to(ADMIN)[-1]
        assert "Nhóm Kinh tế" in picker.visible_text
        [destination] = await world.db.destinations.list_all()
        assert (destination.chat_id, destination.added_by, destination.topics) == (
            GROUP,
            ADMIN,
            (),
        )
        data = f"dt:{destination.id}:kinh-te"
        assert data in picker.button_data()
        answer = await world.press(ADMIN, picker.message_id, data)
        assert answer.get("text") == "Đã lưu."
        refreshed = world.current(ADMIN, picker.message_id)
        labels = [b["text"] for row in refreshed["reply_markup"]["inline_keyboard"] for b in row]
        assert "✅ Kinh tế" in labels
        assert "🖼 Đăng kèm ảnh" in labels and "🔕 Im lặng" in labels
        # How it posts: text with a preview rather than the photo, silently.
        await world.press(ADMIN, picker.message_id, f"do:{destination.id}:style")
        await world.press(ADMIN, picker.message_id, f"do:{destination.id}:silent")
        refreshed = world.current(ADMIN, picker.message_id)
        labels = [b["text"] for row in refreshed["reply_markup"]["inline_keyboard"] for b in row]
        assert "📝 Chữ và xem trước" in labels and "✅ 🔕 Im lặng" in labels

        await publish(
            world,
            "kinh-te.rss",
            [item(1, world.clock, "Chứng khoán tăng điểm", image="https://img.example.vn/ck.jpg")],
        )

        [post] = posts(world, GROUP)
        assert post.method == "sendMessage"  # the text style, although there is an image
        assert post.visible_text.startswith("Chứng khoán tăng điểm")
        assert post.params.get("disable_notification") is True
        assert posts(world, -4999) == []


async def test_two_forum_topics_receive_different_topics(tmp_path: Path) -> None:
    async with open_world(tmp_path, env=ENV) as world:
        await first_poll(world, "kinh-te.rss", ["kinh-te"])
        world.feeds.set_feed("the-gioi.rss", b"")
        await world.add_feed(
            "the-gioi.rss", ["the-gioi"], [item(200, world.clock, "Tin thế giới cũ")]
        )
        await world.poll()

        world.standin.topic_message(FORUM, 11, "/route kinh-te", user_id=ADMIN)
        world.standin.topic_message(FORUM, 12, "/route Thế giới", user_id=ADMIN)
        await world.standin.wait_for(lambda: len(world.sent_to(FORUM)) >= 2)
        confirmations = world.sent_to(FORUM)
        assert sorted(m.params.get("message_thread_id", 0) for m in confirmations) == [11, 12]
        assert sorted(m.visible_text for m in confirmations) == [
            "✅ Từ giờ mình đăng tin Kinh tế vào chủ đề này.",
            "✅ Từ giờ mình đăng tin Thế giới vào chủ đề này.",
        ]

        # A topic that does not exist: said so, and nothing is routed.
        before = len(world.sent_to(FORUM))
        world.standin.topic_message(FORUM, 14, "/route thể thao", user_id=ADMIN)
        await world.standin.wait_for(lambda: len(world.sent_to(FORUM)) > before)
        answer = world.sent_to(FORUM)[-1]
        assert answer.params.get("message_thread_id") == 14
        assert answer.visible_text.startswith("Không có chủ đề thể thao. Các chủ đề:")
        assert await world.db.destinations.find(FORUM, 14) is None

        # /route alone: the picker, in the topic; only the bot's admins may press it.
        before = len(world.sent_to(FORUM))
        world.standin.topic_message(FORUM, 15, "/route", user_id=ADMIN)
        await world.standin.wait_for(lambda: len(world.sent_to(FORUM)) > before)
        picker = world.sent_to(FORUM)[-1]
        assert picker.params.get("message_thread_id") == 15
        route = await world.db.destinations.find(FORUM, 15)
        assert route is not None and route.topics == ()
        refused = await world.press(
            FORUM, picker.message_id, f"dt:{route.id}:kinh-te", user_id=STRANGER
        )
        assert refused.get("text") == "Xin lỗi, lệnh này chỉ dành cho quản trị viên."
        await world.press(FORUM, picker.message_id, f"dt:{route.id}:kinh-te", user_id=ADMIN)
        chosen = await world.db.destinations.find(FORUM, 15)
        assert chosen is not None and chosen.topics == ("kinh-te",)
        await world.db.destinations.remove(route.id)  # not part of what follows

        # Outside a forum topic, /route says where to send it.
        outside = await world.reply(FORUM, "/route kinh-te", chat_type="supergroup", user_id=ADMIN)
        assert "bên trong một chủ đề" in outside.visible_text

        # A member who is not the bot's admin cannot route a topic.
        world.standin.topic_message(FORUM, 13, "/route kinh-te", user_id=STRANGER)
        await world.barrier()
        assert await world.db.destinations.find(FORUM, 13) is None

        world.set_items("the-gioi.rss", [item(201, world.clock, "Bầu cử ở châu Âu")])
        await publish(world, "kinh-te.rss", [item(1, world.clock, "Tỷ giá đô la giảm")])

        sent = [
            m
            for m in posts(world, FORUM)
            if m.params.get("message_thread_id") in (11, 12) and not m.visible_text.startswith("✅")
        ]
        by_thread = {m.params.get("message_thread_id"): m.visible_text.split("\n")[0] for m in sent}
        assert by_thread == {11: "Tỷ giá đô la giảm", 12: "Bầu cử ở châu Âu"}


async def test_each_permission_error_pauses_exactly_one_destination(tmp_path: Path) -> None:
    kicked, no_rights, gone, forum, healthy = (
        -1001000000501,
        -1001000000502,
        -1001000000503,
        -1001000000504,
        -1001000000506,
    )

    def prepare(api: BotApiStandIn) -> None:
        for chat in (kicked, no_rights, gone, healthy):
            api.set_chat(chat, "channel", title=f"Kênh {chat}")
        for thread in (1, 2, 3):
            api.open_topic(forum, thread, title="Diễn đàn")

    routes = [
        DestinationConfig(chat, thread, "", ("kinh-te",), ())
        for chat, thread in [
            (kicked, None),
            (no_rights, None),
            (gone, None),
            (forum, 1),
            (forum, 2),
            (forum, 3),
            (healthy, None),
        ]
    ]
    async with open_world(tmp_path, env=ENV, destinations=tuple(routes), prepare=prepare) as world:
        await world.say(ADMIN, "/start")
        await first_poll(world, "kinh-te.rss", ["kinh-te"])
        api = world.standin
        api.block(kicked)
        api.take_rights(no_rights)
        api.chat_not_found(gone)
        api.close_topic(forum, 1)
        api.delete_topic(forum, 2)

        await publish(world, "kinh-te.rss", [item(1, world.clock, "Ngân hàng hạ lãi suất")])
        await world.standin.wait_for(lambda: len(world.sent_to(ADMIN)) >= 6)
        await world.outbox_settled()

        state = {
            (d.chat_id, d.thread_id): (d.pause_reason or "").split(":")[0]
            for d in await world.db.destinations.list_all()
        }
        assert state == {
            (kicked, None): "kicked",
            (no_rights, None): "rights",
            (gone, None): "not_found",
            (forum, 1): "topic_closed",
            (forum, 2): "topic_deleted",
            (forum, 3): "",
            (healthy, None): "",
        }
        assert len(posts(world, healthy)) == 1
        assert [m.params.get("message_thread_id") for m in posts(world, forum)] == [3]
        notices = [m.visible_text for m in world.sent_to(ADMIN)[1:]]
        assert len(notices) == 5
        assert any("không còn quyền đăng bài" in n for n in notices)
        assert any("chủ đề diễn đàn đã bị đóng" in n for n in notices)
        assert any("Telegram báo: Forbidden: bot is not a member" in n for n in notices)

        # The next article: paused routes get nothing, and no one is told twice.
        await publish(world, "kinh-te.rss", [item(2, world.clock, "Giá xăng giảm nhẹ")])
        assert len(posts(world, healthy)) == 2
        assert len(posts(world, forum)) == 2
        assert len(world.sent_to(ADMIN)) == 6
        assert [c for c in api.calls_to("sendMessage") if c.get("chat_id") == kicked][1:] == []

        # /stats names each destination, with its last post or why it is paused.
        stats = (await world.say(ADMIN, "/stats", expect=2))[0].visible_text
        assert "Nơi đăng bài:" in stats
        assert "chủ đề diễn đàn đã bị xóa" in stats
        assert f"Kênh {healthy} · bài gần nhất: " in stats


async def test_a_supergroup_migration_moves_the_destination(tmp_path: Path) -> None:
    upgraded = -1001000000777
    routes = (DestinationConfig(GROUP, None, "Nhóm", ("kinh-te",), ()),)
    async with open_world(tmp_path, env=ENV, destinations=routes) as world:
        await first_poll(world, "kinh-te.rss", ["kinh-te"])
        world.standin.migrate(GROUP, upgraded)

        await publish(world, "kinh-te.rss", [item(1, world.clock, "Xuất khẩu gạo tăng")])

        assert [m.visible_text.split("\n")[0] for m in posts(world, upgraded)] == [
            "Xuất khẩu gạo tăng"
        ]
        [destination] = await world.db.destinations.list_all()
        assert (destination.chat_id, destination.paused_at) == (upgraded, None)


async def test_admin_commands_list_pause_resume_and_remove(channel_world: BotWorld) -> None:
    world = channel_world
    await world.say(ADMIN, "/start")
    [destination] = await world.db.destinations.list_all()
    number = destination.id

    listing = await world.reply(ADMIN, "/channels")
    assert f"#{number} Báo Thử Kinh tế" in listing.visible_text
    assert "Kinh tế" in listing.visible_text and "bài gần nhất: chưa có" in listing.visible_text

    paused = await world.reply(ADMIN, f"/channel_pause {number}")
    assert "Đã tạm dừng đăng lên Báo Thử Kinh tế" in paused.visible_text
    await first_poll(world, "kinh-te.rss", ["kinh-te"])
    await publish(world, "kinh-te.rss", [item(1, world.clock, "Bài khi đang tạm dừng")])
    assert posts(world, CHANNEL) == []
    assert "quản trị viên đã tạm dừng" in (await world.reply(ADMIN, "/channels")).visible_text

    resumed = await world.reply(ADMIN, f"/channel_resume {number}")
    assert "đăng tiếp" in resumed.visible_text
    await publish(world, "kinh-te.rss", [item(2, world.clock, "Bài sau khi đăng tiếp")])
    assert [m.visible_text.split("\n")[0] for m in posts(world, CHANNEL)] == [
        "Bài sau khi đăng tiếp"
    ]

    assert "Hãy ghi số" in (await world.reply(ADMIN, "/channel_remove")).visible_text
    assert (
        "Không có nơi đăng bài #99" in (await world.reply(ADMIN, "/channel_pause 99")).visible_text
    )
    removed = await world.reply(ADMIN, f"/channel_remove {number}")
    assert "feeds.toml" in removed.visible_text
    assert await world.db.destinations.list_all() == []
    refused = await world.reply(STRANGER, "/channels")
    assert "Báo Thử" not in refused.visible_text


async def test_removing_the_bot_pauses_and_tells_the_admin(channel_world: BotWorld) -> None:
    world = channel_world
    await world.say(ADMIN, "/start")

    world.standin.bot_made_admin(
        CHANNEL, "channel", by_user=ADMIN, status="left", old_status="administrator"
    )
    await world.standin.wait_for(lambda: len(world.sent_to(ADMIN)) >= 2)

    assert "mình đã bị mời ra khỏi đó" in world.sent_to(ADMIN)[-1].visible_text
    [destination] = await world.db.destinations.list_all()
    assert destination.paused_at is not None

    # Made administrator again: the destination posts again, its topics kept.
    world.standin.bot_made_admin(CHANNEL, "channel", by_user=ADMIN, old_status="left")
    await world.standin.wait_for(lambda: len(world.sent_to(ADMIN)) >= 3)
    [again] = await world.db.destinations.list_all()
    assert (again.paused_at, again.topics) == (None, ("kinh-te",))


async def test_a_broadcast_can_include_or_only_target_destinations(
    channel_world: BotWorld,
) -> None:
    world = channel_world
    await world.say(ADMIN, "/start")
    await world.say(9001, "/start")

    for command, reader_gets in (
        ("/broadcast +kênh Bảo trì tối nay", True),
        ("/broadcast @kenh Chỉ trên kênh", False),
    ):
        before = len(world.sent_to(9001))
        answers = await world.say(ADMIN, command, expect=3)
        question = answers[-1]
        assert "kênh" in question.visible_text
        [confirm] = [d for d in question.button_data() if d.startswith("bc:yes")]
        await world.press(ADMIN, question.message_id, confirm)
        await world.outbox_settled()
        got = [m.visible_text for m in world.sent_to(9001)[before:]]
        assert (command.split(" ", 2)[2] in got) is reader_gets

    assert [m.visible_text for m in posts(world, CHANNEL)] == [
        "Bảo trì tối nay",
        "Chỉ trên kênh",
    ]


class ShiftedClock:
    """time.monotonic, moved ahead by hand: the rate limiter's minute passes at once."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.shift


async def test_twenty_a_minute_per_destination_without_holding_up_private_alerts(
    tmp_path: Path,
) -> None:
    limiter_clock = ShiftedClock()
    limiter = TelegramRateLimiter(
        per_second=1_000.0, chat_interval=0.0, group_per_minute=20, clock=limiter_clock
    )
    readers = [8001, 8002, 8003]
    routes = tuple(
        DestinationConfig(chat, thread, "", ("kinh-te",), ())
        for chat, thread in [(CHANNEL, None), (GROUP, None), (FORUM, 5)]
    )

    def prepare(api: BotApiStandIn) -> None:
        channel_setup(api)
        api.open_topic(FORUM, 5)

    async with open_world(
        tmp_path, env=ENV, destinations=routes, prepare=prepare, rate_limiter=limiter
    ) as world:
        for reader in readers:
            await world.db.subscribers.ensure_subscriber(reader, now=world.clock.ts)
            await world.db.subscribers.subscribe_topic(reader, "kinh-te", now=world.clock.ts)
        await first_poll(world, "kinh-te.rss", ["kinh-te"])

        # Three polls of ten new articles (a poll alerts at most ten): 30 per chat.
        news: list[Item] = []
        for batch in range(3):
            news = [
                item(n, world.clock, f"Tin kinh tế số {n}")
                for n in range(batch * 10 + 1, batch * 10 + 11)
            ] + news
            await publish(world, "kinh-te.rss", news)

        for reader in readers:
            assert len(world.sent_to(reader)) == 30  # every alert went, none waited
        destination_chats = [CHANNEL, GROUP, FORUM]
        assert [len(posts(world, chat)) for chat in destination_chats] == [20, 20, 20]
        waiting = [r for r in await world.db.outbox.pending(limit=100) if r.destination_id]
        assert len(waiting) == 30

        # A minute later the rest go, once each.
        limiter_clock.shift += 61.0
        world.clock.advance(seconds=61)
        world.services.outbox_ready.set()
        await world.standin.wait_for(
            lambda: all(len(posts(world, chat)) == 30 for chat in destination_chats), timeout=10
        )
        await world.outbox_settled()
        for chat in destination_chats:
            titles = [m.visible_text.split("\n")[0] for m in posts(world, chat)]
            assert sorted(titles) == sorted(f"Tin kinh tế số {n}" for n in range(1, 31))
