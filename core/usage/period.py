"""The organisation's calendar: the one time zone usage days and the budget month follow.

The daily rollups are summed per day once, so they cannot be cut again per viewer: every
reader and writer of a usage day or a budget month takes the zone from here (an admin sets
it in Global settings, default UTC) and buckets with these functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.agent import settings_store
from core.db import Database
from core.timezones import UTC_NAME, local, valid_zone

ZONE_FIELD = "organisation_zone"  # the global setting's name


def organisation_zone(db: Database) -> str:
    """The organisation's time zone from the global settings ("UTC" until one is set)."""
    record = settings_store.get_global(db)
    zone = (record.config.get(ZONE_FIELD) if record else None) or UTC_NAME
    return zone if valid_zone(zone) else UTC_NAME


def _aware(at: datetime) -> datetime:
    # Stored instants are UTC; the driver may hand them back naive.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def day_key(at: datetime, zone: str) -> str:
    """The day an instant falls on in `zone`, as "YYYY-MM-DD" (a rollup's day)."""
    return local(_aware(at), zone).date().isoformat()


def month_key(at: datetime | None, zone: str) -> str:
    """The month an instant (now when None) falls in, in `zone`, as "YYYY-MM" (the budget period)."""
    return local(_aware(at or datetime.now(UTC)), zone).strftime("%Y-%m")


def month_words(key: str) -> str:
    """A budget month as people write it: "2026-12" → "December 2026"."""
    return datetime.strptime(key, "%Y-%m").strftime("%B %Y")


def today(zone: str, now: datetime | None = None) -> date:
    """Today's date in `zone`."""
    return local(_aware(now or datetime.now(UTC)), zone).date()


def day_start(day: date, zone: str) -> datetime:
    """The first instant (UTC) of a day in `zone`."""
    tz = ZoneInfo(zone if valid_zone(zone) else UTC_NAME)
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def days_bounds(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """The instants [from, before) of the days `start`..`end` (inclusive) in `zone`."""
    return day_start(start, zone), day_start(end + timedelta(days=1), zone)
