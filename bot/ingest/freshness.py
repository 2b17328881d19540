"""When to poll a feed next.

Publishers say how fresh their feed stays through HTTP caching headers and the
RSS <ttl> element. We honour the longest of those requests so we never poll
more often than a feed allows, and cap the result so a feed is still checked
at least every ``max_interval``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.text.dates import parse_feed_date

__all__ = ["PollPolicy", "failure_delay", "next_poll_delay", "should_pause"]

_DIRECTIVE_RE: Final = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(\"[^\"]*\"|[^,]*))?")
_DELTA_SECONDS_RE: Final = re.compile(r"\d+", re.ASCII)
# RFC 9111 5.2.1.1: a delta-seconds too large to represent means 2**31.
_DELTA_SECONDS_CAP: Final = 2**31


@dataclass(frozen=True)
class PollPolicy:
    """Polling limits, all in seconds except ``pause_after_failures``."""

    default_interval: float = 600.0
    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    backoff_base: float = 300.0
    backoff_cap: float = 24 * 3600.0
    pause_after_failures: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval <= self.max_interval:
            raise ValueError("need 0 <= min_interval <= max_interval")
        if self.backoff_base <= 0 or self.backoff_cap < self.backoff_base:
            raise ValueError("need 0 < backoff_base <= backoff_cap")
        if self.pause_after_failures < 1:
            raise ValueError("pause_after_failures must be at least 1")


def next_poll_delay(
    *,
    headers: Mapping[str, str],
    ttl_minutes: int | None,
    policy: PollPolicy,
    now: datetime,
) -> float:
    """Seconds to wait after a successful fetch.

    ``headers`` must have lower-case names; ``now`` must be aware and is the
    reference for Expires and for Retry-After given as an HTTP date.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    candidates = [policy.default_interval]
    max_age = _max_age(headers.get("cache-control"))
    if max_age is not None:
        candidates.append(max_age)
    expires = _seconds_until(headers.get("expires"), now)
    if expires is not None:
        candidates.append(expires)
    if ttl_minutes is not None and ttl_minutes > 0:
        candidates.append(ttl_minutes * 60.0)
    retry_after = parse_retry_after(headers.get("retry-after"), now=now)
    if retry_after is not None:
        candidates.append(retry_after)
    return min(max(max(candidates), policy.min_interval), policy.max_interval)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as seconds from ``now`` (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS_RE.fullmatch(value):
        return _delta_seconds(value)
    return _seconds_until(value, now)


def failure_delay(*, failures: int, retry_after: float | None, policy: PollPolicy) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure (1-based).

    Doubles from ``backoff_base``; a larger server Retry-After wins, and
    neither may exceed ``backoff_cap``.
    """
    if failures < 1:
        raise ValueError("failures must be at least 1")
    # Beyond 2**62 the cap always applies; bounding the exponent keeps the
    # float multiplication from overflowing on absurd failure counts.
    delay = policy.backoff_base * 2.0 ** min(failures - 1, 62)
    if retry_after is not None and math.isfinite(retry_after) and retry_after > delay:
        delay = retry_after
    return min(delay, policy.backoff_cap)


def should_pause(failures: int, policy: PollPolicy) -> bool:
    """True once a feed has failed often enough to stop polling it automatically."""
    return failures >= policy.pause_after_failures


def _max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    directives: dict[str, str | None] = {}
    for part in cache_control.split(","):
        m = _DIRECTIVE_RE.fullmatch(part)
        if m is None:
            continue
        name = m[1].lower()
        # RFC 9111 leaves duplicates undefined; the first one is the usual choice.
        directives.setdefault(name, m[2].strip().strip('"') if m[2] is not None else None)
    # no-cache/no-store say nothing about how long the content stays fresh, so
    # any max-age beside them is not a promise we can lean on. s-maxage is for
    # shared caches and we are a private client, so it is not read at all.
    if "no-cache" in directives or "no-store" in directives:
        return None
    value = directives.get("max-age")
    if value is None or not _DELTA_SECONDS_RE.fullmatch(value):
        return None
    return _delta_seconds(value)


def _delta_seconds(digits: str) -> float:
    # Checking length first keeps int() away from absurdly long digit strings.
    if len(digits) > 10:
        return float(_DELTA_SECONDS_CAP)
    return float(min(int(digits), _DELTA_SECONDS_CAP))


def _seconds_until(http_date: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` to an HTTP date; None if unparsable or not in the future."""
    when = parse_feed_date(http_date, default_tz=UTC)
    if when is None:
        return None
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None
