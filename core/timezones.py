"""Time zones: which names are real, the choices a user picks from, one instant in one zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC_NAME = "UTC"


def valid_zone(name: str | None) -> bool:
    """True if `name` is an IANA time zone this machine knows."""
    if not name or not name.strip():
        return False
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_choices(preferred: str | None = None) -> list[str]:
    """Zones to choose from: the preferred one first (if real), then UTC, then every region/city."""
    rest = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    first = [preferred] if preferred and valid_zone(preferred) and preferred != UTC_NAME else []
    return first + [UTC_NAME] + [z for z in rest if z not in first]


def place_name(zone: str) -> str:
    """The city part of a zone for a sentence: "America/New_York" → "New York"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ") if zone else ""


def zone_words(zone: str) -> str:
    """A zone as a heading says it: "UTC", or "New York time" for "America/New_York"."""
    return UTC_NAME if not zone or zone == UTC_NAME else f"{place_name(zone)} time"


def local(value: datetime, zone: str) -> datetime:
    """An aware instant in the given zone (UTC when the zone is not real)."""
    return value.astimezone(ZoneInfo(zone) if valid_zone(zone) else ZoneInfo(UTC_NAME))


def readable(value: datetime | None, zone: str, *, with_zone: bool = True) -> str:
    """An instant as people write it, in one zone: "2 Dec 2026, 15:34 EST" (no seconds); "—" for none."""
    if value is None:
        return "—"
    shown = local(value, zone)
    text = f"{shown.day} {shown:%b %Y, %H:%M}"
    return f"{text} {shown:%Z}" if with_zone else text


def candidate_clock(value: datetime | None, zone: str | None) -> str:
    """The same instant on the candidate's clock, for beside a time: "10:34 for the candidate, Denver"."""
    if value is None or not valid_zone(zone):
        return ""
    return f"{local(value, str(zone)):%H:%M} for the candidate, {place_name(str(zone))}"


def readable_for_both(value: datetime | None, zone: str, candidate_zone: str | None) -> str:
    """An instant in the viewer's zone with the candidate's clock beside it when their zone differs:
    "2 Dec 2026, 20:34 UTC (15:34 for the candidate, New York)"."""
    text = readable(value, zone)
    if candidate_zone and candidate_zone != zone and (theirs := candidate_clock(value, candidate_zone)):
        return f"{text} ({theirs})"
    return text
