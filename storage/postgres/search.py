"""Search on PostgreSQL: folded words in a tsvector, matched whole, title matches first.

The bar is the SQLite backend's. The caller folds (`bot.text.vietnamese.fold`:
no marks, đ → d, lower case) both the text it stores (`ArticleInput.search_*`)
and the words it looks for, so "ha noi", "Hà Nội", "hoà"/"hòa" and NFD input
meet as the same words; nothing here depends on the server's locale or its
unaccent extension.

**Why tsvector and not pg_trgm.** A Vietnamese word is a run of one-syllable
words ("ha noi"), and the folded syllables are short and few: "ha", "hanh",
"han" and "thanh" share most of their trigrams. Trigram similarity would match
inside syllables (`ha` finding `hanh`, `thanh`) and rank by letters in common;
readers expect whole words, every word they typed, best title matches first.
A tsvector under the `simple` configuration (no stemming, no stop words:
syllables are not English words) holds each folded syllable as one lexeme with
its position, a GIN index answers "all these words" at once, the title's words
carry weight A (the body's B) so a title match can be told from a body match,
and positions answer phrases (`<->`) for keyword alerts in digests.

**Words, as FTS5 saw them.** FTS5's tokenizer splits on anything that is not
a letter or digit; PostgreSQL's parser would instead keep `vnexpress.net`,
`covid-19` or `3.5` as tokens of their own. So text is reduced here to its
words (letters and digits) separated by spaces before PostgreSQL sees it, on
both sides: the index and the query then hold the same words FTS5 would.

**Queries from words, never syntax.** Each word becomes
`phraseto_tsquery('simple', word)` (a word with an underscore, `a_b`, is the
phrase `a <-> b`, as FTS5 reads it), and the words are joined with `&` by the
`newsbot_match_all` aggregate. The words travel as one text[] parameter, so
nothing a reader typed (`'`, `\\`, `:*`, `&`, `|`, `!`, `<->`) is ever parsed as
tsquery syntax.

**Ranking.** `newsbot_matches_in` finds the newest SEARCH_WINDOW matches in a
range of ids the sealed search segments do not cover (storage.search_segments:
their bitmaps answer the rest), each
query planned for the words at hand (a word in nearly every article is read
newest first, a rare one through the GIN index); those with more of the terms
in their title (`'w':A`, `title_queries`) come first, then the newest
(`published_at DESC, id DESC`), so pages of equal matches never repeat or skip
one. The SQLite backend ranks the same way. Not `ts_rank`: it scored every
lexeme of the thousand vectors in the window, ~5 ms a query at a million
articles, where asking each vector for a few words with weight A is a lookup each.

**At a million articles** (bench/search.py) two things cost most. A word in
a few percent of the articles has tens of thousands of matches, and reading
each one's row to keep the newest 1,000 took ~300 ms: `newsbot_matches` (now
`newsbot_matches_in`, bounded below too)
looks among the newest ids first (GIN and an id range ANDed into one bitmap,
so only rows in the range are read), widening the range by the density it
saw until it holds the window or is the whole table; the result is the same.
Each widening asks only the ids below those already searched, and only for
the matches still missing (asking all of them again over the wider range led
the planner to read it row by row: 40 ms for the last 3 of "gia vang"'s 1,000).
And the vector, about 1 KB, was moved out of the row with the text (TOAST),
so reading it back cost a TOAST lookup per row: `search` is stored MAIN,
which keeps it in the row and lets the text go out first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.rows import SearchTerm

# As on SQLite, only the newest SEARCH_WINDOW matches are ranked, which keeps broad
# queries ("cua" is in nearly every article) cheap.
SEARCH_WINDOW = 1000

# PostgreSQL leaves a word longer than this out of a tsvector; a query word that
# long can match nothing.
MAX_WORD_BYTES = 2047
# A tsvector holds at most 1 MB; text beyond this many characters is not indexed.
MAX_INDEXED_CHARS = 200_000

_WORDS = re.compile(r"[^\W_]+")


def index_text(text: str) -> str:
    """Folded text as the index holds it: its words, lower case, one space apart."""
    return " ".join(_WORDS.findall(text[:MAX_INDEXED_CHARS].casefold()))


def query_terms(words: Sequence[str]) -> list[str] | None:
    """Each query word as the index's words (a phrase when it holds several), or None
    when nothing can match. A word with no letters or digits is left out, as FTS5
    leaves out an empty phrase; no words at all match nothing."""
    terms: list[str] = []
    for word in words:
        parts = _WORDS.findall(word.casefold())
        if not parts:
            continue
        if any(len(part.encode()) > MAX_WORD_BYTES for part in parts):
            return None
        terms.append(" ".join(parts))
    return terms or None


def query_groups(terms: Sequence[SearchTerm]) -> tuple[list[str], list[int]] | None:
    """The terms flattened for SQL: every phrase, and the number of the term it belongs
    to (alternatives share one); None when nothing can match. Words with no letters
    or digits are left out, as FTS5 leaves out an empty phrase; a word too long for
    the index matches nothing, so a term of no other alternative cannot match."""
    phrases: list[str] = []
    groups: list[int] = []
    for term in terms:
        kept: list[str] = []
        for alternative in term if isinstance(term, tuple) else (term,):
            parts = _WORDS.findall(alternative.casefold())
            if parts and all(len(part.encode()) <= MAX_WORD_BYTES for part in parts):
                kept.append(" ".join(parts))
            elif parts and not isinstance(term, tuple):
                return None
        if kept:
            phrases.extend(kept)
            groups.extend([len(set(groups)) + 1] * len(kept))
    return (phrases, groups) if phrases else None


def phrase_term(words: Sequence[str]) -> str | None:
    """The words as one phrase for `phraseto_tsquery`, or None when it can match nothing."""
    terms = query_terms(words)
    return " ".join(terms) if terms else None


def title_queries(terms: Sequence[str], groups: Sequence[int], *, prefix: bool) -> list[str]:
    """tsquery text per term (query_groups' phrases and groups) matching it in the title
    alone (weight A): "ha noi" is 'ha':A <-> 'noi':A, alternatives are ORed; with
    prefix, a last word of one token may start a title's word. The phrases are letters
    and digits one space apart, so quoting them needs no escapes."""
    by_group: dict[int, list[str]] = {}
    for n, (term, group) in enumerate(zip(terms, groups, strict=True)):
        parts = term.split()
        if prefix and n == len(terms) - 1 and len(parts) == 1:
            by_group.setdefault(group, []).append(f"'{parts[0]}':*A")
        else:
            by_group.setdefault(group, []).append(" <-> ".join(f"'{p}':A" for p in parts))
    return [" | ".join(f"({q})" for q in alternatives) for alternatives in by_group.values()]
