"""Accent-insensitive search: user text → a safe FTS5 expression → ranked articles."""

from __future__ import annotations

from bot.text.vietnamese import fold_words
from storage.articles import ArticleRow, search_articles
from storage.db import Database

MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 48


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression for what the user typed, or None when nothing is searchable.

    Every word is folded (no marks, đ → d, lower case) like the index, then
    quoted, so FTS5 operators and syntax the user typed (AND, NOT, *, -, ", :,
    parentheses) are only ever words. All words must occur (implicit AND).
    """
    words = [w[:MAX_WORD_CHARS] for w in fold_words(query[:2000]) if w.strip("_")]
    if not words:
        return None
    unique = list(dict.fromkeys(words))[:MAX_QUERY_WORDS]
    return " ".join(f'"{w}"' for w in unique)


def phrase_expression(phrase: str) -> str | None:
    """An FTS5 expression for the words of phrase, consecutive and in order."""
    words = [w[:MAX_WORD_CHARS] for w in fold_words(phrase[:2000]) if w.strip("_")]
    if not words:
        return None
    return '"' + " ".join(words[:MAX_QUERY_WORDS]) + '"'


async def search(db: Database, query: str, *, limit: int = 10, offset: int = 0) -> list[ArticleRow]:
    """The best matches for a reader's query; an empty list when nothing matches."""
    expression = match_expression(query)
    if expression is None:
        return []
    return await search_articles(db, expression, limit=limit, offset=offset)
