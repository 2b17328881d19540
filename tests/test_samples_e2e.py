"""The real Vietnamese samples in ../shared/samples, served over loopback and polled.

They are read in place (never copied into the project) and these tests skip
cleanly when ../shared is not beside the clone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.ingest.fetch import Fetcher
from bot.ingest.poller import Poller
from bot.readers.search import search
from storage.rows import FeedSpec
from storage.sqlite import SqliteDatabase
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, Route
from tests.support.rss import Item, rss

SHTT_TITLE = "Sở Khoa học và Công nghệ Hà Nội: Những kết quả đạt được sau 5 tháng đầu năm 2023"


def shtt_feed(samples: Path) -> bytes:
    """An RSS item as the magazine's CMS would publish the sample article."""
    lines = [
        line.strip() for line in (samples / "shtt-article-2023-06-04.txt").read_text().splitlines()
    ]
    lead_at = next(i for i, line in enumerate(lines) if line.startswith("(SHTT) -"))
    end = lines.index("Khánh An")
    body = [
        line for line in lines[lead_at + 1 : end] if line and not line.replace(".", "").isdigit()
    ]
    published = datetime(2023, 6, 4, 6, 23, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    item = Item(
        title=SHTT_TITLE,
        link="https://sohuutritue.net.vn/so-khoa-hoc-va-cong-nghe-ha-noi-d12345.html",
        guid="shtt-12345",
        description=f"<p>{lines[lead_at]}</p>",
        content="".join(f"<p>{p}</p>" for p in body),
        published=published,
    )
    return rss([item], title="Sở hữu trí tuệ")


async def test_sample_article_summary_and_accent_free_search(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock, samples: Path
) -> None:
    server.set_feed("/shtt.rss", shtt_feed(samples))
    await db.feeds.add_feed(
        FeedSpec(server.url("/shtt.rss"), "Sở hữu trí tuệ", ("so-huu-tri-tue",)), now=clock.ts
    )

    report = await Poller(db, fetcher, clock=clock).poll_due()

    assert report.new_articles == 1
    [hit] = await search(db, "so khoa hoc va cong nghe ha noi")
    assert hit.title == SHTT_TITLE
    assert hit.summary.startswith("Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội")
    assert "(SHTT)" not in hit.summary
    assert hit.summary.endswith(".")
    assert hit.published_at == 1685834580  # 2023-06-04 06:23 +07:00
    # Words only in the body (not the lead) are found without accents.
    [body_hit] = await search(db, "san giao dich cong nghe techfest vung thu do")
    assert body_hit.id == hit.id
    [by_topic] = await db.articles.latest_articles(topic="so-huu-tri-tue")
    assert by_topic.id == hit.id


FEEDS = {
    "vnexpress_thoi-su_2017-03-25.rss.xml": 25,
    "vnexpress_tin-moi-nhat_2017-11-14.rss.xml": 24,  # one item has no title and no link
    "vnexpress_the-gioi_2025-02-06.rss.xml": 1,  # malformed XML, recovered
    "vietnamnet_kinh-doanh_2026-09-24.rss.xml": 2,
    "sggp_kinh-te_2026-09-24.rss.xml": 2,
    "nguoiquansat_trang-chu_2026-09-24.rss.xml": 2,
}


async def test_every_real_feed_polls_over_http(
    db: SqliteDatabase, server: FeedServer, fetcher: Fetcher, clock: ManualClock, samples: Path
) -> None:
    for name in FEEDS:
        body = (samples / "feeds" / name).read_bytes()
        server.set(f"/{name}", Route(body=body, headers={"Content-Type": "application/rss+xml"}))
        await db.feeds.add_feed(FeedSpec(server.url(f"/{name}"), name, ()), now=clock.ts)

    report = await Poller(db, fetcher, clock=clock).poll_due()

    stored = {f.url.rsplit("/", 1)[1]: f.new_articles for f in report.feeds}
    assert stored == FEEDS
    assert [r.title for r in await search(db, "lai suat ngan hang hom nay")] == [
        "Lãi suất ngân hàng hôm nay 24/9/2026: Thận trọng với lời chào lãi suất 14%/năm"
    ]
    [sggp] = await search(db, "mua lon tphcm ngap nang")
    assert sggp.image_url is not None and sggp.image_url.startswith("https://image.sggp.org.vn/")
    assert "Hồ Học Lãm" not in sggp.summary  # the related-links list is dropped
