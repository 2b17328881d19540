"""feeds.toml's [[destinations]]: what is accepted, and one clear line for what is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.feeds_config import DestinationConfig, FeedsConfigError, load_feeds_config

REPO = Path(__file__).resolve().parents[1]
TOPICS = """
[[topics]]
slug = "kinh-te"
name_vi = "Kinh tế"

[[feeds]]
url = "https://bao.example.vn/rss/kinh-te.rss"
topics = ["kinh-te"]
"""


def write(tmp_path: Path, destinations: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(TOPICS + destinations, encoding="utf-8")
    return path


def test_a_channel_and_a_forum_topic(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[destinations]]
chat = "@bao_kinh_te"
name = "Kênh Kinh tế"
topics = ["kinh-te"]
hashtags = true
silent = true

[[destinations]]
chat = -1001234567890
thread_id = 12
sources = ["https://bao.example.vn/rss/kinh-te.rss"]
style = "text"
""",
    )

    assert load_feeds_config(path).destinations == (
        DestinationConfig(
            chat="@bao_kinh_te",
            thread_id=None,
            name="Kênh Kinh tế",
            topics=("kinh-te",),
            sources=(),
            hashtags=True,
            silent=True,
        ),
        DestinationConfig(
            chat=-1001234567890,
            thread_id=12,
            name="",
            topics=(),
            sources=("https://bao.example.vn/rss/kinh-te.rss",),
            style="text",
        ),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('chat = "kenh"\ntopics = ["kinh-te"]', "chat must be a channel's @username"),
        ('chat = 12345\ntopics = ["kinh-te"]', "negative chat id"),
        ('chat = true\ntopics = ["kinh-te"]', "negative chat id"),
        ('chat = -100\nthread_id = 0\ntopics = ["kinh-te"]', "thread_id must be"),
        ('chat = -100\ntopics = ["the-thao"]', "unknown topic 'the-thao'"),
        ("chat = -100", "give topics, sources or both"),
        ('chat = -100\nsources = ["ftp://x"]', "sources must be http(s)"),
        ('chat = -100\ntopics = ["kinh-te"]\nstyle = "video"', "style must be"),
        ('chat = -100\ntopics = ["kinh-te"]\nsilent = "yes"', "silent must be true or false"),
    ],
)
def test_a_bad_destination_is_named_in_one_line(tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, f"[[destinations]]\n{entry}\n")

    with pytest.raises(FeedsConfigError, match="destinations\\[0\\]") as caught:
        load_feeds_config(path)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_same_destination_twice_is_refused(tmp_path: Path) -> None:
    twice = '[[destinations]]\nchat = -100\ntopics = ["kinh-te"]\n' * 2

    with pytest.raises(FeedsConfigError, match="listed twice"):
        load_feeds_config(write(tmp_path, twice))


def test_the_shipped_feeds_toml_loads() -> None:
    config = load_feeds_config(REPO / "feeds.toml")

    assert config.topics and config.feeds
