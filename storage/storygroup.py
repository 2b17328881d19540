"""Grouping one poll's new articles into stories, for every backend.

The backend reads the stored candidates (articles sharing a band key, published
within the window) in one query; matching them, and each new article against
those before it in the same batch, is the same on every backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.rows import ArticleInput, ArticleRow, StoryRule


@dataclass(frozen=True, slots=True)
class Signed:
    """A new article with a signature, as grouping sees it."""

    article_id: int
    published: int
    signature: bytes
    bands: frozenset[int]


@dataclass(slots=True)
class Candidate:
    story: int
    published: int
    signature: bytes
    bands: set[int] = field(default_factory=set)


def signed_batch(articles: Sequence[ArticleInput], ids: Mapping[str, int]) -> list[Signed]:
    return [
        Signed(
            ids[a.item_key],
            int(a.published_at.timestamp()),
            a.story_signature,
            frozenset(a.story_bands),
        )
        for a in articles
        if a.story_signature is not None
    ]


def stored_candidates(rows: Iterable[Any]) -> dict[int, Candidate]:
    """Rows of (article_id, story, published_at, signature, band) → one candidate per article."""
    found: dict[int, Candidate] = {}
    for r in rows:
        candidate = found.get(r["article_id"])
        if candidate is None:
            candidate = Candidate(int(r["story"]), int(r["published_at"]), bytes(r["signature"]))
            found[r["article_id"]] = candidate
        candidate.bands.add(int(r["band"]))
    return found


def match_batch(
    batch: Sequence[Signed], stored: Mapping[int, Candidate], rule: StoryRule
) -> dict[int, int]:
    """article id → the story it joins, for the new articles that join one. In order, so
    an article can join one earlier in the same batch."""
    pool = [c for _, c in sorted(stored.items())]
    joined: dict[int, int] = {}
    for item in batch:
        candidates = [
            (c.story, c.signature)
            for c in pool
            if c.bands & item.bands and abs(c.published - item.published) <= rule.window
        ]
        story = rule.match(item.signature, candidates)
        if story is not None:
            joined[item.article_id] = story
        pool.append(
            Candidate(
                story if story is not None else item.article_id,
                item.published,
                item.signature,
                set(item.bands),
            )
        )
    return joined


def with_sources(rows: Sequence[ArticleRow], members: Iterable[Any]) -> list[ArticleRow]:
    """Each row with also_in: the other outlets' names for its story, in the order they
    published it. members are rows of (story, name) for every article of those stories."""
    names: dict[int, list[str]] = {}
    for r in members:
        found = names.setdefault(int(r["story"]), [])
        if r["name"] not in found:
            found.append(r["name"])
    result = []
    for row in rows:
        others = [n for n in names.get(row.story_id or row.id, []) if n != row.feed_name]
        result.append(dataclasses.replace(row, also_in=tuple(others)) if others else row)
    return result
