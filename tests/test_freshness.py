from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.freshness import (
    PollPolicy,
    failure_delay,
    next_poll_delay,
    parse_retry_after,
    should_pause,
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
