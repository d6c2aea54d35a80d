"""Calling hours as people see them: a 7 × 24 coverage picture and sentences (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from core.agent.models import CallingHours, Weekday

DAY_SHORT: dict[str, str] = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri",
                             "sat": "Sat", "sun": "Sun"}
DAY_LONG: dict[str, str] = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
                            "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
ZONE_NOTE = ("Times are the candidate's local time: each candidate is called in their own time "
             "zone (from their record, else from their phone number).")


@dataclass(frozen=True)
class HourCell:
    """One hour of one day: the open parts, as (from, to) fractions of the hour in 0..1."""

    day: str
    hour: int
    segments: tuple[tuple[float, float], ...]

    @property
    def fraction(self) -> float:
        """How much of the hour is open (0 = none, 1 = all of it)."""
        return sum(b - a for a, b in self.segments)


def _minutes(value: time | str) -> float:
    t = time.fromisoformat(value) if isinstance(value, str) else value
    return t.hour * 60 + t.minute + t.second / 60


def _windows(hours: CallingHours | dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    # Plain dicts come from widgets or stored configs; models from the validated config.
    if isinstance(hours, CallingHours):
        raw = {d.value: [(w.start, w.end) for w in ws] for d, ws in hours.windows.items()}
    else:
        raw = {str(d): [(w["start"], w["end"]) for w in ws or []]
               for d, ws in (hours.get("windows") or {}).items()}
    return {d: sorted((_minutes(a), _minutes(b)) for a, b in ws) for d, ws in raw.items()}


def coverage(hours: CallingHours | dict[str, Any]) -> list[list[HourCell]]:
    """Seven rows (Mon…Sun) of 24 cells each: which part of every hour is open for calls."""
    windows = _windows(hours)
    grid: list[list[HourCell]] = []
    for day in Weekday:
        row = []
        for hour in range(24):
            lo, hi = hour * 60, hour * 60 + 60
            segments = tuple(
                ((max(a, lo) - lo) / 60, (min(b, hi) - lo) / 60)
                for a, b in windows.get(day.value, []) if a < hi and b > lo
            )
            row.append(HourCell(day.value, hour, segments))
        grid.append(row)
    return grid


def coverage_fractions(hours: CallingHours | dict[str, Any]) -> list[list[float]]:
    """The open fraction of each hour, 7 rows (Mon…Sun) × 24 hours."""
    return [[round(cell.fraction, 4) for cell in row] for row in coverage(hours)]


def _clock(minutes: float) -> str:
    whole = int(round(minutes))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _day_text(spans: list[tuple[float, float]]) -> str:
    return " and ".join(f"{_clock(a)}–{_clock(b)}" for a, b in spans)


def describe_hours(hours: CallingHours | dict[str, Any]) -> str:
    """The weekly hours as a sentence, runs of equal days grouped ("Mon–Fri 09:00–18:00")."""
    windows = _windows(hours)
    days = [d.value for d in Weekday]
    groups: list[tuple[list[str], str]] = []
    for day in days:
        text = _day_text(windows.get(day, []))
        if groups and groups[-1][1] == text:
            groups[-1][0].append(day)
        else:
            groups.append(([day], text))
    parts = []
    closed = []
    for members, text in groups:
        name = (DAY_SHORT[members[0]] if len(members) == 1
                else f"{DAY_SHORT[members[0]]}–{DAY_SHORT[members[-1]]}" if len(members) > 2
                else f"{DAY_SHORT[members[0]]} and {DAY_SHORT[members[-1]]}")
        if text:
            parts.append(f"{name} {text}")
        else:
            closed.append(name)
    if not parts:
        return "No calls on any day."
    sentence = "; ".join(parts)
    if not closed:
        return sentence + "."
    names = closed[0] if len(closed) == 1 else f"{', '.join(closed[:-1])} and {closed[-1]}"
    return f"{sentence}; no calls on {names}."


def window_problem(day: str, start: time, end: time) -> str | None:
    """Why a day's window cannot be saved, in words (None when it can)."""
    if end == start:
        return (f"{DAY_LONG[day]}: the window starts and ends at {start:%H:%M}, so it is empty. "
                "Set an end after the start, or untick the day.")
    if end < start:
        return (f"{DAY_LONG[day]}: the window ends at {end:%H:%M}, before it starts at "
                f"{start:%H:%M}. Set an end after the start (a window cannot run past midnight).")
    return None
