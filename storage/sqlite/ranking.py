"""How search ranks on SQLite: the query's terms counted in each match's folded title.

FTS5's `highlight(article_search, 0, OPEN, CLOSE)` marks every instance of the
query's phrases in the title as it reads a match (in C, with the row it reads
anyway); a term is in the title when one of its marked forms is: `"\\x01cua\\x02"`
for the word "cua", `"\\x01ha noi\\x02"` for the phrase, `"\\x01va"` for a last
word taken as a prefix. `title_marks` gives those forms, `score_sql` the SQL
that counts them, one `instr` each, so no Python runs per match.

A phrase written across punctuation in a title ("Hà-Nội") is marked with it
and not counted: such a title ranks as if the phrase were only in its body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.rows import SearchTerm

OPEN = "\x01"
CLOSE = "\x02"
# Terms counted in titles: a reader's query has at most 12 words
# (bot.readers.search); more would only lengthen the SQL.
TITLE_TERMS = 16

# unicode61's tokens in folded text (marks already removed): runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+")


def title_marks(words: Sequence[SearchTerm], *, prefix: bool = False) -> list[list[str]]:
    """Each term's marked forms (alternatives: any one), the first TITLE_TERMS
    different terms. Terms of no letters or digits are left out, as the FTS5
    expression leaves them out; with prefix, a last plain word may start a word."""
    terms: list[list[str]] = []
    last_plain = bool(words) and isinstance(words[-1], str) and bool(_TOKEN.search(words[-1]))
    for n, term in enumerate(words):
        started = prefix and last_plain and n == len(words) - 1
        marks = []
        for word in term if isinstance(term, tuple) else (term,):
            tokens = _TOKEN.findall(word)
            if tokens:
                marks.append(OPEN + " ".join(tokens) + ("" if started else CLOSE))
        if marks and marks not in terms:
            terms.append(marks)
    return terms[:TITLE_TERMS]


def score_sql(terms: Sequence[Sequence[str]], marked: str) -> str:
    """SQL counting the terms whose marked forms are in the column `marked`, each
    form a parameter (in the order of the terms and their forms)."""
    if not terms:
        return "0"
    return " + ".join(
        "(" + " OR ".join(f"instr({marked}, ?) > 0" for _ in marks) + ")" for marks in terms
    )
