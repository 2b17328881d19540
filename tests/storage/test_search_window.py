"""Search over many articles: only the newest SEARCH_WINDOW (1,000) matches are ranked,
and a rare word is found wherever it is. Built with the bulk path (`db.transfer`)."""

from __future__ import annotations

from storage.api import Database, TransferRow
from storage.tables import TABLES
from tests.storage.support import NOW, add_feed

ARTICLES = 30_000
_TABLE = next(t for t in TABLES if t.name == "articles")

RARE_IDS = (3, 15_000, 29_999)
OLD_TITLE_MATCH = 2  # "vang" in its title, but older than the newest 1,000 matches
NEW_TITLE_MATCH = 29_990


def _text(i: int) -> tuple[str, str]:
    """(title, body) of article i: 'vang' in every second body, 'hiem' in three."""
    title = "vang vang" if i in (OLD_TITLE_MATCH, NEW_TITLE_MATCH) else f"tin so {i % 97}"
    if i == RARE_IDS[0]:
        title = "tin hiem, co mot"
    words = ["bai", "viet", f"muc{i % 13}"]
    if i % 2 == 0:
        words.append("vang")
    if i in RARE_IDS:
        words.append("hiem")
    return title, " ".join(words)


async def _build(db: Database) -> None:
    feed_id = await add_feed(db)
    for start in range(1, ARTICLES + 1, 5000):
        rows: list[TransferRow] = []
        for i in range(start, min(ARTICLES + 1, start + 5000)):
            title, body = _text(i)
            at = NOW - (ARTICLES - i) * 60
            url = f"https://bao.example.vn/{i}.html"
            rows.append(
                (
                    i,
                    feed_id,
                    url,
                    url,
                    title,
                    body,
                    body,
                    None,
                    None,
                    at,
                    at,
                    at,
                    None,
                    url,
                    title,
                    body,
                )
            )
        await db.transfer.insert(_TABLE, rows)
    await db.transfer.finish()


async def test_only_the_newest_thousand_matches_are_ranked_and_rare_words_are_found(
    db: Database,
) -> None:
    await _build(db)

    # 15,000 match; the old title match ranks best of all but is not among the
    # newest 1,000, so the newer one comes first and the old one not at all.
    top = await db.articles.search_articles(["vang"], limit=10)
    assert top[0].id == NEW_TITLE_MATCH
    assert OLD_TITLE_MATCH not in {a.id for a in top}
    assert all(a.id > ARTICLES - 2 * 1000 for a in top)

    # Three matches years apart (too sparse to count their title words through the
    # index: counted title by title): the oldest has the word in its title, so it leads.
    rare = await db.articles.search_articles(["hiem"], limit=10)
    assert [a.id for a in rare] == [3, 29_999, 15_000]
    started = await db.articles.search_articles(["hie"], limit=10, prefix=True)
    assert [a.id for a in started] == [3, 29_999, 15_000]
    either = await db.articles.search_articles(["hiem", ("vang", "tin")], limit=10)
    assert [a.id for a in either] == [3, 29_999, 15_000]
    assert [a.id for a in await db.articles.search_articles(["hiem"], as_of=29_998)] == [3, 15_000]
    # Every word must match: of the rare ones, only 15,000 is even (has 'vang'),
    # and only 29,999 is 'muc8' (29,999 % 13).
    assert [a.id for a in await db.articles.search_articles(["hiem", "vang"])] == [15_000]
    assert [a.id for a in await db.articles.search_articles(["muc8", "hiem"])] == [29_999]
