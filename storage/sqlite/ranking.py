"""How search ranks on SQLite: the query's words counted in each match's folded title.

`titled_words` is registered as an SQL function on the reader connection
(storage.sqlite.connection); `title_terms` gives it the query's words. It is the
title-by-title path of `SqliteArticles.search_articles`, for matches too sparse
to count their title words through the index: FTS5's `highlight` marks the
query's instances in each title as it reads the matches (C, ~3 µs a title with
the row), and this only names the marked spans' terms.
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


def title_terms(words: Sequence[SearchTerm], *, prefix: bool = False, most: int = 16) -> str:
    """The terms as `titled_words` takes them: JSON, each term its alternatives, each
    alternative its tokens; the first `most` different ones. Terms of no letters or
    digits are left out, as the FTS5 expression leaves them out; with prefix, a last
    plain word may start a title's word."""
    terms: list[list[list[str]]] = []
    for term in words:
        alternatives = [_TOKEN.findall(w) for w in (term if isinstance(term, tuple) else (term,))]
        kept = [tokens for tokens in alternatives if tokens]
        if kept and kept not in terms:
            terms.append(kept)
    last_plain = bool(words) and isinstance(words[-1], str) and bool(_TOKEN.search(words[-1]))
    started = prefix and last_plain and len(terms) <= most
    return json.dumps({"terms": terms[:most], "prefix": started})


# What `highlight(article_search, 0, OPEN, CLOSE)` puts around each instance of the
# query's phrases in the title (overlapping instances share one pair).
OPEN = "\x01"
CLOSE = "\x02"


def titled_words(marked: str | None, terms: str) -> int:
    """How many of the query's terms are in a folded title, given as FTS5's highlight
    marked it: FTS5 found the instances, this tells which terms they are. A word of
    several tokens ("a_b", which FTS5 reads as a phrase) counts when they are
    consecutive; a term of alternatives counts when any one is there."""
    if not marked or OPEN not in marked:
        return 0
    query = _parsed(terms)
    spans = [_TOKEN.findall(part.split(CLOSE, 1)[0]) for part in marked.split(OPEN)[1:]]
    last = len(query.terms) - 1
    count = 0
    for i, alternatives in enumerate(query.terms):
        started = query.prefix and i == last
        count += any(
            _contains(tokens, parts, started) for parts in alternatives for tokens in spans
        )
    return count


def _contains(tokens: list[str], parts: tuple[str, ...], started: bool) -> bool:
    """Whether the parts are consecutive tokens; started: the last one may be a start."""
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
