"""Site sources in feeds.toml and in the feeds table: rules validated, stored, and reset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.runtime.feeds_config import FeedsConfigError, load_feeds_config
from storage.rows import FeedSpec, PollSuccess
from storage.sqlite import SqliteDatabase

REPO = Path(__file__).resolve().parents[1]
TOPIC = "[[topics]]\nslug = 'shtt'\nname_vi = 'Sở hữu trí tuệ'\n"


def write(tmp_path: Path, feeds: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(TOPIC + feeds, encoding="utf-8")
    return path


def test_site_source_with_its_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[feeds]]
url = "https://sohuutritue.example.vn/tin-tuc"
kind = "site"
article_pattern = '-d\\d+\\.html$'
link_selector = ".list h3 a"
topics = ["shtt"]
""",
    )

    [spec] = load_feeds_config(path).feeds

    assert (spec.kind, spec.article_pattern, spec.link_selector) == (
        "site",
        r"-d\d+\.html$",
        ".list h3 a",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("kind = 'site'\narticle_pattern = '(unclosed'", "not a valid regex"),
        ("kind = 'site'\nlink_selector = 'div[['", "not a valid CSS selector"),
        ("kind = 'site'\narticle_pattern = ''", "must be a non-empty string"),
        ("article_pattern = '-d\\d+'", "only for kind = 'site'"),
        ("kind = 'page'", "kind must be 'feed' or 'site'"),
    ],
)
def test_bad_site_rules_say_where(tmp_path: Path, extra: str, message: str) -> None:
    path = write(tmp_path, f"[[feeds]]\nurl = 'https://a.example.vn/'\n{extra}\n")

    with pytest.raises(FeedsConfigError) as caught:
        load_feeds_config(path)

    assert "feeds[0]" in str(caught.value) and message in str(caught.value)


def test_shipped_feeds_toml_has_a_site_source() -> None:
    config = load_feeds_config(REPO / "feeds.toml")

    sites = [f for f in config.feeds if f.kind == "site"]
    assert [f.url for f in sites] == ["https://sohuutritue.net.vn/"]
    assert sites[0].topics == ("so-huu-tri-tue",)


async def test_changed_rules_make_the_next_poll_read_the_listing_afresh(db: SqliteDatabase) -> None:
    spec = FeedSpec("https://a.example.vn/tin-tuc", "A", (), kind="site")
    await db.feeds.sync_config_feeds([spec], now=1)
    [feed] = await db.feeds.list_feeds()
    await db.articles.store(
        feed.id,
        [],
        now=2,
        poll=PollSuccess('"v1"', None, "hash", None, 100),
        site_links={"https://a.example.vn/x-d1.html": "b"},
    )

    await db.feeds.sync_config_feeds([spec], now=3)  # same rules: nothing forgotten
    [same] = await db.feeds.list_feeds()
    await db.feeds.sync_config_feeds([replace(spec, link_selector="h3")], now=4)
    [changed] = await db.feeds.list_feeds()

    assert (same.etag, same.body_hash) == ('"v1"', "hash")
    assert same.site_links == {"https://a.example.vn/x-d1.html": "b"}
    assert (changed.etag, changed.body_hash, changed.link_selector) == (None, None, "h3")
