"""Quiet hours: the part of a reader's day when alerts wait (digests and replies do not)."""

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
