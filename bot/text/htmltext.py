"""HTML reduced to plain text, and the one rule for links we may show a reader.

Two kinds of HTML come in, and each has its own reader here:

- untrusted HTML from feeds and pages (`digest_html`, `html_to_text`): a real
  parser, hostile and decorative markup dropped, white space normalised;
- the bot's own Telegram HTML messages (`telegram_html_to_text`): tags
  removed and entities decoded, line breaks kept as written.

Nothing here produces HTML: the renderer builds Telegram HTML from the plain
text this module returns, escaping every field, so hostile markup in a feed
can only ever become visible text. `safe_http_url` is the only test of whether
a URL may be linked to (and the only place tracking parameters are removed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.text.vietnamese import clean_paragraphs

# Elements whose content is never article text.
_DROP = (
    "script, style, noscript, template, iframe, object, embed, applet, form, button, input, "
    "select, textarea, svg, math, video, audio, canvas, map, head, title, meta, link, nav, "
    "aside, footer, figcaption, picture, img"
)
_BLOCKS = (
    "p, div, li, ul, ol, h1, h2, h3, h4, h5, h6, blockquote, pre, table, tr, section, "
    "article, header, figure, dl, dt, dd, hr"
)
# Marks a line break while the text is extracted (a private-use character; one that
# arrives as an entity in the feed only adds a line break).
_BREAK = "\ue000"
# A tag of Telegram HTML. The bot escapes every "<" of its text, so any "<" is a tag.
_TELEGRAM_TAG = re.compile(r"<[^>]+>")
# Click and campaign identifiers: Facebook, Google, Microsoft, Mailchimp, Instagram,
# Yandex, TikTok, X, and Zalo's (zarsrc, gidzl), which Vietnamese shares carry most.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
     "_ga", "_gl", "yclid", "ttclid", "twclid", "zarsrc", "gidzl"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HtmlDigest:
    """What a fragment of feed HTML holds that is worth keeping."""

    text: str  # plain text, paragraphs separated by blank lines
    first_image: str | None  # absolute http(s) URL of the first real image


def digest_html(html: str, *, base_url: str | None = None) -> HtmlDigest:
    """Plain text and the lead image of an HTML fragment.

    Drops what Vietnamese feeds wrap around the lead: the thumbnail link, lists
    of related links ("Tin liên quan"), scripts, forms and embedded media.
    """
    if "<" not in html and "&" not in html:
        return HtmlDigest(clean_paragraphs(html), None)
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return HtmlDigest("", None)
    image = _first_image(root, base_url)
    for node in root.css(_DROP):
        node.decompose()
    for node in root.css("ul, ol"):
        if _is_link_list(node):
            node.decompose()
    for node in root.css("br"):
        node.replace_with(_BREAK)
    for node in root.css(_BLOCKS):
        node.insert_before(_BREAK * 2)
        node.insert_after(_BREAK * 2)
    # A newline in HTML source is white space like any other: only <br> and blocks
    # break lines, or a lead wrapped over two source lines would split mid-sentence.
    text = root.text(deep=True, separator="").replace("\r", " ").replace("\n", " ")
    return HtmlDigest(clean_paragraphs(text.replace(_BREAK, "\n")), image)


def html_to_text(html: str) -> str:
    """Untrusted feed or page HTML as plain text (digest_html's text, without the image).

    For HTML from outside: white space in the source means nothing, only <br> and
    block elements break lines, and scripts, media and link lists are dropped.
    Not for the bot's own messages, whose line breaks are newlines in the text
    (see telegram_html_to_text).
    """
    return digest_html(html).text


def telegram_html_to_text(message: str) -> str:
    """A Telegram HTML message of the bot's own (parse_mode HTML) as the plain text it shows.

    For text the bot wrote itself (rendered articles, catalog messages): the few
    tags Telegram knows are removed and entities decoded, and every character
    else, newlines included, stays as it is. html_to_text would instead fold the
    message's newlines into spaces, as a browser does, and drop link lists; this
    is the text a reader would have seen, for places that cannot show formatting.
    """
    return unescape(_TELEGRAM_TAG.sub("", message))


def _first_image(root: LexborNode, base_url: str | None) -> str | None:
    for img in root.css("img"):
        attrs = img.attributes
        src = attrs.get("data-src") or attrs.get("data-original") or attrs.get("src")
        if not src or _is_pixel(attrs):
            continue
        url = safe_http_url(src, base_url=base_url)
        if url:
            return url
    return None


def _is_pixel(attrs: dict[str, str | None]) -> bool:
    """Tracking pixels declare themselves 1×1 (or 0×0)."""
    return any((attrs.get(k) or "").strip() in {"0", "1"} for k in ("width", "height"))


def _is_link_list(node: LexborNode) -> bool:
    """A list whose every item is just a link is navigation, not article text."""
    items = node.css("li")
    if not items:
        return False
    for item in items:
        text = item.text(deep=True).strip()
        link_text = "".join(a.text(deep=True) for a in item.css("a")).strip()
        if not text or link_text != text:
            return False
    return True


def safe_http_url(url: str | None, *, base_url: str | None = None) -> str | None:
    """An absolute http(s) URL without tracking parameters, or None.

    Anything else (javascript:, data:, mailto:, relative junk with no base) is refused,
    because a link in a chat message is a click a reader trusts us with.
    """
    if not url:
        return None
    url = "".join(url.split())  # feeds wrap URLs across lines
    if base_url:
        url = urljoin(base_url, url)
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    # Rebuild the query only when something was removed: re-encoding can alter
    # signed image URLs that must stay byte-exact.
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, query, parts.fragment))


def is_tracking_param(param: str) -> bool:
    """Whether a query parameter only tells the publisher where a click came from."""
    name = param.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS
