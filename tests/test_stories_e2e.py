"""One alert per story and corrected alerts, through the poller and the sender.

Three outlets' feeds on the loopback feed server, the real poller (parse,
story signatures, the store's grouping) and the real bot sending to the Bot
API stand-in: what a reader receives is read from the stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.botapi_standin import BotApiStandIn
from bot.runtime.feeds_config import DestinationConfig
from tests.support.bot_world import BotWorld, open_world
from tests.support.rss import Item, rss

READER = 5001
OUTLETS = ("/vnexpress", "/vietnamnet", "/sggp")

FIRE = [
    (
        "Cháy lớn tại xưởng gỗ ở Bình Dương, thiêu rụi hàng nghìn mét vuông",
        "Rạng sáng 12/11, đám cháy bùng phát tại một xưởng sản xuất gỗ ở phường Tân Định, "
        "TP Bến Cát, Bình Dương, thiêu rụi khoảng 3.000 m2 nhà xưởng.",
    ),
    (
        "Xưởng gỗ rộng 3.000 m2 ở Bình Dương cháy dữ dội trong đêm",
        "Rạng sáng 12/11, một xưởng sản xuất gỗ tại phường Tân Định, TP Bến Cát (Bình Dương) "
        "bốc cháy dữ dội, thiêu rụi khoảng 3.000 m2 nhà xưởng.",
    ),
    (
        "Bình Dương: cháy xưởng gỗ 3.000 m2 ở Bến Cát",
        "Rạng sáng 12/11, đám cháy bùng phát tại xưởng sản xuất gỗ ở phường Tân Định, "
        "TP Bến Cát, tỉnh Bình Dương, thiêu rụi khoảng 3.000 m2 nhà xưởng.",
    ),
]
HA_NOI_FIRES = [
    (
        "Cháy nhà ống ở quận Hoàng Mai, Hà Nội, 2 người được cứu",
        "Khoảng 2h sáng 12/11, ngôi nhà 4 tầng trên phố Tân Mai, quận Hoàng Mai, Hà Nội "
        "bốc cháy; cảnh sát đã cứu được 2 người mắc kẹt trên tầng thượng.",
    ),
    (
        "Cháy nhà ống ở quận Cầu Giấy, Hà Nội, 3 người tử vong",
        "Khoảng 23h đêm 11/11, ngôi nhà 5 tầng kết hợp kinh doanh trên phố Trần Thái Tông, "
        "quận Cầu Giấy, Hà Nội bốc cháy khiến 3 người trong gia đình tử vong.",
    ),
]


def item(world: BotWorld, outlet: str, n: int, title: str, lead: str, minutes_ago: int) -> Item:
    link = f"https://{outlet.strip('/')}.example.vn/thoi-su/bai-{n}.html"
    return Item(
        title=title,
        link=link,
        guid=link,
        description=f"<p>{lead}</p>",
        published=world.clock.now - timedelta(minutes=minutes_ago),
    )


def older(world: BotWorld, outlet: str) -> Item:
    """Something each feed held before the test's news: its first poll alerts no one."""
    return item(world, outlet, 0, f"Tin cũ của {outlet}", "Một tin đã đăng từ trước.", 600)


async def reader_following_thoi_su(world: BotWorld) -> None:
    [picker] = await world.say(READER, "/start", expect=1)
    await world.press(READER, picker.message_id, "t:thoi-su")


async def outlets_polled_once(world: BotWorld) -> None:
    for outlet in OUTLETS:
        await world.add_feed(outlet, ["thoi-su"], [older(world, outlet)])
    first = await world.poll()
    assert first.alerts_queued == 0
    world.clock.advance(minutes=30)


def alerts(world: BotWorld) -> list[str]:
    """What the reader got after the welcome: the visible text of every new message."""
    return [m.visible_text for m in world.sent_to(READER)[1:] if m.method == "sendMessage"]


async def test_three_outlets_with_the_same_story_send_one_alert(world: BotWorld) -> None:
    await reader_following_thoi_su(world)
    await outlets_polled_once(world)
    for n, (outlet, (title, lead)) in enumerate(zip(OUTLETS, FIRE, strict=True), start=1):
        world.set_items(outlet, [item(world, outlet, n, title, lead, 20 - n), older(world, outlet)])

    report = await world.poll()
    await world.outbox_settled()

    assert report.new_articles == 3
    assert report.alerts_queued == 1
    [alert] = alerts(world)
    assert "gỗ" in alert and "Bình Dương" in alert  # whichever outlet was stored first
    # The others are stored, in the same story, and found by search as one result.
    ids = [row.article_id for row in await world.db.outbox.rows_for_chat(READER)]
    [first] = [i for i in ids if i is not None]
    stories = {
        a.story_id for a in await world.db.articles.latest_articles(limit=10) if "gỗ" in a.title
    }
    assert stories == {first}
    found = await world.reply(READER, "/search xuong go binh duong")
    assert "\n1. " in found.visible_text and "\n2. " not in found.visible_text
    assert all(outlet in found.visible_text for outlet in OUTLETS)  # "Báo thử /sggp", …


async def test_the_same_story_later_from_another_outlet_is_not_sent_again(
    world: BotWorld,
) -> None:
    await reader_following_thoi_su(world)
    await outlets_polled_once(world)
    (title, lead), (title_2, lead_2) = FIRE[0], FIRE[1]
    world.set_items(
        OUTLETS[0], [item(world, OUTLETS[0], 1, title, lead, 5), older(world, OUTLETS[0])]
    )
    await world.poll()
    await world.outbox_settled()
    world.clock.advance(hours=2)  # another process, another poll: only the database remembers

    world.set_items(OUTLETS[1], [item(world, OUTLETS[1], 1, title_2, lead_2, 5)])
    report = await world.poll()
    await world.outbox_settled()

    assert (report.new_articles, report.alerts_queued) == (1, 0)
    assert len(alerts(world)) == 1


async def test_two_different_stories_sharing_words_send_two_alerts(world: BotWorld) -> None:
    await reader_following_thoi_su(world)
    await outlets_polled_once(world)
    for n, (outlet, (title, lead)) in enumerate(zip(OUTLETS, HA_NOI_FIRES, strict=False)):
        world.set_items(outlet, [item(world, outlet, n + 1, title, lead, 10), older(world, outlet)])

    report = await world.poll()
    await world.outbox_settled()

    assert report.alerts_queued == 2
    got = alerts(world)
    assert len(got) == 2
    assert any("Hoàng Mai" in text for text in got) and any("Cầu Giấy" in text for text in got)


# ---- corrections --------------------------------------------------------------------


async def alerted_once(world: BotWorld) -> tuple[Item, int]:
    """The reader has one alert from the first outlet: (its item, the message id)."""
    await reader_following_thoi_su(world)
    await outlets_polled_once(world)
    title, lead = FIRE[0]
    story = item(world, OUTLETS[0], 1, title, lead, 5)
    world.set_items(OUTLETS[0], [story, older(world, OUTLETS[0])])
    await world.poll()
    await world.outbox_settled()
    [alert] = [m for m in world.sent_to(READER)[1:] if m.method == "sendMessage"]
    return story, alert.message_id


def corrected(story: Item) -> Item:
    return Item(
        title=story.title.replace("hàng nghìn mét vuông", "3.000 m2 nhà xưởng"),
        link=story.link,
        guid=story.guid,
        description=story.description,
        published=story.published,
    )


def edits(world: BotWorld, message_id: int) -> list[str]:
    """Edits of the alert (the topic picker's own edits left out)."""
    return [m.method for m in world.sent_to(READER) if m.edited and m.message_id == message_id]


async def test_a_correction_within_48_hours_edits_the_sent_alert(world: BotWorld) -> None:
    story, message_id = await alerted_once(world)
    world.clock.advance(hours=47)

    world.set_items(OUTLETS[0], [corrected(story), older(world, OUTLETS[0])])
    report = await world.poll()
    await world.outbox_settled()

    assert report.edits_queued == 1
    assert edits(world, message_id) == ["editMessageText"]
    shown = world.current(READER, message_id)["text"]
    assert "3.000 m2 nhà xưởng" in shown and "hàng nghìn mét vuông" not in shown
    assert len(alerts(world)) == 1  # edited, not sent again
    # the same document polled again: nothing more to edit
    world.clock.advance(minutes=10)
    world.feeds.set_feed(
        OUTLETS[0], rss([corrected(story), older(world, OUTLETS[0])], title="Báo VnExpress")
    )
    await world.poll()
    await world.outbox_settled()
    assert edits(world, message_id) == ["editMessageText"]


async def test_a_correction_after_48_hours_leaves_the_message_alone(world: BotWorld) -> None:
    story, message_id = await alerted_once(world)
    before = world.current(READER, message_id)["text"]
    world.clock.advance(hours=49)

    world.set_items(OUTLETS[0], [corrected(story), older(world, OUTLETS[0])])
    report = await world.poll()
    await world.outbox_settled()

    assert report.edits_queued == 0
    assert edits(world, message_id) == []
    assert world.current(READER, message_id)["text"] == before
    assert len(alerts(world)) == 1


async def test_an_alert_the_reader_deleted_is_not_resent_when_corrected(world: BotWorld) -> None:
    story, message_id = await alerted_once(world)
    world.standin.user_deletes(READER, message_id)
    world.clock.advance(hours=1)

    world.set_items(OUTLETS[0], [corrected(story), older(world, OUTLETS[0])])
    await world.poll()
    await world.outbox_settled()

    assert len(alerts(world)) == 1
    rows = await world.db.outbox.rows_for_chat(READER)
    assert [r.status for r in rows if r.edits_message_id == message_id] == ["failed"]


# ---- destinations ---------------------------------------------------------------------

CHANNEL = -1001000000777


def channel_setup(api: BotApiStandIn) -> None:
    api.set_chat(CHANNEL, "channel", title="Báo Thử Thời sự")
    api.set_username(CHANNEL, "baothu_thoisu")


@pytest.fixture
async def channel_world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    config = DestinationConfig(
        chat="@baothu_thoisu",
        thread_id=None,
        name="",
        topics=("thoi-su",),
        sources=(),
        hashtags=False,
        silent=True,
    )
    async with open_world(
        tmp_path, env={"ADMIN_IDS": "501"}, destinations=(config,), prepare=channel_setup
    ) as running_world:
        yield running_world


def pictured(story: Item, n: int) -> Item:
    picture = f'<img src="https://img.example.vn/chay-{n}.jpg">'
    return Item(
        title=story.title,
        link=story.link,
        guid=story.guid,
        description=picture + story.description,
        published=story.published,
    )


async def test_a_channel_gets_one_post_per_story_and_its_caption_corrected(
    channel_world: BotWorld,
) -> None:
    world = channel_world
    await outlets_polled_once(world)
    stories = [
        pictured(item(world, outlet, n, title, lead, 20 - n), n)
        for n, (outlet, (title, lead)) in enumerate(zip(OUTLETS, FIRE, strict=True), start=1)
    ]
    for outlet, story in zip(OUTLETS, stories, strict=True):
        world.set_items(outlet, [story, older(world, outlet)])
    await world.poll()
    await world.outbox_settled()

    [post] = [m for m in world.sent_to(CHANNEL) if m.method in ("sendMessage", "sendPhoto")]
    assert post.method == "sendPhoto"

    world.clock.advance(hours=3)
    for outlet, story in zip(OUTLETS, stories, strict=True):
        fixed = Item(
            title=story.title + " (cập nhật)",
            link=story.link,
            guid=story.guid,
            description=story.description,
            published=story.published,
        )
        world.set_items(outlet, [fixed, older(world, outlet)])
    report = await world.poll()
    await world.outbox_settled()

    assert report.edits_queued == 1  # only the article that was posted has a post to edit
    edits = [m for m in world.sent_to(CHANNEL) if m.edited]
    assert [m.method for m in edits] == ["editMessageCaption"]
    assert "(cập nhật)" in world.current(CHANNEL, post.message_id)["caption"]


async def test_a_post_whose_photo_was_refused_gets_its_text_corrected(
    channel_world: BotWorld,
) -> None:
    world = channel_world
    world.standin.refuse_photo("https://img.example.vn/chay-1.jpg")
    await outlets_polled_once(world)
    title, lead = FIRE[0]
    story = pictured(item(world, OUTLETS[0], 1, title, lead, 5), 1)
    world.set_items(OUTLETS[0], [story, older(world, OUTLETS[0])])
    await world.poll()
    await world.outbox_settled()
    [post] = [m for m in world.sent_to(CHANNEL) if m.method in ("sendMessage", "sendPhoto")]
    assert post.method == "sendMessage"  # the photo was refused: the text went instead

    world.clock.advance(hours=1)
    fixed = Item(
        title=title + " (cập nhật)",
        link=story.link,
        guid=story.guid,
        description=story.description,
        published=story.published,
    )
    world.set_items(OUTLETS[0], [fixed, older(world, OUTLETS[0])])
    await world.poll()
    await world.outbox_settled()

    assert [m.method for m in world.sent_to(CHANNEL) if m.edited] == ["editMessageText"]
    assert "(cập nhật)" in world.current(CHANNEL, post.message_id)["text"]
