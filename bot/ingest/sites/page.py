"""Page bytes → text, honouring the charset the server or the page declares.

Vietnamese sites still serve windows-1258 now and then, sometimes declared
only in a <meta> tag, so the bytes are decoded here once rather than left to
each parser's own guess.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from selectolax.lexbor import LexborHTMLParser

# Browsers look for <meta charset> in the first 1024 bytes; a little more
# tolerance costs nothing.
_META_SNIFF_BYTES = 4096
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The page as text: BOM, then Content-Type, then <meta>, then UTF-8, then windows-1258."""
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_encoding, errors="replace")
    for label in (_header_charset(headers), _meta_charset(body)):
        encoding = _known_encoding(label)
        if encoding is not None:
            return body.decode(encoding, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # Undeclared and not UTF-8: the legacy Vietnamese code page is the likeliest.
        return body.decode("cp1258", errors="replace")


def parse_html(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def _header_charset(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    found = _HEADER_CHARSET.search(content_type)
    return found.group(1) if found else None


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:_META_SNIFF_BYTES])
    return found.group(1).decode("ascii", errors="replace") if found else None


def _known_encoding(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A page that says UTF-16 in its ASCII-readable <meta> is not UTF-16 (WHATWG rule).
    return "utf-8" if name.startswith("utf-16") else name
