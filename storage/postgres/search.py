"""Search on PostgreSQL: folded words in a tsvector, matched whole, ranked by ts_rank.

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
its position, a GIN index answers "all these words" at once, `ts_rank` ranks
with the title weighted (A) above the body (B), and positions answer phrases
(`<->`) for keyword alerts in digests.

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

**Ranking.** `newsbot_matches` finds the newest SEARCH_WINDOW matches, each
query planned for the words at hand (a word in nearly every article is read
newest first, a rare one through the GIN index); those are ranked by
`ts_rank` with the title weighted, then newest first (`published_at DESC,
id DESC`), so pages of equal matches never repeat or skip one.

**At a million articles** (bench/search.py) two things cost most. A word in
a few percent of the articles has tens of thousands of matches, and reading
each one's row to keep the newest 1,000 took ~300 ms: `newsbot_matches` now
looks among the newest ids first (GIN and an id range ANDed into one bitmap,
so only rows in the range are read), widening the range by the density it
saw until it holds the window or is the whole table; the result is the same.
And the vector, about 1 KB, was moved out of the row with the text (TOAST),
so reading it back cost a TOAST lookup per row: `search` is stored MAIN,
which keeps it in the row and lets the text go out first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.rows import SearchTerm

# Ranking scores every match; as on SQLite, only the newest SEARCH_WINDOW matches
# are ranked, which keeps broad queries ("cua" is in nearly every article) cheap.
SEARCH_WINDOW = 1000

# ts_rank's weights for {D, C, B, A}: the title (A) counts three times the body (B).
RANK_WEIGHTS = "{0.1, 0.2, 0.333, 1.0}"

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
