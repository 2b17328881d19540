"""`newsbot db copy SOURCE TARGET`: a populated SQLite file to PostgreSQL and back,
run as an operator runs it (a real process), compared table by table."""

from __future__ import annotations

import dataclasses
import json
import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import storage
from bot.ingest.parse import parse_feed
from bot.readers.search import search
from bot.text.vietnamese import fold
from storage.api import Database
from storage.rows import ArticleInput, FailureKind, FeedSpec, PollFailure, PollSuccess, TopicRow
from tests.support.cli_run import run_newsbot
from tests.support.postgres import PostgresCluster
from tests.support.rss import Item, rss

NOW = 1_790_000_000
PASSWORD = "s3cret-Pa55"

# Columns holding JSON (SQLite keeps its text; a JSONB round trip may reorder keys).
_JSON_COLUMNS = {"keywords", "payload", "site_links", "recent_items", "hourly_items"}

_STORIES = [
    ("Giá vàng hôm nay tăng mạnh", "Giá vàng trong nước tăng 500.000 đồng mỗi lượng."),
    ("Hà Nội mở thêm tuyến buýt điện", "Thành phố Hà Nội khai trương tuyến buýt điện mới."),
    ("Thị trường chứng khoán khởi sắc", "VN-Index tăng hơn 10 điểm, thanh khoản cải thiện."),
    ("Đường sắt tốc độ cao Bắc – Nam", "Quốc hội bàn về dự án đường sắt tốc độ cao."),
    ("Bão số 3 đổ bộ Quảng Ninh", "Bão gây mưa lớn ở các tỉnh phía Bắc, thuỷ điện xả lũ."),
]


def _articles() -> list[ArticleInput]:
    """The stories as the parser makes them, their folded search text included."""
    items = [
        Item(
            title=title,
            link=f"https://vnexpress.example.vn/bai-{i}.html",
            guid=f"bai-{i}",
            description=f"<p>{body}</p>",
            content=f"<p>{body}</p><p>Theo phóng viên Minh Anh, {title.lower()}.</p>",
            published=datetime.fromtimestamp(NOW - (5 - i) * 3600, UTC),
        )
        for i, (title, body) in enumerate(_STORIES)
    ]
    return list(parse_feed(rss(items), fetched_at=datetime.fromtimestamp(NOW, UTC)).entries)


async def populate(db: Database) -> None:
    """A database as a bot leaves it: topics, feeds (one failing, one a site),
    articles with topics, readers with topics and keyword alerts, alerts sent,
    failed and pending, a digest, a broadcast."""
    await db.feeds.sync_topics(
        [
            TopicRow("kinh-te", "Kinh tế", "Economy", ("giá vàng", "chứng khoán")),
            TopicRow("thoi-su", "Thời sự", "News", ()),
        ]
    )
    news, _ = await db.feeds.add_feed(
        FeedSpec("https://vnexpress.example.vn/rss/tin-moi.rss", "VnExpress", ("thoi-su",)),
        now=NOW - 86400,
    )
    money, _ = await db.feeds.add_feed(
        FeedSpec("https://cafef.example.vn/rss.rss", "CafeF", ("kinh-te",)), now=NOW - 86400
    )
    site, _ = await db.feeds.add_feed(
        FeedSpec("https://shtt.example.vn/tin-tuc", "SHTT", ("thoi-su",), kind="site",
                 article_pattern=r"-\d+\.html$"),
        now=NOW - 86400,
    )  # fmt: skip
    await db.feeds.record_poll_failure(
        site, PollFailure("http_status", "HTTP 503", next_poll_at=NOW + 600, pause=False), now=NOW
    )
    for reader, topics in ((101, ("kinh-te",)), (102, ("thoi-su", "kinh-te")), (103, ())):
        await db.subscribers.ensure_subscriber(reader, now=NOW - 7200)
        for slug in topics:
            await db.subscribers.subscribe_topic(reader, slug, now=NOW - 7200)
    await db.subscribers.add_keyword_alert(103, "Giá vàng", fold("Giá vàng"), now=NOW - 7000)
    await db.subscribers.add_keyword_alert(103, "đường sắt", fold("đường sắt"), now=NOW - 7000)
    await db.subscribers.ensure_subscriber(104, now=NOW - 7200, language="en")
    await db.subscribers.set_mode(104, "digest", now=NOW - 7200)
    await db.subscribers.subscribe_topic(104, "thoi-su", now=NOW - 7200)
    await db.subscribers.ensure_subscriber(105, now=NOW - 7200)
    await db.subscribers.deactivate(105, "chat gone: bot was blocked", now=NOW - 3600)

    poll = PollSuccess(
        etag='"abc"', last_modified="Tue, 01 Dec 2026 08:00:00 GMT", body_hash="h1",
        ttl_minutes=15, next_poll_at=NOW + 300, recent_items=(NOW - 7200, NOW - 3600),
        hourly_items=tuple(float(h) / 4 for h in range(24)),
    )  # fmt: skip
    for i, parsed in enumerate(_articles()):
        feed, topics = (money, ("kinh-te",)) if i % 2 == 0 else (news, ("thoi-su",))
        await db.articles.store(
            feed,
            [dataclasses.replace(parsed, topics=topics)],
            now=NOW - 3600 + i,
            alert_keys=frozenset({f"bai-{i}"}),
            keyword_chats={f"bai-{i}": {103: "Giá vàng"}} if i == 0 else None,
            poll=poll,
        )
    await db.articles.store(
        site, [], now=NOW, poll=poll, site_links={"https://shtt.example.vn/a-1.html": "b"}
    )
    claimed = await db.outbox.claim_due(now=NOW, limit=3)
    await db.outbox.mark_sent_many([(claimed[0].id, 9001), (claimed[1].id, 9002)], now=NOW)
    await db.outbox.mark_failed(
        claimed[2].id, "gave up after 5 tries", kind=FailureKind.GAVE_UP, now=NOW
    )
    await db.digests.record_digest(
        104,
        local_date="2026-12-01",
        parts=["<b>Bản tin sáng</b> 1", "phần 2"],
        article_count=3,
        now=NOW,
    )
    draft = await db.broadcasts.create_draft(
        admin_id=1, text="Chào bạn 👋 <b>newsbot</b>", parse_mode="HTML", topic=None, now=NOW
    )
    await db.broadcasts.confirm(draft, progress_chat_id=1, progress_message_id=77, now=NOW)
    await db.broadcasts.create_draft(
        admin_id=1, text="nháp", parse_mode=None, topic="kinh-te", now=NOW
    )


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of a SQLite file (the search index as its folded text), sorted, with
    JSON read as JSON."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    with sqlite3.connect(path) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'article_search%' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for name in names:
            cursor = conn.execute(f"SELECT * FROM {name}")  # noqa: S608 - names from the file
            columns = [d[0] for d in cursor.description]
            tables[name] = sorted(
                (
                    tuple(
                        json.loads(v) if c in _JSON_COLUMNS and v is not None else v
                        for c, v in zip(columns, row, strict=True)
                    )
                    for row in cursor
                ),
                key=repr,
            )
        tables["article_search"] = sorted(
            conn.execute("SELECT rowid, title, body FROM article_search").fetchall()
        )
    return tables


async def _make_source(tmp_path: Path) -> Path:
    path = tmp_path / "source.db"
    db = await storage.open_database(path)
    try:
        await populate(db)
    finally:
        await db.close()
    return path


async def test_sqlite_to_postgresql_and_back_keeps_every_table(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    source = await _make_source(tmp_path)
    async with postgres_cluster.database() as plain_url:
        url = plain_url.replace("postgres@", f"postgres:{PASSWORD}@")
        there = await run_newsbot(tmp_path, "db", "copy", str(source), url)
        assert there.code == 0, there.err
        assert PASSWORD not in there.out + there.err
        assert "articles: 5 of 5" in there.out
        assert "search segments: sealed" in there.out
        for table, rows in (("articles", 5), ("outbox", 15), ("subscribers", 5), ("feeds", 3)):
            assert [table, str(rows), str(rows), "ok"] in [
                line.split() for line in there.out.splitlines()
            ], there.out

        back = tmp_path / "back.db"
        home = await run_newsbot(tmp_path, "db", "copy", url, str(back))
        assert home.code == 0, home.err
        assert PASSWORD not in home.out + home.err
        assert dump(back) == dump(source)

        # The PostgreSQL copy runs as the source did: the same searches, the same
        # queue, and new rows numbered after the copied ones.
        src, pg = await storage.open_database(source), await storage.open_database(url)
        try:
            for query in ("gia vang", "Hà Nội", "thuy dien", "đường sắt tốc độ", "chứng"):
                assert [a.id for a in await search(pg, query, limit=10)] == [
                    a.id for a in await search(src, query, limit=10)
                ], query
            assert await pg.outbox.pending(limit=100) == await src.outbox.pending(limit=100)
            assert await pg.subscribers.keyword_alerts(103) == await src.subscribers.keyword_alerts(
                103
            )
            for db in (src, pg):
                feed_id, new = await db.feeds.add_feed(
                    FeedSpec("https://tuoitre.example.vn/rss.rss", "Tuổi Trẻ", ("thoi-su",)),
                    now=NOW,
                )
                assert (feed_id, new) == (4, True)
                draft = await db.broadcasts.create_draft(
                    admin_id=1, text="lần hai", parse_mode=None, topic=None, now=NOW
                )
                assert draft == 3
        finally:
            await src.close()
            await pg.close()


async def test_a_target_with_data_is_refused_unless_forced(tmp_path: Path) -> None:
    source = await _make_source(tmp_path)
    target = tmp_path / "target.db"
    first = await run_newsbot(tmp_path, "db", "copy", str(source), str(target))
    assert first.code == 0, first.err
    copied = dump(target)

    db = await storage.open_database(source)
    try:
        await db.subscribers.ensure_subscriber(106, now=NOW)
        await db.subscribers.subscribe_topic(106, "kinh-te", now=NOW)
    finally:
        await db.close()
    again = await run_newsbot(tmp_path, "db", "copy", str(source), str(target))
    assert again.code == 1
    assert again.err.strip().count("\n") == 0
    assert "already holds" in again.err and "--force" in again.err
    assert dump(target) == copied

    forced = await run_newsbot(tmp_path, "db", "copy", str(source), str(target), "--force")
    assert forced.code == 0, forced.err
    assert dump(target) == dump(source)
    assert ["subscribers", "6", "6", "ok"] in [line.split() for line in forced.out.splitlines()]


async def test_a_bad_url_or_missing_source_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    source = await _make_source(tmp_path)
    for target, expected in (
        (f"postgresql://newsbot:{PASSWORD}@127.0.0.1:99999/newsbot", "port"),
        (f"postgresql://newsbot:{PASSWORD}@127.0.0.1:{_closed_port()}/newsbot", "refused"),
    ):
        result = await run_newsbot(tmp_path, "db", "copy", str(source), target)
        assert result.code == 1
        assert result.out == ""
        line = result.err.strip()
        assert "\n" not in line and line.startswith("newsbot: TARGET: "), line
        assert expected in line and PASSWORD not in line, line

    missing = await run_newsbot(tmp_path, "db", "copy", str(tmp_path / "nope.db"), str(source))
    assert missing.code == 1
    assert missing.err.strip() == f"newsbot: SOURCE {tmp_path / 'nope.db'}: no such file"
    assert not (tmp_path / "nope.db").exists()


async def test_a_running_bot_on_the_target_is_refused(tmp_path: Path) -> None:
    source = await _make_source(tmp_path)
    target = tmp_path / "live.db"
    db = await storage.open_database(target)
    try:
        assert await db.leases.acquire("background", holder="host:1:x", ttl=30, now=_now())
    finally:
        await db.close()
    result = await run_newsbot(tmp_path, "db", "copy", str(source), str(target), "--force")
    assert result.code == 1
    assert "a bot is running on it" in result.err and "host:1:x" in result.err


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
