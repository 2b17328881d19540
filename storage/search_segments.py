"""Sealed search segments: the words of stored articles as bitmaps, for both backends.

**Why.** Folding merges tones, so folded Vietnamese syllables are few (~1,200
in a million articles) and common: a narrow conjunction of common words
("lãi suất ngân hàng", four words in 20–50 % of the articles each, a thousand
articles in all) makes FTS5 or GIN walk every one of those posting lists,
positions and all: 20–25 ms (SQLite) and 50–100 ms (PostgreSQL) at a million
articles (bench/search.py). A bitmap of the articles holding a word does the
same AND in microseconds (Roaring bitmaps, `pyroaring`: 8 KB for a word in
every one of 65,536 articles, a few bytes for a rare one).

**What.** Article ids are cut into aligned segments of LEVELS[0] ids (1–256,
257–512, …). Once every id of one is taken, housekeeping seals it: for each
word in it, a row of two bitmaps of offsets in the segment, the articles
holding the word anywhere, and in their title. Sixteen sealed neighbours
that fill the segment of the next level (4,096, then 65,536 ids) are merged
into it (a union of their bitmaps, no text read again), so a million
articles are ~15 large segments and a few small ones.

**Search** reads the window of newest matches newest first: sealed segments
through their bitmaps, a few segments a query; the newest ids (fewer than
LEVELS[0]) through one full-text query per word, each bounded to those ids,
turned into bitmaps and answered the same way; a larger open range (a
segment unsealed by an edit, or a backlog not sealed yet) through the
backend's own index as before. Every way gives the same result
(tests/storage/test_search_segments.py): a bitmap says what the index says
about whole words, and the title bitmap which terms the title holds.

**What stays with the full-text index.** A phrase (a place's spelling, "ha
noi") needs positions, so a query with one reads every range through the
index, as before. A prefix ("kinh t") is every word of the segment starting
with it: a range of the words' key.

Words are the runs of letters and digits of the folded text, lower case: the
tokens FTS5's unicode61 and PostgreSQL's `index_text` make of it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from pyroaring import BitMap

from storage.rows import SearchTerm

# Segment sizes, smallest first, each a multiple of the one before. Read where used,
# so a test can make them small.
LEVELS: tuple[int, ...] = (256, 4096, 65_536)

# Open ranges up to this many ids are read word by word into bitmaps; a larger one
# (an unsealed segment, a backlog) through the full-text index as a whole.
WORD_BY_WORD = 1024

# Articles read at a time while sealing (~1 MB of text).
SEAL_BATCH = 1024

_WORDS = re.compile(r"[^\W_]+")

# A segment's word: (word, anywhere bitmap, title bitmap), serialized.
WordRow = tuple[str, bytes, bytes]


def segment_first(article_id: int, size: int) -> int:
    """The first id of the segment of this size holding this article id."""
    return (article_id - 1) // size * size + 1


def words_of(text: str) -> list[str]:
    """The index's words of folded text."""
    return _WORDS.findall(text.casefold())


@dataclass(frozen=True, slots=True)
class IdRange:
    """Article ids lo..hi (both included); sealed when its words are bitmaps."""

    lo: int
    hi: int
    sealed: bool

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1


def id_ranges(sealed: Iterable[tuple[int, int]], newest: int) -> list[IdRange]:
    """Ids 1..newest, newest first, cut into the sealed segments (first, last) and
    the open ranges between them; a sealed segment past newest is clipped to it."""
    out: list[IdRange] = []
    top = newest
    for first, last in sorted(sealed, reverse=True):
        if first > top:
            continue
        if last < top:
            out.append(IdRange(last + 1, top, sealed=False))
        out.append(IdRange(first, min(last, top), sealed=True))
        top = first - 1
    if top >= 1:
        out.append(IdRange(1, top, sealed=False))
    return out


def range_batches(ranges: Sequence[IdRange]) -> list[list[IdRange]]:
    """The ranges, newest first, as the reads that answer them: an open range alone,
    sealed segments in runs of 1, 2, 4, … (one query each), so a common query stops
    after the newest segment and a rare one reads a million articles in a few."""
    batches: list[list[IdRange]] = []
    run = 1
    for ids in ranges:
        last = batches[-1] if batches else None
        if ids.sealed and last is not None and last[0].sealed and len(last) < run:
            last.append(ids)
            continue
        if ids.sealed:
            run = run * 2 if last is not None and last[0].sealed else 1
        batches.append([ids])
    return batches


@dataclass(frozen=True, slots=True)
class WordPlan:
    """A query as bitmaps can answer it: each term its words, any one of which
    will do (a place's one-word spellings: "hanoi" or "hn"), and with a prefix,
    one more term: any word starting with it."""

    terms: tuple[tuple[str, ...], ...]
    prefix: str | None = None

    @property
    def words(self) -> list[str]:
        return sorted({w for term in self.terms for w in term})

    @property
    def prefix_bounds(self) -> tuple[str, str]:
        """The words starting with the prefix are at least the first and below the
        second (the empty range when there is no prefix)."""
        if self.prefix is None:
            return ("", "")
        return (self.prefix, self.prefix + "\U0010ffff")

    def term_words(self, words: Iterable[str]) -> list[list[str]]:
        """Each term's words among these (a segment's words of the plan)."""
        present = set(words)
        out = [[w for w in term if w in present] for term in self.terms]
        if self.prefix is not None:
            out.append(sorted(w for w in present if w.startswith(self.prefix)))
        return out


def word_plan(words: Sequence[SearchTerm], *, prefix: bool = False) -> WordPlan | None:
    """The query as whole words (with prefix, the last word, when it is a plain word,
    as the start of one), or None when it needs the full-text index: a spelling
    of several words is a phrase. Alternatives of no letters or digits are left
    out, and terms of none, as the index's query leaves them out."""
    terms: list[tuple[str, ...]] = []
    started: str | None = None
    for n, term in enumerate(words):
        kept: list[str] = []
        for alternative in term if isinstance(term, tuple) else (term,):
            parts = words_of(alternative)
            if len(parts) > 1:
                return None
            kept += parts
        if not kept:
            continue
        if prefix and n == len(words) - 1 and isinstance(term, str):
            started = kept[0]
        elif tuple(dict.fromkeys(kept)) not in terms:
            terms.append(tuple(dict.fromkeys(kept)))
    return WordPlan(tuple(terms), started) if terms or started else None


def segment_hits(
    plan: WordPlan, rows: Iterable[WordRow], first: int, hi: int, need: int
) -> list[tuple[int, int]]:
    """The newest `need` matches of the plan in the segment starting at `first`, at
    most id hi, each with its score (the terms in its title), newest first.
    rows: the segment's bitmaps of the plan's words, and of every word starting
    with its prefix."""
    anywhere: dict[str, BitMap] = {}
    titled: dict[str, BitMap] = {}
    for word, anywhere_bits, title_bits in rows:
        anywhere[word] = BitMap.deserialize(anywhere_bits)
        titled[word] = BitMap.deserialize(title_bits)
    return bitmap_hits(plan, anywhere, titled, first, hi, need)


def run_hits(
    plan: WordPlan,
    rows: Iterable[tuple[int, str, bytes, bytes]],
    sealed_ranges: Sequence[IdRange],
    need: int,
) -> list[tuple[int, int]]:
    """segment_hits over a run of sealed segments, newest first, until `need` are
    found. rows: (first id, word, anywhere, title) of every segment of the run."""
    by_segment: dict[int, list[WordRow]] = {}
    for first, word, anywhere, title in rows:
        by_segment.setdefault(first, []).append((word, anywhere, title))
    found: list[tuple[int, int]] = []
    for ids in sealed_ranges:
        if len(found) >= need:
            break
        found += segment_hits(plan, by_segment.get(ids.lo, []), ids.lo, ids.hi, need - len(found))
    return found


def bitmap_hits(
    plan: WordPlan,
    anywhere: dict[str, BitMap],
    titled: dict[str, BitMap],
    first: int,
    hi: int,
    need: int,
) -> list[tuple[int, int]]:
    """segment_hits, of bitmaps already read."""
    terms = plan.term_words(anywhere)
    sets = sorted((_union(anywhere, term) for term in terms), key=len)
    found = sets[0]
    for other in sets[1:]:
        if not found:
            break
        found = found & other
    found.remove_range(hi - first + 1, max(hi - first + 1, 1 << 32))
    if need <= 0 or not found:
        return []
    newest = found[-min(need, len(found)) :]
    titles = [_union(titled, term) for term in terms]
    return [
        (first + offset, sum(offset in title for title in titles))
        for offset in reversed(newest.to_array())
    ]


def _union(bitmaps: dict[str, BitMap], words: Sequence[str]) -> BitMap:
    present = [bitmaps[w] for w in words if w in bitmaps]
    return BitMap.union(*present) if present else BitMap()


class SegmentBuilder:
    """The bitmaps of one segment, fed its articles in any order, a batch at a time
    (a large segment's text is ~70 MB: it is never held whole)."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.articles = 0
        self._anywhere: dict[str, BitMap] = {}
        self._titled: dict[str, BitMap] = {}

    def add_texts(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Articles as (id, folded title, folded body)."""
        self.add_words((i, words_of(title), words_of(body)) for i, title, body in rows)

    def add_words(self, rows: Iterable[tuple[int, Iterable[str], Iterable[str]]]) -> None:
        """Articles as (id, title words, other words)."""
        anywhere: dict[str, list[int]] = {}
        titled: dict[str, list[int]] = {}
        for article_id, title_words, other_words in rows:
            offset = article_id - self.first
            in_title = set(title_words)
            for word in in_title:
                titled.setdefault(word, []).append(offset)
            for word in in_title.union(other_words):
                anywhere.setdefault(word, []).append(offset)
            self.articles += 1
        _add(self._anywhere, anywhere)
        _add(self._titled, titled)

    def add_segment(self, first: int, rows: Iterable[WordRow], articles: int) -> None:
        """A sealed segment inside this one, as its word rows: merged, not read again."""
        shift = first - self.first
        for word, anywhere, title in rows:
            for into, bits in ((self._anywhere, anywhere), (self._titled, title)):
                part = BitMap.deserialize(bits).shift(shift)
                if word in into:
                    into[word] |= part
                else:
                    into[word] = part
        self.articles += articles

    def rows(self) -> list[WordRow]:
        """The segment's word rows, serialized."""
        out = []
        for word, anywhere in self._anywhere.items():
            title = self._titled.get(word, BitMap())
            anywhere.run_optimize()
            title.run_optimize()
            out.append((word, anywhere.serialize(), title.serialize()))
        return out


def _add(into: dict[str, BitMap], offsets: dict[str, list[int]]) -> None:
    for word, found in offsets.items():
        if word in into:
            into[word].update(found)
        else:
            into[word] = BitMap(found)


@dataclass(frozen=True, slots=True)
class SealStep:
    """One step of sealing: build the segment first..last from its articles' words,
    or, when parts are given, merge those sealed segments (their first ids) into it."""

    first: int
    last: int
    parts: tuple[int, ...] = ()


def seal_steps(
    sealed: Iterable[tuple[int, int]], full_below: int, *, largest: int | None = None
) -> list[SealStep]:
    """What sealing has to do, given the sealed segments and the ids that are taken
    for good (below full_below): merges first, then builds, oldest first.

    A segment of a higher level is merged when it is full and every one of its
    parts (segments of the level below) is sealed. A full segment none of whose
    ids is covered is built from its articles' words, at the highest level that
    fits (a backlog or a copy builds 65,536 at once instead of 256 at a time and
    merging them), but no larger than `largest` ids.
    """
    levels = LEVELS
    segments = {first: last for first, last in sealed}
    steps: list[SealStep] = []
    for level in range(len(levels) - 1, 0, -1):
        size, part = levels[level], levels[level - 1]
        for first in range(1, full_below - size + 1, size):
            if segments.get(first) == first + size - 1:
                continue
            parts = tuple(range(first, first + size, part))
            if all(segments.get(p) == p + part - 1 for p in parts):
                steps.append(SealStep(first, first + size - 1, parts))
    smallest = levels[0]
    taken = {f for lo, hi in segments.items() for f in range(lo, hi + 1, smallest)}
    for size in reversed(levels):
        if largest is not None and size > largest and size != smallest:
            continue
        for first in range(1, full_below - size + 1, size):
            inside = range(first, first + size, smallest)
            if not any(f in taken for f in inside):
                steps.append(SealStep(first, first + size - 1))
                taken.update(inside)
    return sorted(steps, key=lambda s: (not s.parts, s.first))


def builds_within(steps: Sequence[SealStep], articles: int) -> list[SealStep]:
    """The builds, oldest first, as long as their ids add up to at most `articles`."""
    out: list[SealStep] = []
    for step in steps:
        articles -= step.last - step.first + 1
        if articles < 0:
            break
        out.append(step)
    return out


# A read of matches: (ids, how many at most) → the newest matches there, (id, score).
Hits = Callable[[IdRange, int], Awaitable[list[tuple[int, int]]]]


async def window_hits(
    ranges: Sequence[IdRange],
    window: int,
    *,
    sealed: Callable[[Sequence[IdRange], int], Awaitable[list[tuple[int, int]]]] | None,
    word_by_word: Hits | None,
    index: Hits,
) -> list[tuple[int, int]]:
    """The newest `window` matches, newest first, read range by range: sealed runs
    through `sealed` (None: the query needs the index), small open ranges through
    `word_by_word` when given, the rest through `index`."""
    found: list[tuple[int, int]] = []
    for batch in range_batches(ranges):
        need = window - len(found)
        if need <= 0:
            break
        first = batch[0]
        if sealed is not None and first.sealed:
            found += await sealed(batch, need)
        elif sealed is not None and word_by_word is not None and first.size <= WORD_BY_WORD:
            found += await word_by_word(first, need)
        else:
            found += await index(first, need)
    return found


async def seal_all(
    *,
    sealed: Callable[[], Awaitable[list[tuple[int, int]]]],
    newest: Callable[[], Awaitable[int]],
    seal: Callable[[SealStep], Awaitable[bool]],
    most_articles: int | None,
) -> int:
    """Seal the full segments not sealed yet, oldest first, reading at most
    `most_articles` articles' words to build them (None: all) and merging the
    rest; how many segments were written. `seal` writes one step, or nothing
    (False) when an edit or a late article came while it was built."""
    written = built = 0
    while True:
        left = None if most_articles is None else most_articles - built
        steps = seal_steps(await sealed(), await newest() + 1, largest=left)
        merges = [s for s in steps if s.parts]
        builds = [s for s in steps if not s.parts]
        if left is not None:
            builds = builds_within(builds, left)
        done = 0
        # Merges first: a merge can make the next level's merge possible.
        for step in merges or builds:
            done += await seal(step)
            built += 0 if step.parts else step.last - step.first + 1
        if not done:  # nothing left, or edits keep coming: the next pass will see
            return written
        written += done
