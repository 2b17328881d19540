"""Accent-insensitive search: what a reader typed → folded words → ranked articles."""

from __future__ import annotations

from bot.text.vietnamese import fold_words
from storage import Database
from storage.rows import ArticleRow

MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 48


def query_words(query: str) -> list[str]:
    """The words to look for, folded like the index (no marks, đ → d, lower case).

    Only word characters survive, so search syntax a reader typed (AND, NOT,
    *, -, ", :, parentheses) is never more than a word; repeats are dropped
    and long input is bounded. An empty list: nothing is searchable.
    """
    words = _words(query)
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def phrase_words(phrase: str) -> list[str]:
    """The folded words of a keyword alert's phrase, in order (repeats kept)."""
    return _words(phrase)[:MAX_QUERY_WORDS]


def _words(text: str) -> list[str]:
    return [w[:MAX_WORD_CHARS] for w in fold_words(text[:2000]) if w.strip("_")]


async def search(db: Database, query: str, *, limit: int = 10, offset: int = 0) -> list[ArticleRow]:
    """The best matches for a reader's query; an empty list when nothing matches."""
    return await db.articles.search_articles(query_words(query), limit=limit, offset=offset)
