"""A summary fit for a chat message: the article's lead, cut at a real sentence end.

Vietnamese news text is full of dots that end nothing: "TP.HCM", "PGS.TS.",
"5.000 tỷ", "16.11", "v.v.". A sentence ends at . ! ? or … followed by space and
a capital (or an opening quote/bracket then a capital), unless the word before
the dot is a known abbreviation or an initial.
"""

from __future__ import annotations

import regex

SUMMARY_MAX_CHARS = 400
# A stored title is never longer than an alert shows (bot.delivery.render cuts at 512
# UTF-16 units): a feed's 200,000-character "title" is a bug, not a headline.
TITLE_MAX_CHARS = 512

# Titles, degrees and place shorthands written with a trailing dot.
_ABBREVIATIONS = frozenset(
    {
        "TP", "Tp", "tp", "TS", "ThS", "Th.S", "PGS", "GS", "BS", "KS", "CN", "NXB", "TT",
        "Q", "P", "TX", "H", "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Co", "Ltd", "Inc",
        "No", "Vol", "v.v", "vv", "v/v", "Tr", "tr", "Nxb", "UBND", "Bs", "Ts", "Gs", "Pgs",
        "TS.BS", "PGS.TS", "GS.TS", "TS.KTS", "Thứ", "Ths", "ĐH", "St.", "e.g", "i.e", "etc",
    }
)  # fmt: skip

# "(SHTT) -", "(Dân trí) –", "(PLO)-", "(NLĐO) -", "VOV.VN -", "TP.HCM - ", "HÀ NỘI —".
_DATELINE = regex.compile(
    r"""^\s*(?:
        \(\s*[^()\n]{1,40}?\s*\)\s*[-–—:]+\s*
      | [\p{Lu}\d][\p{Lu}\d.&/ ]{1,30}?\s*[-–—]+\s+(?=\p{Lu})
    )""",
    regex.VERBOSE,
)
_SENTENCE_END = regex.compile(r"([.!?…]+)([\"”’»)\]]*)(\s+)(?=[\"“‘«(\[]*[\p{Lu}\d])")
_WORD_BEFORE = regex.compile(r"(\S+)$")


def strip_dateline(text: str) -> str:
    """Drop a leading source/place dateline such as "(SHTT) -" from a lead."""
    stripped = _DATELINE.sub("", text, count=1)
    return stripped if len(stripped) >= 20 else text


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, leaving abbreviations and numbers whole."""
    result: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end_punct = match.group(1)
        if end_punct == "." and _is_abbreviation(text[start : match.start(1)]):
            continue
        result.append(text[start : match.end(2)].strip())
        start = match.end(3)
    tail = text[start:].strip()
    if tail:
        result.append(tail)
    return result


def _is_abbreviation(before: str) -> bool:
    found = _WORD_BEFORE.search(before)
    if not found:
        return False
    word = found.group(1).lstrip("(\"“'‘")
    if word in _ABBREVIATIONS or word.split(".")[-1] in _ABBREVIATIONS:
        return True
    # A single capital letter is an initial ("Nguyễn V. A."), not a sentence.
    return len(word) == 1 and word.isupper()


def make_summary(lead: str, *, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """The lead's first paragraph, without dateline, cut to whole sentences within max_chars.

    When even the first sentence is too long, it is cut at a word boundary with "…".
    """
    paragraphs = [p.strip() for p in lead.split("\n") if p.strip()]
    if not paragraphs:
        return ""
    first = strip_dateline(paragraphs[0])
    parts = sentences(first)
    summary = ""
    for sentence in parts:
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > max_chars:
            break
        summary = candidate
    if summary:
        return summary
    return cut_at_word(first, max_chars)


def cap_title(title: str) -> str:
    """A title within TITLE_MAX_CHARS, cut at a word boundary with "…" when longer."""
    return cut_at_word(title, TITLE_MAX_CHARS)


def cut_at_word(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def search_text(summary: str, content: str) -> str:
    """What the search index holds for an article's body: its full text, plus the
    summary only when the text does not already contain it (indexing the lead
    twice would only inflate the index)."""
    probe = summary.rstrip("…")[:60]
    return content if probe and probe in content else f"{summary}\n{content}"
