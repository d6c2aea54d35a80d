"""CSV export of the ended calls of a date range; its totals equal the usage page's."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TextIO

from core import labels, timezones
from core.config import Settings, get_settings
from core.db import Database
from core.usage import costs as costmod
from core.usage import store
from core.usage.counters import TERMINAL, contribution, day_of
from core.usage.period import days_bounds, organisation_zone
from core.usage.views import check_range

EXPORT_MAX_ROWS = 200_000  # one CSV; beyond that, narrow the dates or the job


# -- CSV export of the raw calls ----------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "call_id",
    "job_id",
    "created_at",
    "day",
    "status",
    "end_reason",
    "duration_seconds",
    "ai_billed_seconds",
    "ai_cost",
    "ai_estimated",
    "telephony_cost",
    "telephony_estimated",
    "total_cost",
    "currency",
    "decision",
    "test_call",  # a team member's own number: paid for, but no screening
)


@dataclass(frozen=True)
class ForPeople:
    """Write the export for people (the usage page): words, job titles and times in `zone`
    instead of the codes, ids and UTC instants the CLI's `usage-export` keeps for tools."""

    zone: str
    job_titles: dict[str, str]


PEOPLE_COLUMNS: tuple[str, ...] = (
    "Job", "Started", "Day", "Outcome", "How it ended", "Duration (seconds)", "AI billed seconds",
    "AI cost", "AI cost is an estimate", "Phone cost", "Phone cost is an estimate", "Total cost",
    "Currency", "Decision", "Test call",
)


def _for_people(row: dict[str, Any], plain: ForPeople) -> dict[str, Any]:
    reason = row["end_reason"]
    return dict(zip(PEOPLE_COLUMNS, (
        plain.job_titles.get(row["job_id"], "(deleted job)") if row["job_id"] else "",
        timezones.readable(datetime.fromisoformat(row["created_at"]), plain.zone),
        row["day"],
        labels.label(labels.Kind.CALL_STATUS, row["status"]),
        labels.label(labels.Kind.END_REASON, reason).capitalize() if reason else "",
        row["duration_seconds"],
        row["ai_billed_seconds"],
        row["ai_cost"],
        labels.yes_no(row["ai_estimated"] == "true"),
        row["telephony_cost"],
        labels.yes_no(row["telephony_estimated"] == "true"),
        row["total_cost"],
        row["currency"],
        labels.label(labels.Kind.DECISION, row["decision"]) if row["decision"] else "",
        labels.yes_no(row["test_call"] == "true"),
    ), strict=True))


def file_name(start: date, end: date, job_title: str | None = None) -> str:
    """The CSV's download name: the job's title when one is picked, and the range."""
    return labels.file_name("usage", job_title or "all jobs", start.isoformat(), "to", end.isoformat(),
                            ext="csv")


def export_rows(
    db: Database,
    start: date,
    end: date,
    job_id: str | None = None,
    *,
    limit: int = EXPORT_MAX_ROWS,
    settings: Settings | None = None,
) -> Iterator[dict[str, Any]]:
    """The filtered ended calls, one CSV row each, streamed in creation order (at most `limit`)."""
    check_range(start, end)
    settings = settings or get_settings()
    # The same calls the rollups of these days hold: ended calls created in the organisation's days.
    zone = organisation_zone(db)
    lo, hi = days_bounds(start, end, zone)
    calls = store.ended_calls(
        db, created_from=lo, created_before=hi, terminal=sorted(TERMINAL), job_id=job_id, limit=limit
    )
    for call in calls:
        # The figures the rollups were built from when the call is synced; else fresh ones.
        applied = (call.get("rollup") or {}).get("applied")
        stored = call.get("costs")
        if applied is not None and stored:
            counters, costs = applied, stored
        else:
            counters, costs = contribution(call, settings)
        yield {
            "call_id": call["_id"],
            "job_id": call.get("job_id") or "",
            "created_at": call["created_at"].astimezone(UTC).isoformat()
            if call["created_at"].tzinfo
            else call["created_at"].isoformat() + "+00:00",
            "day": day_of(call, zone),
            "status": call.get("status"),
            "end_reason": call.get("end_reason") or "",
            "duration_seconds": counters.get("seconds", 0),
            "ai_billed_seconds": counters.get("ai_seconds", 0),
            "ai_cost": costmod.money_str(costs["ai_micros"], micros=True),
            "ai_estimated": str(costs["ai_estimated"]).lower(),
            "telephony_cost": costmod.money_str(costs["telephony_micros"], micros=True),
            "telephony_estimated": str(costs["telephony_estimated"]).lower(),
            "total_cost": costmod.money_str(costs["total_micros"], micros=True),
            "currency": costs["currency"],
            "decision": (call.get("review") or {}).get("decision") or "",
            "test_call": str(bool(call.get("test_call"))).lower(),
        }


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    rows: int
    truncated: bool
    total_micros: int


def export_csv(
    db: Database,
    out: TextIO,
    start: date,
    end: date,
    job_id: str | None = None,
    *,
    limit: int = EXPORT_MAX_ROWS,
    for_people: ForPeople | None = None,
) -> ExportResult:
    """Write the filtered calls as CSV to `out`, streaming; says if the row cap cut it short."""
    writer = csv.DictWriter(out, fieldnames=list(PEOPLE_COLUMNS if for_people else EXPORT_COLUMNS))
    writer.writeheader()
    rows = total = 0
    for row in export_rows(db, start, end, job_id, limit=limit + 1):
        if rows == limit:
            return ExportResult(rows, True, total)
        writer.writerow(_for_people(row, for_people) if for_people else row)
        rows += 1
        total += costmod.to_micros(row["total_cost"])
    return ExportResult(rows, False, total)
