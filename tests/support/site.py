"""A small news site without a feed, built at test time, for the site-source tests.

The sample article (../shared/samples/shtt-article-2023-06-04.txt, the text
of a page of the magazine Sở hữu trí tuệ) is read in place and dressed in the
chrome such pages really have: a header with the site name and today's date,
a "Click để copy" button, the title, the article's own time, figures whose
captions are bare numbers, the author line, a "Tin khác" aside and a footer.
Nothing of the sample is copied into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.feed_server import FeedServer, Route

HTML = {"Content-Type": "text/html; charset=utf-8"}
SITE_NAME = "SO HUU TRI TUE"
PAGE_DATE = "Thứ ba, 25/06/2024"
SAMPLE_PATH = "/so-khoa-hoc-va-cong-nghe-ha-noi-nhung-ket-qua-d12345.html"
# Links every listing carries that are not articles.
NOT_ARTICLES = (
    ("/tin-tuc", "Tin tức"),
    ("/ban-quyen", "Bản quyền"),
    ("/tag/khoa-hoc-cong-nghe", "#khoa học công nghệ"),
    ("/dang-nhap", "Đăng nhập"),
    ("/tin-tuc/trang-2", "Trang 2"),
    ("/tin-tuc?page=2", "Xem tiếp"),
    ("https://www.facebook.com/sohuutritue-d1234567.html", "Facebook"),
    ("mailto:toasoan@example.vn", "Liên hệ"),
)


@dataclass(frozen=True)
class Story:
    """One article page: `body` holds paragraphs, and bare numbers become figures."""

    path: str
    title: str
    time_text: str  # as the page shows it: "06:23, 04/06/2023"
    lead: str
    body: tuple[str, ...]
    author: str
    published: datetime | None = None  # for article:published_time / JSON-LD
    others: tuple[str, ...] = ()  # "Tin khác" teasers


def sample_story(samples: Path, path: str = SAMPLE_PATH) -> Story:
    """The sample article, read from the text of its page."""
    lines = [
        line.strip() for line in (samples / "shtt-article-2023-06-04.txt").read_text().splitlines()
    ]
    text = [line.lstrip("• ").strip() for line in lines if line.strip()]
    title_at = text.index("Click để copy") + 1
    author_at = text.index("Tin khác") - 1
    others = [line for line in text[author_at + 2 :] if not line.startswith("Tin tức ")]
    return Story(
        path=path,
        title=text[title_at],
        time_text=text[title_at + 1],
        lead=text[title_at + 2],
        body=tuple(text[title_at + 3 : author_at]),
        author=text[author_at],
        published=datetime.fromisoformat("2023-06-04T06:23:00+07:00"),
        others=tuple(others),
    )


def fresh_story(n: int, published: datetime) -> Story:
    """An invented story published at `published` (shown in Hà Nội time, as the site would)."""
    local = published.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    return Story(
        path=f"/tin-moi-so-{n}-d{20000 + n}.html",
        title=f"Hà Nội khai trương sàn ứng dụng số {n} cho doanh nghiệp nhỏ",
        time_text=local.strftime("%H:%M, %d/%m/%Y"),
        lead=f"(SHTT) - Sáng nay, Thành phố đưa vào vận hành sàn ứng dụng số {n}. "
        "Hơn 300 doanh nghiệp đã đăng ký tham gia trong tuần đầu.",
        body=(
            f"Sàn ứng dụng số {n} giúp doanh nghiệp nhỏ đăng ký nhãn hiệu trực tuyến.",
            "16.20",
            "Đại diện Sở cho biết chi phí tham gia được miễn trong năm đầu.",
        ),
        author="Minh Anh",
        published=published,
    )


def article_page(story: Story, *, base_url: str, meta: bool = True) -> bytes:
    """The story as its web page; `meta=False` leaves out every meta tag and JSON-LD."""
    head = _head_meta(story, base_url) if meta else ""
    figures = 0
    parts: list[str] = []
    for paragraph in story.body:
        if paragraph.replace(".", "").isdigit():
            figures += 1
            parts.append(
                f'<figure class="image"><img src="/images/{figures}.jpg" alt="">'
                f"<figcaption>{escape(paragraph)}</figcaption></figure>"
            )
        else:
            parts.append(f"<p>{escape(paragraph)}</p>")
    others = "".join(
        f'<li><span class="cat">Tin tức</span> <span class="ago">18 giờ trước</span>'
        f'<a href="/tin-khac-so-{i}-d{9000 + i}.html"><p>{escape(text)}</p></a></li>'
        for i, text in enumerate(story.others)
    )
    page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>{escape(story.title)} | {SITE_NAME}</title>{head}
<link rel="stylesheet" href="/static/site.css"><script>window.dataLayer = [];</script>
</head><body>
<header class="site-header"><a class="logo" href="/">{SITE_NAME}</a>
<div class="today">{escape(PAGE_DATE)}</div>
<nav><ul>{_nav()}</ul></nav></header>
<main class="container"><div class="breadcrumb"><a href="/tin-tuc">Tin tức</a></div>
<article class="detail">
<h1 class="detail-title">{escape(story.title)}</h1>
<ul class="share-tools"><li><button type="button" class="copy-link">Click để copy</button></li></ul>
<div class="detail-meta"><span class="time">{escape(story.time_text)}</span></div>
<div class="detail-sapo"><strong>{escape(story.lead)}</strong></div>
<div class="detail-content">{"".join(parts)}
<p style="text-align: right;"><strong>{escape(story.author)}</strong></p></div>
</article>
<aside class="other-news"><h3 class="title">Tin khác</h3><ul>{others}</ul></aside>
</main>
<footer><p>Tạp chí điện tử Sở hữu trí tuệ. Giấy phép số 00/GP-BTTTT.</p></footer>
</body></html>"""
    return page.encode("utf-8")


def listing_page(stories: Sequence[Story], *, title: str = "Tin tức") -> bytes:
    """A section page: each story linked twice (picture and title), among links that
    are not articles (sections, a tag, login, paging, social, mail)."""
    items = "".join(
        f'<div class="item"><a href="{story.path}"><img src="/thumb{i}.jpg" alt=""></a>'
        f'<h3><a href="{story.path}?utm_source=home#top">{escape(story.title)}</a></h3>'
        f"<p>{escape(story.lead[:80])}</p></div>"
        for i, story in enumerate(stories)
    )
    paging = "".join(
        f'<a href="{path}">{escape(text)}</a>' for path, text in NOT_ARTICLES if "trang" in path
    )
    page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{escape(title)} | {SITE_NAME}</title></head>
<body><header><a href="/">{SITE_NAME}</a><div class="today">{escape(PAGE_DATE)}</div>
<nav><ul>{_nav()}</ul></nav></header>
<main><h1>{escape(title)}</h1><div class="list">{items}</div>
<div class="paging">{paging}</div></main>
<footer><a href="mailto:toasoan@example.vn">Liên hệ</a></footer></body></html>"""
    return page.encode("utf-8")


def serve_story(server: FeedServer, story: Story, *, meta: bool = True) -> None:
    server.set(
        story.path,
        Route(body=article_page(story, base_url=server.url("/"), meta=meta), headers=HTML),
    )


def serve_listing(
    server: FeedServer, path: str, stories: Sequence[Story], *, etag: str | None = None
) -> None:
    server.set(path, Route(body=listing_page(stories), headers=HTML, etag=etag))


def _nav() -> str:
    return "".join(f'<li><a href="{path}">{escape(text)}</a></li>' for path, text in NOT_ARTICLES)


def _head_meta(story: Story, base_url: str) -> str:
    url = base_url.rstrip("/") + story.path
    published = story.published.isoformat() if story.published else ""
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title,
        "datePublished": published,
        "author": {"@type": "Person", "name": story.author},
        "image": [f"{base_url.rstrip('/')}/images/cover.jpg"],
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
    }
    return f"""
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{escape(story.title)}">
<meta property="og:description" content="{escape(story.lead)}">
<meta property="og:image" content="/images/cover.jpg">
<meta property="og:url" content="{escape(url)}">
<meta property="article:published_time" content="{escape(published)}">
<link rel="canonical" href="{escape(url)}">
<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>"""
