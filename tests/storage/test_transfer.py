"""The transfer store: whole tables in and out in neutral forms, for `newsbot db copy`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from storage.api import Database, TransferRow
from storage.copy import check_schemas
from storage.rows import FeedSpec
from storage.tables import NOT_COPIED, TABLES, Table
from tests.storage.support import NOW

_BY_NAME = {t.name: t for t in TABLES}

# One or two rows per table, in the neutral forms: every kind, None where a column
# allows it, text that is not ASCII, JSON whose keys are not in sorted order.
ROWS: dict[str, list[TransferRow]] = {
    "topics": [("kinh-te", "Kinh tế", "Economy", ["giá vàng", "chứng khoán"], 0, ["economy"]),
               ("the-thao", "Thể thao", "Sport", [], 1, [])],
    "feeds": [
        (7, "https://a.example.vn/rss", "Báo A", "feed", "config", True, '"e1"', None, "h",
         15, NOW - 9, NOW - 5, NOW - 5, NOW + 60, 0, None, None, None, 2, NOW - 99, None, None,
         None, [NOW - 50, NOW - 20], [0.5] * 24, None, None, None, 0, None),
        (9, "https://b.example.vn/", "Báo B", "site", "operator", False, None, None, None,
         None, None, None, None, 0, 3, "http_status", "HTTP 503", NOW, 0, NOW - 99,
         r"-\d+\.html$", "a.title", '{"https://b.example.vn/x-1.html": "b"}', None, None,
         "proc-b", NOW + 30, "https://b2.example.vn/", 2, "https://cu.example.vn/"),
    ],
    "feed_topics": [(7, "kinh-te"), (9, "kinh-te"), (9, "the-thao")],
    "articles": [
        (11, 7, "k1", "https://a.example.vn/1", "Giá vàng tăng", "Tóm tắt", "Nội dung đầy đủ",
         None, None, NOW - 3600, NOW - 60, NOW - 60, None, "https://a.example.vn/1",
         "gia vang tang", "tom tat noi dung day du"),
        (12, 9, "k2", "https://b.example.vn/x-2.html", "Bóng đá", "Tin", "Trận đấu", "Lan",
         "https://img/2.jpg", NOW - 7200, NOW - 30, NOW - 10, 11, None, "bong da",
         "tin tran dau"),
    ],
    "article_sources": [(7, "k1", 11), (9, "k2", 12), (9, "k1-cu", 11)],
    "article_topics": [(11, "kinh-te"), (12, "the-thao")],
    "subscribers": [
        (501, "private", "vi", "Asia/Ho_Chi_Minh", "instant", 7, None, None, True, None, None,
         None, NOW - 500, NOW - 400, None, 30, "night"),
        (-1002, "supergroup", "en", "UTC", "digest", 8, 22, 6, False, NOW - 5, "chat gone: x",
         "2026-12-01", NOW - 500, NOW - 5, NOW - 300, 0, "off"),
    ],
    "topic_subscriptions": [(501, "kinh-te", NOW - 450), (-1002, "the-thao", NOW - 450)],
    "keyword_alerts": [(21, 501, "Giá vàng", "gia vang", NOW - 440)],
    "broadcasts": [(31, 1, "Chào 👋", "HTML", None, "done", 1, 77, NOW - 90, NOW - 80, NOW - 70,
                    "all")],
    "destinations": [(51, -100777, 0, "channel", "Kênh Tin", "config", "photo", True, False,
                      None, None, None, NOW - 99),
                     (52, -100888, 12, "supergroup", "Diễn đàn", "telegram", "text", False,
                      True, 1, NOW - 9, "not enough rights", NOW - 98)],
    "destination_topics": [(51, "kinh-te"), (52, "the-thao")],
    "destination_feeds": [(51, 9)],
    "digests": [(-1002, "2026-12-01", NOW - 300, 4)],
    "outbox": [
        (41, 501, "alert", 20, "article:11", 11, None, None, "sent", 1, NOW - 60, None, 9001,
         NOW - 60, NOW - 59, None, "Giá vàng", None, None, "proc-a", None),
        (42, -1002, "broadcast", 40, "broadcast:31", None, 31,
         '{"text": "Chào 👋", "parse_mode": "HTML"}', "failed", 5, NOW - 50, "gave up", None,
         NOW - 90, NOW - 40, "gave_up", None, None, None, None, None),
        (43, 501, "reply", 0, "reply:1", None, None, '{"zz": 1, "a": [1, 2]}', "pending", 0,
         NOW, None, None, NOW, None, None, None, None, None, None, None),
        (40, -100777, "alert", 20, "article:12", 12, None, None, "pending", 0, NOW, None, None,
         NOW, None, None, None, 51, 9001, None, None),
    ],
}  # fmt: skip


async def _fill(db: Database) -> None:
    for table in TABLES:
        await db.transfer.insert(table, ROWS[table.name])
    await db.transfer.finish()


async def _read(db: Database, table: Table, *, batch: int = 1000) -> list[TransferRow]:
    rows: list[TransferRow] = []
    async with db.transfer.snapshot() as snapshot:
        assert await snapshot.count(table) == len(ROWS[table.name])
        async for part in snapshot.rows(table, batch=batch):
            assert 0 < len(part) <= batch
            rows.extend(part)
    return rows


def _neutral(table: Table, row: TransferRow) -> TransferRow:
    """JSON compared as JSON: a backend may keep it in another spelling."""
    return tuple(
        json.loads(v) if kind.value == "json" and isinstance(v, str) else v
        for (_, kind), v in zip(table.columns, row, strict=False)
    ) + tuple(row[len(table.columns) :])


async def test_every_table_has_the_columns_a_copy_knows(db: Database) -> None:
    columns = await db.transfer.columns()
    for table in TABLES:
        assert sorted(columns[table.name]) == sorted(table.column_names)
    assert set(columns) == {t.name for t in TABLES} | NOT_COPIED
    await check_schemas(db, db)


async def test_rows_go_in_and_come_out_as_they_were(db: Database) -> None:
    await _fill(db)
    for table in TABLES:
        got = [_neutral(table, r) for r in await _read(db, table, batch=1)]
        want = [_neutral(table, r) for r in sorted(ROWS[table.name], key=_key(table))]
        if table.searchable and got and got[0][-1] is None:
            # This backend keeps only an index built from the folded text.
            want = [(*r[: len(table.columns)], None, None) for r in want]
        assert got == want, table.name
    assert await db.transfer.counts(TABLES) == {t: len(r) for t, r in ROWS.items()}


def _key(table: Table) -> Callable[[TransferRow], tuple[Any, ...]]:
    positions = [table.column_names.index(c) for c in table.key]
    return lambda row: tuple(row[i] for i in positions)


async def test_inserted_articles_are_searchable_and_new_ids_follow_the_copied(
    db: Database,
) -> None:
    await _fill(db)
    assert [a.id for a in await db.articles.search_articles(["gia", "vang"])] == [11]
    assert [a.id for a in await db.articles.search_articles(["noi", "dung"])] == [11]
    assert [a.id for a in await db.articles.search_articles(["tran"])] == [12]
    feed_id, new = await db.feeds.add_feed(FeedSpec("https://c.example.vn/rss", "C", ()), now=NOW)
    assert (feed_id, new) == (10, True)
    assert await db.outbox.enqueue(
        chat_id=501, kind="reply", priority=0, dedup_key="reply:2", payload=None, now=NOW
    )
    assert max(r.id for r in await db.outbox.rows_for_chat(501)) == 44
    assert await db.subscribers.add_keyword_alert(501, "bóng đá", "bong da", now=NOW)
    assert max(a.id for a in await db.subscribers.keyword_alerts(501)) == 22
    draft = await db.broadcasts.create_draft(
        admin_id=1, text="x", parse_mode=None, topic=None, now=NOW
    )
    assert draft == 32


async def test_clear_empties_every_table_and_the_index(db: Database) -> None:
    await _fill(db)
    assert await db.leases.acquire("background", holder="h", ttl=30, now=NOW)
    await db.transfer.clear()
    assert set((await db.transfer.counts(TABLES)).values()) == {0}
    assert await db.leases.holder("background", now=NOW) is None
    assert await db.articles.search_articles(["gia"]) == []
    await _fill(db)
    assert [a.id for a in await db.articles.search_articles(["gia"])] == [11]
    assert _BY_NAME["articles"].searchable
