from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text.dates import format_local, parse_feed_date, sane_published_at

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# 09:05:26 in Vietnam (UTC+7) on 24 Sep 2026, the instant most cases below describe.
VN_0905 = utc(2026, 9, 24, 2, 5, 26)

PARSE_CASES: list[tuple[str, datetime]] = [
    # RFC 822 / 2822 with the zone spellings Vietnamese feeds use.
    ("Sat, 25 Mar 2017 19:40:38 +0700", utc(2017, 3, 25, 12, 40, 38)),
    ("Thu, 24 Sep 2026 09:05:26 +0700", VN_0905),
    ("Thu, 24 Sep 2026 09:05:26 +07:00", VN_0905),
    ("Wed, 23 Sep 2026 17:02:29 +07", utc(2026, 9, 23, 10, 2, 29)),
    # VietnamBiz means UTC+7; dateutil's POSIX reading would give 16:05:26 UTC.
    ("Thu, 24 Sep 2026 09:05:26 GMT+7", VN_0905),
    ("Thu, 24 Sep 2026 09:05:26 GMT+07:00", VN_0905),
    ("Thu, 24 Sep 2026 09:05:26 UTC+7", VN_0905),
    ("Thu, 24 Sep 2026 09:05:26 GMT-5", utc(2026, 9, 24, 14, 5, 26)),
    ("Thu, 24 Sep 2026 09:05:26 +0700 (ICT)", VN_0905),
    ("Thu, 24 Sep 2026 09:05:26 ICT", VN_0905),
    ("Thu, 24 Sep 2026 02:05:26 GMT", VN_0905),
    ("Thu, 24 Sep 2026 02:05:26 UT", VN_0905),
    ("Thu, 24 Sep 2026 02:05:26 UTC", VN_0905),
    ("Thu, 24 Sep 2026 02:05:26 Z", VN_0905),
    ("Thu, 24 Sep 2026 02:05:26 -0000", VN_0905),
    ("Wed, 23 Sep 2026 22:05:26 EDT", VN_0905),
    ("Wed, 23 Sep 2026 21:05:26 EST", VN_0905),
    ("Wed, 23 Sep 2026 21:05:26 CDT", VN_0905),
    ("Wed, 23 Sep 2026 20:05:26 CST", VN_0905),
    ("Wed, 23 Sep 2026 19:05:26 PDT", VN_0905),
    ("Wed, 23 Sep 2026 18:05:26 PST", VN_0905),
    ("Wed, 23 Sep 2026 19:05:26 MST", VN_0905),
    ("Wed, 23 Sep 2026 20:05:26 MDT", VN_0905),
    # Weekday missing, wrong, or spelled out; full month names; no seconds.
    ("24 Sep 2026 09:05:26 +0700", VN_0905),
    ("Mon, 24 Sep 2026 09:05:26 +0700", VN_0905),
    ("Thursday, 24 September 2026 09:05:26 +0700", VN_0905),
    ("Thu, 24 Sept 2026 09:05:26 +0700", VN_0905),
    ("Thu, 24 sep 2026 09:05 +0700", utc(2026, 9, 24, 2, 5)),
    ("Thu, 24 Sep 2026 09:05:26", VN_0905),
    ("Thu,24 Sep 2026 09:05:26 +0700", VN_0905),
    # Two-digit years, RFC 2822 rule.
    ("Thu, 24 Sep 26 09:05:26 +0700", VN_0905),
    ("Fri, 24 Sep 99 09:05:26 +0700", utc(1999, 9, 24, 2, 5, 26)),
    ("Tue, 24 Sep 49 09:05:26 +0700", utc(2049, 9, 24, 2, 5, 26)),
    ("Sat, 24 Sep 50 09:05:26 +0700", utc(1950, 9, 24, 2, 5, 26)),
    # HTTP date forms (RFC 850 and asctime, which is always GMT for HTTP).
    ("Sunday, 06-Nov-94 08:49:37 GMT", utc(1994, 11, 6, 8, 49, 37)),
    ("Sun Nov  6 08:49:37 1994", utc(1994, 11, 6, 1, 49, 37)),
    ("Sep 24, 2026 9:05:26 AM", VN_0905),
    # ISO 8601 / Atom.
    ("2026-09-24T09:05:26+07:00", VN_0905),
    ("2026-09-24T02:05:26Z", VN_0905),
    ("2026-09-24T09:05:26+0700", VN_0905),
    ("2026-09-24T09:05:26.250+07:00", VN_0905 + timedelta(milliseconds=250)),
    ("2026-09-24T02:05:26.123456789Z", VN_0905 + timedelta(microseconds=123456)),
    ("2026-09-24 09:05:26", VN_0905),
    ("2026-09-24T09:05:26", VN_0905),
    ("2026-09-24", utc(2026, 9, 23, 17)),
    ("2026/09/24 09:05:26", VN_0905),
    # Báo Chính phủ: .NET en-US, month/day/year with a 12-hour clock.
    ("9/14/2026 6:44:00 PM", utc(2026, 9, 14, 11, 44)),
    ("9/14/2026 6:44:00 AM", utc(2026, 9, 13, 23, 44)),
    ("9/14/2026 12:05:00 AM", utc(2026, 9, 13, 17, 5)),
    ("9/14/2026 12:05:00 PM", utc(2026, 9, 14, 5, 5)),
    ("3/4/2026 6:44:00 PM", utc(2026, 3, 4, 11, 44)),
    ("14/9/2026 6:44 PM", utc(2026, 9, 14, 11, 44)),
    # Vietnamese pages: day first, 24-hour clock.
    ("24/09/2026 09:05", utc(2026, 9, 24, 2, 5)),
    ("24-09-2026 09:05:26", VN_0905),
    ("24.09.2026 09:05:26", VN_0905),
    ("03/04/2026 09:05", utc(2026, 4, 3, 2, 5)),
    ("24/09/26 09:05:26", VN_0905),
    ("24/09/2026", utc(2026, 9, 23, 17)),
    ("06:23, 04/06/2023", utc(2023, 6, 3, 23, 23)),
    ("06:23 04/06/2023", utc(2023, 6, 3, 23, 23)),
    ("06h23, 04/06/2023", utc(2023, 6, 3, 23, 23)),
    ("06:23 ngày 04/06/2023", utc(2023, 6, 3, 23, 23)),
    ("Thứ ba, 25/06/2024 - 06:23", utc(2024, 6, 24, 23, 23)),
    ("Chủ nhật, 23/6/2024, 20:15 (GMT+7)", utc(2024, 6, 23, 13, 15)),
    ("Cập nhật: 25/06/2024 06:23", utc(2024, 6, 24, 23, 23)),
    ("25/06/2024 06:23 CH", utc(2024, 6, 25, 11, 23)),
    ("03/04/2026 06:23 SA", utc(2026, 4, 2, 23, 23)),
    # Odd white space around otherwise good dates.
    ("  Thu, 24 Sep 2026\t09:05:26\u00a0+0700\n", VN_0905),
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_CASES)
def test_parse_feed_date(raw: str, expected: datetime) -> None:
    got = parse_feed_date(raw, default_tz=VN)
    assert got == expected
    assert got is not None
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-09-24 09:05:26", utc(2026, 9, 24, 9, 5, 26)),
        ("24/09/2026 09:05", utc(2026, 9, 24, 9, 5)),
        ("2026-09-24 09:05:26+07:00", VN_0905),
    ],
)
def test_default_tz_only_applies_without_a_zone(raw: str, expected: datetime) -> None:
    assert parse_feed_date(raw, default_tz=UTC) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "garbage",
        "0",
        "-1",
        "1727143526",
        "Thu, 30 Feb 2026 09:05:26 +0700",
        "30/02/2026 10:00",
        "2026-02-30T10:00:00Z",
        "2026-09-24T25:00:00Z",
        "24/09/2026 25:00",
        "24/09/2026 09:61",
        "13/13/2026 09:05",
        "9/14/2026 13:00:00 AM",
        "Thu, 24 Foo 2026 09:05:26 +0700",
        "Thu, 24 Sep 2026 09:05:26 +2500",
        "Thu, 24 Sep 2026 09:05:26 +0760",
        "Thu, 24 Sep 2026 09:05:26 CEST",
        "Thu, 24 Sep 2026 09:05:26 +0700 and more",
        "1/2/3",
        "0001-01-01T00:00:00+07:00",
        "24 Sep 2026 09:05:26 +0700" * 20,
    ],
)
def test_unreadable_is_none(raw: str | None) -> None:
    assert parse_feed_date(raw, default_tz=VN) is None


@given(st.text(max_size=300))
def test_parse_never_raises(raw: str) -> None:
    got = parse_feed_date(raw, default_tz=VN)
    assert got is None or got.tzinfo is UTC


@given(
    st.text(alphabet="0123456789 :/-.,+TZAPMGUTCSTHhứbaThu()Sepngày", max_size=40),
)
def test_parse_never_raises_on_date_like_text(raw: str) -> None:
    got = parse_feed_date(raw, default_tz=VN)
    assert got is None or got.tzinfo is UTC


_instants = st.datetimes(
    min_value=datetime(1950, 1, 2), max_value=datetime(2049, 12, 30), timezones=st.just(UTC)
)
_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(_instants, _offsets)
def test_rfc2822_round_trip(instant: datetime, tz: timezone) -> None:
    instant = instant.replace(microsecond=0)
    assert parse_feed_date(format_datetime(instant.astimezone(tz)), default_tz=VN) == instant


@given(_instants, _offsets)
def test_iso_round_trip(instant: datetime, tz: timezone) -> None:
    assert parse_feed_date(instant.astimezone(tz).isoformat(), default_tz=VN) == instant


FETCHED = utc(2026, 9, 24, 3, 0)


@pytest.mark.parametrize(
    ("parsed", "expected"),
    [
        (None, FETCHED),
        (VN_0905, VN_0905),
        (FETCHED + timedelta(minutes=15), FETCHED + timedelta(minutes=15)),
        (FETCHED + timedelta(minutes=16), FETCHED),
        # A publisher labelling local time as UTC lands seven hours ahead.
        (FETCHED + timedelta(hours=7), FETCHED),
        (utc(1995, 1, 1), utc(1995, 1, 1)),
        (utc(1994, 12, 31, 23, 59), FETCHED),
        (utc(1970, 1, 1), FETCHED),
        (datetime(2026, 9, 24, 9, 5, 26, tzinfo=VN), VN_0905),
    ],
)
def test_sane_published_at(parsed: datetime | None, expected: datetime) -> None:
    got = sane_published_at(parsed, fetched_at=FETCHED)
    assert got == expected
    assert got.tzinfo is UTC


def test_sane_published_at_returns_fetched_at_in_utc() -> None:
    fetched_local = FETCHED.astimezone(VN)
    got = sane_published_at(None, fetched_at=fetched_local)
    assert got == FETCHED
    assert got.tzinfo is UTC


def test_sane_published_at_custom_limits() -> None:
    ahead = FETCHED + timedelta(hours=1)
    assert sane_published_at(ahead, fetched_at=FETCHED, max_future=timedelta(hours=2)) == ahead
    assert sane_published_at(utc(2001, 1, 1), fetched_at=FETCHED, min_year=2010) == FETCHED


def test_sane_published_at_rejects_naive() -> None:
    with pytest.raises(ValueError):
        sane_published_at(None, fetched_at=datetime(2026, 9, 24))
    with pytest.raises(ValueError):
        sane_published_at(datetime(2026, 9, 24), fetched_at=FETCHED)


@pytest.mark.parametrize(
    ("dt", "language", "expected"),
    [
        (VN_0905, "vi", "09:05, 24/09/2026"),
        (VN_0905, "en", "24 Sep 2026, 09:05"),
        (VN_0905, "vi-VN", "09:05, 24/09/2026"),
        (VN_0905, "en-US", "24 Sep 2026, 09:05"),
        (VN_0905, "fr", "24 Sep 2026, 09:05"),
        (VN_0905, "", "24 Sep 2026, 09:05"),
        # Crossing midnight in local time moves the date too.
        (utc(2026, 1, 4, 17, 1), "vi", "00:01, 05/01/2026"),
        (utc(2026, 1, 4, 17, 1), "en", "05 Jan 2026, 00:01"),
        (utc(2026, 12, 31, 8, 30), "en", "31 Dec 2026, 15:30"),
    ],
)
def test_format_local(dt: datetime, language: str, expected: str) -> None:
    assert format_local(dt, tz=VN, language=language) == expected


def test_format_local_other_zone() -> None:
    assert format_local(VN_0905, tz=UTC, language="vi") == "02:05, 24/09/2026"
