"""The /stats picture: per-day figures from storage, a real PNG of the expected size with
every Vietnamese letter in its font, drawn off the event loop, sent after the text."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import threading
import unicodedata
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font

from bot.admin import chart
from bot.admin.chart import ChartData, collect, render_png, stats_chart
from bot.delivery.ratelimit import Priority
from bot.text.i18n import CATALOGS, t
from storage.rows import FeedSpec, PollFailure
from storage.sqlite import SqliteDatabase
from tests.storage.support import article
from tests.support.bot_world import open_world
from tests.support.clock import ManualClock

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 4242
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert png[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def local(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=HCM).timestamp())


def sample_data(language_today: date = date(2026, 9, 24)) -> ChartData:
    days = tuple(language_today - timedelta(days=back) for back in range(6, -1, -1))
    return ChartData(
        days,
        (120, 340, 0, 1234, 56, 78, 9),
        (15_000, 23_000, 0, 120_345, 500, 80, 3),
        (("Tuổi Trẻ — Thời sự", True), ("Người Lao Động", False)),
    )


# ---- the figures -----------------------------------------------------------------


async def test_per_day_counts_follow_the_readers_local_days(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    """Stored per local day (Asia/Ho_Chi_Minh, UTC+7), today so far included."""
    today = clock.now.astimezone(HCM).date()  # 2026-09-24, 09:00 there
    feed_id, _ = await db.feeds.add_feed(FeedSpec("https://a.vn/rss", "Báo A", ()), now=clock.ts)
    stored_at = {
        today: [local(today, 0), local(today, 8)],
        today - timedelta(days=1): [local(today - timedelta(days=1), 23)],
        today - timedelta(days=3): [local(today - timedelta(days=3), 6)] * 3,
        today - timedelta(days=9): [local(today - timedelta(days=9), 12)],  # too old
    }
    n = 0
    for moments in stored_at.values():
        for moment in moments:
            n += 1
            await db.articles.store(feed_id, [article(f"a{n}")], now=moment)
    for n, moment in enumerate([local(today, 1), local(today - timedelta(days=6), 2)]):
        await db.outbox.enqueue(
            chat_id=ADMIN, kind="alert", priority=Priority.ALERT, dedup_key=f"m{n}",
            payload={"text": "x"}, now=moment,
        )  # fmt: skip
        [row] = await db.outbox.claim_due(now=moment, limit=1)
        await db.outbox.mark_sent(row.id, message_id=1, now=moment)
    await db.outbox.enqueue(  # queued, never sent: not counted
        chat_id=ADMIN, kind="alert", priority=Priority.ALERT, dedup_key="pending",
        payload={"text": "x"}, now=local(today, 2),
    )  # fmt: skip

    data = await collect(db, now=clock.now, tz=HCM)
    assert data.days == tuple(today - timedelta(days=back) for back in range(6, -1, -1))
    assert data.stored == (0, 0, 0, 3, 0, 1, 2)
    assert data.sent == (1, 0, 0, 0, 0, 0, 1)
    assert data.failing == ()

    midnight = local(today, 0)
    assert await db.articles.stored_per_period([midnight, midnight + 1]) == [1]
    assert await db.articles.stored_per_period([midnight]) == []
    with pytest.raises(ValueError, match="ascending"):
        await db.outbox.sent_per_period([midnight, midnight - 1])


async def test_failing_and_paused_sources_are_listed_paused_first(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    ids: dict[str, int] = {}
    for name in ("Báo ổn", "Đang lỗi", "Tạm dừng"):
        ids[name], _ = await db.feeds.add_feed(
            FeedSpec(f"https://{len(ids)}.vn/rss", name, ()), now=clock.ts
        )
    await db.feeds.record_poll_failure(
        ids["Đang lỗi"], PollFailure("timeout", "20 s", clock.ts + 300, False), now=clock.ts
    )
    await db.feeds.record_poll_failure(
        ids["Tạm dừng"], PollFailure("http_status", "404", clock.ts + 300, True), now=clock.ts
    )
    data = await collect(db, now=clock.now, tz=HCM)
    assert data.failing == (("Tạm dừng", True), ("Đang lỗi", False))


# ---- the picture -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_picture_is_a_png_of_the_expected_size(language: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a warning from matplotlib
        png = render_png(sample_data(), language)
    assert png_size(png) == (chart.WIDTH, chart.HEIGHT)
    assert len(png) > 10_000  # bars and words, not an empty canvas
    empty = render_png(dataclasses.replace(sample_data(), stored=(0,) * 7, failing=()), language)
    assert png_size(empty) == (chart.WIDTH, chart.HEIGHT)


def test_every_letter_of_the_labels_is_in_the_font() -> None:
    path = findfont(FontProperties(family=chart.FONT_FAMILY), fallback_to_default=False)
    assert Path(path).name == "DejaVuSans.ttf"
    glyphs = FT2Font(path).get_charmap()
    texts = [text for key, text in CATALOGS["vi"].items() if key.startswith("chart.")]
    texts += [name for name, _ in sample_data().failing]
    missing = {c for text in texts for c in text if c.strip() and ord(c) not in glyphs}
    assert missing == set()
    assert {"ỗ", "ồ", "ờ", "đ"} <= set("".join(texts))  # stacked marks, horns, đ: all covered
    # Precomposed (NFC): each letter is one glyph, never a base and a floating mark.
    assert all(unicodedata.is_normalized("NFC", text) for text in texts)


async def test_the_picture_is_drawn_in_a_worker_thread_while_the_loop_runs(
    db: SqliteDatabase, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []

    def watched(data: ChartData, language: str) -> bytes:
        threads.append(threading.current_thread())
        return render_png(data, language)

    monkeypatch.setattr(chart, "render_png", watched)
    ticks = 0
    drawing = True

    async def ticker() -> None:
        nonlocal ticks
        while drawing:
            ticks += 1
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(ticker())
    try:
        png = await stats_chart(db, now=clock.now, tz=HCM, language="vi")
    finally:
        drawing = False
        await beat
    assert png_size(png) == (chart.WIDTH, chart.HEIGHT)
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert ticks >= 10  # the event loop kept turning during the ~0.2 s of drawing


# ---- /stats end to end ---------------------------------------------------------------


async def test_stats_sends_the_figures_then_the_picture(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        world.services.settings = dataclasses.replace(
            world.services.settings, admin_ids=frozenset({ADMIN})
        )
        answers = await world.say(ADMIN, "/stats", expect=2)
        assert [m.method for m in answers] == ["sendMessage", "sendPhoto"]
        assert answers[0].visible_text.startswith("Thống kê")
        upload = answers[1].photo
        assert upload["file_name"] == "stats.png"
        assert upload["size"] > 10_000

        refused = await world.say(ADMIN + 1, "/stats", expect=1)
        assert [m.text for m in refused] == [t("vi", "admin.not_allowed")]


def test_the_day_labels_name_today() -> None:
    today = datetime(2026, 9, 24, tzinfo=UTC).date()
    assert chart._day_label(today, "vi", today=today) == "Hôm nay"
    assert chart._day_label(today - timedelta(days=1), "en", today=today) == "23/09"
