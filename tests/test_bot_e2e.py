"""The Telegram bot end to end: a real Application over loopback HTTP against the
Bot API stand-in, a real SQLite file, feeds from the loopback feed server.

Time is injected (tests.support.clock.ManualClock for the poller, sender and
handlers; a hand-moved clock for the command throttle), feeds are polled by
hand, and every wait is on something the stand-in recorded (no sleeps), except
BotWorld.outbox_settled, which polls the outbox for the sender's last database write.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.botapi_standin import SentMessage, utf16_len
from bot.botapi_standin.params import JsonDict
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.ingest.poller import Poller, PollerOptions
from bot.readers.service import MAX_KEYWORD_CHARS, MAX_KEYWORDS, MAX_QUERY_CHARS
from bot.runtime import logsafe
from bot.runtime.background import run_housekeeping
from bot.text.i18n import MENU_COMMANDS, t
from handlers.common import MAX_INPUT_CHARS
from handlers.start import welcome_text
from storage import search_segments
from storage.rows import FeedSpec
from tests.support.bot_world import BOT_USERNAME, TOKEN, BotWorld, open_world
from tests.support.clock import ManualClock
from tests.support.rss import Item, rss

READER = 4242
DIGEST_READER = 4343
EN_READER = 4444
KEYWORD_READER = 5151
OTHER_READER = 5252
GROUP = -4001
ADMIN = 501
MEMBER = 502
SPAMMER = 7001
BYSTANDER = 7002


def article(n: int, clock: ManualClock, title: str, *, section: str = "kinh-te") -> Item:
    link = f"https://bao.example.vn/{section}/bai-{n}.html"
    return Item(
        title=title,
        link=link,
        guid=link,
        description=f"<p>Bài số {n} của chuyên mục. Câu thứ hai của bài.</p>",
        published=clock.now - timedelta(minutes=10 * n),
    )


def rate_articles(clock: ManualClock) -> list[Item]:
    """Seven stored articles about interest rates ("lãi suất"), for search paging."""
    return [article(n, clock, f"Lãi suất tiết kiệm kỳ hạn {n} tháng tăng nhẹ") for n in range(1, 8)]


def labels(message: JsonDict) -> dict[str, str]:
    """callback_data → button text, for the message's inline keyboard."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["callback_data"]: b["text"] for row in rows for b in row if "callback_data" in b}


def containing(messages: list[SentMessage], text: str) -> list[SentMessage]:
    return [m for m in messages if text in m.visible_text]


async def first_poll_then_new(
    world: BotWorld, path: str, topics: list[str], old: list[Item], new: Item
) -> None:
    """A feed's first poll (stores, alerts no one), then a poll that finds `new`."""
    await world.add_feed(path, topics, old)
    first = await world.poll()
    assert first.new_articles == len(old)
    assert first.alerts_queued == 0
    world.clock.advance(hours=1)
    world.set_items(path, [new, *old])
    second = await world.poll()
    assert second.new_articles == 1


# ---- 1. a reader's whole journey ------------------------------------------------------


async def test_reader_journey_alerts_search_language_and_stop(world: BotWorld) -> None:
    standin, db, clock = world.standin, world.db, world.clock

    # /start in Vietnamese: one message, the welcome and the topic picker together.
    [picker] = await world.say(READER, "/start", expect=1, first_name="Lan")
    assert picker.text == welcome_text("vi", "Lan")
    assert picker.visible_text.startswith("Xin chào Lan! 👋\n\nMình gửi tin mới")
    assert labels(world.current(READER, picker.message_id))["t:kinh-te"] == "Kinh tế"

    # Two quick taps: the same message is edited, with ✅ on both topics.
    first_tap = standin.press_button(READER, picker.message_id, "t:kinh-te")
    second_tap = standin.press_button(READER, picker.message_id, "t:thoi-su")
    await standin.wait_for(
        lambda: (
            {first_tap, second_tap} <= {a["callback_query_id"] for a in standin.answered_callbacks}
        )
    )
    shown = labels(world.current(READER, picker.message_id))
    assert shown["t:kinh-te"] == "✅ Kinh tế"
    assert shown["t:thoi-su"] == "✅ Thời sự"
    assert sum(text.startswith("✅") for text in shown.values()) == 2
    edits = [m for m in world.sent_to(READER) if m.edited]
    assert edits and {m.message_id for m in edits} == {picker.message_id}
    assert [m.method for m in world.sent_to(READER) if not m.edited] == ["sendMessage"]
    assert sorted(await db.subscribers.topic_subscriptions(READER)) == ["kinh-te", "thoi-su"]

    gold = await world.reply(READER, "/subscribe giá vàng")
    assert gold.text == t("vi", "subscribe.keyword_added", phrase="giá vàng")

    # A digest-mode reader of the same topic, set through the /settings menu.
    [digest_picker] = await world.say(DIGEST_READER, "/start", expect=1)
    await world.press(DIGEST_READER, digest_picker.message_id, "t:kinh-te")
    menu = await world.reply(DIGEST_READER, "/settings")
    answer = await world.press(DIGEST_READER, menu.message_id, "set:mode:digest")
    assert answer["text"] == t("vi", "settings.mode_set_digest", hour="07:00", first="ngày mai")
    assert "bản tin hằng ngày" in world.current(DIGEST_READER, menu.message_id)["text"]

    # The feed's first poll stores seven articles and alerts no one; the second finds one.
    old = rate_articles(clock)
    await world.add_feed("/kinh-te", ["kinh-te"], old)
    first = await world.poll()
    assert (first.new_articles, first.alerts_queued) == (7, 0)
    assert await db.outbox.rows_for_chat(READER) == []

    clock.advance(hours=1)
    title = "Lãi suất cho vay giảm 0,5% & tỷ giá < 25.000"
    new = article(0, clock, title)
    world.set_items("/kinh-te", [new, *old])
    second = await world.poll()
    assert (second.new_articles, second.alerts_queued) == (1, 1)

    await standin.wait_for(lambda: bool(containing(world.sent_to(READER), "cho vay giảm")))
    await world.outbox_settled()
    [alert] = containing(world.sent_to(READER), "cho vay giảm")
    escaped_title = "Lãi suất cho vay giảm 0,5% &amp; tỷ giá &lt; 25.000"
    assert alert.text.startswith(f"<b>{escaped_title}</b>")
    assert f'href="{new.link}"' in alert.text
    bold = [e for e in alert.entities if e["type"] == "bold"]
    assert bold[0]["offset"] == 0 and bold[0]["length"] == utf16_len(title)
    assert [e["url"] for e in alert.entities if e["type"] == "text_link"] == [new.link]
    [row] = await db.outbox.rows_for_chat(READER)
    assert (row.kind, row.status) == ("alert", "sent")
    # The digest reader gets nothing pushed at once.
    assert await db.outbox.rows_for_chat(DIGEST_READER) == []
    assert containing(world.sent_to(DIGEST_READER), "cho vay giảm") == []

    # /latest for a topic, named without accents.
    latest = await world.reply(READER, "/latest kinh te")
    assert latest.text.startswith(t("vi", "latest.header_topic", topic="Kinh tế"))
    assert "cho vay giảm" in latest.visible_text

    # Search without diacritics; eight matches page five at a time.
    results = await world.reply(READER, "/search lai suat")
    assert results.text.startswith(t("vi", "search.header", query="lai suat", first=1, last=5))
    assert results.visible_text.count("Lãi suất") == 5
    assert labels(world.current(READER, results.message_id)) == {"sp:5": t("vi", "search.more")}
    await world.press(READER, results.message_id, "sp:5")
    page_two = world.current(READER, results.message_id)
    assert page_two["text"].startswith("Kết quả cho lai suat (6–8):")
    assert page_two["text"].count("Lãi suất") == 3
    assert labels(page_two) == {"sp:0": t("vi", "search.previous")}
    seen_links = {
        e["url"]
        for e in [*results.entities, *page_two.get("entities", [])]
        if e["type"] == "text_link"
    }
    assert len(seen_links) == 8

    empty = await world.reply(READER, "/search")
    assert empty.text == t("vi", "search.usage")
    nothing = await world.reply(READER, "/search bóng đá")
    assert nothing.text == t("vi", "search.none", query="bóng đá")

    # /lang en: replies are in English from now on.
    switched = await world.reply(READER, "/lang en")
    assert switched.text == t("en", "settings.language_set")
    assert (await world.reply(READER, "/help")).text == t("en", "help", bot=BOT_USERNAME)
    english = await world.reply(READER, "/search LÃI SUẤT")
    assert english.text.startswith("Results for <b>LÃI SUẤT</b> (1–5):")

    # A new user whose Telegram speaks English is welcomed in English.
    [en_picker] = await world.say(EN_READER, "/start", expect=1, language_code="en-US")
    assert en_picker.text == welcome_text("en", "Lan")
    assert en_picker.visible_text.startswith("Hello Lan! 👋")
    added = await world.reply(EN_READER, "/subscribe kinh te", language_code="en-US")
    assert added.text == t("en", "subscribe.topic_added", topic="Business")

    # /stop asks first; "yes" forgets everything about the reader.
    confirm = await world.reply(READER, "/stop")
    assert confirm.text == t("en", "stop.confirm")
    assert set(labels(world.current(READER, confirm.message_id))) == {"stop:yes", "stop:no"}
    await world.press(READER, confirm.message_id, "stop:yes")
    assert world.current(READER, confirm.message_id)["text"] == t("en", "stop.done")
    assert await db.subscribers.get_subscriber(READER) is None
    assert await db.subscribers.topic_subscriptions(READER) == []
    assert await db.subscribers.keyword_alerts(READER) == []

    # The next article reaches the English reader, and not the one who left.
    clock.advance(hours=1)
    later_title = "Lãi suất liên ngân hàng đi ngang"
    later = article(100, clock, later_title)
    world.set_items("/kinh-te", [later, new, *old])
    third = await world.poll()
    assert (third.new_articles, third.alerts_queued) == (1, 1)
    await standin.wait_for(lambda: bool(containing(world.sent_to(EN_READER), later_title)))
    await world.outbox_settled()
    [en_alert] = containing(world.sent_to(EN_READER), later_title)
    assert t("en", "article.read_more") in en_alert.visible_text
    assert containing(world.sent_to(READER), later_title) == []
    # Forgotten means forgotten: not even the record of what was delivered is kept.
    assert await db.outbox.rows_for_chat(READER) == []


async def test_double_tap_leaves_the_picker_matching_the_subscriptions(world: BotWorld) -> None:
    """Two fast taps on one topic: subscribed then unsubscribed, and the picker says so."""
    [picker] = await world.say(READER, "/start", expect=1)
    taps = [world.standin.press_button(READER, picker.message_id, "t:kinh-te") for _ in range(2)]
    await world.standin.wait_for(
        lambda: set(taps) <= {a["callback_query_id"] for a in world.standin.answered_callbacks}
    )
    assert await world.db.subscribers.topic_subscriptions(READER) == []
    assert labels(world.current(READER, picker.message_id))["t:kinh-te"] == "Kinh tế"


async def test_more_pages_the_search_its_own_message_shows(world: BotWorld) -> None:
    """A second search must not hijack the "more" button of the first one's results."""
    await world.add_feed("/kinh-te", ["kinh-te"], rate_articles(world.clock))
    await world.poll()
    rates = await world.reply(READER, "/search lai suat")
    terms = await world.reply(READER, "/search ky han")
    assert {"sp:5"} == set(rates.button_data()) == set(terms.button_data())

    await world.press(READER, rates.message_id, "sp:5")

    assert world.current(READER, rates.message_id)["text"].startswith("Kết quả cho lai suat (6–7)")
    assert world.current(READER, terms.message_id)["text"] == terms.visible_text
    await world.press(READER, terms.message_id, "sp:5")
    assert world.current(READER, terms.message_id)["text"].startswith("Kết quả cho ky han (6–7)")


async def test_search_reads_the_same_after_housekeeping_seals_its_segments(
    world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Housekeeping seals the stored articles into search segments (tiny ones here);
    a reader's search and its pages read the same from their bitmaps."""
    monkeypatch.setattr(search_segments, "LEVELS", (2, 4))
    others = [article(n, world.clock, f"Giá vàng hôm nay phiên {n}") for n in range(8, 20)]
    await world.add_feed("/kinh-te", ["kinh-te"], [*rate_articles(world.clock), *others])
    await world.poll()
    before = await world.reply(READER, "/search lai suat")
    await world.press(READER, before.message_id, "sp:5")
    page_two = world.current(READER, before.message_id)["text"]

    await run_housekeeping(world.services, world.clock.now)
    assert await world.db.articles.seal_search_segments(now=world.clock.ts) == 0
    answered: list[int] = []
    real = search_segments.bitmap_hits

    def counted(*args: Any, **kwargs: Any) -> list[tuple[int, int]]:
        found = real(*args, **kwargs)
        answered.append(len(found))
        return found

    monkeypatch.setattr(search_segments, "bitmap_hits", counted)
    after = await world.reply(READER, "/search lai suat")
    assert after.visible_text == before.visible_text
    assert after.visible_text.startswith("Kết quả cho lai suat (1–5")
    await world.press(READER, after.message_id, "sp:5")
    assert world.current(READER, after.message_id)["text"] == page_two
    assert sum(answered) >= 7  # every match came from a sealed segment's bitmaps


async def test_page_two_holds_what_page_one_was_drawn_from(world: BotWorld) -> None:
    """Better matches stored between two pages (the words in the title, and newer):
    page 2 repeats nothing of page 1 and skips nothing, and a new search finds the
    newcomers first."""
    await world.add_feed("/kinh-te", ["kinh-te"], rate_articles(world.clock))
    await world.poll()
    first = await world.reply(READER, "/search lai suat")
    world.clock.advance(hours=7)
    newcomers = [
        replace(
            article(100 + n, world.clock, f"Lãi suất: ngân hàng {n} giảm lãi suất"),
            published=world.clock.now - timedelta(minutes=n),
        )
        for n in range(3)
    ]
    world.feeds.set_feed("/kinh-te", rss([*newcomers, *rate_articles(world.clock)]))
    assert (await world.poll()).new_articles == 3

    await world.press(READER, first.message_id, "sp:5")

    second = world.current(READER, first.message_id)
    assert second["text"].startswith("Kết quả cho lai suat (6–7)")
    links = [
        {e["url"] for e in entities if e["type"] == "text_link"}
        for entities in (first.entities, second.get("entities", []))
    ]
    assert len(links[0]) == 5 and len(links[1]) == 2 and not links[0] & links[1]
    assert links[0] | links[1] == {item.link for item in rate_articles(world.clock)}
    fresh = await world.reply(READER, "/search lai suat")
    assert "ngân hàng 0 giảm" in fresh.visible_text


async def test_settings_commands(world: BotWorld) -> None:
    db = world.db
    digest = await world.reply(READER, "/mode digest")
    assert digest.text == t("vi", "settings.mode_set_digest", hour="07:00", first="ngày mai")
    assert (await world.reply(READER, "/digest 18 giờ")).text == t(
        "vi", "settings.digest_set", hour="18:00", first="ngày mai"
    )
    assert (await world.reply(READER, "/digest 25")).text == t("vi", "settings.digest_usage")
    quiet = await world.reply(READER, "/quiet 22-6")
    assert quiet.text == t("vi", "settings.quiet_set", start="22:00", end="06:00")
    assert (await world.reply(READER, "/lang fr")).text == t("vi", "settings.language_usage")
    reader = await db.subscribers.get_subscriber(READER)
    assert reader is not None
    assert (reader.mode, reader.digest_hour, reader.quiet_start, reader.quiet_end) == (
        "digest",
        18,
        22,
        6,
    )
    menu = await world.reply(READER, "/settings")
    assert "Nhận tin: bản tin hằng ngày" in menu.visible_text
    assert "Giờ nhận bản tin: 18:00" in menu.visible_text
    assert "Không làm phiền: 22:00–06:00" in menu.visible_text
    # The language button switches the menu itself to English.
    answer = await world.press(READER, menu.message_id, "set:lang:en")
    assert answer["text"] == t("en", "settings.language_set")
    assert "Delivery: daily digest" in world.current(READER, menu.message_id)["text"]
    assert (await world.reply(READER, "/quiet off")).text == t("en", "settings.quiet_off_set")
    assert (await world.reply(READER, "/mode instant")).text == t("en", "settings.mode_set_instant")


async def test_error_answer_in_the_readers_language(world: BotWorld) -> None:
    await world.reply(READER, "/lang en")
    world.standin.fail_next("sendMessage", status=500)
    sorry = await world.reply(READER, "/help")
    assert sorry.text == t("en", "error.generic")


# ---- 2. keyword alerts ----------------------------------------------------------------


async def test_keyword_alert_matches_without_accents(world: BotWorld) -> None:
    db, clock = world.db, world.clock
    created = await world.reply(KEYWORD_READER, "/subscribe lãi suất")
    assert created.text == t("vi", "subscribe.keyword_added", phrase="lãi suất")
    [alert_row] = await db.subscribers.keyword_alerts(KEYWORD_READER)
    assert (alert_row.phrase, alert_row.folded) == ("lãi suất", "lai suat")
    # The same phrase in capitals and decomposed (NFD) is the same alert.
    again = await world.reply(KEYWORD_READER, "/subscribe LA\u0303I SUÂ\u0301T")
    assert again.text.startswith("Bạn đã theo dõi từ khóa <b>")
    assert await db.subscribers.topic_subscriptions(KEYWORD_READER) == []
    other = await world.reply(OTHER_READER, "/subscribe chứng khoán")
    assert other.text == t("vi", "subscribe.keyword_added", phrase="chứng khoán")

    old = [article(1, clock, "Hội nghị thượng đỉnh khai mạc", section="the-gioi")]
    new = article(0, clock, "LAI SUAT tang", section="the-gioi")
    await first_poll_then_new(world, "/the-gioi", ["the-gioi"], old, new)

    await world.standin.wait_for(lambda: bool(containing(world.sent_to(KEYWORD_READER), "LAI")))
    await world.outbox_settled()
    [alert] = containing(world.sent_to(KEYWORD_READER), "LAI SUAT")
    assert alert.text.startswith("<b>LAI SUAT tang</b>")
    assert await db.outbox.rows_for_chat(OTHER_READER) == []

    # /mysubs lists topics and alerts with remove buttons (plain-text labels).
    rnd = await world.reply(KEYWORD_READER, "/subscribe R&D")
    assert rnd.text == t("vi", "subscribe.keyword_added", phrase="R&D")
    assert "<b>R&amp;D</b>" in rnd.text
    await world.reply(KEYWORD_READER, "/subscribe khoa hoc cong nghe")
    subs = await world.reply(KEYWORD_READER, "/mysubs")
    assert "Chủ đề: Khoa học – Công nghệ" in subs.visible_text
    assert "Từ khóa: «lãi suất», «R&D»" in subs.visible_text
    rate_id, rnd_id = (a.id for a in await db.subscribers.keyword_alerts(KEYWORD_READER))
    assert labels(world.current(KEYWORD_READER, subs.message_id)) == {
        "u:t:khoa-hoc-cong-nghe": "❌ Khoa học – Công nghệ",
        f"u:k:{rate_id}": "❌ lãi suất",
        f"u:k:{rnd_id}": "❌ R&D",
    }
    # Pressing one removes it; the notice is plain text (callback answers have no HTML).
    answer = await world.press(KEYWORD_READER, subs.message_id, f"u:k:{rnd_id}")
    assert answer["text"] == "Đã bỏ theo dõi từ khóa R&D."
    answer = await world.press(KEYWORD_READER, subs.message_id, "u:t:khoa-hoc-cong-nghe")
    assert answer["text"] == "Đã bỏ theo dõi chủ đề Khoa học – Công nghệ."
    assert [a.phrase for a in await db.subscribers.keyword_alerts(KEYWORD_READER)] == ["lãi suất"]
    assert await db.subscribers.topic_subscriptions(KEYWORD_READER) == []
    assert set(labels(world.current(KEYWORD_READER, subs.message_id))) == {f"u:k:{rate_id}"}
    await world.press(KEYWORD_READER, subs.message_id, f"u:k:{rate_id}")
    assert await db.subscribers.keyword_alerts(KEYWORD_READER) == []
    assert world.current(KEYWORD_READER, subs.message_id)["text"] == t("vi", "unsubscribe.nothing")
    gone = await world.reply(OTHER_READER, "/unsubscribe chung khoan")
    assert gone.text == t("vi", "unsubscribe.keyword_removed", phrase="chung khoan")
    assert await db.subscribers.keyword_alerts(OTHER_READER) == []


# ---- 3. groups --------------------------------------------------------------------------


async def test_groups_admins_and_addressing(world: BotWorld) -> None:
    standin, db = world.standin, world.db
    standin.set_admins(GROUP, [ADMIN])

    refused = await world.reply(GROUP, "/subscribe kinh-te", user_id=MEMBER, chat_type="group")
    assert refused.text == t("vi", "group.admins_only")
    refused = await world.reply(
        GROUP, f"/subscribe@{BOT_USERNAME} lãi suất", user_id=MEMBER, chat_type="group"
    )
    assert refused.text == t("vi", "group.admins_only")
    assert await db.subscribers.topic_subscriptions(GROUP) == []
    assert await db.subscribers.keyword_alerts(GROUP) == []

    done = await world.reply(GROUP, "/subscribe kinh-te", user_id=ADMIN, chat_type="group")
    assert done.text == t("vi", "subscribe.topic_added", topic="Kinh tế")
    assert await db.subscribers.topic_subscriptions(GROUP) == ["kinh-te"]

    # Addressed to another bot, or not addressed at all: silence.
    before = len(world.sent_to(GROUP))
    for text in ("/start@other_news_bot", "/subscribe@other_news_bot thoi-su", "/foo", "chào"):
        world.inject(GROUP, text, user_id=ADMIN, chat_type="group")
    await world.barrier()
    assert len(world.sent_to(GROUP)) == before
    assert await db.subscribers.topic_subscriptions(GROUP) == ["kinh-te"]

    [picker] = await world.say(
        GROUP, f"/start@{BOT_USERNAME}", expect=1, user_id=MEMBER, chat_type="group"
    )
    assert picker.visible_text.startswith("Xin chào")
    assert labels(world.current(GROUP, picker.message_id))["t:kinh-te"] == "✅ Kinh tế"

    # A member's tap is refused with an alert, and the picker stays as it was.
    answer = await world.press(GROUP, picker.message_id, "t:thoi-su", user_id=MEMBER)
    assert answer["text"] == t("vi", "group.admins_only")
    assert answer.get("show_alert") is True
    assert await db.subscribers.topic_subscriptions(GROUP) == ["kinh-te"]
    assert not [m for m in world.sent_to(GROUP) if m.edited]
    await world.press(GROUP, picker.message_id, "t:thoi-su", user_id=ADMIN)
    assert sorted(await db.subscribers.topic_subscriptions(GROUP)) == ["kinh-te", "thoi-su"]

    hint = await world.reply(GROUP, f"/foo@{BOT_USERNAME}", user_id=MEMBER, chat_type="group")
    assert hint.text == t("vi", "fallback.unknown_command")


# ---- 4. hints, input caps and per-chat caps ---------------------------------------------


async def test_hints_length_caps_and_keyword_cap(world: BotWorld) -> None:
    db = world.db
    unknown = await world.reply(READER, "/foo")
    assert unknown.text == t("vi", "fallback.unknown_command")
    # Plain text is a search; the first time, one line says so.
    hint, text = await world.say(READER, "chào bot", expect=2)
    assert hint.text == t("vi", "fallback.text_is_search")
    assert text.text == t("vi", "search.none", query="chào bot")
    assert "\n" not in unknown.visible_text and "\n" not in hint.visible_text
    [again] = await world.say(READER, "giá vàng", expect=1)
    assert again.text == t("vi", "search.none", query="giá vàng")

    too_long = t("vi", "limit.too_long", limit=MAX_INPUT_CHARS)
    assert (await world.reply(READER, "x" * (MAX_INPUT_CHARS + 1))).text == too_long
    long_search = "/search " + "lãi suất " * 120
    assert (await world.reply(READER, long_search)).text == too_long
    query_too_long = await world.reply(READER, "/search " + "a" * (MAX_QUERY_CHARS + 1))
    assert query_too_long.text == t("vi", "limit.too_long", limit=MAX_QUERY_CHARS)
    keyword = await world.reply(READER, "/subscribe " + "a" * (MAX_KEYWORD_CHARS + 1))
    assert keyword.text == t("vi", "limit.too_long", limit=MAX_KEYWORD_CHARS)
    assert await db.subscribers.keyword_alerts(READER) == []

    for n in range(1, MAX_KEYWORDS + 1):
        added = await world.reply(READER, f"/subscribe cụm từ số {n}")
        assert added.text == t("vi", "subscribe.keyword_added", phrase=f"cụm từ số {n}")
    refused = await world.reply(READER, "/subscribe cụm từ cuối cùng")
    assert refused.text == t("vi", "subscribe.too_many_keywords", limit=MAX_KEYWORDS)
    assert len(await db.subscribers.keyword_alerts(READER)) == MAX_KEYWORDS


# ---- 5. the per-user command rate limit -------------------------------------------------


async def test_rate_limit_warns_once_per_window_and_only_the_fast_user(world: BotWorld) -> None:
    slow_down = t("vi", "limit.slow_down")

    def counts() -> tuple[int, int]:
        sent = world.sent_to(SPAMMER)
        warned = sum(m.text == slow_down for m in sent)
        return warned, sum(m.text == t("vi", "help", bot=BOT_USERNAME) for m in sent)

    for n in range(25):
        world.inject(SPAMMER, "/help")
        if n == 22:
            world.inject(BYSTANDER, "/help")
    await world.barrier()
    assert counts() == (1, 20)
    assert [m.text for m in world.sent_to(BYSTANDER)] == [t("vi", "help", bot=BOT_USERNAME)]

    # The next window: twenty more, then one more warning.
    world.throttle_clock.advance(31)
    for _ in range(25):
        world.inject(SPAMMER, "/help")
    await world.barrier()
    assert counts() == (2, 40)


# ---- 6. the token never reaches a log ---------------------------------------------------


async def test_token_never_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    quiet_loggers = ("httpx", "httpcore", "aiohttp.access")
    levels = {name: logging.getLogger(name).level for name in quiet_loggers}
    caplog.set_level(logging.DEBUG)
    secret_filter = logsafe.install([TOKEN])
    assert secret_filter in caplog.handler.filters
    # Undo install()'s quieting of httpx: the request URLs (token inside) are now logged,
    # so only the filter stands between the token and the records.
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    try:
        async with open_world(tmp_path) as world:
            await world.say(READER, "/start", expect=1)
            world.standin.fail_next("sendMessage", status=500)
            [sorry] = await world.say(READER, "/help")
            assert sorry.text == t("vi", "error.generic")
            await world.reply(READER, "/subscribe kinh-te")
            old = rate_articles(world.clock)
            new = article(0, world.clock, "Lãi suất hôm nay")
            await first_poll_then_new(world, "/kinh-te", ["kinh-te"], old, new)
            await world.standin.wait_for(
                lambda: bool(containing(world.sent_to(READER), "Lãi suất hôm nay"))
            )
            await world.reply(READER, "/search lai suat")
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(secret_filter)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    errors = [
        r for r in caplog.records if r.name == "bot.runtime.app" and r.levelno == logging.ERROR
    ]
    assert errors and errors[0].exc_info is not None
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in caplog.handler.format(record), record.name
    assert TOKEN not in caplog.text
    # The filter did the work: python-telegram-bot logged the Bot API URL (its
    # "Set Bot API URL" debug line), with the token redacted.
    redacted = [r for r in caplog.records if f"/bot{logsafe.REDACTED}" in r.getMessage()]
    assert redacted


# ---- 7. the command menu ----------------------------------------------------------------


async def test_command_menu_in_both_languages(world: BotWorld) -> None:
    menus = world.standin.my_commands
    assert set(menus) == {"vi", "en", ""}
    for language, expected in (("vi", "vi"), ("en", "en"), ("", "vi")):
        described = {c["command"]: c["description"] for c in menus[language]}
        assert list(described) == list(MENU_COMMANDS)
        assert described["search"] == t(expected, "command.search")


async def test_an_admin_is_told_once_when_a_feed_has_moved(tmp_path: Path) -> None:
    async with (
        open_world(tmp_path, env={"ADMIN_IDS": str(ADMIN)}) as world,
        Fetcher(FetchLimits(allow_private=True, total_timeout=5.0)) as fetcher,
    ):
        # The world's feeds are on 127.0.0.1, so moves there are allowed for this test.
        world.poller = Poller(
            world.db, fetcher, options=PollerOptions(allow_private_moves=True), clock=world.clock
        )
        old, new = world.feeds.url("/cu.rss"), world.feeds.url("/moi.rss")
        world.feeds.set_feed("/moi.rss", rss(rate_articles(world.clock)))
        feed_id, _ = await world.db.feeds.add_feed(
            FeedSpec(old, "Báo chuyển nhà", ("kinh-te",)), now=world.clock.ts
        )
        world.feeds.redirect("/cu.rss", new, 301)
        for _ in range(3):
            await world.poll()
            world.clock.advance(hours=7)

        for _ in range(2):  # housekeeping runs again and again; the notice goes once
            await run_housekeeping(world.services, world.clock.now)
        await world.standin.wait_for(
            lambda: bool(containing(world.sent_to(ADMIN), "đã chuyển địa chỉ"))
        )
        await world.outbox_settled()

        [notice] = containing(world.sent_to(ADMIN), "đã chuyển địa chỉ")
        assert "Báo chuyển nhà" in notice.visible_text and new in notice.visible_text
        moved = await world.db.feeds.get_feed(feed_id)
        assert moved is not None and (moved.url, moved.previous_url) == (new, old)
