"""Precision and recall of the near-duplicate story detector (bot.ingest.stories).

    .venv/bin/python -m bench.stories

The labelled set: the pairs of bench/data/story_pairs.toml (the same event by
two outlets, an outlet's update, different events sharing a place, a template
or a number), some of them built on real items of ../shared/samples/feeds/,
plus every pair of two different items of those snapshots (different stories,
except the ones the file labels). Printed: precision and recall of the chosen
detector, per kind of pair, the alternatives measured (MinHash thresholds,
shingles, no date rule; SimHash), and the cost of one signature.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.ingest import stories
from bot.ingest.parse import parse_feed
from bot.text.vietnamese import fold

PAIRS = Path(__file__).parent / "data" / "story_pairs.toml"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "feeds"
TARGET_PRECISION = 0.98
TARGET_RECALL = 0.8


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    lead: str


@dataclass(frozen=True, slots=True)
class Pair:
    pattern: str
    same: bool
    a: Text
    b: Text


def sample_items(folder: Path = SAMPLES) -> dict[tuple[str, str], Text]:
    """(file name, title) → the item's title and lead, from the real snapshots."""
    items: dict[tuple[str, str], Text] = {}
    if not folder.is_dir():
        return items
    for path in sorted(folder.glob("*.xml")):
        for entry in parse_feed(path.read_bytes()).entries:
            items[(path.name, entry.title)] = Text(entry.title, entry.summary)
    return items


def labelled_pairs(samples: dict[tuple[str, str], Text]) -> tuple[list[Pair], int]:
    """The written pairs (those needing an absent snapshot left out), and how many were left out."""
    data = tomllib.loads(PAIRS.read_text(encoding="utf-8"))
    pairs, skipped = [], 0
    for raw in data["pair"]:
        a, b = _side(raw, "a", samples), _side(raw, "b", samples)
        if a is None or b is None:
            skipped += 1
            continue
        pairs.append(Pair(raw["pattern"], raw["same"], a, b))
    return pairs, skipped


def _side(raw: dict[str, object], side: str, samples: dict[tuple[str, str], Text]) -> Text | None:
    sample = raw.get(f"{side}_sample")
    if isinstance(sample, list):
        return samples.get((str(sample[0]), str(sample[1])))
    return Text(str(raw[f"{side}_title"]), str(raw.get(f"{side}_lead", "")))


def snapshot_pairs(samples: dict[tuple[str, str], Text], labelled: Iterable[Pair]) -> list[Pair]:
    """Every two different snapshot items are different stories, unless labelled otherwise."""
    known = {frozenset((p.a, p.b)) for p in labelled}
    return [
        Pair("snapshot", False, a, b)
        for a, b in itertools.combinations(list(samples.values()), 2)
        if frozenset((a, b)) not in known
    ]


Detector = Callable[[Text, Text], bool]


def set_detector(
    threshold: float,
    *,
    shingles: str = "words 2",
    dates: bool = True,
    numbers: bool = True,
    titles: bool = True,
    estimate: bool = False,
) -> Detector:
    """Jaccard similarity of the shingle sets (with estimate: its 64-value MinHash
    estimate) at least threshold, and the date and title-number rules when asked."""

    def signature(t: Text) -> stories.StorySignature:
        folded = fold(f"{t.title} {t.lead}")
        words = re.findall(r"\w+", folded)
        if shingles == "words 2":
            grams = stories.word_shingles(folded)
        elif shingles == "words 1+2":
            grams = set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}
        else:  # characters 5
            text = " ".join(words)
            grams = {text[i : i + 5] for i in range(max(1, len(text) - 4))}
        return stories.StorySignature(
            frozenset(stories._hash32(g) for g in grams),
            stories.named_dates(folded) if dates else frozenset(),
            frozenset(re.findall(r"\d+(?:[.,]\d+)*", fold(t.title))) if numbers else frozenset(),
            frozenset(stories._hash32(g) for g in stories.word_shingles(fold(t.title)))
            if titles
            else frozenset(),
        )

    def detect(a: Text, b: Text) -> bool:
        sa, sb = signature(a), signature(b)
        if sa.dates and sb.dates and not sa.dates & sb.dates:
            return False
        if not (sa.title_numbers <= sb.title_numbers or sb.title_numbers <= sa.title_numbers):
            return False
        if sa.title_shingles and sb.title_shingles and not sa.title_shingles & sb.title_shingles:
            return False
        if estimate:
            ma, mb = stories.minhash(sa.shingles), stories.minhash(sb.shingles)
            return sum(x == y for x, y in zip(ma, mb, strict=True)) / len(ma) >= threshold
        return stories.similarity(sa, sb) >= threshold

    return detect


def simhash_detector(max_distance: int) -> Detector:
    """64-bit SimHash of the same shingles; same story within max_distance differing bits."""

    def simhash(t: Text) -> int:
        weights = [0] * 64
        for gram in stories.word_shingles(fold(f"{t.title} {t.lead}")):
            h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
            for bit in range(64):
                weights[bit] += 1 if h >> bit & 1 else -1
        return sum(1 << bit for bit in range(64) if weights[bit] > 0)

    def detect(a: Text, b: Text) -> bool:
        return bin(simhash(a) ^ simhash(b)).count("1") <= max_distance

    return detect


def chosen(a: Text, b: Text) -> bool:
    """What the store does: candidates by shared band keys, then the rule."""
    sa = stories.story_signature(a.title, a.lead)
    sb = stories.story_signature(b.title, b.lead)
    if sa is None or sb is None:
        return False
    shared = set(stories.story_bands(sa)) & set(stories.story_bands(sb))
    return len(shared) >= stories.MIN_SHARED_BANDS and stories.same_story(sa, sb)


def score(detector: Detector, pairs: list[Pair]) -> tuple[float, float, int, int]:
    """(precision, recall, false positives, false negatives)."""
    tp = fp = fn = 0
    for pair in pairs:
        said = detector(pair.a, pair.b)
        tp += said and pair.same
        fp += said and not pair.same
        fn += pair.same and not said
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp, fn


@dataclass(slots=True)
class StoriesResult:
    precision: float
    recall: float
    targets: list[tuple[str, bool]]


def main() -> StoriesResult:
    samples = sample_items()
    written, skipped = labelled_pairs(samples)
    pairs = written + snapshot_pairs(samples, written)
    positives = sum(p.same for p in pairs)
    print(f"snapshot items: {len(samples)} (from {SAMPLES})")
    print(
        f"pairs: {len(pairs)} ({positives} same story, {len(pairs) - positives} different); "
        f"{len(written)} written, {skipped} left out (snapshot absent)"
    )
    precision, recall, fp, fn = score(chosen, pairs)
    verdict = "PASS" if precision >= TARGET_PRECISION and recall >= TARGET_RECALL else "FAIL"
    result = StoriesResult(
        precision,
        recall,
        [
            (
                f"story precision >= {TARGET_PRECISION}: {precision:.3f}",
                precision >= TARGET_PRECISION,
            ),
            (f"story recall >= {TARGET_RECALL}: {recall:.3f}", recall >= TARGET_RECALL),
        ],
    )
    print(
        "\nchosen: word pairs, Jaccard >= "
        f"{stories.SAME_STORY_SIMILARITY}, titles share a pair, dates and title numbers agree, "
        f">= {stories.MIN_SHARED_BANDS} of {stories.BANDS} band keys shared"
    )
    print(
        f"  precision {precision:.3f} (target {TARGET_PRECISION}), recall {recall:.3f} "
        f"(target {TARGET_RECALL}): {fp} false positives, {fn} missed  {verdict}"
    )
    print("  by kind of pair:")
    for pattern in sorted({p.pattern for p in pairs}):
        subset = [p for p in pairs if p.pattern == pattern]
        said = [chosen(p.a, p.b) for p in subset]
        right = sum(s == p.same for s, p in zip(said, subset, strict=True))
        print(f"    {pattern:9} {right}/{len(subset)} right")
    for p in pairs:
        if chosen(p.a, p.b) != p.same:
            print(f"    wrong ({p.pattern}, same={p.same}): {p.a.title!r} / {p.b.title!r}")

    print("\nalternatives (precision / recall / false positives / missed):")
    variants: list[tuple[str, Detector]] = [
        (f"word pairs, Jaccard >= {t}", set_detector(t)) for t in (0.3, 0.35, 0.45, 0.5)
    ]
    variants += [
        (f"word pairs, MinHash-64 estimate >= {t}", set_detector(t, estimate=True))
        for t in (0.35, 0.4, 0.45)
    ]
    variants += [
        ("word pairs, >= 0.4, no date rule", set_detector(0.4, dates=False)),
        ("word pairs, >= 0.4, no title-number rule", set_detector(0.4, numbers=False)),
        ("word pairs, >= 0.4, no title-pair rule", set_detector(0.4, titles=False)),
        (
            "word pairs, >= 0.4, none of the three rules",
            set_detector(0.4, dates=False, numbers=False, titles=False),
        ),
    ]
    variants += [
        (f"words + pairs, Jaccard >= {t}", set_detector(t, shingles="words 1+2"))
        for t in (0.4, 0.5)
    ]
    variants += [("characters 5, Jaccard >= 0.4", set_detector(0.4, shingles="chars 5"))]
    variants += [(f"SimHash 64 bits, distance <= {d}", simhash_detector(d)) for d in (3, 8, 12, 16)]
    for name, detector in variants:
        v_precision, v_recall, f_pos, f_neg = score(detector, pairs)
        print(f"  {name:44} {v_precision:.3f} / {v_recall:.3f} / {f_pos} / {f_neg}")

    texts = [(p.a.title, p.a.lead) for p in pairs[:500]]
    started = time.perf_counter()
    for title, lead in texts:
        stories.story_fields(title, lead)
    per = (time.perf_counter() - started) / len(texts) * 1e6
    sig = stories.story_signature(*texts[0])
    assert sig is not None
    size = len(sig.to_bytes())
    print(f"\none signature and its bands: {per:.0f} µs (in the parse worker), {size} bytes stored")
    bands, rows, least = stories.BANDS, stories.ROWS_PER_BAND, stories.MIN_SHARED_BANDS
    print(f"LSH: {bands} bands of {rows}, >= {least} shared; chance two articles are compared:")
    for jaccard in (0.05, 0.2, 0.3, 0.4, 0.5, 0.7):
        band = jaccard**rows
        below = sum(math.comb(bands, k) * band**k * (1 - band) ** (bands - k) for k in range(least))
        print(f"  similarity {jaccard}: {1 - below:.4f}")
    return result


if __name__ == "__main__":
    main()
