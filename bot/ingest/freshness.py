"""When to poll a feed next.

Two things decide it: the feed's own rhythm, how often new items have been
appearing (``rhythm_delay``), and what the publisher asks through HTTP caching
headers and the RSS <ttl> element (``stated_minimum``), which is never
undercut. The result stays within [``min_interval``, ``max_interval``]: a feed
is polled at most once a minute and still checked at least every 6 h (a feed
asking for more than 6 h gets 6 h, as before).

A feed's ``Rhythm`` is the times its latest new items appeared (``recent``)
and a count of its new items by hour of the day (``hours``). From them:

- the typical gap is the mean gap between the recent items (their span over
  their number): a rate, so a burst of items published together counts as
  a burst, not as a feed that publishes every 0 s. A median would read a
  burst as 0 s; leaving out the longest gap (the night) does too, once a
  window holds only two bursts;
- a silence longer than that stretches it: the gap is taken to be at least
  ``silence_weight`` (1/2) of the time since the last item, so a feed that
  goes quiet is polled less and less often, each interval about a quarter
  longer than the one before, up to the 6 h cap after weeks of silence;
- the hour profile can shorten it: if the feed's past days say items come
  every 4 min at this hour or the next, the gap is at most 4 min, however
  quiet the night was and however slow the last items were. Newsrooms start
  at the same hour every morning; without the profile their first morning
  items waited for polls spaced for the night. In the replay of
  bench/scheduling.py, for the same number of requests, the busy feeds' p95
  delay is 320-400 s without it and 220-230 s with it, and the sections'
  median 12-14 min without it and 9-10 min with it. The profile counts only
  hours that saw items, so a night with none brings no poll forward; it is
  used once the feed has been watched for a day, and its counts halve every
  week (``profile_half_life``);
- the interval is the smaller of half that gap (``gap_fraction``: a feed with
  an item every 4 min is polled every 2 min) and the geometric mean of the gap
  and ``quiet_scale`` (10 min). The second term is the square-root rule for
  polling on a request budget (intervals growing with the square root of the
  gap minimize the mean delay per item for a given number of requests): a
  magazine with an item every 6 h is polled hourly rather than every 3 h,
  still a sixth of what a fixed 10 min interval costs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.text.dates import parse_feed_date

__all__ = [
    "PollPolicy",
    "Rhythm",
    "adaptive_poll_delay",
    "failure_delay",
    "next_poll_delay",
    "observe_new_items",
    "rhythm_delay",
    "should_pause",
    "stated_minimum",
]

_DIRECTIVE_RE: Final = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(\"[^\"]*\"|[^,]*))?")
_DELTA_SECONDS_RE: Final = re.compile(r"\d+", re.ASCII)
# RFC 9111 5.2.1.1: a delta-seconds too large to represent means 2**31.
_DELTA_SECONDS_CAP: Final = 2**31
_HOUR: Final = 3600
_DAY: Final = 24 * _HOUR


@dataclass(frozen=True)
class PollPolicy:
    """Polling limits, in seconds except the counts and the fractions.

    ``default_interval`` is used while a feed's rhythm is unknown (fewer than
    ``min_history`` items seen); ``history`` is how many item times a feed keeps.
    """

    default_interval: float = 600.0
    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    backoff_base: float = 300.0
    backoff_cap: float = 24 * 3600.0
    pause_after_failures: int = 10
    history: int = 16
    min_history: int = 4
    gap_fraction: float = 0.5
    quiet_scale: float = 600.0
    silence_weight: float = 0.5
    profile_half_life: float = 7 * 86400.0
    profile_min_age: float = 86400.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval <= self.max_interval:
            raise ValueError("need 0 <= min_interval <= max_interval")
        if self.backoff_base <= 0 or self.backoff_cap < self.backoff_base:
            raise ValueError("need 0 < backoff_base <= backoff_cap")
        if self.pause_after_failures < 1:
            raise ValueError("pause_after_failures must be at least 1")
        if not 3 <= self.min_history <= self.history:
            raise ValueError("need 3 <= min_history <= history")
        if not (0 < self.gap_fraction <= 1 and 0 <= self.silence_weight <= 1):
            raise ValueError("need 0 < gap_fraction <= 1 and 0 <= silence_weight <= 1")
        if self.quiet_scale <= 0 or self.profile_half_life <= 0 or self.profile_min_age < 0:
            raise ValueError("need quiet_scale > 0, profile_half_life > 0, profile_min_age >= 0")


@dataclass(frozen=True, slots=True)
class Rhythm:
    """What scheduling remembers of a feed's publishing; times are UNIX seconds.

    recent: when its latest new items appeared, oldest first (at most ``history``).
    hours: its new items by hour of the day (UTC: 24 counts, or none yet), each
    count decayed with ``profile_half_life`` and as of ``recent[-1]``.
    since: when the hours began to be counted (the feed's first successful poll).
    """

    recent: tuple[int, ...] = ()
    hours: tuple[float, ...] = ()
    since: int | None = None


def next_poll_delay(
    *,
    headers: Mapping[str, str],
    ttl_minutes: int | None,
    policy: PollPolicy,
    now: datetime,
) -> float:
    """Seconds to wait after a successful fetch of a feed whose rhythm is unknown:
    the default interval, or longer if the feed asks for longer.

    ``headers`` must have lower-case names; ``now`` must be aware and is the
    reference for Expires and for Retry-After given as an HTTP date.
    """
    asked = stated_minimum(headers=headers, ttl_minutes=ttl_minutes, now=now)
    candidates = [policy.default_interval] if asked is None else [policy.default_interval, asked]
    return min(max(max(candidates), policy.min_interval), policy.max_interval)


def adaptive_poll_delay(
    *,
    rhythm: Rhythm,
    headers: Mapping[str, str],
    ttl_minutes: int | None,
    policy: PollPolicy,
    now: datetime,
) -> float:
    """Seconds to wait after a successful fetch, from the feed's rhythm.

    The rhythm's interval (``rhythm_delay``; ``next_poll_delay`` while it is
    unknown), raised to whatever the feed asks for (``stated_minimum``), all
    within [min_interval, max_interval]. Same conventions as next_poll_delay.
    """
    interval = rhythm_delay(rhythm, now=now.timestamp(), policy=policy)
    if interval is None:
        return next_poll_delay(headers=headers, ttl_minutes=ttl_minutes, policy=policy, now=now)
    asked = stated_minimum(headers=headers, ttl_minutes=ttl_minutes, now=now)
    delay = interval if asked is None else max(interval, asked)
    return min(max(delay, policy.min_interval), policy.max_interval)


def stated_minimum(
    *, headers: Mapping[str, str], ttl_minutes: int | None, now: datetime
) -> float | None:
    """The longest wait the feed asks for, in seconds, or None when it asks nothing.

    Cache-Control max-age, Expires, the RSS ttl and Retry-After: each says the
    document will not change (or must not be asked for) before then.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    candidates: list[float] = []
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
    return max(candidates) if candidates else None


def observe_new_items(
    rhythm: Rhythm,
    published: Iterable[datetime],
    *,
    seen_until: datetime | None,
    now: datetime,
    policy: PollPolicy,
) -> Rhythm:
    """The rhythm after a poll that found new items published at ``published``.

    An item new in this poll appeared after the document was last read
    (``seen_until``) and by ``now``, so its published time is clamped to that
    window: a wrong zone or a back-dated item moves it within one interval at
    most. Without ``seen_until`` (the first poll) the items are the document's
    history: they join ``recent`` (clamped to ``now``) but not the hour counts,
    which begin with this poll. ``since`` is set to ``now`` if it was unset.
    """
    low = seen_until.timestamp() if seen_until is not None else -math.inf
    high = now.timestamp()
    added = sorted(int(min(max(p.timestamp(), low), high)) for p in published)
    since = rhythm.since if rhythm.since is not None else int(high)
    hours = list(rhythm.hours) if len(rhythm.hours) == 24 else [0.0] * 24
    if seen_until is not None:
        as_of = max(rhythm.recent, default=None)
        for moment in added:
            if as_of is not None and moment > as_of:
                decay = math.exp2(-(moment - as_of) / policy.profile_half_life)
                hours = [count * decay for count in hours]
            if as_of is None or moment > as_of:
                as_of = moment
            hours[moment % _DAY // _HOUR] += 1.0
    recent = tuple(sorted([*rhythm.recent, *added])[-policy.history :])
    return Rhythm(recent, tuple(hours) if any(hours) else rhythm.hours, since)


def rhythm_delay(rhythm: Rhythm, *, now: float, policy: PollPolicy) -> float | None:
    """The interval the feed's rhythm calls for, or None while it is unknown.

    min(gap_fraction x gap, sqrt(gap x quiet_scale)), clamped to [min_interval,
    max_interval], where gap is the mean gap between recent items or
    silence_weight of the time since the last item, whichever is longer; or
    what the hour profile expects now, if that is shorter.
    """
    if len(rhythm.recent) < policy.min_history:
        return None
    times = sorted(rhythm.recent)
    gap = (times[-1] - times[0]) / (len(times) - 1)
    gap = max(gap, policy.silence_weight * max(0.0, now - times[-1]))
    expected = _profile_gap(rhythm, now=now, policy=policy)
    if expected is not None:
        gap = min(gap, expected)
    interval = min(policy.gap_fraction * gap, math.sqrt(gap * policy.quiet_scale))
    return min(max(interval, policy.min_interval), policy.max_interval)


def _profile_gap(rhythm: Rhythm, *, now: float, policy: PollPolicy) -> float | None:
    """Seconds between items the hour profile expects in this hour or the next
    (the busier of the two), or None: no profile yet, or no items in those hours."""
    if len(rhythm.hours) != 24 or rhythm.since is None or not rhythm.recent:
        return None
    watched = now - rhythm.since
    if watched < policy.profile_min_age:
        return None
    half_life = policy.profile_half_life
    # Days of watching, each weighted like the counts: the integral of the decay.
    days = half_life / math.log(2) * (1 - math.exp2(-watched / half_life)) / _DAY
    decay = math.exp2(-max(0.0, now - max(rhythm.recent)) / half_life)
    hour = int(now) % _DAY // _HOUR
    busiest = max(rhythm.hours[hour], rhythm.hours[(hour + 1) % 24]) * decay
    if busiest <= 0:
        return None
    return days * _HOUR / busiest


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
