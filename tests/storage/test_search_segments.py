"""Sealed search segments (storage.search_segments): search gives the same articles,
in the same order, whether their words are read through the full-text index or
through the sealed bitmaps; sealing and merging cover every id once; an edit
is found at once and sealed again. Segments are made tiny here (4, 16, 64 ids)
so a few hundred articles cross every level."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import storage
from storage import search_segments
from storage.api import Database
from storage.copy import SEALING, copy_database
from storage.rows import ArticleRow, SearchTerm
from storage.search_segments import (
    IdRange,
    SealStep,
    SegmentBuilder,
    id_ranges,
    range_batches,
    seal_steps,
    segment_hits,
    word_plan,
)
from tests.storage.support import NOW, add_feed, article

# Folded syllables of news; the first ones are drawn most often (WEIGHTS).
VOCABULARY = " ".join(
    (
        "kinh te thi truong chung khoan gia vang lai suat ngan hang ha noi da nang",
        "bong doi tuyen cong an tai nan giao thong tri tue nhan tao cua va cac",
    )
).split(" ")
ARTICLES = 150


@pytest.fixture
def tiny_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_segments, "LEVELS", (4, 16, 64))
    monkeypatch.setattr(search_segments, "WORD_BY_WORD", 3)


# Zipf: the first words of the vocabulary are far more common than the last.
WEIGHTS = [1 / rank for rank in range(1, len(VOCABULARY) + 1)]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, WEIGHTS, k=n))


async def _fill(db: Database, count: int = ARTICLES, *, seed: int = 7) -> int:
    feed_id = await add_feed(db)
    rng = random.Random(seed)
    for start in range(0, count, 25):
        batch = [
            article(
                f"a{i}",
                title=_words(rng, rng.randint(2, 5)),
                body=_words(rng, rng.randint(5, 20)) + ("" if i % 9 else " hanoi hiem"),
                published_at=NOW - (count - i) * 60,
            )
            for i in range(start, min(count, start + 25))
        ]
        await db.articles.store(feed_id, batch, now=NOW)
    return feed_id


QUERIES: list[tuple[list[SearchTerm], dict[str, Any]]] = [
    (["vang"], {}),
    (["cua"], {"limit": 50}),
    (["kinh", "te"], {"limit": 20}),
    (["gia", "vang", "cua"], {}),
    (["tri", "tue", "nhan", "tao"], {}),
    (["hiem"], {"limit": 30}),
    (["hiem", "cua"], {"limit": 30, "offset": 5}),
    ([("hanoi", "hn"), "cua"], {"limit": 30}),
    ([("hanoi", "ha noi")], {"limit": 30}),  # a phrase: the index alone
    (["ha noi"], {}),
    (["ngan", "ha"], {"prefix": True, "limit": 30}),
    (["tr"], {"prefix": True, "limit": 40}),
    (["vang"], {"as_of": 100, "limit": 40}),
    (["cua", "va"], {"as_of": 70, "offset": 10, "limit": 10}),
    (["khong", "co"], {}),
    (["***", "vang"], {}),
    (["vang", "zzz"], {}),
]


async def _results(db: Database) -> list[list[tuple[int, tuple[str, ...]]]]:
    out = []
    for words, options in QUERIES:
        rows: list[ArticleRow] = await db.articles.search_articles(words, **options)
        out.append([(r.id, r.also_in) for r in rows])
    return out


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every segment answered from its bitmaps, as the number of its matches."""
    calls: list[int] = []
    real: Callable[..., list[tuple[int, int]]] = search_segments.bitmap_hits

    def counted(*args: Any, **kwargs: Any) -> list[tuple[int, int]]:
        found = real(*args, **kwargs)
        calls.append(len(found))
        return found

    monkeypatch.setattr(search_segments, "bitmap_hits", counted)
    return calls


@pytest.mark.usefixtures("tiny_segments")
async def test_sealed_segments_find_what_the_index_finds_in_the_same_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fill(db)
    through_the_index = await _results(db)
    assert sum(map(len, through_the_index)) > 150  # the queries do find articles

    assert await db.articles.count_sealed_articles() == 0
    written = await db.articles.seal_search_segments(now=NOW)
    assert written > 0
    assert await db.articles.seal_search_segments(now=NOW) == 0  # nothing left to seal
    # Every full segment of 4 ids: the articles of the last 1-3 ids wait for more.
    newest, stored = await db.articles.newest_article_id(), await db.articles.count_articles()
    assert newest == stored  # ids 1..stored (some items merged as repeats)
    assert await db.articles.count_sealed_articles() == newest - newest % 4
    answered = _counting(monkeypatch)

    assert await _results(db) == through_the_index
    assert len(answered) > 10 and sum(answered) > 100  # the bitmaps did answer


@pytest.mark.usefixtures("tiny_segments")
async def test_a_seal_of_a_few_at_a_time_reaches_the_same_segments(db: Database) -> None:
    await _fill(db)
    passes = []
    while written := await db.articles.seal_search_segments(now=NOW, most_articles=8):
        passes.append(written)
    assert len(passes) > 3
    sealed_by_parts = await _results(db)

    await db.transfer.clear()
    await _fill(db)
    await db.articles.seal_search_segments(now=NOW)
    assert await _results(db) == sealed_by_parts


@pytest.mark.usefixtures("tiny_segments")
async def test_an_edit_in_a_sealed_segment_is_found_at_once_and_sealed_again(
    db: Database,
) -> None:
    feed_id = await _fill(db)
    await db.articles.seal_search_segments(now=NOW)
    before = await db.articles.search_articles(["vang"], limit=200)
    edited = before[-1]  # an old article, deep in a sealed segment

    await db.articles.store(
        feed_id,
        [article(f"a{edited.id - 1}", title="bao lu mien trung", body="mua lon keo dai",
                 published_at=NOW - (ARTICLES - edited.id + 1) * 60)],
        now=NOW + 60,
    )  # fmt: skip

    found = await db.articles.search_articles(["mien", "trung"])
    assert [a.id for a in found] == [edited.id]
    gone = await db.articles.search_articles(["vang"], limit=200)
    assert edited.id not in {a.id for a in gone}
    assert len(gone) == len(before) - 1

    assert await db.articles.seal_search_segments(now=NOW + 60) > 0
    assert [a.id for a in await db.articles.search_articles(["mien", "trung"])] == [edited.id]
    assert await db.articles.search_articles(["vang"], limit=200) == gone


@pytest.mark.usefixtures("tiny_segments")
async def test_new_articles_after_a_seal_are_found_first(db: Database) -> None:
    feed_id = await _fill(db)
    await db.articles.seal_search_segments(now=NOW)
    await db.articles.store(
        feed_id,
        [article(f"new{i}", title="gia vang moi", body="tin moi", published_at=NOW + i)
         for i in range(5)],
        now=NOW + 10,
    )  # fmt: skip
    top = await db.articles.search_articles(["gia", "vang"], limit=5)
    assert [a.title for a in top] == ["gia vang moi"] * 5
    assert [a.id for a in top] == sorted((a.id for a in top), reverse=True)


@pytest.mark.usefixtures("tiny_segments")
async def test_a_copy_seals_its_own_segments(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await storage.open_database(tmp_path / "source.db")
    try:
        await _fill(source)
        steps: list[tuple[str, int, int]] = []
        await copy_database(
            source, db, fold=lambda *_: ("", ""), progress=lambda *step: steps.append(step)
        )
        assert (SEALING, 1, 1) in steps
        assert await db.articles.seal_search_segments(now=NOW) == 0  # all sealed already
        want = await _results(source)
        answered = _counting(monkeypatch)
        assert await _results(db) == want
        assert len(answered) > 10  # from the copy's own bitmaps
    finally:
        await source.close()


# The parts, without a database.


def test_id_ranges_cover_every_id_once_newest_first() -> None:
    ranges = id_ranges([(1, 4), (9, 12), (13, 16)], 18)
    assert ranges == [
        IdRange(17, 18, sealed=False),
        IdRange(13, 16, sealed=True),
        IdRange(9, 12, sealed=True),
        IdRange(5, 8, sealed=False),
        IdRange(1, 4, sealed=True),
    ]
    # as_of inside a sealed segment: clipped to it.
    assert id_ranges([(1, 4), (5, 8)], 6) == [IdRange(5, 6, True), IdRange(1, 4, True)]
    assert id_ranges([], 0) == []


def test_sealed_segments_are_read_in_doubling_runs() -> None:
    sealed = [IdRange(100 - i, 100 - i, sealed=True) for i in range(10)]
    batches = range_batches([IdRange(101, 110, sealed=False), *sealed])
    assert [len(b) for b in batches] == [1, 1, 2, 4, 3]
    assert not batches[0][0].sealed


@pytest.mark.usefixtures("tiny_segments")
def test_seal_steps_build_what_is_full_and_merge_upwards() -> None:
    # 40 ids taken: two full segments of 16 are built whole, the rest 4 at a time.
    assert seal_steps([], 41) == [
        SealStep(1, 16), SealStep(17, 32), SealStep(33, 36), SealStep(37, 40)
    ]  # fmt: skip
    # No larger than 4 ids (a pass of housekeeping): the smallest, to be merged.
    assert seal_steps([], 41, largest=4) == [SealStep(f, f + 3) for f in range(1, 41, 4)]
    smalls = [(f, f + 3) for f in range(1, 41, 4)]
    # Once built, sixteen ids' worth are merged (1-16, 17-32), and 33-40 stay small.
    assert seal_steps(smalls, 41) == [
        SealStep(1, 16, (1, 5, 9, 13)),
        SealStep(17, 32, (17, 21, 25, 29)),
    ]
    # An unsealed hole (an edit) is built again; its merged neighbours are left alone.
    mids = [(1, 16), (17, 32), (33, 36), (41, 44)]
    assert seal_steps(mids, 45) == [SealStep(37, 40)]
    # A segment whose last id is not taken yet is not full.
    assert seal_steps([], 4) == []


def test_a_plan_is_whole_words_or_nothing() -> None:
    assert word_plan(["kinh", "te"]) is not None
    assert word_plan(["ha noi"]) is None  # a phrase
    assert word_plan([("hanoi", "ha noi")]) is None
    assert word_plan(["***"]) is None  # nothing to match
    plan = word_plan(["Kinh", ("hanoi", "hn"), "***", "kinh", "t"], prefix=True)
    assert plan is not None
    assert plan.terms == (("kinh",), ("hanoi", "hn")) and plan.prefix == "t"
    assert plan.term_words(["kinh", "hn", "te", "thi", "ha"]) == [
        ["kinh"], ["hn"], ["te", "thi"]
    ]  # fmt: skip


def test_merged_segments_equal_one_built_from_text() -> None:
    texts = [(i, f"tieu de {i % 3}", f"than bai {i % 5} cua") for i in range(1, 33)]
    whole = SegmentBuilder(1)
    whole.add_texts(texts)
    merged = SegmentBuilder(1)
    for first in (1, 17):
        part = SegmentBuilder(first)
        part.add_texts(t for t in texts if first <= t[0] < first + 16)
        merged.add_segment(first, part.rows(), part.articles)
    assert merged.articles == whole.articles == 32
    assert sorted(merged.rows()) == sorted(whole.rows())

    plan = word_plan(["cua", "de"])
    assert plan is not None
    hits = segment_hits(plan, whole.rows(), 1, 30, need=4)
    # Newest first, at most id 30; "de" is in every title, "cua" in no title.
    assert hits == [(30, 1), (29, 1), (28, 1), (27, 1)]
    assert segment_hits(plan, whole.rows(), 1, 32, need=0) == []
