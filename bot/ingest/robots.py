"""robots.txt for site sources: fetched through the Fetcher, parsed by protego,
cached per origin.

What a failed fetch means follows RFC 9309: a 4xx (no robots.txt, or too
many redirects) allows everything; a 5xx, a timeout or a refused connection
means the rules are unknown, so nothing is fetched from that site this round.
Only answers are cached; an unreachable robots.txt is asked again next time.

Matching is protego's, which follows RFC 9309: the group naming our product
token most specifically applies, within it the longest matching rule wins
(Allow on a tie), and `*` and a closing `$` in a rule are understood.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from bot.ingest.fetch import Fetcher, FetchError, FetchErrorKind

# The product token sites name in robots.txt; the Fetcher's User-Agent starts with it.
ROBOTS_AGENT = "newsbot"
# RFC 9309 asks crawlers not to use a cached copy for more than 24 hours.
DEFAULT_TTL = timedelta(hours=12)
# Parsing stops here; RFC 9309 requires reading at least 500 KiB.
_MAX_ROBOTS_BYTES = 512 * 1024
# 429 is a 4xx, but it asks us to come back later, not to crawl freely.
_UNAVAILABLE_STATUSES = frozenset({429})


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    DISALLOWED = "disallowed"


class RobotsUnavailable(Exception):
    """robots.txt could not be read (5xx, timeout, connection); skip the site this round."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: Protego | None  # None: no robots.txt, everything allowed
    expires: datetime

    def allows(self, url: str) -> bool:
        return self.parser is None or self.parser.can_fetch(url, ROBOTS_AGENT)

    def crawl_delay(self) -> float | None:
        return None if self.parser is None else self.parser.crawl_delay(ROBOTS_AGENT)


class RobotsCache:
    def __init__(
        self,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime],
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._ttl = ttl
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str) -> Verdict:
        """May `url` be fetched? Raises RobotsUnavailable when that is unknown."""
        rules = await self._rules_for(_origin(url))
        return Verdict.ALLOWED if rules.allows(url) else Verdict.DISALLOWED

    async def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay robots.txt asks of us, in seconds, if any."""
        return (await self._rules_for(_origin(url))).crawl_delay()

    async def _rules_for(self, origin: str) -> _Rules:
        # One fetch per origin even when two sources on one site ask at once.
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            now = self._clock()
            cached = self._rules.get(origin)
            if cached is not None and cached.expires > now:
                return cached
            rules = _Rules(await self._download(origin), now + self._ttl)
            self._rules[origin] = rules
            return rules

    async def _download(self, origin: str) -> Protego | None:
        try:
            result = await self._fetcher.fetch(f"{origin}/robots.txt")
        except FetchError as exc:
            if _means_no_rules(exc):
                return None
            raise RobotsUnavailable(exc) from None
        text = result.body[:_MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return Protego.parse(text)


def _means_no_rules(error: FetchError) -> bool:
    if error.kind is FetchErrorKind.TOO_MANY_REDIRECTS:
        return True
    status = error.status
    return (
        error.kind is FetchErrorKind.HTTP_STATUS
        and status is not None
        and 400 <= status < 500
        and status not in _UNAVAILABLE_STATUSES
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))
