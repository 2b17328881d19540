"""Searching as readers do on a phone: place names run together, and "@bot từ khóa" in any
chat, through the running bot and the stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.botapi_standin.params import JsonDict
from bot.text.i18n import t
from tests.support.bot_world import BotWorld
from tests.support.rss import Item

READER = 4242
FRIEND = 4343


def story(world: BotWorld, n: int, title: str) -> Item:
    link = f"https://bao.example.vn/tin-{n}.html"
    return Item(
        title=title,
        link=link,
        guid=link,
        description=f"<p>{title}. Câu thứ hai của bài.</p>",
        published=world.clock.now - timedelta(minutes=n),
    )


TITLES = ["Hà Nội cấm xe máy ở phố cổ", "Đà Nẵng đón khách du lịch", "TP.HCM mở thêm tuyến metro",
          "Sài Gòn mưa lớn chiều nay", "Giá hành tăng mạnh"]  # fmt: skip


@pytest.fixture
async def stories(world: BotWorld) -> BotWorld:
    await world.add_feed("/rss", ["thoi-su"], [story(world, n, x) for n, x in enumerate(TITLES)])
    await world.poll()
    return world


SAIGON = ["TP.HCM mở thêm tuyến metro", "Sài Gòn mưa lớn chiều nay"]


@pytest.mark.parametrize(
    ("typed", "found"),
    [("hanoi", ["Hà Nội cấm xe máy ở phố cổ"]), ("danang", ["Đà Nẵng đón khách du lịch"]),
     ("saigon", SAIGON), ("tphcm", SAIGON), ("hcm", SAIGON),
     ("hanoi pho co", ["Hà Nội cấm xe máy ở phố cổ"])],
)  # fmt: skip
async def test_place_names_as_readers_type_them(
    stories: BotWorld, typed: str, found: list[str]
) -> None:
    answer = await stories.reply(READER, f"/search {typed}")
    assert {title for title in TITLES if title in answer.visible_text} == set(found)


async def test_a_word_that_is_no_place_does_not_widen(stories: BotWorld) -> None:
    answer = await stories.reply(READER, "/search ha")
    assert "Hà Nội cấm xe máy" in answer.visible_text
    assert "Giá hành" not in answer.visible_text  # "ha" is not "hành"


async def inline(world: BotWorld, text: str, *, offset: str = "", **kwargs: object) -> JsonDict:
    query_id = world.standin.inline_query(FRIEND, text, offset=offset, **kwargs)  # type: ignore[arg-type]
    await world.standin.wait_for(lambda: world.standin.inline_answer(query_id) is not None)
    answer = world.standin.inline_answer(query_id)
    assert answer is not None
    return answer


async def test_inline_mode_shares_search_results_as_articles(stories: BotWorld) -> None:
    answer = await inline(stories, "hanoi", chat_type="supergroup")
    [result] = answer["results"]
    assert result["type"] == "article"
    assert result["title"] == "Hà Nội cấm xe máy ở phố cổ"
    assert result["url"] == "https://bao.example.vn/tin-0.html"
    shared = result["input_message_content"]
    assert shared["parse_mode"] == "HTML"
    assert "Hà Nội cấm xe máy ở phố cổ" in shared["message_text"]
    assert answer.get("next_offset", "") == ""
    # Asking is not joining: no reader was made, nothing was sent to anyone.
    assert await stories.db.subscribers.get_subscriber(FRIEND) is None
    assert stories.standin.sent == []


async def test_inline_mode_pages_and_offers_the_latest_for_no_words(world: BotWorld) -> None:
    await world.add_feed("/rss", ["thoi-su"], [story(world, n, f"Tin số {n}") for n in range(15)])
    await world.poll()
    first = await inline(world, "")
    assert [r["title"] for r in first["results"]][:2] == ["Tin số 0", "Tin số 1"]
    assert len(first["results"]) == 10 and first["next_offset"] == "10"
    second = await inline(world, "", offset="10")
    assert [r["title"] for r in second["results"]] == [f"Tin số {n}" for n in range(10, 15)]
    assert second.get("next_offset", "") == ""
    nothing = await inline(world, "cá sấu bay")
    assert nothing["results"] == []


async def test_inline_mode_speaks_the_readers_language(stories: BotWorld) -> None:
    await stories.reply(FRIEND, "/lang en")
    answer = await inline(stories, "da nang", language_code="vi")
    [result] = answer["results"]
    assert t("en", "article.read_more") in result["input_message_content"]["message_text"]


async def test_inline_answers_are_cached_per_user(stories: BotWorld) -> None:
    answer = await inline(stories, "hanoi")
    assert answer.get("is_personal") is True  # each in its reader's language


async def test_a_keyword_typed_run_together_alerts_on_the_place(world: BotWorld) -> None:
    answer = await world.reply(READER, "/subscribe hanoi")
    assert answer.visible_text.startswith("Đã theo dõi từ khóa hanoi.")
    await world.add_feed("/rss", ["thoi-su"], [])
    await world.poll()  # the feed's first poll: silent
    world.clock.advance(minutes=11)
    world.set_items("/rss", [story(world, 1, "Hà Nội cấm xe máy ở phố cổ"),
                             story(world, 2, "Giá hành tăng mạnh")])  # fmt: skip
    await world.poll()
    await world.outbox_settled()
    [alert] = world.sent_to(READER)[1:]
    assert "Hà Nội cấm xe máy" in alert.visible_text
    assert "🔔 từ khóa: hanoi" in alert.visible_text
