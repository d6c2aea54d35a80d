"""Usage rollups: small per-day and per-(day, job) counter documents the usage page reads.

Every call contributes a small vector of integer counters (calls, outcome, seconds, cost
micros by component, end reason, decision...) to the rollup of its UTC creation day, once in
the day's total (`scope: "day"`) and once in its job's (`scope: "job"`). The vector last
added is kept on the call (`rollup.applied`, with a sequence number `rollup.seq`).

`sync_call` is the one way rollups change: it recomputes the call's vector from the call as
it is now, and moves `rollup` forward with a conditional update on `rollup.seq` — the gate —
and only the process whose gate matched `$inc`s the difference. So a duplicated event, a
re-applied event or two processes syncing at once add nothing twice, and the order in which
status, billing, price and decision arrive does not matter (an estimate that becomes an
actual price moves money from the estimated to the actual counter). The gate also sets
`rollup.inc_pending`, cleared after the `$inc`: a call left with it (a crash between the two
writes) is reported by `status()`, and `rebuild()` recomputes everything from the calls.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

import pandas as pd
from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from core import costs as costmod
from core.config import Settings, get_settings
from core.db import CALLS, JOBS, ROLLUPS, new_id, utcnow
from core.models import TERMINAL_STATUSES, CallStatus

log = logging.getLogger(__name__)

_TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)
OUTCOMES: tuple[str, ...] = tuple(s.value for s in CallStatus if s in TERMINAL_STATUSES)
# Review decisions that count as "advanced to the next round".
ADVANCED_DECISIONS = frozenset({"advance", "advanced"})
# A completed call shorter than this is an early hang-up: the candidate left before screening.
EARLY_HANGUP_SECONDS = 30
# Fixed counters (summed server-side with $group); outcome and end-reason counters are added.
COUNTERS: tuple[str, ...] = (
    "calls",
    "answered",
    "seconds",
    "answered_seconds",
    "ai_seconds",
    "ai_est",
    "ai_act",
    "tel_est",
    "tel_act",
    "advanced",
    "early_hangups",
    "foreign_priced",
    "waste_unanswered",
    "waste_voicemail",
    "waste_early_hangup",
    *(f"out_{o}" for o in OUTCOMES),
)
MONEY_COUNTERS = ("ai_est", "ai_act", "tel_est", "tel_act")
_RETRIES = 8
_STALE_PENDING = timedelta(minutes=1)
EXPORT_MAX_ROWS = 200_000  # one CSV; beyond that, narrow the dates or the job
MAX_RANGE_DAYS = 731  # a query longer than two years is refused (the page caps its picker)
# Fields a rollup computation reads; the heavy ones (prompt, request, config) stay on the server.
_PROJECTION = {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0, "status_history": 0}


# -- per-call contribution ----------------------------------------------------------------


def day_of(call: Mapping[str, Any]) -> str | None:
    """The UTC day a call counts under ("YYYY-MM-DD", from `created_at`), or None."""
    created = call.get("created_at")
    if not isinstance(created, datetime):
        return None
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return created.astimezone(UTC).date().isoformat()


def _reason_key(reason: Any) -> str:
    # Keys become field names: nothing that MongoDB reads as a path or operator.
    text = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(reason or "none"))
    return f"er_{text[:40] or 'none'}"


def contribution(call: Mapping[str, Any], settings: Settings) -> tuple[dict[str, int], dict[str, Any]]:
    """(the call's counters — empty until it ends —, its `costs` figures)."""
    costs = costmod.call_costs(call, settings)
    status = call.get("status")
    if status not in _TERMINAL or day_of(call) is None:
        return {}, costs
    talk = costmod.talk_seconds(call)
    seconds = int(talk) if talk is not None else 0
    ai_m, tel_m = costs["ai_micros"], costs["telephony_micros"]
    c: Counter[str] = Counter()
    c["calls"] = 1
    c[f"out_{status}"] = 1
    c["seconds"] = seconds
    c["ai_seconds"] = costmod.ai_billed_seconds_of(call, settings)
    c["ai_est" if costs["ai_estimated"] else "ai_act"] = ai_m
    c["tel_est" if costs["telephony_estimated"] else "tel_act"] = tel_m
    if status == CallStatus.COMPLETED:
        c["answered"] = 1
        c["answered_seconds"] = seconds
        if seconds < EARLY_HANGUP_SECONDS:
            c["early_hangups"] = 1
            c["waste_early_hangup"] = ai_m + tel_m
    elif status == CallStatus.VOICEMAIL:
        c["waste_voicemail"] = ai_m + tel_m
    else:
        c["waste_unanswered"] = ai_m + tel_m
    if call.get("end_reason"):
        c[_reason_key(call["end_reason"])] = 1
    if ((call.get("review") or {}).get("decision") or "") in ADVANCED_DECISIONS:
        c["advanced"] = 1
    if costs["telephony_foreign"]:
        c["foreign_priced"] = 1
    # Zeros are dropped so equal states compare equal and documents stay small.
    return {k: int(v) for k, v in c.items() if v}, costs


def _doc_ids(day: str, job_id: Any) -> tuple[str, str]:
    return f"day|{day}", f"job|{day}|{job_id or ''}"


def _inc(db: Database, day: str, job_id: Any, delta: Mapping[str, int]) -> None:
    """Add `delta` to the day's and the day-job's counters (upserting them)."""
    if not delta:
        return
    inc = {f"c.{k}": v for k, v in delta.items() if v}
    if not inc:
        return
    now = utcnow()
    day_id, job_doc_id = _doc_ids(day, job_id)
    base = {"day": day, "month": day[:7]}
    db[ROLLUPS].bulk_write(
        [
            UpdateOne(
                {"_id": day_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "day", "job_id": None},
                },
                upsert=True,
            ),
            UpdateOne(
                {"_id": job_doc_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "job", "job_id": job_id or ""},
                },
                upsert=True,
            ),
        ],
        ordered=False,
    )


def sync_call(db: Database, call_id: str, *, settings: Settings | None = None) -> bool:
    """Bring the rollups in line with the call as it is now; True if any counter moved."""
    settings = settings or get_settings()
    for _ in range(_RETRIES):
        call = db[CALLS].find_one({"_id": call_id}, _PROJECTION)
        if call is None:
            return False
        new, costs = contribution(call, settings)
        state = call.get("rollup") or {}
        old: dict[str, int] = state.get("applied") or {}
        if new == old and call.get("costs") == costs and "seq" in state:
            return False
        seq = int(state.get("seq") or 0)
        day = day_of(call)
        gate = db[CALLS].update_one(
            # None matches a call never synced (no `rollup.seq` yet).
            {"_id": call_id, "rollup.seq": seq or None},
            {
                "$set": {
                    "rollup.applied": new,
                    "rollup.seq": seq + 1,
                    "rollup.synced_at": utcnow(),
                    "rollup.day": day,
                    "rollup.inc_pending": True,
                    "costs": costs,
                }
            },
        )
        if gate.modified_count != 1:
            continue  # another process synced in between: recompute from its result
        delta = {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)}
        delta = {k: v for k, v in delta.items() if v}
        if delta and day:
            _inc(db, day, call.get("job_id"), delta)
        db[CALLS].update_one({"_id": call_id, "rollup.seq": seq + 1}, {"$unset": {"rollup.inc_pending": ""}})
        return bool(delta)
    log.warning("rollup sync of call %s kept racing; the next sync or a rebuild settles it", call_id)
    return False


# Named entry points for the code that changes a call (all do the same idempotent sync; the
# names say where each is called from).
def record_terminal(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After a call's status moved to a terminal one."""
    return sync_call(db, _id(call))


def record_billing(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Ultravox billing (billing_status, billed_duration_seconds) was stored."""
    return sync_call(db, _id(call))


def record_price(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Twilio's price (or price_status "none") was stored."""
    return sync_call(db, _id(call))


def record_decision(db: Database, call: Mapping[str, Any] | str, old: Any = None, new: Any = None) -> bool:
    """After a reviewer's decision changed (old/new are informative; the call is re-read)."""
    return sync_call(db, _id(call))


def _id(call: Mapping[str, Any] | str) -> str:
    return call if isinstance(call, str) else call["_id"]


def sync_stale(
    db: Database,
    *,
    now: datetime | None = None,
    lookback: timedelta = timedelta(days=7),
    limit: int = 200,
    settings: Settings | None = None,
) -> int:
    """Safety net for the worker: sync recent calls changed since their last sync; returns how many."""
    now = now or utcnow()
    query = {
        "created_at": {"$gte": now - lookback},
        "$or": [
            {"status": {"$in": sorted(_TERMINAL)}, "rollup.seq": None},
            {"$expr": {"$gt": ["$updated_at", "$rollup.synced_at"]}, "rollup.seq": {"$ne": None}},
        ],
    }
    moved = 0
    for doc in db[CALLS].find(query, {"_id": 1}).limit(limit):
        moved += sync_call(db, doc["_id"], settings=settings)
    return moved


def status(db: Database, *, now: datetime | None = None) -> dict[str, int]:
    """Calls whose rollup increment may not have landed (a crash mid-sync): rebuild if non-zero."""
    now = now or utcnow()
    pending = db[CALLS].count_documents(
        {"rollup.inc_pending": True, "rollup.synced_at": {"$lt": now - _STALE_PENDING}}
    )
    return {"possibly_uncounted": pending, "rollup_documents": db[ROLLUPS].estimated_document_count()}


def rebuild(db: Database, *, settings: Settings | None = None, batch_size: int = 1000) -> dict[str, int]:
    """Recompute every rollup from the calls (run while no calls are ending); returns counts."""
    settings = settings or get_settings()
    sums: dict[tuple[str, str, Any], Counter[str]] = {}
    calls = fixed = 0
    writes: list[UpdateOne] = []
    for call in db[CALLS].find({}, _PROJECTION).batch_size(batch_size):
        calls += 1
        new, costs = contribution(call, settings)
        state = call.get("rollup") or {}
        day = day_of(call)
        stale = new != (state.get("applied") or {}) or call.get("costs") != costs
        if stale or "seq" not in state or state.get("inc_pending"):
            fixed += 1
            writes.append(
                UpdateOne(
                    {"_id": call["_id"]},
                    {
                        "$set": {
                            "rollup.applied": new,
                            "rollup.seq": int(state.get("seq") or 0) + 1,
                            "rollup.synced_at": utcnow(),
                            "rollup.day": day,
                            "costs": costs,
                        },
                        "$unset": {"rollup.inc_pending": ""},
                    },
                )
            )
            if len(writes) >= batch_size:
                db[CALLS].bulk_write(writes, ordered=False)
                writes = []
        if new and day:
            for scope, job in (("day", None), ("job", call.get("job_id") or "")):
                sums.setdefault((scope, day, job), Counter()).update(new)
    if writes:
        db[CALLS].bulk_write(writes, ordered=False)
    run = new_id()
    now = utcnow()
    docs = []
    for (scope, day, job), counter in sums.items():
        day_id, job_doc_id = _doc_ids(day, job)
        docs.append(
            {
                "_id": day_id if scope == "day" else job_doc_id,
                "scope": scope,
                "day": day,
                "month": day[:7],
                "job_id": job,
                "c": dict(counter),
                "updated_at": now,
                "rebuild": run,
            }
        )
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        db[ROLLUPS].bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False)
    # Documents of days or jobs that no longer have calls are the ones this run did not write.
    removed = db[ROLLUPS].delete_many({"rebuild": {"$ne": run}}).deleted_count
    return {"calls": calls, "calls_fixed": fixed, "rollups": len(docs), "rollups_removed": removed}


# -- reading ------------------------------------------------------------------------------


def month_spend_micros(db: Database, month: str) -> int:
    """Total cost (estimated + actual, micros) of the calls created in a "YYYY-MM" month."""
    total = 0
    # At most 31 small day documents.
    for doc in db[ROLLUPS].find({"scope": "day", "month": month}, {"c": 1}):
        c = doc.get("c") or {}
        total += sum(int(c.get(k, 0)) for k in MONEY_COUNTERS)
    return total


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
)


def _calls_filter(start: date, end: date, job_id: str | None) -> dict[str, Any]:
    # The same calls the rollups of these days hold: ended calls created in the UTC days.
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    query: dict[str, Any] = {"created_at": {"$gte": lo, "$lt": hi}, "status": {"$in": sorted(_TERMINAL)}}
    if job_id:
        query["job_id"] = job_id
    return query


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
    _check_range(start, end)
    settings = settings or get_settings()
    cursor = (
        db[CALLS]
        .find(_calls_filter(start, end, job_id), _PROJECTION)
        .sort("created_at", 1)
        .limit(limit)
        .batch_size(1000)
    )
    for call in cursor:
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
            "day": day_of(call),
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
        }


@dataclass
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
) -> ExportResult:
    """Write the filtered calls as CSV to `out`, streaming; says if the row cap cut it short."""
    writer = csv.DictWriter(out, fieldnames=list(EXPORT_COLUMNS))
    writer.writeheader()
    rows = total = 0
    for row in export_rows(db, start, end, job_id, limit=limit + 1):
        if rows == limit:
            return ExportResult(rows, True, total)
        writer.writerow(row)
        rows += 1
        total += costmod.to_micros(row["total_cost"])
    return ExportResult(rows, False, total)


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
