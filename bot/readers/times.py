"""Times of day as readers write them: "18:30", "18h30", "6 giờ", "6h chiều" for the
digest, "22-6" or "từ 22 giờ đến 6 giờ sáng" for quiet hours."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text.vietnamese import clean_line, fold


@dataclass(frozen=True, slots=True, order=True)
class DigestTime:
    """A time of day for the digest, in the reader's zone."""

    hour: int
    minute: int = 0


# '7', '07:00', '18:30', '18h30', '18h', '6 giờ', '6 giờ 30 (phút)', '6g30', '6.05',
# and '6h chiều', '6 giờ tối', '6pm' (folded: accents optional).
_TIME = re.compile(
    r"^(\d{1,2})\s*(?:(?::|\.|h|gio|g)\s*(?:(\d{2})\s*(?:phut|p)?)?)?\s*"
    r"(sang|am|trua|chieu|toi|pm)?$"
)
_AFTERNOON = ("chieu", "toi", "pm")


def parse_digest_time(text: str) -> DigestTime | None:
    """What a reader types for a time of day → the time; None for anything else."""
    match = _TIME.match(fold(clean_line(text)))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) in _AFTERNOON and 1 <= hour <= 11:
        hour += 12
    return DigestTime(hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


_QUIET_HOUR = r"(\d{1,2})\s*(?:h|gio|g|:00)?"
# '22-6', '22h-6h', '22:00–06:00', '22 to 6', 'từ 22 giờ đến 6 giờ sáng' (folded).
_QUIET = re.compile(
    rf"(?:tu\s+)?{_QUIET_HOUR}\s*(?:-|–|to|den|toi)\s*{_QUIET_HOUR}\s*(?:sang|toi|dem)?"
)


def parse_quiet_hours(text: str) -> tuple[int, int] | bool | None:
    """'22-6' → (22, 6); 'off'/'tắt' → None; anything else → False."""
    words = " ".join(fold(text).split())
    if words in ("off", "tat", "0", "khong"):
        return None
    match = _QUIET.fullmatch(words)
    if not match:
        return False
    start, end = int(match.group(1)), int(match.group(2))
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        return False
    return start, end
