"""Grouping one poll's new articles into stories, for every backend.

The backend reads the stored candidates (articles sharing enough band keys with
a new one, published within the window) in one query; matching them, and each
new article against those before it in the same batch, is the same on every
backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.rows import ArticleInput, ArticleRow, StoryRule


@dataclass(frozen=True, slots=True)
class Signed:
    """A new article with a signature, as grouping sees it."""

    article_id: int
    published: int
    signature: bytes
    bands: frozenset[int]


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


def band_queries(batch: Sequence[Signed]) -> list[tuple[int, int, int]]:
    """(position in the batch, band key, published) for every band of every article:
    the backend's one query finds the stored articles sharing rule.min_shared_bands
    of them with an article, published within rule.window of it."""
    return [(n, band, item.published) for n, item in enumerate(batch) for band in item.bands]


def stored_candidates(rows: Iterable[Any]) -> dict[int, list[tuple[int, bytes]]]:
    """Rows of (item, story, signature) → each batch position's stored candidates."""
    found: dict[int, list[tuple[int, bytes]]] = {}
    for r in rows:
        found.setdefault(int(r["item"]), []).append((int(r["story"]), bytes(r["signature"])))
    return found


def match_batch(
    batch: Sequence[Signed], stored: Mapping[int, list[tuple[int, bytes]]], rule: StoryRule
) -> dict[int, int]:
    """article id → the story it joins, for the new articles that join one. In order, so
    an article can join one earlier in the same batch."""
    joined: dict[int, int] = {}
    for n, item in enumerate(batch):
        earlier = [
            (joined.get(other.article_id, other.article_id), other.signature)
            for other in batch[:n]
            if len(other.bands & item.bands) >= rule.min_shared_bands
            and abs(other.published - item.published) <= rule.window
        ]
        story = rule.match(item.signature, [*stored.get(n, ()), *earlier])
        if story is not None:
            joined[item.article_id] = story
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
