"""Near-duplicate stories: whether two articles report the same event.

Pure and CPU-bound like parsing, so it runs in the parse workers: each entry
leaves the worker with its signature, and the event loop only compares bytes.

The text is the accent-folded title and lead (bot.text.vietnamese.fold), as
word pairs; their MinHash (datasketch, 64 permutations) estimates
the Jaccard similarity of two articles' shingle sets. Two articles are one
story when the estimate reaches SAME_STORY_SIMILARITY and neither the dates
they name ("Giá vàng hôm nay 24/9" and "… 25/9" share nearly every word) nor
the numbers in their titles contradict each other. Stored LSH bands (BANDS of
ROWS_PER_BAND values) find the candidates to compare across processes and restarts. bench/stories.py
measures these choices against a labelled set of real headline patterns.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from hashlib import blake2b
from typing import Final

import numpy as np
from datasketch import MinHash

from bot.text.vietnamese import fold
from storage.rows import StoryRule

NUM_PERM = 64
ROWS_PER_BAND = 2
BANDS = 32  # BANDS * ROWS_PER_BAND == NUM_PERM
SAME_STORY_SIMILARITY = 0.35
# Outlets cover an event within minutes to hours; a lookalike a day later is
# tomorrow's gold price, not the same story.
STORY_WINDOW = timedelta(hours=6)
_SEED = 1
# Stored signatures are compared with new ones: the permutation scheme is pinned, not
# left to the library's default, which changed in datasketch 2.0.
SCHEME: Final = "affine32"

_WORD = re.compile(r"\w+")
# 24/9, 24-9, 24/9/2026: a day and a month, checked for range below.
_DATE = re.compile(r"(?<![\d/-])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?(?![\d/-])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKS_SEPARATOR = b"|"


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What an article's story is recognised by: MinHash values and the dates it names."""

    minhash: tuple[int, ...]
    dates: frozenset[str]
    title_numbers: frozenset[str] = frozenset()

    def to_bytes(self) -> bytes:
        values = struct.pack(f"<{len(self.minhash)}I", *self.minhash)
        marks = [",".join(sorted(self.dates)), ",".join(sorted(self.title_numbers))]
        return values + _MARKS_SEPARATOR.join(m.encode() for m in marks)

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        values, marks = data[: NUM_PERM * 4], data[NUM_PERM * 4 :].decode()
        dates, _, numbers = marks.partition(_MARKS_SEPARATOR.decode())
        return cls(
            tuple(struct.unpack(f"<{NUM_PERM}I", values)),
            frozenset(d for d in dates.split(",") if d),
            frozenset(n for n in numbers.split(",") if n),
        )


def story_signature(title: str, lead: str) -> StorySignature | None:
    """The signature of an article's title and lead; None when there are no words to go by."""
    folded = fold(f"{title} {lead}")
    shingles = word_shingles(folded)
    if not shingles:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, permutations=_permutations(), scheme=SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return StorySignature(
        tuple(int(v) for v in minhash.hashvalues),
        named_dates(folded),
        frozenset(_NUMBER.findall(fold(title))),
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
    """Estimated Jaccard similarity of the two articles' shingle sets."""
    same = sum(1 for x, y in zip(a.minhash, b.minhash, strict=True) if x == y)
    return same / len(a.minhash)


def same_story(a: StorySignature, b: StorySignature) -> bool:
    if a.dates and b.dates and not a.dates & b.dates:
        return False  # the same template about another day
    if not (a.title_numbers <= b.title_numbers or b.title_numbers <= a.title_numbers):
        # "kỳ hạn 6 tháng" and "kỳ hạn 12 tháng" are two articles; an update adding
        # a figure ("…, đã cứu 54 người") keeps the first one's numbers.
        return False
    return similarity(a, b) >= SAME_STORY_SIMILARITY


def story_bands(signature: StorySignature) -> tuple[int, ...]:
    """LSH band keys: articles sharing one are candidates to compare. Signed 64-bit
    integers, so both backends store them in a plain BIGINT column."""
    keys = []
    for band in range(BANDS):
        values = signature.minhash[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        data = struct.pack(f"<I{ROWS_PER_BAND}I", band, *values)
        keys.append(int.from_bytes(blake2b(data, digest_size=8).digest(), "little", signed=True))
    return tuple(keys)


def best_match(signature: bytes, candidates: Sequence[tuple[int, bytes]]) -> int | None:
    """Of (story id, signature bytes) candidates, the story this signature belongs to:
    the most similar one that is the same story, or None."""
    mine = StorySignature.from_bytes(signature)
    best: tuple[float, int] | None = None
    for story_id, theirs_bytes in candidates:
        theirs = StorySignature.from_bytes(theirs_bytes)
        if same_story(mine, theirs):
            score = (similarity(mine, theirs), -story_id)
            if best is None or score > (best[0], -best[1]):
                best = (score[0], story_id)
    return best[1] if best else None


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # Generating the permutations is most of a MinHash's cost; every signature shares them.
    perms: tuple[np.ndarray, np.ndarray] = MinHash(
        num_perm=NUM_PERM, seed=_SEED, scheme=SCHEME
    ).permutations
    return perms
