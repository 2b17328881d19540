"""Quiet hours: the part of a reader's day when alerts wait (digests and replies do not);
and silent alerts: when they arrive without a sound."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.rows import SubscriberRow


def quiet_until(reader: SubscriberRow, now: datetime) -> int | None:
    """When the reader's quiet hours end (UNIX seconds), if they are in them now."""
    if reader.quiet_start is None or reader.quiet_end is None:
        return None
    local = now.astimezone(ZoneInfo(reader.timezone))
    start, end, hour = reader.quiet_start, reader.quiet_end, local.hour
    inside = start <= hour < end if start < end else hour >= start or hour < end
    if not inside:
        return None
    resume = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)
    return int(resume.timestamp())


# "Silent at night": alerts arrive without a sound from 22:00 to 06:00 local time.
NIGHT_START, NIGHT_END = 22, 6


def alert_is_silent(reader: SubscriberRow, now: datetime) -> bool:
    """Whether an alert to the reader now goes without a sound (disable_notification)."""
    if reader.silent_alerts == "always":
        return True
    if reader.silent_alerts != "night":
        return False
    hour = now.astimezone(ZoneInfo(reader.timezone)).hour
    return hour >= NIGHT_START or hour < NIGHT_END
