"""A page of search results from the window of matches, for both backends.

The window is up to SEARCH_WINDOW matches, each with its score (the query's
terms in its title). A page is ranked by score, then newest (published_at),
then id, one article per story: its best-ranked one. Only the date and the
story of a match are needed to rank it, and only for the best scores: the
matches are taken a score at a time, highest first, until the page's stories
are all found, since no match of a lower score can rank above them. A common
word, in many titles, still reads most of the window; a conjunction of
several words reads the few with most of them in the title (~150 of 1,000
for "lãi suất ngân hàng" at a million articles), each a lookup in an index
(5 µs on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby

# ids → {id: (published_at, story id)}; the story of an article in none is its own id.
Lookup = Callable[[Sequence[int]], Awaitable[dict[int, tuple[int, int]]]]


async def ranked_page(
    found: Sequence[tuple[int, int]], lookup: Lookup, *, limit: int, offset: int
) -> list[int]:
    """The ids of the page (offset, limit) of the matches (id, score), in rank order."""
    wanted = offset + limit
    if limit <= 0 or not found:
        return []
    best: list[tuple[int, int, int]] = []  # (score, published_at, id), one per story
    stories: set[int] = set()
    tiers = sorted(found, key=lambda hit: -hit[1])
    for score, tier in groupby(tiers, key=lambda hit: hit[1]):
        ids = [article_id for article_id, _ in tier]
        ranks = await lookup(ids)
        # Newest first within the score, so a story's first article here is its best.
        for article_id in sorted(ranks, key=lambda i: (ranks[i][0], i), reverse=True):
            published, story = ranks[article_id]
            if story not in stories:
                stories.add(story)
                best.append((score, published, article_id))
        if len(best) >= wanted:
            break
    best.sort(reverse=True)
    return [article_id for _, _, article_id in best[offset:wanted]]
