"""Accent-insensitive search: what a reader typed → folded words → ranked articles."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bot.readers.places import place_spellings, spelled_out
from bot.readers.service import find_topic
from bot.text.vietnamese import fold_words
from storage import Database
from storage.rows import ArticleRow, SearchTerm, TopicRow

MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 48
# A lone word this short is never widened to a prefix: FTS5 would merge the doclist
# of every word starting with it ("C++" → c*: seconds at 1,000,000 articles, the
# reader connection held all along), and "c" would not say what the reader wants.
MIN_LONE_PREFIX = 2


def query_words(query: str) -> list[str]:
    """The words to look for, folded like the index (no marks, đ → d, lower case).

    Only word characters survive, so search syntax a reader typed (AND, NOT,
    *, -, ", :, parentheses) is never more than a word; repeats are dropped
    and long input is bounded. An empty list: nothing is searchable.
    """
    words = _words(query)
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def query_terms(query: str) -> list[SearchTerm]:
    """The query's words, each place name a reader runs together or abbreviates
    ("hanoi", "tphcm") standing for every spelling of that place."""
    return [place_spellings(word) or word for word in query_words(query)]


def is_short_query(query: str) -> bool:
    """Only words of one or two letters: finding nothing, a reader should add words."""
    words = query_words(query)
    return bool(words) and max(len(w) for w in words) <= 2


def phrase_words(phrase: str) -> list[str]:
    """The folded words of a keyword alert's phrase, in order (repeats kept), a place
    name typed run together spelled out as articles write it ("hanoi" → "ha noi")."""
    return spelled_out(_words(phrase))[:MAX_QUERY_WORDS]


def _words(text: str) -> list[str]:
    return [w[:MAX_WORD_CHARS] for w in fold_words(text[:2000]) if w.strip("_")]


async def search(
    db: Database, query: str, *, limit: int = 10, offset: int = 0, as_of: int | None = None
) -> list[ArticleRow]:
    """The best matches for a reader's query; an empty list when nothing matches.

    Whole words first; only when they find nothing is the last word taken as the
    start of a word ("kinh t" finds "kinh tế"), so "ha" never widens to "hanh"; a
    lone one-letter word ("C++" is "c") is never widened.
    as_of (search_start() when the first page was shown) keeps later pages to the
    articles stored by then.
    """
    words = query_terms(query)
    found = functools.partial(db.articles.search_articles, words, as_of=as_of)
    whole = await found(limit=limit, offset=offset)
    if whole or not _may_widen(words):
        return whole
    if offset > 0 and await found(limit=1):
        return []  # past the end of a whole-word result
    if len(words) > 1 and not await db.articles.search_articles(words[:-1], limit=1, as_of=as_of):
        # No start of a last word can add a match to words that have none together,
        # and widening it is the expensive part ("NEAR(a b)" would widen "b").
        return []
    return await found(limit=limit, offset=offset, prefix=True)


def _may_widen(words: list[SearchTerm]) -> bool:
    """Whether the last word may be taken as a prefix: a plain word (not a place's
    spellings) of at least MIN_LONE_PREFIX letters, or any word after other words."""
    if not words or not isinstance(words[-1], str):
        return False
    return len(words) > 1 or len(words[-1]) >= MIN_LONE_PREFIX


async def search_start(db: Database) -> int:
    """What a search's pages are fixed to: the newest article when it began."""
    return await db.articles.newest_article_id()


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest articles, of one topic when one was named.

    unknown_topic is True when the words named no topic; topics then lists
    them all, so the reader can pick one.
    """

    articles: list[ArticleRow]
    topic: TopicRow | None = None
    unknown_topic: bool = False
    topics: tuple[TopicRow, ...] = ()


async def latest(db: Database, topic_words: str, *, limit: int) -> Latest:
    """The newest articles; topic_words ("" for all) name a topic, accents optional."""
    if not topic_words:
        return Latest(await db.articles.latest_articles(limit=limit))
    topics = await db.feeds.list_topics()
    topic = find_topic(topics, topic_words)
    if topic is None:
        return Latest([], unknown_topic=True, topics=tuple(topics))
    return Latest(await db.articles.latest_articles(topic=topic.slug, limit=limit), topic)


@dataclass(frozen=True, slots=True)
class InlineResults:
    articles: list[ArticleRow]
    has_more: bool


async def inline_results(db: Database, query: str, *, limit: int, offset: int) -> InlineResults:
    """What "@bot <query>" offers: the search's matches, or the latest news for no words."""
    if query_words(query):
        rows = await search(db, query, limit=limit + 1, offset=offset)
    else:
        rows = await db.articles.latest_articles(limit=limit + 1, offset=offset)
    return InlineResults(rows[:limit], len(rows) > limit)
