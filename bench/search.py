"""Search benchmark: bot.readers.search.search latency over N synthetic Vietnamese articles.

    python -m bench.search [--articles 100000]

Builds a fresh database through db.articles.store (batches of
1,000 in one write transaction each, search_title/search_body folded by
bot.text.vietnamese.fold as the parser does), then runs ~300 queries: common and rare
words, 2-3 word phrases, accent-free and oddly-encoded forms, and junk (FTS5
syntax, 4,000-character strings, emoji, control characters). Latency is taken
on the second pass (the first one warms the caches).

Baseline, same database, same reader connection: a plain `LIKE '%word%'` scan
of the folded text for every query word, LIMIT 10, no ranking. And side by
side at each size: the same queries through the full-text index alone (before
housekeeping seals the new segments), then with the sealed segments
(storage.search_segments), with the time sealing took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import vnsynth
from bot.readers.search import MAX_QUERY_WORDS, MAX_WORD_CHARS, search
from bot.text.vietnamese import clean_text, fold, fold_words
from storage.api import Database, TransferRow
from storage.postgres import PostgresDatabase
from storage.rows import FeedSpec
from storage.sqlite import SqliteDatabase
from storage.tables import TABLES
from tests.support.postgres import PostgresCluster, missing_reason

TARGET_SIZES = (100_000, 1_000_000)
TARGET_P99_MS = 20.0
BATCH = 5000
_TYPED_WORD = re.compile(r"\w+")
_ARTICLES = next(t for t in TABLES if t.name == "articles")
_ARTICLE_TOPICS = next(t for t in TABLES if t.name == "article_topics")
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


class Corpus:
    """N synthetic articles, made batch by batch the same way every time (each batch
    has its own seed), as the neutral rows `db.transfer.insert` takes: the backend's
    own bulk path (SQLite: executemany into the table and FTS5; PostgreSQL: one
    INSERT … unnest with the tsvector computed), so a million are built in minutes.

    Text is drawn word by word from the Zipf vocabulary and folded word by word
    (each vocabulary word folded once), which gives the same words as folding
    the whole text; the summary is the body's first sentences, so the indexed
    body is the text alone, as `bot.ingest.summary.search_text` leaves it.
    Article ids grow with publication time, as they do when a bot stores them.
    """

    def __init__(self, total: int, *, now: int, feed_id: int, seed: int = 2024) -> None:
        self.total = total
        self.now = now
        self.feed_id = feed_id
        self.seed = seed
        self.words = vnsynth.default_words()
        self._folded = {w: fold(w) for w in self.words.words}

    def batch(self, start: int, stop: int) -> tuple[list[TransferRow], list[TransferRow]]:
        """Articles start..stop-1 (ids start+1..stop) and their topic rows."""
        rng = random.Random(self.seed * 1_000_003 + start)
        articles: list[TransferRow] = []
        topics: list[TransferRow] = []
        folded = self._folded
        for i in range(start, stop):
            head = self.words.draw(rng, rng.randint(10, 14))
            body = self.words.draw(rng, rng.randint(80, 150))
            title = " ".join(head)
            title = title[:1].upper() + title[1:]
            sentences = [" ".join(body[k : k + 16]) for k in range(0, len(body), 16)]
            text = ". ".join(s[:1].upper() + s[1:] for s in sentences) + "."
            summary = ". ".join(sentences[:2]) + "."
            published = self.now - (self.total - i) * 30
            url = f"{vnsynth.SITE}/{vnsynth.slug(title)}-{5_000_000 + i}.html"
            articles.append(
                (i + 1, self.feed_id, url, url, title, summary[:1].upper() + summary[1:], text,
                 None, None, published, published, published, None, url,
                 " ".join(folded[w] for w in head), " ".join(folded[w] for w in body))
            )  # fmt: skip
            for slug in sorted(set(rng.sample(TOPICS, rng.randint(1, 2)))):
                topics.append((i + 1, slug))
        return articles, topics


async def grow(db: Database, corpus: Corpus, start: int, stop: int) -> float:
    """Add articles start..stop-1 in batches of BATCH; returns the seconds it took."""
    began = time.perf_counter()
    for first in range(start, stop, BATCH):
        articles, topics = corpus.batch(first, min(stop, first + BATCH))
        await db.transfer.insert(_ARTICLES, articles)
        await db.transfer.insert(_ARTICLE_TOPICS, topics)
    if db.location.startswith("postgresql"):
        # VACUUM (ANALYZE), as autovacuum would run it after a load this size.
        await db.transfer.finish()
    return time.perf_counter() - began


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


def _like_words(query: str) -> list[str]:
    """The same words bot.readers.search.match_expression would quote, for the LIKE baseline."""
    words = [w[:MAX_WORD_CHARS] for w in fold_words(query[:2000]) if w.strip("_")]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def like_search_sqlite(db: SqliteDatabase, query: str, limit: int = 10) -> list[int]:
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


async def like_search_postgres(db: PostgresDatabase, query: str, limit: int = 10) -> list[int]:
    """The same naive scan on PostgreSQL, which keeps no folded copy of the text: every
    word, lower-cased as typed, as a substring of the title or text (`ILIKE`). It is
    accent-sensitive, so it finds less; what it shows is the cost of the scan."""
    typed = _TYPED_WORD.findall(clean_text(query[:2000]).casefold())
    words = list(dict.fromkeys(w[:MAX_WORD_CHARS] for w in typed if w.strip("_")))
    words = words[:MAX_QUERY_WORDS]
    if not words:
        return []
    condition = " AND ".join(
        f"(a.title ILIKE ${i} OR a.content_text ILIKE ${i})" for i in range(1, len(words) + 1)
    )
    rows = await db.pg.fetch(
        f"SELECT a.id FROM articles a WHERE {condition} LIMIT {int(limit)}",  # noqa: S608
        *[_like_pattern(w) for w in words],
    )
    return [int(r["id"]) for r in rows]


def _schedstat_seconds(pid: int) -> float:
    """CPU time of a process so far, to the nanosecond (/proc/PID/schedstat)."""
    with open(f"/proc/{pid}/schedstat", encoding="ascii") as f:
        return int(f.read().split()[0]) / 1e9


async def _timed(
    qs: Sequence[Query],
    run_one: Callable[[str], Awaitable[Sequence[object]]],
    cpu: Callable[[], float],
) -> tuple[list[float], list[float], int]:
    """Wall and CPU milliseconds per query. CPU counts the work wherever it runs (this
    process's threads, the database server's backend), not time spent waiting for a
    core: on a busy machine it is what the query would take on an idle one."""
    times: list[float] = []
    cpu_times: list[float] = []
    hits = 0
    for q in qs:
        cpu_before = cpu()
        started = time.perf_counter()
        found = await run_one(q.text)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((cpu() - cpu_before) * 1000)
        hits += len(found)
    return times, cpu_times, hits


@dataclass
class Measurement:
    backend: str
    n_articles: int
    build_s: float  # building up to this size from the previous one
    built_from: int
    db_mb: float
    fts: Latencies
    fts_cpu: Latencies
    like: Latencies
    fts_hits: int
    like_hits: int
    like_queries: int
    by_category: dict[str, Latencies]
    slowest: list[tuple[float, Query]]
    load: float  # the 1-minute load average after measuring: other work on the machine
    index_only: Latencies  # before sealing: what the full-text index alone gives
    index_only_cpu: Latencies
    seal_s: float  # sealing the segments the growth filled


@dataclass
class SearchBenchResult:
    queries: list[Query]
    measurements: list[Measurement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)


class _Backend:
    """One database under test: how to open it, measure its size and scan it naively."""

    def __init__(self, name: str, db: Database, size_mb: Callable[[], Awaitable[float]],
                 like: Callable[[str], Awaitable[Sequence[object]]],
                 cpu: Callable[[], float]) -> None:  # fmt: skip
        self.name = name
        self.db = db
        self.size_mb = size_mb
        self.like = like
        self.cpu = cpu


def _dir_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir()) / 2**20


@contextlib.asynccontextmanager
async def _sqlite() -> AsyncIterator[_Backend]:
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        async with await SqliteDatabase.open(Path(tmp) / "search.db") as db:

            async def size() -> float:
                return await asyncio.to_thread(_dir_mb, Path(tmp))

            async def like(text: str) -> Sequence[object]:
                return await like_search_sqlite(db, text)

            # SQLite works in this process (aiosqlite's threads).
            yield _Backend("sqlite", db, size, like, time.process_time)


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[_Backend]:
    cluster = await asyncio.to_thread(PostgresCluster.start)
    try:
        url = await cluster.empty_database()
        # One connection, so every query runs in the one server backend measured.
        db = await PostgresDatabase.open(url, pool_size=1)
        try:
            backend_pid = int(await db.pg.fetchval("SELECT pg_backend_pid()"))

            def cpu() -> float:
                return time.process_time() + _schedstat_seconds(backend_pid)

            async def size() -> float:
                return (
                    float(await db.pg.fetchval("SELECT pg_database_size(current_database())"))
                    / 2**20
                )

            async def like(text: str) -> Sequence[object]:
                return await like_search_postgres(db, text)

            yield _Backend("postgresql", db, size, like, cpu)
        finally:
            await db.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def _measure(
    backend: _Backend, qs: Sequence[Query], like_qs: Sequence[Query]
) -> tuple[list[float], list[float], int, list[float], int]:
    fts_ms, fts_cpu, fts_hits = await _searched(backend, qs)
    like_ms, _, like_hits = await _timed(like_qs, backend.like, backend.cpu)
    return fts_ms, fts_cpu, fts_hits, like_ms, like_hits


async def _searched(backend: _Backend, qs: Sequence[Query]) -> tuple[list[float], list[float], int]:
    """Every query searched twice; the second (warm) pass timed: wall, CPU, rows."""

    async def fts(text: str) -> Sequence[object]:
        return await search(backend.db, text, limit=10)

    await _timed(qs, fts, backend.cpu)  # warm-up pass
    return await _timed(qs, fts, backend.cpu)


async def run_backend(
    name: str, sizes: Sequence[int], qs: Sequence[Query], like_qs: Sequence[Query], now: int
) -> list[Measurement]:
    """Grow one database through the sizes, measuring at each."""
    opener = _sqlite if name == "sqlite" else _postgres
    out: list[Measurement] = []
    async with opener() as backend:
        feed_id, _ = await backend.db.feeds.add_feed(
            FeedSpec(url=f"{vnsynth.SITE}/rss/tin-moi-nhat.rss", name="VnExpress", topics=()),
            now=now,
        )
        corpus = Corpus(max(sizes), now=now, feed_id=feed_id)
        built = 0
        for size in sizes:
            build_s = await grow(backend.db, corpus, built, size)
            stored = await backend.db.articles.count_articles()
            if stored != size:
                raise RuntimeError(f"{name}: stored {stored} articles, expected {size}")
            # Before sealing: the new articles read through the full-text index alone.
            index_ms, index_cpu, _ = await _searched(backend, qs)
            began = time.perf_counter()
            await backend.db.articles.seal_search_segments(now=now)
            seal_s = time.perf_counter() - began
            if name == "postgresql":
                # The vacuum autovacuum would run after sealing wrote and merged
                # tens of thousands of rows, before it competes with the queries.
                await backend.db.transfer.finish()
            fts_ms, fts_cpu, fts_hits, like_ms, like_hits = await _measure(backend, qs, like_qs)
            by_category: dict[str, Latencies] = {}
            for q, ms in zip(qs, fts_ms, strict=True):
                by_category.setdefault(q.category, Latencies()).ms.append(ms)
            slowest = sorted(zip(fts_ms, qs, strict=True), key=lambda p: p[0], reverse=True)[:6]
            out.append(
                Measurement(name, size, build_s, built, await backend.size_mb(),
                            Latencies(fts_ms), Latencies(fts_cpu), Latencies(like_ms),
                            fts_hits, like_hits,
                            len(like_qs), by_category, slowest, os.getloadavg()[0],
                            Latencies(index_ms), Latencies(index_cpu), seal_s)
            )  # fmt: skip
            print(report_one(out[-1]), flush=True)
            built = size
    return out


async def run(
    sizes: Sequence[int], backends: Sequence[str], *, like_queries: int = 60
) -> SearchBenchResult:
    now = int(time.time())
    qs = queries()
    step = max(1, len(qs) // like_queries)
    like_qs = qs[::step][:like_queries]
    result = SearchBenchResult(qs)
    for name in backends:
        if name == "postgresql" and (reason := missing_reason()) is not None:
            result.skipped.append(f"postgresql: {reason}")
            continue
        result.measurements += await run_backend(name, sizes, qs, like_qs, now)
    for m in result.measurements:
        result.targets.append(
            (f"search p99 under {TARGET_P99_MS:.0f} ms at {m.n_articles:,} articles ({m.backend})",
             m.fts.pct(99) < TARGET_P99_MS)
        )  # fmt: skip
    return result


def _short(text: str, width: int = 40) -> str:
    shown = repr(text)
    return shown if len(shown) <= width else f"{shown[: width - 12]}…({len(text)} chars)"


def report_one(m: Measurement) -> str:
    rate = (m.n_articles - m.built_from) / max(m.build_s, 1e-9)
    lines = [
        f"search on {m.backend}: {m.n_articles:,} articles ({m.n_articles - m.built_from:,} "
        f"added in {m.build_s:.1f} s, {rate:,.0f} articles/s through db.transfer.insert); "
        f"database {m.db_mb:,.0f} MB; machine load {m.load:.1f} on {os.cpu_count()} cores; "
        f"sealing the new segments took {m.seal_s:.1f} s",
        "",
        f"  {'':<24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'total s':>9}{'rows':>8}",
    ]
    for label, lat, hits in (
        ("index only, unsealed", m.index_only, m.fts_hits),
        ("  its CPU (all parties)", m.index_only_cpu, m.fts_hits),
        (f"search ({len(m.fts.ms)} queries)", m.fts, m.fts_hits),
        ("  its CPU (all parties)", m.fts_cpu, m.fts_hits),
        (f"LIKE scan ({m.like_queries})", m.like, m.like_hits),
    ):
        lines.append(
            f"  {label:<24}{lat.pct(50):>9.2f}{lat.pct(95):>9.2f}{lat.pct(99):>9.2f}"
            f"{lat.max:>9.2f}{lat.total / 1000:>9.2f}{hits:>8,}"
        )
    lines.append("  search by kind of query:")
    for category, lat in m.by_category.items():
        lines.append(
            f"    {category:<14}{len(lat.ms):>4} queries  p50 {lat.pct(50):7.2f}  "
            f"p99 {lat.pct(99):7.2f}  max {lat.max:7.2f} ms"
        )
    lines.append("  slowest queries:")
    lines += [f"    {ms:8.2f} ms  {q.category:<12} {_short(q.text)}" for ms, q in m.slowest]
    p99 = m.fts.pct(99)
    before = m.index_only.pct(99)
    lines += [
        f"  sealed segments against the index alone, p99: {before:.2f} → {p99:.2f} ms "
        f"({before / max(p99, 1e-9):.1f}x); CPU {m.index_only_cpu.pct(99):.2f} → "
        f"{m.fts_cpu.pct(99):.2f} ms",
        f"  target search p99 < {TARGET_P99_MS:.0f} ms: {p99:.2f} ms  "
        f"{'PASS' if p99 < TARGET_P99_MS else 'FAIL'} (CPU p99 {m.fts_cpu.pct(99):.2f} ms)",
        "",
    ]
    return "\n".join(lines)


def report(r: SearchBenchResult) -> str:
    lines = [
        "search, summary:",
        f"  {'backend':<12}{'articles':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU p99':>9}"
        f"{'unsealed':>10}{'LIKE p50':>10}{'LIKE p99':>10}{'MB':>8}{'load':>6}",
    ]
    for m in r.measurements:
        lines.append(
            f"  {m.backend:<12}{m.n_articles:>11,}{m.fts.pct(50):>9.2f}{m.fts.pct(99):>9.2f}"
            f"{m.fts_cpu.pct(99):>9.2f}{m.index_only.pct(99):>10.2f}{m.like.pct(50):>10.2f}"
            f"{m.like.pct(99):>10.2f}{m.db_mb:>8,.0f}{m.load:>6.1f}"
        )
    lines += [f"  skipped {reason}" for reason in r.skipped]
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes like 100000,1000000, got {text!r}"
        ) from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be >= 1")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument(
        "--articles", type=_sizes, default=list(TARGET_SIZES),
        help="sizes to measure at, growing one database (default 100000,1000000)",
    )  # fmt: skip
    parser.add_argument(
        "--backends", default="sqlite,postgresql",
        help="sqlite, postgresql or both (a throw-away PostgreSQL cluster is started)",
    )  # fmt: skip
    parser.add_argument(
        "--like-queries", type=int, default=60,
        help="queries the LIKE baseline runs (every n-th of the set; a scan of 1,000,000 "
        "articles takes seconds)",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> SearchBenchResult:
    args = build_parser().parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgresql"}:
        raise SystemExit("--backends takes sqlite, postgresql or both")
    if args.like_queries < 1:
        raise SystemExit("--like-queries must be >= 1")
    result = asyncio.run(run(args.articles, backends, like_queries=args.like_queries))
    print(report(result), flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
