from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.freshness import (
    PollPolicy,
    Rhythm,
    adaptive_poll_delay,
    failure_delay,
    next_poll_delay,
    observe_new_items,
    parse_retry_after,
    rhythm_delay,
    should_pause,
    stated_minimum,
)

POLICY = PollPolicy()
NOW = datetime(2026, 9, 24, 2, 0, 0, tzinfo=UTC)
IN_ONE_HOUR = "Thu, 24 Sep 2026 03:00:00 GMT"
AN_HOUR_AGO = "Thu, 24 Sep 2026 01:00:00 GMT"


def delay(headers: dict[str, str], ttl_minutes: int | None = None) -> float:
    return next_poll_delay(headers=headers, ttl_minutes=ttl_minutes, policy=POLICY, now=NOW)


@pytest.mark.parametrize(
    ("headers", "ttl_minutes", "expected"),
    [
        # Nothing asked for: the default interval.
        ({}, None, 600.0),
        # Each source alone, above the default.
        ({"cache-control": "max-age=1800"}, None, 1800.0),
        ({"cache-control": "public, max-age=1800, must-revalidate"}, None, 1800.0),
        ({"cache-control": 'max-age="1800"'}, None, 1800.0),
        ({"cache-control": "MAX-AGE = 1800"}, None, 1800.0),
        ({"expires": IN_ONE_HOUR}, None, 3600.0),
        ({}, 45, 2700.0),
        ({"retry-after": "1200"}, None, 1200.0),
        ({"retry-after": IN_ONE_HOUR}, None, 3600.0),
        # Sources below the default never make us poll faster than the default.
        ({"cache-control": "max-age=60"}, None, 600.0),
        ({"cache-control": "max-age=0"}, None, 600.0),
        ({}, 5, 600.0),
        ({"retry-after": "30"}, None, 600.0),
        # The largest request wins.
        (
            {"cache-control": "max-age=1800", "expires": IN_ONE_HOUR, "retry-after": "900"},
            20,
            3600.0,
        ),
        ({"cache-control": "max-age=1800", "expires": IN_ONE_HOUR}, 90, 5400.0),
        # Ignored sources.
        ({"cache-control": "no-cache, max-age=7200"}, None, 600.0),
        ({"cache-control": "no-store, max-age=7200"}, None, 600.0),
        ({"cache-control": "s-maxage=7200"}, None, 600.0),
        ({"cache-control": "s-maxage=7200, max-age=900"}, None, 900.0),
        ({"cache-control": "max-age=soon"}, None, 600.0),
        ({"cache-control": "max-age=-5"}, None, 600.0),
        ({"cache-control": ""}, None, 600.0),
        ({"expires": AN_HOUR_AGO}, None, 600.0),
        ({"expires": "0"}, None, 600.0),
        ({"expires": "-1"}, None, 600.0),
        ({"expires": "never"}, None, 600.0),
        ({"retry-after": AN_HOUR_AGO}, None, 600.0),
        ({"retry-after": "-10"}, None, 600.0),
        ({"retry-after": "later"}, None, 600.0),
        ({}, 0, 600.0),
        ({}, -3, 600.0),
        # Clamped to max_interval.
        ({"cache-control": "max-age=86400"}, None, 6 * 3600.0),
        ({"cache-control": "max-age=" + "9" * 5000}, None, 6 * 3600.0),
        ({"expires": "Fri, 01 Jan 2027 00:00:00 GMT"}, None, 6 * 3600.0),
        ({}, 1440, 6 * 3600.0),
        ({"retry-after": "999999"}, None, 6 * 3600.0),
    ],
)
def test_next_poll_delay(headers: dict[str, str], ttl_minutes: int | None, expected: float) -> None:
    assert delay(headers, ttl_minutes) == expected


def test_expires_is_measured_from_now() -> None:
    later = datetime(2026, 9, 24, 2, 30, 0, tzinfo=UTC)
    got = next_poll_delay(
        headers={"expires": IN_ONE_HOUR}, ttl_minutes=None, policy=POLICY, now=later
    )
    assert got == 1800.0


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # A default below min_interval is raised to it.
        (PollPolicy(default_interval=10.0, min_interval=60.0), 60.0),
        (PollPolicy(default_interval=10.0, min_interval=0.0), 10.0),
        (PollPolicy(max_interval=300.0, default_interval=600.0), 300.0),
    ],
)
def test_clamping(policy: PollPolicy, expected: float) -> None:
    assert next_poll_delay(headers={}, ttl_minutes=None, policy=policy, now=NOW) == expected


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        next_poll_delay(headers={}, ttl_minutes=None, policy=POLICY, now=datetime(2026, 9, 24))


@given(
    st.dictionaries(
        st.sampled_from(["cache-control", "expires", "retry-after", "date"]),
        st.text(max_size=60),
    ),
    st.none() | st.integers(min_value=-(10**6), max_value=10**9),
)
def test_next_poll_delay_always_within_bounds(
    headers: dict[str, str], ttl_minutes: int | None
) -> None:
    got = delay(headers, ttl_minutes)
    assert POLICY.default_interval <= got <= POLICY.max_interval


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (IN_ONE_HOUR, 3600.0),
        (AN_HOUR_AGO, None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, 300.0),
        (2, 600.0),
        (3, 1200.0),
        (4, 2400.0),
        (9, 76800.0),
        (10, 86400.0),
        (11, 86400.0),
        (1000, 86400.0),
        (10**9, 86400.0),
    ],
)
def test_failure_delay_doubles_then_caps(failures: int, expected: float) -> None:
    assert failure_delay(failures=failures, retry_after=None, policy=POLICY) == expected


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [
        (1, 3600.0, 3600.0),
        (1, 120.0, 300.0),
        (3, 1200.0, 1200.0),
        (3, 1500.0, 1500.0),
        (1, 10**7, 86400.0),
        (1, float("inf"), 300.0),
        (1, float("nan"), 300.0),
        (1, -50.0, 300.0),
    ],
)
def test_failure_delay_retry_after(failures: int, retry_after: float, expected: float) -> None:
    assert failure_delay(failures=failures, retry_after=retry_after, policy=POLICY) == expected


def test_failure_delay_custom_policy() -> None:
    policy = PollPolicy(backoff_base=10.0, backoff_cap=50.0)
    got = [failure_delay(failures=n, retry_after=None, policy=policy) for n in range(1, 6)]
    assert got == [10.0, 20.0, 40.0, 50.0, 50.0]


@pytest.mark.parametrize("failures", [0, -1])
def test_failure_delay_needs_a_failure(failures: int) -> None:
    with pytest.raises(ValueError):
        failure_delay(failures=failures, retry_after=None, policy=POLICY)


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, False), (1, False), (9, False), (10, True), (11, True)]
)
def test_should_pause(failures: int, expected: bool) -> None:
    assert should_pause(failures, POLICY) is expected


def test_should_pause_custom_threshold() -> None:
    assert should_pause(3, PollPolicy(pause_after_failures=3))
    assert not should_pause(2, PollPolicy(pause_after_failures=3))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_interval": 600.0, "max_interval": 60.0},
        {"min_interval": -1.0},
        {"backoff_base": 0.0},
        {"backoff_base": 100.0, "backoff_cap": 50.0},
        {"pause_after_failures": 0},
    ],
)
def test_policy_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PollPolicy(**kwargs)


# ---- scheduling by the feed's rhythm --------------------------------------------------

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR
T0 = int(NOW.timestamp())


def every(gap: float, count: int = 16, *, last: int = T0) -> Rhythm:
    """A rhythm of `count` items `gap` seconds apart, the last one at `last`."""
    return Rhythm(tuple(int(last - gap * i) for i in range(count - 1, -1, -1)))


def rhythm_at(rhythm: Rhythm, now: int, policy: PollPolicy = POLICY) -> float:
    got = rhythm_delay(rhythm, now=now, policy=policy)
    assert got is not None
    return got


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_an_unknown_rhythm_is_scheduled_as_before() -> None:
    for rhythm in (Rhythm(), every(MINUTE, count=POLICY.min_history - 1)):
        assert rhythm_delay(rhythm, now=T0, policy=POLICY) is None
        for headers, ttl in (({}, None), ({"cache-control": "max-age=1800"}, None), ({}, 60)):
            assert adaptive_poll_delay(
                rhythm=rhythm, headers=headers, ttl_minutes=ttl, policy=POLICY, now=NOW
            ) == delay(headers, ttl)


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (30, 60.0),  # faster than the floor allows
        (2 * MINUTE, 60.0),
        (4 * MINUTE, 120.0),  # half the gap
        (10 * MINUTE, 300.0),
        (HOUR, math.sqrt(HOUR * 600)),  # ≈ 24.5 min: the square-root rule takes over
        (6 * HOUR, 3600.0),
        (2 * DAY, math.sqrt(2 * DAY * 600)),
    ],
)
def test_the_interval_follows_the_gap_between_items(gap: int, expected: float) -> None:
    assert rhythm_at(every(gap), T0) == pytest.approx(expected)


def test_a_feed_that_speeds_up_is_polled_more_often_down_to_the_floor() -> None:
    rhythm = every(20 * MINUTE, last=T0)
    intervals = []
    now = T0
    for _ in range(3 * POLICY.history):  # items come every 90 s from now on
        now += 90
        rhythm = observe_new_items(
            rhythm, [at(now - 1)], seen_until=at(now - 90), now=at(now), policy=POLICY
        )
        intervals.append(rhythm_at(rhythm, now))
    assert intervals == sorted(intervals, reverse=True)
    assert intervals[0] > 8 * MINUTE
    assert intervals[-1] == POLICY.min_interval


def test_a_silent_feed_is_polled_less_and_less_often_up_to_six_hours() -> None:
    rhythm = every(5 * MINUTE)
    silences = [0, 10 * MINUTE, HOUR, 6 * HOUR, DAY, 7 * DAY, 30 * DAY]
    intervals = [rhythm_at(rhythm, T0 + s) for s in silences]
    assert intervals == sorted(intervals)
    assert intervals[0] == 150.0  # half of 5 min: a silence shorter than two gaps changes nothing
    assert intervals[1] == 150.0
    assert intervals[2] == pytest.approx(HOUR / 4)  # a quarter of the silence
    assert intervals[-1] == POLICY.max_interval


def test_polls_into_a_silence_grow_gradually() -> None:
    rhythm = every(5 * MINUTE)
    now, intervals = T0, []
    while now < T0 + 3 * DAY:
        step = rhythm_at(rhythm, now)
        intervals.append(step)
        now += int(step)
    growth = [later / earlier for earlier, later in itertools.pairwise(intervals)]
    assert max(growth) <= 1.25 + 1e-9  # never more than a quarter longer than the last
    assert intervals[-1] > 2 * HOUR


def test_a_burst_counts_as_a_burst() -> None:
    # Eight items at once, an hour apart: 16 items in an hour, not one every 0 s.
    times = sorted(T0 - h * HOUR for h in range(2) for _ in range(8))
    assert rhythm_at(Rhythm(tuple(times)), T0) == HOUR / 15 / 2


@pytest.mark.parametrize(
    ("headers", "ttl_minutes", "asked"),
    [
        ({"cache-control": "max-age=300"}, None, 300.0),
        ({"cache-control": "public, max-age=1800"}, None, 1800.0),
        ({}, 15, 900.0),
        ({"retry-after": "1200"}, None, 1200.0),
        ({"retry-after": IN_ONE_HOUR}, None, 3600.0),
        ({"expires": IN_ONE_HOUR}, None, 3600.0),
        ({"cache-control": "max-age=600", "retry-after": "90"}, 5, 600.0),
    ],
)
def test_what_a_busy_feed_asks_for_is_never_undercut(
    headers: dict[str, str], ttl_minutes: int | None, asked: float
) -> None:
    busy = every(2 * MINUTE)
    assert rhythm_at(busy, T0) == 60.0
    got = adaptive_poll_delay(
        rhythm=busy, headers=headers, ttl_minutes=ttl_minutes, policy=POLICY, now=NOW
    )
    assert got == asked
    assert stated_minimum(headers=headers, ttl_minutes=ttl_minutes, now=NOW) == asked


def test_a_quiet_feed_still_honours_a_longer_ask_up_to_the_cap() -> None:
    quiet = every(2 * HOUR)
    for ttl, expected in ((60 * 4, 4 * HOUR), (60 * 24, POLICY.max_interval)):
        got = adaptive_poll_delay(rhythm=quiet, headers={}, ttl_minutes=ttl, policy=POLICY, now=NOW)
        assert got == expected


def test_stated_minimum_is_none_when_nothing_is_asked() -> None:
    assert stated_minimum(headers={}, ttl_minutes=None, now=NOW) is None
    assert stated_minimum(headers={"cache-control": "no-cache"}, ttl_minutes=0, now=NOW) is None


@given(
    st.lists(st.integers(min_value=T0 - 30 * DAY, max_value=T0), max_size=20),
    st.lists(st.floats(min_value=0, max_value=50), min_size=24, max_size=24) | st.just([]),
    st.none() | st.integers(min_value=T0 - 60 * DAY, max_value=T0),
    st.dictionaries(
        st.sampled_from(["cache-control", "expires", "retry-after"]), st.text(max_size=40)
    ),
    st.none() | st.integers(min_value=-10, max_value=10**6),
    st.integers(min_value=0, max_value=40 * DAY),
)
def test_adaptive_delay_is_within_bounds_and_never_undercuts_the_feed(
    recent: list[int],
    hours: list[float],
    since: int | None,
    headers: dict[str, str],
    ttl_minutes: int | None,
    later: int,
) -> None:
    now = at(T0 + later)
    rhythm = Rhythm(tuple(sorted(recent)), tuple(hours), since)
    got = adaptive_poll_delay(
        rhythm=rhythm, headers=headers, ttl_minutes=ttl_minutes, policy=POLICY, now=now
    )
    assert POLICY.min_interval <= got <= POLICY.max_interval
    asked = stated_minimum(headers=headers, ttl_minutes=ttl_minutes, now=now)
    if asked is not None:
        assert got >= min(asked, POLICY.max_interval)


def test_observe_clamps_new_items_into_the_poll_window() -> None:
    seen_until, now = at(T0 - 600), at(T0)
    published = [at(T0 - DAY), at(T0 - 300), at(T0 + HOUR)]  # back-dated, plausible, ahead

    got = observe_new_items(
        Rhythm((T0 - 900,)), published, seen_until=seen_until, now=now, policy=POLICY
    )

    assert got.recent == (T0 - 900, T0 - 600, T0 - 300, T0)


def test_observe_keeps_the_newest_items_only() -> None:
    rhythm = every(MINUTE, count=POLICY.history, last=T0 - HOUR)
    new = [at(T0 - 30), at(T0 - 20), at(T0 - 10)]
    got = observe_new_items(rhythm, new, seen_until=at(T0 - 60), now=at(T0), policy=POLICY)
    assert len(got.recent) == POLICY.history
    assert got.recent[-3:] == (T0 - 30, T0 - 20, T0 - 10)
    assert got.recent[:-3] == rhythm.recent[3:]


def test_the_first_poll_learns_the_documents_history_but_counts_no_hours() -> None:
    history = [at(T0 - n * 600) for n in range(1, 6)]
    got = observe_new_items(Rhythm(), history, seen_until=None, now=NOW, policy=POLICY)
    assert got.recent == tuple(T0 - n * 600 for n in range(5, 0, -1))
    assert got.hours == ()
    assert got.since == T0


def test_new_items_are_counted_by_hour_of_day_and_decay() -> None:
    start = Rhythm((T0 - 2 * HOUR,), since=T0 - DAY)
    one = observe_new_items(
        start, [at(T0 - 60)], seen_until=at(T0 - 600), now=at(T0), policy=POLICY
    )
    hour = (T0 - 60) % DAY // HOUR
    assert one.hours[hour] == 1.0 and sum(one.hours) == 1.0
    assert one.since == T0 - DAY
    # A week later the count has halved before the next item is added.
    week = 7 * DAY
    two = observe_new_items(
        one,
        [at(T0 - 60 + week)],
        seen_until=at(T0 + week - 600),
        now=at(T0 + week),
        policy=POLICY,
    )
    assert two.hours[hour] == pytest.approx(1.5)


def newsroom_days(days: int, *, start_hour: int = 5, end_hour: int = 23) -> Rhythm:
    """A feed watched for `days` days that published every 4 min from start_hour to end_hour
    UTC and never at night; the last item yesterday at end_hour."""
    rhythm = Rhythm(since=T0 - days * DAY)
    midnight = T0 - T0 % DAY
    previous = float(T0 - days * DAY)
    for day in range(days, 0, -1):
        for t in range(start_hour * HOUR, end_hour * HOUR, 4 * MINUTE):
            moment = midnight - day * DAY + t
            rhythm = observe_new_items(
                rhythm, [at(moment)], seen_until=at(previous), now=at(moment), policy=POLICY
            )
            previous = moment
    return rhythm


def test_the_hour_profile_gets_a_newsroom_ready_for_the_morning() -> None:
    rhythm = newsroom_days(7)
    midnight = T0 - T0 % DAY
    without = replace(POLICY, profile_min_age=math.inf)
    # 04:55, six hours into the night: the profile expects an item every 4 min in the next hour.
    # (About 120 s: the counts and the days watched decay a little differently.)
    assert rhythm_at(rhythm, midnight + 4 * HOUR + 55 * MINUTE) == pytest.approx(120.0, rel=0.1)
    assert rhythm_at(rhythm, midnight + 4 * HOUR + 55 * MINUTE, without) > 30 * MINUTE
    # 02:00: nothing ever came at this hour, so the night's backoff stands.
    at_two = midnight + 2 * HOUR
    assert rhythm_at(rhythm, at_two) == rhythm_at(rhythm, at_two, without) > 20 * MINUTE


def test_the_hour_profile_waits_for_a_day_of_watching() -> None:
    rhythm = newsroom_days(7)
    young = replace(rhythm, since=T0 - DAY // 2)
    morning = T0 - T0 % DAY + 4 * HOUR + 55 * MINUTE
    assert rhythm_at(young, morning) == rhythm_at(
        rhythm, morning, replace(POLICY, profile_min_age=math.inf)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"history": 2, "min_history": 2},
        {"min_history": 20},
        {"gap_fraction": 0.0},
        {"gap_fraction": 1.5},
        {"silence_weight": -0.1},
        {"quiet_scale": 0.0},
        {"profile_half_life": 0.0},
        {"profile_min_age": -1.0},
    ],
)
def test_rhythm_policy_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PollPolicy(**kwargs)
