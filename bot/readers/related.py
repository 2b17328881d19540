"""Related articles ("Tin tương tự"): what else was written about an article's subject,
found by searching its title."""

from __future__ import annotations

import itertools

from bot.readers.search import query_words
from storage import Database
from storage.rows import ArticleRow, SearchTerm

# Syllables too common to say what an article is about; a pair of two of them ("hom
# nay", "cho biet") is left out of a related search.
_COMMON = frozenset(
    """va cua la co cho voi trong tai tu den nhung cac mot nay do khi se da dang bi duoc ve
    theo sau truoc hom ngay nam thang moi nhieu them rat hon nguoi viec biet sang toi
    khong nhu thi ma ra vao len xuong lai con""".split()  # noqa: SIM905 - a word list
)
RELATED_SEARCHES = 12


async def related(db: Database, article_id: int, *, limit: int = 5) -> list[ArticleRow] | None:
    """Articles about what this one is about ("Tin tương tự"), best first; None when the
    article is no longer stored.

    Vietnamese words are mostly two syllables, so the title's consecutive pairs are
    the search phrases; runs of three pairs are tried first, then two, then one, until
    enough other articles are found.
    """
    article = await db.articles.get_article(article_id)
    if article is None:
        return None
    words = query_words(article.title)
    pairs = [
        f"{a} {b}"
        for a, b in itertools.pairwise(words)
        if not ({a, b} <= _COMMON or (a + b).isdigit())
    ]
    found: dict[int, ArticleRow] = {}
    searches = 0
    for size in (3, 2, 1):
        for start in range(max(len(pairs) - size + 1, 0)):
            if len(found) >= limit or searches >= RELATED_SEARCHES:
                return list(found.values())[:limit]
            searches += 1
            terms: list[SearchTerm] = list(pairs[start : start + size])
            for row in await db.articles.search_articles(terms, limit=limit + 1):
                if row.id != article_id:
                    found.setdefault(row.id, row)
    return list(found.values())[:limit]
