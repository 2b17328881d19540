"""Near-duplicate stories: whether two articles report the same event.

Pure and CPU-bound like parsing, so it runs in the parse workers: each entry
leaves the worker with its signature and band keys, and the bot process only
compares small sets of integers.

The text is the accent-folded title and lead (bot.text.vietnamese.fold) as
word pairs, each hashed to 32 bits. Two articles are one story when the
Jaccard similarity of those sets reaches SAME_STORY_SIMILARITY, their titles
share a word pair, and neither the dates they name ("Giá vàng hôm nay 24/9" and
"… 25/9" share nearly every word) nor the numbers in their titles contradict
each other. A title and lead hold
~50 pairs, so the set itself (~200 bytes) is stored and compared exactly; a
MinHash of it (64 universal hash functions) gives the LSH band keys (BANDS of
ROWS_PER_BAND values) that find candidates across processes and restarts.
bench/stories.py measures these choices against labelled real headline patterns.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.text.vietnamese import fold
from storage.rows import StoryRule

if TYPE_CHECKING:
    import numpy as np

NUM_PERM = 64
ROWS_PER_BAND = 2
BANDS = 32  # BANDS * ROWS_PER_BAND == NUM_PERM
# One band in common is often chance (0.4 % of unrelated pairs in bench/stories.py's
# synthetic corpus); two are rare (0.002 %), and a pair at similarity 0.4 shares two
# or more 97 % of the time.
MIN_SHARED_BANDS = 2
SAME_STORY_SIMILARITY = 0.4
# A title and a lead cut at a sentence hold far fewer; a bound keeps a signature small.
MAX_SHINGLES = 256
# Outlets cover an event within minutes to hours; a lookalike a day later is
# tomorrow's gold price, not the same story.
STORY_WINDOW = timedelta(hours=6)
# h(x) = (a·x + b) mod P over 32-bit shingle hashes, P the first prime above 2**32,
# so a·x + b never overflows 64 bits. The seed is fixed: stored signatures are
# compared with new ones, in every process.
_PRIME = 4_294_967_311
_MIX = 0x9E3779B97F4A7C15  # an odd 64-bit constant (the golden ratio's bits)
_SEED = 1

_WORD = re.compile(r"\w+")
# 24/9, 24-9, 24/9/2026: a day and a month, checked for range below.
_DATE = re.compile(r"(?<![\d/-])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?(?![\d/-])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKS_SEPARATOR = b"|"


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What an article's story is recognised by: the hashed word pairs of its title and
    lead, those of its title alone, the dates it names and the numbers in its title."""

    shingles: frozenset[int]
    dates: frozenset[str]
    title_numbers: frozenset[str] = frozenset()
    title_shingles: frozenset[int] = frozenset()

    def to_bytes(self) -> bytes:
        values = b"".join(
            struct.pack(f"<H{len(group)}I", len(group), *sorted(group))
            for group in (self.shingles, self.title_shingles)
        )
        marks = [",".join(sorted(self.dates)), ",".join(sorted(self.title_numbers))]
        return values + _MARKS_SEPARATOR.join(m.encode() for m in marks)

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        groups, offset = [], 0
        for _ in range(2):
            (count,) = struct.unpack_from("<H", data, offset)
            groups.append(frozenset(struct.unpack_from(f"<{count}I", data, offset + 2)))
            offset += 2 + 4 * count
        dates, _, numbers = data[offset:].decode().partition(_MARKS_SEPARATOR.decode())
        return cls(
            groups[0],
            frozenset(d for d in dates.split(",") if d),
            frozenset(n for n in numbers.split(",") if n),
            groups[1],
        )


def story_signature(title: str, lead: str) -> StorySignature | None:
    """The signature of an article's title and lead; None when there are no words to go by."""
    folded_title = fold(title)
    folded = f"{folded_title} {fold(lead)}"
    shingles = word_shingles(folded)
    if not shingles:
        return None
    hashed = sorted({_hash32(s) for s in shingles})[:MAX_SHINGLES]
    in_title = sorted({_hash32(s) for s in word_shingles(folded_title)})[:MAX_SHINGLES]
    return StorySignature(
        frozenset(hashed),
        named_dates(folded),
        frozenset(_NUMBER.findall(folded_title)),
        frozenset(in_title),
    )


def story_fields(title: str, lead: str) -> tuple[bytes | None, tuple[int, ...]]:
    """An entry's story_signature and story_bands (storage.rows.ArticleInput)."""
    signature = story_signature(title, lead)
    if signature is None:
        return None, ()
    return signature.to_bytes(), story_bands(signature)


def story_rule(*, keep: timedelta = timedelta(days=2)) -> StoryRule:
    """The grouping rule the store applies (storage.rows.StoryRule)."""
    return StoryRule(
        match=best_match,
        window=int(STORY_WINDOW.total_seconds()),
        keep=int(keep.total_seconds()),
        min_shared_bands=MIN_SHARED_BANDS,
    )


def word_shingles(folded: str) -> set[str]:
    """Word pairs: Vietnamese words are syllables, so a pair is about one word of
    meaning ("gia vang", "ha noi"); single syllables are shared by any two texts."""
    words = _WORD.findall(folded)
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


def named_dates(folded: str) -> frozenset[str]:
    """The day/month dates a text names ("24/9", "23-9", "1/12/2026" → "24/9", "23/9", "1/12")."""
    found = set()
    for match in _DATE.finditer(folded):
        day, month = int(match.group(1)), int(match.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.add(f"{day}/{month}")
    return frozenset(found)


def similarity(a: StorySignature, b: StorySignature) -> float:
    """Jaccard similarity of the two articles' (hashed) word pairs."""
    return len(a.shingles & b.shingles) / len(a.shingles | b.shingles)


def same_story(a: StorySignature, b: StorySignature) -> bool:
    if a.dates and b.dates and not a.dates & b.dates:
        return False  # the same template about another day
    if not (a.title_numbers <= b.title_numbers or b.title_numbers <= a.title_numbers):
        # "kỳ hạn 6 tháng" and "kỳ hạn 12 tháng" are two articles; an update adding
        # a figure ("…, đã cứu 54 người") keeps the first one's numbers.
        return False
    if a.title_shingles and b.title_shingles and not a.title_shingles & b.title_shingles:
        # Two headlines without a word pair in common are two articles, however alike
        # their leads (a boilerplate lead, a market report's stock sentence).
        return False
    return similarity(a, b) >= SAME_STORY_SIMILARITY


def story_bands(signature: StorySignature) -> tuple[int, ...]:
    """LSH band keys: articles sharing some are candidates to compare. Each is the band's
    number in the top bits over a mix of its MinHash values: a non-negative signed 64-bit
    integer, so both backends store it in a plain BIGINT column."""
    import numpy as np  # see minhash

    values = np.array(minhash(signature.shingles), dtype=np.uint64).reshape(BANDS, ROWS_PER_BAND)
    mixed = np.zeros(BANDS, dtype=np.uint64)
    for column in range(ROWS_PER_BAND):
        mixed = mixed * np.uint64(_MIX) + values[:, column]  # wraps mod 2**64, as meant
    keys = (mixed & np.uint64(2**58 - 1)) | (np.arange(BANDS, dtype=np.uint64) << np.uint64(58))
    return tuple(int(k) for k in keys)


def best_match(signature: bytes, candidates: Sequence[tuple[int, bytes]]) -> int | None:
    """Of (story id, signature bytes) candidates, the story this signature belongs to:
    the most similar one that is the same story, or None."""
    mine = _parsed(signature)
    best: tuple[float, int] | None = None
    for story_id, theirs_bytes in candidates:
        theirs = _parsed(theirs_bytes)
        if same_story(mine, theirs):
            score = (similarity(mine, theirs), -story_id)
            if best is None or score > (best[0], -best[1]):
                best = (score[0], story_id)
    return best[1] if best else None


def minhash(shingles: frozenset[int]) -> tuple[int, ...]:
    """The NUM_PERM minimum hash values of the hashed shingles (32-bit each)."""
    # Imported here: only the parse workers hash; the bot process, which only compares
    # signatures, never loads numpy.
    import numpy as np

    a, b = _permutations()
    hashes = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    values = ((hashes[:, None] * a[None, :] + b[None, :]) % np.uint64(_PRIME)).min(axis=0)
    return tuple(int(v) & 0xFFFFFFFF for v in values)


# The same recent articles are candidates for many new ones: parse each once.
_parsed = lru_cache(maxsize=1024)(StorySignature.from_bytes)


def _hash32(shingle: str) -> int:
    # CRC-32 spreads short distinct strings well enough for the universal hashing
    # above it, at a tenth of a cryptographic hash's cost.
    return zlib.crc32(shingle.encode())


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    generator = np.random.default_rng(_SEED)
    a = generator.integers(1, 2**32, size=NUM_PERM, dtype=np.uint64)
    b = generator.integers(0, 2**32, size=NUM_PERM, dtype=np.uint64)
    return a, b
