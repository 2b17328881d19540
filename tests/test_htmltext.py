"""The two HTML-to-text readers differ on purpose: feed HTML vs the bot's own messages."""

from __future__ import annotations

from bot.text.htmltext import html_to_text, telegram_html_to_text


def test_telegram_html_keeps_line_breaks_and_decodes_entities() -> None:
    message = '<b>Tin &amp; ảnh</b>\n\n📰 VnExpress\n<a href="https://vne.vn/a">Đọc</a> &lt;3'
    assert telegram_html_to_text(message) == "Tin & ảnh\n\n📰 VnExpress\nĐọc <3"


def test_feed_html_folds_source_newlines_and_breaks_on_blocks() -> None:
    assert html_to_text("<p>Hà\nNội</p><p>mưa <script>x()</script>to</p>") == "Hà Nội\n\nmưa to"
