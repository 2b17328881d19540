"""A destination's post: a photo with a caption within 1024 UTF-16 units, or text with a
large preview; hashtags; the source and the link; only http(s) images."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.botapi_standin import parse_html, utf16_len
from bot.delivery.posts import hashtag, render_post
from storage.rows import ArticleRow, DestinationRow

NAMES = {"kinh-te": "Kinh tế", "khoa-hoc-cong-nghe": "Khoa học – Công nghệ"}


def article(**changes: object) -> ArticleRow:
    values: dict[str, object] = {
        "id": 1,
        "feed_id": 1,
        "feed_name": "VnExpress – Kinh doanh",
        "item_key": "a1",
        "url": "https://vnexpress.net/gia-vang-1.html?utm_source=rss",
        "title": "Giá vàng tăng mạnh",
        "summary": "Giá vàng miếng SJC tăng thêm 500.000 đồng mỗi lượng. " * 80,
        "author": None,
        "image_url": "https://i.vnecdn.net/vang.jpg",
        "published_at": int(datetime(2026, 9, 24, 1, 30, tzinfo=UTC).timestamp()),
        "fetched_at": 0,
        "topics": ("kinh-te", "khoa-hoc-cong-nghe"),
    }
    values.update(changes)
    return ArticleRow(**values)  # type: ignore[arg-type]


def destination(**changes: object) -> DestinationRow:
    values: dict[str, object] = {
        "id": 3,
        "chat_id": -1001,
        "thread_id": None,
        "chat_type": "channel",
        "title": "Kênh",
        "origin": "config",
        "style": "photo",
        "hashtags": True,
        "silent": False,
        "added_by": None,
        "paused_at": None,
        "pause_reason": None,
        "created_at": 0,
        "topics": ("kinh-te",),
        "feed_ids": (),
        "last_post_at": None,
    }
    values.update(changes)
    return DestinationRow(**values)  # type: ignore[arg-type]


def test_hashtags_join_the_words_of_a_topic_name() -> None:
    assert hashtag("Khoa học – Công nghệ") == "#KhoaHọcCôngNghệ"
    assert hashtag("Kinh tế") == "#KinhTế"
    assert hashtag(" – ") == ""


def test_a_photo_post_cuts_the_caption_cleanly_and_keeps_its_frame() -> None:
    post = render_post(article(), destination(), topic_names=NAMES)

    visible, entities = parse_html(post.text)
    assert post.photo_url == "https://i.vnecdn.net/vang.jpg"
    assert utf16_len(visible) <= 1024
    assert visible.startswith("Giá vàng tăng mạnh")
    assert "…" in visible  # the summary gave way
    assert "📰 VnExpress" in visible and "08:30, 24/09/2026" in visible
    assert visible.endswith("#KinhTế #KhoaHọcCôngNghệ")
    assert {e.get("url") for e in entities if e["type"] == "text_link"} == {
        "https://vnexpress.net/gia-vang-1.html"
    }
    fallback = post.as_text()
    assert fallback.photo_url is None and utf16_len(parse_html(fallback.text)[0]) > 1024
    assert fallback.preview_url == "https://vnexpress.net/gia-vang-1.html"


def test_text_style_or_an_image_that_is_not_http_makes_a_text_post() -> None:
    for post in (
        render_post(article(), destination(style="text", hashtags=False), topic_names=NAMES),
        render_post(
            article(image_url="data:image/png;base64,AAAA"), destination(), topic_names=NAMES
        ),
        render_post(article(image_url="ftp://x/y.jpg"), destination(), topic_names=NAMES),
    ):
        assert post.photo_url is None
        assert post.preview_url == "https://vnexpress.net/gia-vang-1.html"
        assert utf16_len(parse_html(post.text)[0]) <= 4096


def test_a_forum_topic_and_silent_posting_are_carried() -> None:
    post = render_post(
        article(), destination(thread_id=12, silent=True, hashtags=False), topic_names=NAMES
    )

    assert (post.chat_id, post.thread_id, post.silent) == (-1001, 12, True)
    assert "#" not in parse_html(post.text)[0]
