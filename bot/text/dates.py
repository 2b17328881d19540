"""Publication dates as Vietnamese news sites really write them.

Feed dates arrive in a handful of shapes (RFC 822, ISO 8601, .NET's US format,
Vietnamese day-first pages), often with hand-made zone spellings. Everything is
parsed here with our own small grammar rather than a general-purpose parser,
because the general ones guess silently: dateutil reads "GMT+7" with POSIX's
inverted sign (UTC-7) and reads "04/06/2023" month-first.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

__all__ = ["format_local", "parse_feed_date", "sane_published_at"]

# Real date strings are short; the cap keeps hostile input from costing regex time.
_MAX_LEN: Final = 200

_MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_BY_NAME: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(_MONTHS, 1)},
    **{name[:3]: i for i, name in enumerate(_MONTHS, 1)},
    "sept": 9,
}
_MONTH_ABBR_EN: Final = tuple(name[:3].title() for name in _MONTHS)

# RFC 822 names plus ICT (Indochina Time), which Vietnamese sites write for UTC+7.
# Military single letters are left out on purpose: RFC 2822 admits their signs
# were published backwards, so no reading of them can be trusted.
_ZONE_HOURS: Final[dict[str, int]] = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
    "ict": 7,
}
# Offsets actually in use run from UTC-12 to UTC+14; anything wider is noise.
_MAX_OFFSET: Final = timedelta(hours=14)

# 'h' as a separator because Vietnamese writes "9h05"; SA/CH are the vi-VN
# AM/PM designators (sáng/chiều) that .NET sites emit.
_TIME: Final = (
    r"\d{1,2}\s*[:hH]\s*\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:\s*(?:[AaPp]\.?[Mm]\.?|SA|CH|sa|ch)(?![A-Za-z]))?"
)
_TIME_RE: Final = re.compile(
    r"(?P<h>\d{1,2})\s*[:hH]\s*(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?"
    r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?|SA|CH|sa|ch))?",
    re.ASCII,
)

# Year first: ISO 8601 / Atom, and the "2026/09/24 09:05" variant.
_YMD_RE: Final = re.compile(
    rf"(?P<y>\d{{4}})(?P<sep>[-/.])(?P<mo>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})"
    rf"(?:(?:[Tt]|\s+)(?P<time>{_TIME}))?(?P<tail>.*)",
    re.ASCII,
)
# RFC 822 / 2822 and RFC 850: "25 Mar 2017 19:40:38 +0700", "06-Nov-94 08:49:37 GMT".
_DMONY_RE: Final = re.compile(
    rf"(?:[A-Za-z]+\.?,?\s*)?(?P<d>\d{{1,2}})[\s-]+(?P<mon>[A-Za-z]+)\.?[\s-]+"
    rf"(?P<y>\d{{4}}|\d{{2}})(?:[\s,]+(?P<time>{_TIME}))?(?P<tail>.*)",
    re.ASCII,
)
# Month name first: "Sep 24, 2026 09:05" and asctime "Sun Nov  6 08:49:37 1994".
_MONDY_RE: Final = re.compile(
    rf"(?:[A-Za-z]+\.?,?\s+)?(?P<mon>[A-Za-z]+)\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?:(?P<y>\d{{4}})(?:[\s,]+(?:at\s+)?(?P<time>{_TIME}))?"
    rf"|(?P<time2>{_TIME})\s+(?P<y2>\d{{4}}))(?P<tail>.*)",
    re.ASCII,
)
# All-numeric, date first: "24/09/2026 09:05", "9/14/2026 6:44:00 PM", "25/06/2024 - 06:23".
_NUM_DATE_FIRST_RE: Final = re.compile(
    rf"(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}})"
    rf"(?:(?:\s*[,-]\s*|\s+)(?:lúc\s+)?(?P<time>{_TIME}))?(?P<tail>.*)",
    re.ASCII | re.IGNORECASE,
)
# All-numeric, time first: "06:23, 04/06/2023", "06:23 ngày 04/06/2023".
_NUM_TIME_FIRST_RE: Final = re.compile(
    rf"(?P<time>{_TIME})(?:\s*[,-]\s*|\s+)(?:ngày\s+)?"
    rf"(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}})(?P<tail>.*)",
    re.ASCII | re.IGNORECASE,
)

# A leading weekday or label ("Thứ ba,", "Thu,", "Cập nhật:") carries nothing we
# trust: publishers get the weekday wrong often enough that it is never checked.
# Words are separated by mandatory spaces so the pattern cannot backtrack badly.
_PREFIX_RE: Final = re.compile(r"[^\W\d_]+(?:\s+[^\W\d_]+)*\.?\s*[,:]\s*")
_SPACES_RE: Final = re.compile(r"\s+")
_COMMENT_RE: Final = re.compile(r"\s*\([^()]*\)", re.ASCII)
_ZONE_RE: Final = re.compile(
    r"(?:(?P<name>[A-Za-z]{1,4})"
    r"|(?:(?:GMT|UTC|UT)\s*)?(?P<sign>[+-])\s*(?P<hh>\d{1,2})(?::?(?P<mm>\d{2}))?)",
    re.ASCII | re.IGNORECASE,
)


class _Unreadable(ValueError):
    """Raised inside the parser; parse_feed_date turns every ValueError into None."""


def parse_feed_date(raw: str | None, *, default_tz: tzinfo) -> datetime | None:
    """Read a feed or page date; return it as an aware UTC datetime, or None.

    A date or time without a zone is local to ``default_tz``. Two-digit years
    follow RFC 2822 (00-49 -> 20xx, 50-99 -> 19xx). All-numeric dates are
    day-first unless the numbers or an AM/PM marker say otherwise.
    """
    if raw is None:
        return None
    text = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if not text or len(text) > _MAX_LEN:
        return None
    text = _PREFIX_RE.sub("", text, count=1) if _PREFIX_RE.match(text) else text
    try:
        return _parse(text, default_tz)
    except (ValueError, OverflowError):
        # Covers impossible calendar dates (Feb 30) and offsets that push a
        # datetime out of range: the caller wants "unreadable", not a crash.
        return None


def _parse(text: str, default_tz: tzinfo) -> datetime | None:
    if m := _YMD_RE.fullmatch(text):
        return _build(int(m["y"]), int(m["mo"]), int(m["d"]), m["time"], m["tail"], default_tz)
    if m := _DMONY_RE.fullmatch(text):
        return _build(
            _full_year(m["y"]), _month(m["mon"]), int(m["d"]), m["time"], m["tail"], default_tz
        )
    if m := _MONDY_RE.fullmatch(text):
        year = m["y"] or m["y2"]
        return _build(
            int(year), _month(m["mon"]), int(m["d"]), m["time"] or m["time2"], m["tail"], default_tz
        )
    for pattern in (_NUM_DATE_FIRST_RE, _NUM_TIME_FIRST_RE):
        if m := pattern.fullmatch(text):
            day, month = _day_month(int(m["a"]), int(m["b"]), m["time"])
            return _build(_full_year(m["y"]), month, day, m["time"], m["tail"], default_tz)
    return None


def _day_month(a: int, b: int, time_text: str | None) -> tuple[int, int]:
    if a > 12:
        return a, b
    if b > 12:
        return b, a
    # Both could be a month. A 12-hour clock means the .NET en-US output of
    # Báo Chính phủ (M/D/Y); a 24-hour clock means a Vietnamese page (D/M/Y).
    time_match = _TIME_RE.fullmatch(time_text) if time_text else None
    if time_match and time_match["ampm"] and time_match["ampm"].lower() not in ("sa", "ch"):
        return b, a
    return a, b


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    return year


def _month(name: str) -> int:
    month = _MONTH_BY_NAME.get(name.lower())
    if month is None:
        raise _Unreadable(name)
    return month


def _build(
    year: int, month: int, day: int, time_text: str | None, tail: str, default_tz: tzinfo
) -> datetime:
    hour = minute = second = micro = 0
    if time_text:
        hour, minute, second, micro = _clock(time_text)
    zone = _zone(tail)
    local = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone or default_tz)
    return local.astimezone(UTC)


def _clock(text: str) -> tuple[int, int, int, int]:
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise _Unreadable(text)
    hour, minute = int(m["h"]), int(m["mi"])
    # A leap second ("…:60") is real in RFC 2822; one second early beats dropping the item.
    second = min(int(m["s"] or 0), 59)
    micro = int((m["frac"] or "0")[:6].ljust(6, "0"))
    if m["ampm"]:
        hour = _to_24h(hour, m["ampm"].replace(".", "").lower())
    return hour, minute, second, micro


def _to_24h(hour: int, marker: str) -> int:
    afternoon = marker in ("pm", "ch")
    if 1 <= hour <= 12:
        return hour % 12 + (12 if afternoon else 0)
    # Sloppy templates write "0:30 AM" or "13:00 PM"; both are unambiguous.
    if (hour == 0 and not afternoon) or (12 < hour < 24 and afternoon):
        return hour
    raise _Unreadable(f"{hour} {marker}")


def _zone(tail: str) -> tzinfo | None:
    """Zone after the time; None when absent. Unknown spellings are unreadable."""
    text = tail.strip()
    if not text:
        return None
    if text.startswith("(") and text.endswith(")"):
        # VnExpress style "06:23 (GMT+7)": the parenthesis is the zone itself.
        text = text[1:-1].strip()
    else:
        # RFC 2822 comment after a real zone, e.g. "+0700 (ICT)".
        text = _COMMENT_RE.sub("", text).strip()
    m = _ZONE_RE.fullmatch(text)
    if m is None:
        raise _Unreadable(tail)
    if m["name"]:
        hours = _ZONE_HOURS.get(m["name"].lower())
        if hours is None:
            raise _Unreadable(tail)
        return timezone(timedelta(hours=hours))
    # "GMT+7" is read the way people mean it (UTC+7), not POSIX's inverted sign.
    offset = timedelta(hours=int(m["hh"]), minutes=int(m["mm"] or 0))
    if int(m["mm"] or 0) >= 60 or offset > _MAX_OFFSET:
        raise _Unreadable(tail)
    return timezone(-offset if m["sign"] == "-" else offset)


def sane_published_at(
    parsed: datetime | None,
    *,
    fetched_at: datetime,
    max_future: timedelta = timedelta(minutes=15),
    min_year: int = 1995,
) -> datetime:
    """The instant to file an item under, in UTC.

    Falls back to ``fetched_at`` when the date is missing, implausibly old, or
    further ahead than ``max_future``: a publisher that mislabels its zone
    would otherwise pin its items to the top of every list for hours.
    Both datetimes must be aware.
    """
    fetched = _require_aware(fetched_at, "fetched_at").astimezone(UTC)
    if parsed is None:
        return fetched
    published = _require_aware(parsed, "parsed").astimezone(UTC)
    if published.year < min_year or published - fetched > max_future:
        return fetched
    return published


def format_local(dt: datetime, *, tz: tzinfo, language: str) -> str:
    """Publication time for a chat message, in the reader's zone and habits.

    "vi" -> "09:05, 24/09/2026"; anything else -> "24 Sep 2026, 09:05". Month
    names are spelled here rather than through strftime so the process
    locale cannot change them.
    """
    local = _require_aware(dt, "dt").astimezone(tz)
    # Telegram sends codes such as "vi" or "en-US"; only the primary subtag matters.
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if primary == "vi":
        return f"{clock}, {local.day:02d}/{local.month:02d}/{local.year:04d}"
    return f"{local.day:02d} {_MONTH_ABBR_EN[local.month - 1]} {local.year:04d}, {clock}"


def format_relative(dt: datetime, *, now: datetime, tz: tzinfo, language: str) -> str:
    """Like format_local, but "hôm nay 08:30" / "hôm qua 21:10" ("today", "yesterday")
    when the time falls on the reader's today or yesterday."""
    local = _require_aware(dt, "dt").astimezone(tz)
    today = _require_aware(now, "now").astimezone(tz).date()
    clock = f"{local.hour:02d}:{local.minute:02d}"
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    days = (today - local.date()).days
    if days == 0:
        return f"hôm nay {clock}" if primary == "vi" else f"today {clock}"
    if days == 1:
        return f"hôm qua {clock}" if primary == "vi" else f"yesterday {clock}"
    return format_local(dt, tz=tz, language=language)


def _require_aware(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return dt
