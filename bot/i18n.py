"""Message catalogs. Every sentence a reader sees lives here, in Vietnamese and English."""

from __future__ import annotations

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")

CATALOGS: dict[str, dict[str, str]] = {
    "vi": {
        "article.read_more": "Đọc tiếp",
        "article.source": "Nguồn",
        "article.published": "Đăng lúc",
        "article.topics": "Chủ đề",
    },
    "en": {
        "article.read_more": "Read more",
        "article.source": "Source",
        "article.published": "Published",
        "article.topics": "Topics",
    },
}


def normalize_language(code: str | None) -> str:
    """Map a Telegram language_code ("vi", "en-US", None…) to a catalog we have."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in CATALOGS else "en" if base else DEFAULT_LANGUAGE


def t(language: str, key: str, **values: object) -> str:
    catalog = CATALOGS[normalize_language(language)]
    text = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
    return text.format(**values) if values else text
