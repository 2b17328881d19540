"""How search ranks on SQLite: the query's words counted in each match's folded title.

`titled_words` is registered as an SQL function on the reader connection
(storage.sqlite.connection); `title_terms` gives it the query's words. It is the
title-by-title path of `SqliteArticles.search_articles`, for matches too sparse
to count their title words through the index.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage.rows import SearchTerm

# unicode61's tokens in folded text (marks already removed): runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+")


def title_terms(words: Sequence[SearchTerm], *, prefix: bool = False) -> str:
    """The terms as `titled_words` takes them: JSON, each term its alternatives, each
    alternative its tokens. Terms of no letters or digits are left out, as the FTS5
    expression leaves them out; with prefix, a last plain word may start a title's word."""
    terms: list[list[list[str]]] = []
    for term in words:
        alternatives = [_TOKEN.findall(w) for w in (term if isinstance(term, tuple) else (term,))]
        kept = [tokens for tokens in alternatives if tokens]
        if kept:
            terms.append(kept)
    last_plain = bool(words) and isinstance(words[-1], str) and bool(_TOKEN.search(words[-1]))
    return json.dumps({"terms": terms, "prefix": prefix and last_plain})


def titled_words(title: str | None, terms: str) -> int:
    """How many of the query's terms are in a folded title. A word of several tokens
    ("a_b", which FTS5 reads as a phrase) counts when they are consecutive; a term of
    alternatives counts when any one is there."""
    if not title:
        return 0
    query = _parsed(terms)
    tokens = _TOKEN.findall(title.casefold())
    present = set(tokens)
    last = len(query.terms) - 1
    count = 0
    for i, alternatives in enumerate(query.terms):
        started = query.prefix and i == last
        count += any(_contains(tokens, present, parts, started) for parts in alternatives)
    return count


def _contains(tokens: list[str], present: set[str], parts: tuple[str, ...], started: bool) -> bool:
    """Whether the parts are consecutive tokens; started: the last one may be a start."""
    if len(parts) == 1 and not started:
        return parts[0] in present
    n = len(parts)
    *whole, last = parts
    return any(
        tokens[k : k + n - 1] == whole
        and (tokens[k + n - 1].startswith(last) if started else tokens[k + n - 1] == last)
        for k in range(len(tokens) - n + 1)
    )


@dataclass(frozen=True, slots=True)
class _Terms:
    terms: tuple[tuple[tuple[str, ...], ...], ...]
    prefix: bool


@functools.lru_cache(maxsize=64)
def _parsed(terms: str) -> _Terms:
    data = json.loads(terms)
    parsed = tuple(tuple(tuple(parts) for parts in term) for term in data["terms"])
    return _Terms(parsed, bool(data["prefix"]))
