"""The usage page's figures, read from the rollups: typed read models and the pure maths."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from core.db import Database
from core.people import jobs as people_jobs
from core.people import store as people_store
from core.usage import costs as costmod
from core.usage import store
from core.usage.counters import COUNTERS, END_REASON_PREFIX, WASTE_COUNTERS, money_micros

MAX_RANGE_DAYS = 731  # a query longer than two years is refused (the page caps its picker)
DEFAULT_RANGE_DAYS = 30  # the page opens on the last 30 days, today included
ALL_JOBS_LABEL = "All jobs"
_PER_UNIT = Decimal("0.0001")  # a per-unit cost is a ratio, shown to a hundredth of a cent
UNIT_COST_COLUMNS = ["job", "calls", "completed", "advanced", "total", "per_completed", "per_advanced"]


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
        """True when no call of the filter has ended yet (test calls included: they cost money)."""
        return int(self.totals.get("calls", 0)) == 0 and int(self.totals.get("test_calls", 0)) == 0

    @property
    def total_cost_micros(self) -> int:
        """Everything the filtered calls cost, in micros."""
        return money_micros(self.totals)


@dataclass(frozen=True)
class Headline:
    """The page's headline figures as display strings (exact money, rounded rates)."""

    calls: str
    answer_rate: str
    minutes: str
    spend: str
    estimated: str
    per_completed: str
    per_advanced: str
    wasted: str
    foreign_priced: str
    foreign_priced_calls: int  # how many calls Twilio priced in another currency
    test_calls: int = 0  # test calls to team members' own numbers: in the spend, not in "calls"

    @staticmethod
    def with_currency(figure: str, currency: str) -> str:
        """A money figure of the headline in the one money format ("0.035 USD"; "—" stays)."""
        return figure if figure == "—" else f"{figure} {currency}"

    @property
    def has_foreign_priced(self) -> bool:
        """True when some calls' telephony is an estimate because Twilio priced them abroad."""
        return self.foreign_priced_calls != 0


def check_range(start: date, end: date) -> None:
    """Refuse a range that ends before it starts or spans more than MAX_RANGE_DAYS (ValueError)."""
    if end < start:
        raise ValueError("the end date is before the start date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"choose at most {MAX_RANGE_DAYS} days")


def default_range(today: date) -> tuple[date, date]:
    """The range the page opens on: the last DEFAULT_RANGE_DAYS days up to the organisation's today."""
    return today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today


def last_pickable_day(today: date) -> date:
    """The latest day the range picker offers (tomorrow: one day of slack around midnight)."""
    return today + timedelta(days=1)


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
    day_counters: Mapping[str, Mapping[str, int]],
    job_counters: Mapping[str, Mapping[str, int]],
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
            if key.startswith(END_REASON_PREFIX):
                reasons[key[len(END_REASON_PREFIX) :]] += int(value)
    job_rows = [
        {
            "job_id": jid,
            "job": job_titles.get(jid) or jid or "(no job)",
            **{k: int(c.get(k, 0)) for k in COUNTERS},
        }
        for jid, c in job_counters.items()
        if int(c.get("calls", 0)) or int(c.get("test_calls", 0))
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


def usage_summary(db: Database, start: date, end: date, job_id: str | None = None) -> UsageData:
    """The usage page's figures for a date range (the organisation's days, inclusive) and optional job."""
    check_range(start, end)
    first, last = start.isoformat(), end.isoformat()
    day_counters: dict[str, Counter[str]] = {}
    for rollup in store.day_rollups(db, first, last, job_id):
        day_counters.setdefault(rollup.day, Counter()).update(rollup.counters)
    job_counters = store.job_totals(db, first, last, job_id, COUNTERS)
    titles = people_store.job_titles(db, [j for j in job_counters if j])
    return usage_from_counters(start, end, job_id, day_counters, job_counters, titles)


def _per_unit(total_micros: int, count: int) -> Decimal | None:
    """Total divided by a count, to a hundredth of a cent; None when the count is zero."""
    if not count:
        return None
    return (costmod.from_micros(total_micros) / count).quantize(_PER_UNIT)


def headline(usage: UsageData) -> Headline:
    """The page's headline figures as display strings (exact money, rounded rates)."""
    t = usage.totals
    calls, answered = int(t.get("calls", 0)), int(t.get("answered", 0))
    completed, advanced = int(t.get("out_completed", 0)), int(t.get("advanced", 0))
    total = usage.total_cost_micros
    screenings_total = total - int(t.get("test_cost", 0))  # what the screenings alone cost
    estimated = int(t.get("ai_est", 0)) + int(t.get("tel_est", 0))
    waste = sum(int(t.get(k, 0)) for k in WASTE_COUNTERS)
    foreign = int(t.get("foreign_priced", 0))

    def per(count: int) -> str:
        amount = _per_unit(screenings_total, count)
        return costmod.money_str(amount) if amount is not None else "—"

    return Headline(
        calls=f"{calls:,}",
        answer_rate=f"{answered / calls:.0%}" if calls else "—",
        minutes=f"{int(t.get('seconds', 0)) / 60:,.1f}",
        spend=costmod.money_str(total, micros=True),
        estimated=costmod.money_str(estimated, micros=True),
        per_completed=per(completed),
        per_advanced=per(advanced),
        wasted=costmod.money_str(waste, micros=True),
        foreign_priced=f"{foreign:,}",
        foreign_priced_calls=foreign,
        test_calls=int(t.get("test_calls", 0)),
    )


def unit_costs_per_job(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per job: total, cost per completed screening and per advanced candidate (Decimal, or None)."""
    rows = []
    for rec in jobs.to_dict("records"):
        total = int(rec["ai_est"] + rec["ai_act"] + rec["tel_est"] + rec["tel_act"])
        screenings_total = total - int(rec.get("test_cost", 0))  # test calls: no screening
        completed, advanced = int(rec["out_completed"]), int(rec["advanced"])
        rows.append(
            {
                "job": rec["job"],
                "calls": int(rec["calls"]),
                "completed": completed,
                "advanced": advanced,
                "total": Decimal(total) / costmod.MICROS,
                "per_completed": _per_unit(screenings_total, completed),
                "per_advanced": _per_unit(screenings_total, advanced),
            }
        )
    return pd.DataFrame(rows, columns=UNIT_COST_COLUMNS)


def job_filter_options(db: Database) -> dict[str, str]:
    """The job picker's options, value → label: "" (all jobs) first, then every job, archived too."""
    options = {"": ALL_JOBS_LABEL}
    for job in people_jobs.list_jobs(db, include_archived=True):
        options[job.id] = job.title or job.id
    return options
