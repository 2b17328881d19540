"""Search benchmark: bot.readers.search.search latency over N synthetic Vietnamese articles.

    python -m bench.search [--articles 100000]

Builds a fresh database through db.articles.store (batches of
1,000 in one write transaction each, search_title/search_body folded by
bot.text.vietnamese.fold as the parser does), then runs ~300 queries: common and rare
words, 2-3 word phrases, accent-free and oddly-encoded forms, and junk (FTS5
syntax, 4,000-character strings, emoji, control characters). Latency is taken
on the second pass (the first one warms the caches).

Baseline, same database, same reader connection: a plain `LIKE '%word%'` scan
of the folded text for every query word, LIMIT 10, no ranking.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import vnsynth
from bot.ingest.summary import make_summary
from bot.readers.search import MAX_QUERY_WORDS, MAX_WORD_CHARS, search
from bot.text.vietnamese import fold, fold_words
from storage.rows import ArticleInput, FeedSpec
from storage.sqlite import SqliteDatabase

TARGET_ARTICLES = 100_000
TARGET_P99_MS = 20.0
BATCH = 1000
TOPICS = ("thoi-su", "kinh-te", "the-gioi", "the-thao", "khoa-hoc-cong-nghe", "giao-duc")

REAL_PHRASES = (
    "kinh tế", "Hà Nội", "Việt Nam", "thị trường chứng khoán", "bất động sản", "giá vàng",
    "trí tuệ nhân tạo", "bóng đá", "đội tuyển", "công an", "tai nạn giao thông",
    "lãi suất ngân hàng", "Hồ Chí Minh", "Đà Nẵng", "chính phủ", "doanh nghiệp",
    "xuất khẩu gạo", "sở hữu trí tuệ", "chuyển đổi số", "thời tiết miền Bắc",
)  # fmt: skip
ACCENT_FREE = (
    "ha noi", "kinh te", "viet nam", "chung khoan", "bat dong san", "gia vang",
    "tri tue nhan tao", "bong da", "thanh pho ho chi minh", "da nang", "cong an",
    "giao thong", "lai suat", "doanh nghiep", "xuat khau", "dai hoc", "benh vien",
    "thu tuong", "quoc hoi", "can tho",
)  # fmt: skip
JUNK_SHORT = (
    '"', "*", "C++", "AND", "OR", "NOT", "NEAR", "(", ")", "-", ":", "^", "title:abc",
    '""', "'", "a*", "AND OR NOT", "NEAR(a b)", "%", "_", "%_%",
    "'; DROP TABLE articles; --", "\\", "\x00", "\u202e", "\u200b", "🔥", "🇻🇳",
    "😀 tin mới", "C# .NET", "1+1", "2024", "5.000 tỷ", "   ",
)  # fmt: skip
NOT_IN_CORPUS = (
    "blockchain", "xyzzy", "covid19", "metaverse", "quantum", "zzzz", "pokemon",
    "nguyễnvănabc", "facebook", "tiktok",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Query:
    category: str
    text: str


@dataclass
class Latencies:
    ms: list[float] = field(default_factory=list)

    def pct(self, p: float) -> float:
        if not self.ms:
            return 0.0
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def max(self) -> float:
        return max(self.ms, default=0.0)

    @property
    def total(self) -> float:
        return sum(self.ms)


@dataclass
class SearchBenchResult:
    n_articles: int
    build_s: float
    db_mb: float
    queries: list[Query]
    fts: Latencies
    like: Latencies
    fts_hits: int
    like_hits: int
    by_category: dict[str, Latencies]
    slowest: list[tuple[float, Query]]
    targets: list[tuple[str, bool]] = field(default_factory=list)


def _article(rng: random.Random, words: vnsynth.ZipfWords, i: int, now: int) -> ArticleInput:
    head = vnsynth.title(rng, words)
    body = vnsynth.paragraph(rng, words, rng.randint(80, 150))
    summary = make_summary(body)
    topics = tuple(sorted(set(rng.sample(TOPICS, rng.randint(1, 2)))))
    url = f"{vnsynth.SITE}/{vnsynth.slug(head)}-{5_000_000 + i}.html"
    return ArticleInput(
        item_key=url,
        url=url,
        title=head,
        summary=summary,
        content_text=body,
        author=None,
        image_url=None,
        published_at=datetime.fromtimestamp(now - i * 60, UTC),
        topics=topics,
        search_title=fold(head),
        search_body=fold(f"{summary}\n{body}"),
        canonical_url=url,
    )


async def build(db: SqliteDatabase, n_articles: int, now: int) -> float:
    """Store n synthetic articles; returns the seconds it took."""
    started = time.perf_counter()
    feed_id, _ = await db.feeds.add_feed(
        FeedSpec(url=f"{vnsynth.SITE}/rss/tin-moi-nhat.rss", name="VnExpress", topics=()),
        now=now,
    )
    rng = random.Random(2024)
    words = vnsynth.default_words()
    for start in range(0, n_articles, BATCH):
        batch = [_article(rng, words, i, now) for i in range(start, min(n_articles, start + BATCH))]
        await db.articles.store(feed_id, batch, now=now, alert_keys=frozenset(), keyword_chats={})
    return time.perf_counter() - started


def queries(seed: int = 11) -> list[Query]:
    """~300 queries of six kinds, always the same ones."""
    rng = random.Random(seed)
    vocab = vnsynth.vocabulary()
    words = vnsynth.default_words()
    out: list[Query] = []
    for word in rng.sample(vocab[:150], 70):
        out.append(Query("common word", word if rng.random() < 0.8 else word.upper()))
    out += [Query("mid word", w) for w in rng.sample(vocab[300:1500], 40)]
    out += [Query("rare word", w) for w in rng.sample(vocab[3000:], 40)]
    out += [Query("rare word", w) for w in NOT_IN_CORPUS]
    out += [Query("phrase", p) for p in REAL_PHRASES]
    for _ in range(40):
        n = rng.randint(2, 3)
        out.append(Query("phrase", " ".join(words.draw(rng, n))))
    out += [Query("accent-free", q) for q in ACCENT_FREE]
    out += [Query("accent-free", " ".join(fold_words(w))) for w in rng.sample(vocab[:1000], 10)]
    out += [
        Query("accent-free", "thuỷ sản"),  # old-style tone placement
        Query("accent-free", "khoẻ"),
        Query("accent-free", unicodedata.normalize("NFD", "Hà Nội")),
        Query("accent-free", unicodedata.normalize("NFD", "kinh tế thị trường")),
        Query("accent-free", "HÀ NỘI"),
        Query("accent-free", "ĐÀ NẴNG"),
        Query("accent-free", "Viet Nam"),
        Query("accent-free", "dong"),
        Query("accent-free", "bao lu mien trung"),
        Query("accent-free", "DAU TU"),
    ]
    out += [Query("junk", j) for j in JUNK_SHORT]
    long_words = " ".join(words.draw(rng, 900))[:4000]
    out += [
        Query("junk", "a" * 4000),
        Query("junk", '"' * 4000),
        Query("junk", "🔥" * 4000),
        Query("junk", long_words),
        Query("junk", ("ha noi " * 600)[:4000]),
        Query("junk", "".join(rng.choice("*()\"':^-+ ") for _ in range(4000))),
    ]
    return out


def _dir_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir()) / 2**20


def _like_words(query: str) -> list[str]:
    """The same words bot.readers.search.match_expression would quote, for the LIKE baseline."""
    words = [w[:MAX_WORD_CHARS] for w in fold_words(query[:2000]) if w.strip("_")]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def like_search(db: SqliteDatabase, query: str, limit: int = 10) -> list[int]:
    """The naive alternative: every word as a substring of the folded title or body."""
    words = _like_words(query)
    if not words:
        return []
    condition = " AND ".join(
        "(s.title LIKE ? ESCAPE '\\' OR s.body LIKE ? ESCAPE '\\')" for _ in words
    )
    sql = (
        "SELECT a.id, a.title, a.url, a.published_at FROM article_search s "  # noqa: S608
        f"JOIN articles a ON a.id = s.rowid WHERE {condition} LIMIT ?"
    )
    params: list[object] = []
    for word in words:
        params += [_like_pattern(word)] * 2
    params.append(limit)
    async with db.sql.reader.execute(sql, params) as cursor:
        return [int(r[0]) for r in await cursor.fetchall()]


async def _timed(
    qs: Sequence[Query], run_one: Callable[[str], Awaitable[Sequence[object]]]
) -> tuple[list[float], int]:
    times: list[float] = []
    hits = 0
    for q in qs:
        started = time.perf_counter()
        found = await run_one(q.text)
        times.append((time.perf_counter() - started) * 1000)
        hits += len(found)
    return times, hits


async def run(n_articles: int, *, like_passes: int = 1) -> SearchBenchResult:
    now = int(time.time())
    qs = queries()
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        path = Path(tmp) / "search.db"
        async with await SqliteDatabase.open(path) as db:
            build_s = await build(db, n_articles, now)
            stored = await db.articles.count_articles()
            if stored != n_articles:
                raise RuntimeError(f"stored {stored} articles, expected {n_articles}")
            db_mb = _dir_mb(Path(tmp))

            async def fts(text: str) -> Sequence[object]:
                return await search(db, text, limit=10)

            async def like(text: str) -> Sequence[object]:
                return await like_search(db, text, limit=10)

            await _timed(qs, fts)  # warm-up pass
            fts_ms, fts_hits = await _timed(qs, fts)
            like_ms: list[float] = []
            like_hits = 0
            for _ in range(like_passes):
                like_ms, like_hits = await _timed(qs, like)
    by_category: dict[str, Latencies] = {}
    for q, ms in zip(qs, fts_ms, strict=True):
        by_category.setdefault(q.category, Latencies()).ms.append(ms)
    slowest = sorted(zip(fts_ms, qs, strict=True), key=lambda pair: pair[0], reverse=True)[:6]
    result = SearchBenchResult(
        n_articles=n_articles,
        build_s=build_s,
        db_mb=db_mb,
        queries=qs,
        fts=Latencies(fts_ms),
        like=Latencies(like_ms),
        fts_hits=fts_hits,
        like_hits=like_hits,
        by_category=by_category,
        slowest=slowest,
    )
    result.targets = [
        (f"search p99 under {TARGET_P99_MS:.0f} ms", result.fts.pct(99) < TARGET_P99_MS)
    ]
    return result


def _short(text: str, width: int = 40) -> str:
    shown = repr(text)
    return shown if len(shown) <= width else f"{shown[: width - 12]}…({len(text)} chars)"


def report(r: SearchBenchResult) -> str:
    lines = [
        f"search: {r.n_articles:,} articles built in {r.build_s:.1f} s "
        f"({r.n_articles / r.build_s:,.0f} articles/s through db.articles.store); "
        f"database {r.db_mb:.0f} MB; {len(r.queries)} queries",
        "",
        f"  {'':<22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'total s':>9}{'rows':>8}",
    ]
    for name, lat, hits in (
        ("bot.readers.search.search", r.fts, r.fts_hits),
        ("LIKE '%w%' baseline", r.like, r.like_hits),
    ):
        lines.append(
            f"  {name:<22}{lat.pct(50):>9.2f}{lat.pct(95):>9.2f}{lat.pct(99):>9.2f}"
            f"{lat.max:>9.2f}{lat.total / 1000:>9.2f}{hits:>8,}"
        )
    ratio_p50 = r.like.pct(50) / max(r.fts.pct(50), 1e-9)
    ratio_p99 = r.like.pct(99) / max(r.fts.pct(99), 1e-9)
    ratio_total = r.like.total / max(r.fts.total, 1e-9)
    lines += [
        f"  speed-up of search over LIKE: p50 {ratio_p50:.1f}x, p99 {ratio_p99:.1f}x, "
        f"whole query set {ratio_total:.1f}x",
        "",
        "  bot.readers.search.search by kind of query:",
    ]
    for category, lat in r.by_category.items():
        lines.append(
            f"    {category:<14}{len(lat.ms):>4} queries  p50 {lat.pct(50):7.2f}  "
            f"p99 {lat.pct(99):7.2f}  max {lat.max:7.2f} ms"
        )
    lines.append("  slowest queries:")
    lines += [f"    {ms:8.2f} ms  {q.category:<12} {_short(q.text)}" for ms, q in r.slowest]
    p99 = r.fts.pct(99)
    note = "" if r.n_articles == TARGET_ARTICLES else "  (target is set for 100,000 articles)"
    lines += [
        "",
        f"  target search p99 < {TARGET_P99_MS:.0f} ms: {p99:.2f} ms  "
        f"{'PASS' if p99 < TARGET_P99_MS else 'FAIL'}{note}",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--articles", type=int, default=TARGET_ARTICLES)
    parser.add_argument(
        "--like-passes", type=int, default=1, help="passes of the LIKE baseline (last one counts)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> SearchBenchResult:
    args = build_parser().parse_args(argv)
    if args.articles < 1 or args.like_passes < 1:
        raise SystemExit("--articles and --like-passes must be >= 1")
    result = asyncio.run(run(args.articles, like_passes=args.like_passes))
    print(report(result), flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
