"""An article's identity: the one URL that every address of the same page folds to.

Newsrooms hand out one article under many addresses: a section feed with
`?utm_source=rss`, a share with `zarsrc=` or `fbclid=`, the mobile host
(`m.`), the AMP copy (`amp.`, `/amp`, `?amp=1`), `www.` or not, `http` or
`https`, a `#comments` fragment, a trailing slash. `canonical_url` folds them
all to one string, which storage keys articles by across feeds. It is an
identity, never shown: the link a reader opens stays the one the feed gave.

Pure and cheap: it runs in the parse workers for every item.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from bot.text.htmltext import is_tracking_param

# Host prefixes that serve the same pages as the bare site: the desktop, mobile
# and AMP editions.
_EDITION_PREFIXES = ("www.", "m.", "amp.", "mobile.")
# Query parameters that ask for the AMP or mobile rendering of the same page.
_EDITION_PARAMS = frozenset({"amp", "outputtype", "_amp"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters a path keeps literally; everything else is percent-encoded in one way,
# so "/tin%2Dmoi" and "/tin-moi" are the same page.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def canonical_url(url: str) -> str | None:
    """The identity of the page at this absolute http(s) URL, or None when it is not one.

    Scheme folded to https, host lower-cased without edition prefixes, default
    port, user info and fragment; `/amp` path segments, AMP and tracking
    parameters dropped; the rest sorted; percent-encoding normalized; no
    trailing slash but on the root. Folding twice changes nothing.
    """
    try:
        parts = urlsplit("".join(url.split()))
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = fold_host(host)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit(("https", netloc, _path(parts.path), _query(parts.query), ""))


def fold_host(host: str) -> str:
    """The site a host name serves: lower case, without www., m., amp. or mobile.

    A host that is nothing but a prefix and a public suffix ("m.vn") is left alone.
    """
    host = host.lower()
    folded = True
    while folded:
        folded = False
        for prefix in _EDITION_PREFIXES:
            rest = host.removeprefix(prefix)
            if rest != host and "." in rest:
                host, folded = rest, True
    return host


def same_site(first: str, second: str) -> bool:
    """Whether two absolute URLs are on the same site, editions folded."""
    one, two = urlsplit(first).hostname, urlsplit(second).hostname
    return bool(one and two) and fold_host(one or "") == fold_host(two or "")


def _path(path: str) -> str:
    segments = [quote(unquote(s), safe=_PATH_SAFE) for s in path.split("/")]
    # The AMP copy: "/amp/tin-moi-123.html" and "/tin-moi-123.html/amp".
    while len(segments) > 1 and segments[1].lower() == "amp":
        del segments[1]
    while segments and segments[-1].lower() in ("amp", ""):
        segments.pop()
    return "/".join(segments) or "/"


def _query(query: str) -> str:
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key and not is_tracking_param(key) and key.lower() not in _EDITION_PARAMS
    ]
    return urlencode(sorted(pairs))
