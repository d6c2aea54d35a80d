"""Benchmark: the usage page's script time (AppTest) over N calls, three ways, in one run.

    .venv/bin/python bench/usage_page.py --sizes 10000 100000

1. rollups   — the shipped page: reads the per-day/per-job rollup documents.
2. naive     — loads every call into pandas and groups there.
3. group     — a `$group` over the raw calls in the database on every view.

All three feed the same page script (the data function is swapped in for the run) and must
produce the same totals, which the script checks before printing the timings. It starts a
throwaway embedded database (memory backend) unless --uri is given.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENV_FILE", "")
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest outside a server warns per run

import pandas as pd  # noqa: E402

from core.config import get_settings  # noqa: E402
from core.usage import counters as usage_counters  # noqa: E402
from core.usage import rollups  # noqa: E402
from core.usage import store as usage_store  # noqa: E402
from core.usage import views as usage_views  # noqa: E402
from tools.embedded_db import launcher as embedded_db  # noqa: E402

_OUTCOMES = (
    ["completed"] * 55
    + ["no_answer"] * 20
    + ["voicemail"] * 12
    + ["busy"] * 6
    + ["failed"] * 5
    + ["canceled"] * 2
)
_REASONS = ["hangup", "agent_hangup", "timeout", "connection_error"]
_DAYS = 30  # the page's default range: every seeded call is in view


def _span_seconds(now: datetime) -> int:
    # From the first second of the page's first day up to now.
    first = datetime.combine(now.date() - timedelta(days=_DAYS - 1), datetime.min.time(), tzinfo=UTC)
    return max(int((now - first).total_seconds()), 1)


def _call(rng: random.Random, now: datetime, jobs: list[str]) -> dict[str, Any]:
    status = rng.choice(_OUTCOMES)
    call: dict[str, Any] = {
        "_id": uuid.uuid4().hex,
        "job_id": rng.choice(jobs),
        "candidate_id": uuid.uuid4().hex,
        "status": status,
        "created_at": now - timedelta(seconds=rng.randrange(_span_seconds(now))),
    }
    if status in ("completed", "voicemail"):
        seconds = rng.randrange(5, 900) if status == "completed" else rng.randrange(10, 40)
        call.update(duration_seconds=seconds, end_reason=rng.choice(_REASONS))
        if rng.random() < 0.9:
            call.update(billing_status="BILLING_STATUS_BILLED", billed_duration_seconds=float(seconds - 2))
        if rng.random() < 0.8:
            call.update(telephony_price=f"-{0.014 * -(-seconds // 60):.4f}", price_unit="USD")
        if status == "completed" and rng.random() < 0.3:
            call["review"] = {"decision": rng.choice(["advance", "reject", "hold"])}
    return call


def seed(db, size: int, *, jobs: int = 20) -> float:
    """Insert `size` ended calls (with their synced rollup state) and build rollups; returns s."""
    settings = get_settings()
    rng = random.Random(size)
    now = datetime.now(UTC)
    job_ids = [f"job{i:02d}" for i in range(jobs)]
    db["jobs"].insert_many(
        [{"_id": j, "title": f"Job {j}", "status": "open", "created_at": now} for j in job_ids]
    )
    batch: list[dict[str, Any]] = []
    for _ in range(size):
        call = _call(rng, now, job_ids)
        # The state the live hooks leave on a call, so the rebuild below only writes rollups.
        applied, costs = usage_counters.contribution(call, settings)
        day = usage_counters.day_of(call, "UTC")  # the default organisation zone
        call.update(rollup={"applied": applied, "seq": 1, "day": day}, costs=costs)
        batch.append(call)
        if len(batch) == 5000:
            db["calls"].insert_many(batch)
            batch = []
    if batch:
        db["calls"].insert_many(batch)
    started = time.perf_counter()
    rollups.rebuild(db)
    return time.perf_counter() - started


# -- the two alternatives --------------------------------------------------------------------


def naive_summary(db, start: date, end: date, job_id: str | None = None) -> usage_views.UsageData:
    """Every call into pandas, filtered and grouped there."""
    frame = pd.DataFrame(
        list(db["calls"].find({}, {"job_id": 1, "status": 1, "created_at": 1, "rollup.applied": 1}))
    )
    frame["day"] = pd.to_datetime(frame["created_at"], utc=True).dt.strftime("%Y-%m-%d")
    frame = frame[(frame["day"] >= start.isoformat()) & (frame["day"] <= end.isoformat())]
    frame = frame[frame["status"].isin(usage_counters.OUTCOMES)]
    if job_id:
        frame = frame[frame["job_id"] == job_id]
    counters = pd.json_normalize(frame["rollup"].tolist()).fillna(0)
    counters.columns = [c.removeprefix("applied.") for c in counters.columns]
    counters = counters.drop(columns=[c for c in counters.columns if not isinstance(c, str) or "." in c])
    counters["day"] = frame["day"].to_numpy()
    counters["job_id"] = frame["job_id"].to_numpy()
    numeric = [c for c in counters.columns if c not in ("day", "job_id")]
    by_day = counters.groupby("day")[numeric].sum()
    by_job = counters.groupby("job_id")[[c for c in numeric if c in usage_counters.COUNTERS]].sum()
    day_counters = {d: {k: int(v) for k, v in row.items()} for d, row in by_day.iterrows()}
    job_counters = {j: {k: int(v) for k, v in row.items()} for j, row in by_job.iterrows()}
    return usage_views.usage_from_counters(
        start, end, job_id, day_counters, job_counters, usage_store.job_titles(db, list(job_counters))
    )


def group_summary(db, start: date, end: date, job_id: str | None = None) -> usage_views.UsageData:
    """`$group` over the raw calls on every view (per day, per job, per end reason)."""
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    match: dict[str, Any] = {
        "created_at": {"$gte": lo, "$lt": hi},
        "status": {"$in": list(usage_counters.OUTCOMES)},
    }
    if job_id:
        match["job_id"] = job_id
    sums = {k: {"$sum": f"$rollup.applied.{k}"} for k in usage_counters.COUNTERS}
    day_expr = {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}}
    day_counters: dict[str, Counter[str]] = {}
    for g in db["calls"].aggregate([{"$match": match}, {"$group": {"_id": day_expr, **sums}}]):
        day = g.pop("_id")  # popped first: the right-hand side below is evaluated before the key
        day_counters[day] = Counter({k: int(v) for k, v in g.items()})
    for g in db["calls"].aggregate(
        [{"$match": match}, {"$group": {"_id": {"day": day_expr, "reason": "$end_reason"}, "n": {"$sum": 1}}}]
    ):
        if g["_id"].get("reason"):
            day_counters.setdefault(g["_id"]["day"], Counter())[f"er_{g['_id']['reason']}"] += g["n"]
    job_counters = {
        g.pop("_id"): g
        for g in db["calls"].aggregate([{"$match": match}, {"$group": {"_id": "$job_id", **sums}}])
    }
    return usage_views.usage_from_counters(
        start, end, job_id, day_counters, job_counters, usage_store.job_titles(db, list(job_counters))
    )


# -- timing ----------------------------------------------------------------------------------


def time_page(db, variant, runs: int) -> list[float]:
    """Wall time of the usage page script (AppTest, signed in), `runs` times after a warm-up."""
    from streamlit.testing.v1 import AppTest

    from core import auth

    user = auth.get_user(db, "bench") or auth.create_user(
        db, "bench", "bench-password-1", "viewer", actor=auth.OPERATOR)
    original = usage_views.usage_summary
    usage_views.usage_summary = variant
    try:
        times = []
        for i in range(runs + 1):
            at = AppTest.from_file(str(ROOT / "pages" / "usage.py"), default_timeout=600)
            at.session_state["authentication_status"] = True
            at.session_state["username"] = user.username
            at.session_state["name"] = user.name
            at.session_state["roles"] = [user.role.value]
            at.session_state["auth.session_id"] = auth.start_session(  # a live server-side session
                db, user.username, lifetime=timedelta(days=1), idle=timedelta(hours=8)
            ).session_id
            started = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - started
            if at.exception:
                raise RuntimeError(f"page failed: {at.exception[0].message}")
            if i:  # the first run warms imports and plotly
                times.append(elapsed)
        return times
    finally:
        usage_views.usage_summary = original


def main(argv: list[str] | None = None) -> int:
    """Seed each size, check the three ways agree, print the page times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uri", default=os.environ.get("BENCH_MONGODB_URI"))
    args = parser.parse_args(argv)

    from core import db as dbmod

    server = None
    uri = args.uri
    if not uri:
        server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
        uri = server.uri
    try:
        print(f"usage page benchmark — database {uri.split('@')[-1]}, {args.runs} timed runs each (median)")
        print(
            f"{'calls':>8} {'rebuild s':>10} {'rollups s':>10} {'naive s':>10} {'$group s':>10}  rollup docs"
        )
        for size in args.sizes:
            os.environ.update(MONGODB_URI=uri, MONGODB_DB=f"bench_usage_{size}_{uuid.uuid4().hex[:6]}")
            get_settings.cache_clear()
            dbmod.get_client.cache_clear()
            db = dbmod.get_db()
            dbmod.ensure_indexes(db)
            try:
                rebuild_s = seed(db, size)
                today = datetime.now(UTC).date()
                start = today - timedelta(days=29)
                shipped = usage_views.usage_summary(db, start, today)
                for other in (naive_summary, group_summary):
                    data = other(db, start, today)
                    if data.totals != shipped.totals:
                        diff = {
                            k: (v, data.totals.get(k))
                            for k, v in shipped.totals.items()
                            if data.totals.get(k) != v
                        }
                        raise SystemExit(
                            f"{other.__name__} disagrees with the rollups at {size} calls: {diff}"
                        )
                assert shipped.totals["calls"] == size
                results = {
                    name: statistics.median(time_page(db, fn, args.runs))
                    for name, fn in (
                        ("rollups", usage_views.usage_summary),
                        ("naive", naive_summary),
                        ("group", group_summary),
                    )
                }
                docs = db["usage_rollups"].estimated_document_count()
                print(
                    f"{size:>8} {rebuild_s:>10.2f} {results['rollups']:>10.3f} {results['naive']:>10.3f} "
                    f"{results['group']:>10.3f}  {docs}",
                    flush=True,
                )
            finally:
                db.client.drop_database(db.name)
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
