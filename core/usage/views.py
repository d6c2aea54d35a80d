"""The usage page's figures, read from the rollups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from pymongo.database import Database

from core.db import JOBS, ROLLUPS
from core.usage import costs as costmod
from core.usage.rollups import COUNTERS, MONEY_COUNTERS

MAX_RANGE_DAYS = 731  # a query longer than two years is refused (the page caps its picker)


@dataclass
class UsageData:
    """What the usage page shows for one filter: only aggregates, no call documents."""

    start: date
    end: date
    job_id: str | None
    daily: pd.DataFrame  # one row per day of the range: "day" + every counter
    jobs: pd.DataFrame  # one row per job with calls: "job_id", "job" (title) + counters
    end_reasons: pd.DataFrame  # "end_reason", "calls"
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when no call of the filter has ended yet."""
        return int(self.totals.get("calls", 0)) == 0

    @property
    def total_cost_micros(self) -> int:
        """Everything the filtered calls cost, in micros."""
        return sum(int(self.totals.get(k, 0)) for k in MONEY_COUNTERS)


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValueError("the end date is before the start date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"choose at most {MAX_RANGE_DAYS} days")


def _rollup_filter(start: date, end: date, job_id: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"day": {"$gte": start.isoformat(), "$lte": end.isoformat()}}
    if job_id:
        query.update(scope="job", job_id=job_id)
    else:
        query["scope"] = "day"
    return query


def _frame(rows: list[dict[str, Any]], extra: list[str]) -> pd.DataFrame:
    columns = [*extra, *COUNTERS]
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for name in COUNTERS:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").fillna(0).astype("int64")
    return frame


def usage_from_counters(
    start: date,
    end: date,
    job_id: str | None,
    day_counters: dict[str, Mapping[str, int]],
    job_counters: dict[str, Mapping[str, int]],
    job_titles: Mapping[str, str],
) -> UsageData:
    """Build the page's data from summed counters (shared by every way of computing them)."""
    days = pd.date_range(start, end, freq="D")
    rows = []
    reasons: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for ts in days:
        c = day_counters.get(ts.date().isoformat()) or {}
        rows.append({"day": ts, **{k: int(c.get(k, 0)) for k in COUNTERS}})
        for key, value in c.items():
            totals[key] += int(value)
            if key.startswith("er_"):
                reasons[key[3:]] += int(value)
    job_rows = [
        {
            "job_id": jid,
            "job": job_titles.get(jid) or jid or "(no job)",
            **{k: int(c.get(k, 0)) for k in COUNTERS},
        }
        for jid, c in job_counters.items()
        if int(c.get("calls", 0))
    ]
    jobs = _frame(job_rows, ["job_id", "job"]).sort_values("job", kind="stable").reset_index(drop=True)
    end_reasons = pd.DataFrame(
        sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])), columns=["end_reason", "calls"]
    )
    return UsageData(
        start=start,
        end=end,
        job_id=job_id,
        daily=_frame(rows, ["day"]),
        jobs=jobs,
        end_reasons=end_reasons,
        totals={k: int(v) for k, v in totals.items() if v},
    )


def job_titles(db: Database, job_ids: list[str]) -> dict[str, str]:
    """Titles of the given jobs (bounded by the list)."""
    return {
        d["_id"]: d.get("title") or d["_id"] for d in db[JOBS].find({"_id": {"$in": job_ids}}, {"title": 1})
    }


def usage_summary(db: Database, start: date, end: date, job_id: str | None = None) -> UsageData:
    """The usage page's figures for a date range (UTC days, inclusive) and optional job."""
    _check_range(start, end)
    day_counters: dict[str, Counter[str]] = {}
    # One document per day of the range (per job when filtered): a few hundred at most.
    for doc in db[ROLLUPS].find(_rollup_filter(start, end, job_id), {"day": 1, "c": 1}):
        day_counters.setdefault(doc["day"], Counter()).update(doc.get("c") or {})
    job_query = {"scope": "job", "day": {"$gte": start.isoformat(), "$lte": end.isoformat()}}
    if job_id:
        job_query["job_id"] = job_id
    group: dict[str, Any] = {"_id": "$job_id", **{k: {"$sum": f"$c.{k}"} for k in COUNTERS}}
    job_counters = {g["_id"]: g for g in db[ROLLUPS].aggregate([{"$match": job_query}, {"$group": group}])}
    titles = job_titles(db, [j for j in job_counters if j])
    return usage_from_counters(start, end, job_id, day_counters, job_counters, titles)


def headline(usage: UsageData) -> dict[str, str]:
    """The page's headline figures as display strings (exact money, rounded rates)."""
    t = usage.totals
    calls, answered = int(t.get("calls", 0)), int(t.get("answered", 0))
    completed, advanced = int(t.get("out_completed", 0)), int(t.get("advanced", 0))
    total = usage.total_cost_micros
    estimated = int(t.get("ai_est", 0)) + int(t.get("tel_est", 0))
    waste = sum(int(t.get(k, 0)) for k in ("waste_unanswered", "waste_voicemail", "waste_early_hangup"))

    def per(count: int) -> str:
        # A per-unit figure is a ratio, shown to a hundredth of a cent.
        return (
            costmod.money_str((costmod.from_micros(total) / count).quantize(Decimal("0.0001")))
            if count
            else "—"
        )

    return {
        "calls": f"{calls:,}",
        "answer_rate": f"{answered / calls:.0%}" if calls else "—",
        "minutes": f"{int(t.get('seconds', 0)) / 60:,.1f}",
        "spend": costmod.money_str(total, micros=True),
        "estimated": costmod.money_str(estimated, micros=True),
        "per_completed": per(completed),
        "per_advanced": per(advanced),
        "wasted": costmod.money_str(waste, micros=True),
        "foreign_priced": f"{int(t.get('foreign_priced', 0)):,}",
    }
