"""Is it a decent hour to call this candidate? Pure rules, no I/O, clock passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.agent.models import CallingHours, Weekday
from core.people.phones import zones_for
from core.timezones import place_name

# How far ahead the next opening is searched: a week plus a day covers every weekly pattern.
_SEARCH_DAYS = 8


@dataclass(frozen=True)
class WindowCheck:
    """The verdict for one candidate at one instant, stored on the call as `calling_window`."""

    zones: list[str]
    zone_source: str  # "candidate" | "number" | "unknown"
    local_times: dict[str, str]
    allowed: bool
    held: bool  # True when a human must decide (unknown zone): fail closed
    reason: str
    next_open_at: datetime | None = None
    checked_at: datetime | None = field(default=None)

    def as_record(self) -> dict[str, Any]:
        """The document stored on the call (zone(s), local time, allowed, reason)."""
        first = self.zones[0] if self.zones else None
        return {
            "zone": ", ".join(self.zones) if self.zones else None,
            "zones": list(self.zones),
            "zone_source": self.zone_source,
            "local_time": self.local_times.get(first) if first else None,
            "local_times": dict(self.local_times),
            "allowed": self.allowed,
            "held": self.held,
            "reason": self.reason,
            "next_open_at": self.next_open_at,
            "checked_at": self.checked_at,
        }


def _allowed_in(hours: CallingHours, zone: str, instant: datetime) -> bool:
    return hours.allows(instant.astimezone(ZoneInfo(zone)))


def next_opening(hours: CallingHours, zones: list[str], after: datetime) -> datetime | None:
    """The first instant at or after `after` (UTC) when every zone is inside a window."""
    if not zones:
        return None
    candidates = {after}
    for zone in zones:
        tz = ZoneInfo(zone)
        local_day = after.astimezone(tz).date()
        for offset in range(_SEARCH_DAYS + 1):
            day = local_day + timedelta(days=offset)
            weekday = list(Weekday)[day.weekday()]
            for window in hours.windows.get(weekday, []):
                start = datetime.combine(day, window.start, tzinfo=tz).astimezone(UTC)
                if start >= after:
                    candidates.add(start)
    for instant in sorted(candidates):
        if all(_allowed_in(hours, zone, instant) for zone in zones):
            return instant
    return None


def check(
    hours: CallingHours,
    *,
    now: datetime,
    candidate_timezone: str | None,
    phone: str | None,
) -> WindowCheck:
    """May this candidate be called at `now` (aware)? Several zones: all must be inside."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    now_utc = now.astimezone(UTC)
    zones, source = zones_for(candidate_timezone, phone)
    if not zones:
        why = ("the time zone on the candidate record is not a known IANA zone"
               if source == "unknown" and candidate_timezone and candidate_timezone.strip()
               else "the candidate's time zone is unknown (none on record and the number "
                    "does not tell)")
        return WindowCheck([], "unknown", {}, allowed=False, held=True,
                           reason=f"Held for a person to confirm: {why}.", checked_at=now_utc)
    local_times = {z: now_utc.astimezone(ZoneInfo(z)).isoformat(timespec="minutes") for z in zones}
    outside = [z for z in zones if not _allowed_in(hours, z, now_utc)]
    where = "record" if source == "candidate" else "phone number"
    if not outside:
        return WindowCheck(zones, source, local_times, allowed=True, held=False,
                           reason=f"Inside calling hours in {', '.join(zones)} (from the {where}).",
                           checked_at=now_utc)
    opening = next_opening(hours, zones, now_utc)
    several = " (the number spans several zones; all must be inside)" if len(zones) > 1 else ""
    detail = "; ".join(f"{z} local time {local_times[z][11:16]}" for z in outside)
    reason = f"Outside calling hours: {detail}{several}."
    if opening is None:
        return WindowCheck(zones, source, local_times, allowed=False, held=True,
                           reason=reason + " No calling window opens in the next week.",
                           checked_at=now_utc)
    return WindowCheck(zones, source, local_times, allowed=False, held=False, reason=reason,
                       next_open_at=opening, checked_at=now_utc)


def opening_sentence(opening: datetime, zones: list[str], now: datetime) -> str:
    """When the calling window opens, on the candidate's clock only (one zone per sentence):
    "The calling window opens at 09:00 on Thu 3 Dec, Denver time (in 2 h 50 min)."."""
    return f"The calling window opens at {opening_words(opening, zones)} (in {_span(opening - now)})."


def opening_words(opening: datetime, zones: list[str]) -> str:
    """An opening on the candidate's clock: "09:00 on Thu 3 Dec, Denver time"."""
    zone = zones[0] if zones else "UTC"
    local = opening.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}, {place_name(zone)} time"


def _span(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{mins} min" if mins and not days else ""]
    return " ".join(p for p in parts if p)
