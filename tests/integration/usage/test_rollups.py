"""Usage rollups on the real test database: exact sums, exactly-once, rebuild, CSV == page."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core import manage
from core.db import CALLS, JOBS, ROLLUPS, utcnow
from core.usage import costs, rollups, spend
from core.usage import export as usage_export
from core.usage import views as usage_views

D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# Each call: where it starts, then the facts that land on it, in delivery order.
DATASET: list[tuple[dict, list[dict]]] = [
    (
        {"_id": "c1", "job_id": "j1", "created_at": _at(D1, 10)},
        [
            {"status": "completed", "duration_seconds": 95, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 37.0},
            {"telephony_price": "-0.01300", "price_unit": "USD"},
            {"review": {"decision": "advance"}},
        ],
    ),
    (
        {"_id": "c2", "job_id": "j1", "created_at": _at(D1, 11)},
        [
            {"status": "completed", "duration_seconds": 20, "end_reason": "hangup"},
        ],
    ),
    (
        {"_id": "c3", "job_id": "j1", "created_at": _at(D1, 12)},
        [
            # Price and billing before the status: order must not matter.
            {"telephony_price": "-0.0085", "price_unit": "USD"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 12.0},
            {"status": "voicemail", "duration_seconds": 15, "end_reason": "agent_hangup"},
        ],
    ),
    (
        {"_id": "c4", "job_id": "j2", "created_at": _at(D1, 13)},
        [
            {"status": "no_answer"},
            {"price_status": "none"},
        ],
    ),
    (
        {"_id": "c5", "job_id": "j2", "created_at": _at(D2, 9)},
        [
            {"status": "completed", "duration_seconds": 300, "end_reason": "timeout"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 290.0},
            {"telephony_price": "-0.0700", "price_unit": "USD"},
            {"review": {"decision": "reject"}},
        ],
    ),
    ({"_id": "c6", "job_id": "j2", "created_at": _at(D2, 10)}, [{"status": "busy"}]),
    ({"_id": "c7", "job_id": "j1", "created_at": _at(D2, 11)}, [{"status": "in_progress"}]),
    (
        {"_id": "c8", "job_id": "j1", "created_at": _at(D2, 12)},
        [
            {"status": "completed", "duration_seconds": 130, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_FREE_MINUTES"},
            {"review": {"decision": "advance"}},
        ],
    ),
    (
        {"_id": "c9", "job_id": "j2", "created_at": _at(D3, 9)},
        [
            {"status": "completed", "duration_seconds": 60, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 60.0},
        ],
    ),
]

EXPECTED_DAY = {
    D1.isoformat(): {
        "calls": 4,
        "out_completed": 2,
        "out_voicemail": 1,
        "out_no_answer": 1,
        "answered": 2,
        "seconds": 130,
        "answered_seconds": 115,
        "ai_seconds": 42 + 24 + 12,
        "ai_act": 35_000 + 10_000,
        "ai_est": 20_000,
        "tel_act": 13_000 + 8_500,
        "tel_est": 14_000,
        "advanced": 1,
        "early_hangups": 1,
        "waste_early_hangup": 34_000,
        "waste_voicemail": 18_500,
        "er_hangup": 2,
        "er_agent_hangup": 1,
    },
    D2.isoformat(): {
        "calls": 3,
        "out_completed": 2,
        "out_busy": 1,
        "answered": 2,
        "seconds": 430,
        "answered_seconds": 430,
        "ai_seconds": 294,
        "ai_act": 245_000,
        "tel_act": 70_000,
        "tel_est": 42_000,
        "advanced": 1,
        "er_timeout": 1,
        "er_hangup": 1,
    },
    D3.isoformat(): {
        "calls": 1,
        "out_completed": 1,
        "answered": 1,
        "seconds": 60,
        "answered_seconds": 60,
        "ai_seconds": 60,
        "ai_act": 50_000,
        "tel_est": 14_000,
        "er_hangup": 1,
    },
}
# Totals (micros) per job over D1..D2.
EXPECTED_JOB_TOTAL = {"j1": 35_000 + 13_000 + 34_000 + 18_500 + 42_000, "j2": 245_000 + 70_000}


def _seed(db, *, duplicate: bool = True) -> None:
    db[JOBS].insert_many([{"_id": "j1", "title": "Backend engineer"}, {"_id": "j2", "title": "Nurse"}])
    for base, facts in DATASET:
        db[CALLS].insert_one({**base, "status": "queued"})
        for fact in facts:
            # What the event code does: its own update, then the rollup hook right after.
            db[CALLS].update_one({"_id": base["_id"]}, {"$set": fact})
            rollups.sync_call(db, base["_id"])
            if duplicate:  # a redelivered event runs the hook again: nothing may move
                assert rollups.sync_call(db, base["_id"]) is False


def _rollup_counters(db) -> dict[str, dict[str, int]]:
    return {d["_id"]: {k: v for k, v in d["c"].items() if v} for d in db[ROLLUPS].find()}


def test_exact_sums_per_day_job_and_component(db):
    _seed(db)
    got = _rollup_counters(db)
    for day, expected in EXPECTED_DAY.items():
        assert got[f"day|{day}"] == expected, day
    job_days = {k: v for k, v in got.items() if k.startswith("job|")}
    assert set(job_days) == {
        "job|2025-03-03|j1",
        "job|2025-03-03|j2",
        "job|2025-03-04|j1",
        "job|2025-03-04|j2",
        "job|2025-03-05|j2",
    }
    assert job_days["job|2025-03-03|j2"] == {"calls": 1, "out_no_answer": 1}
    usage = usage_views.usage_summary(db, D1, D2)
    per_job = {r["job_id"]: r for r in usage.jobs.to_dict("records")}
    for job, total in EXPECTED_JOB_TOTAL.items():
        r = per_job[job]
        assert r["ai_est"] + r["ai_act"] + r["tel_est"] + r["tel_act"] == total
    assert per_job["j1"]["job"] == "Backend engineer"
    assert per_job["j1"]["advanced"] == 2 and per_job["j1"]["out_completed"] == 3
    assert usage.total_cost_micros == sum(EXPECTED_JOB_TOTAL.values()) == 457_500
    assert usage.totals["ai_act"] == 290_000 and usage.totals["tel_est"] == 56_000
    assert list(usage.daily["day"].dt.date) == [D1, D2]
    assert dict(zip(usage.end_reasons["end_reason"], usage.end_reasons["calls"], strict=True)) == {
        "hangup": 3,
        "agent_hangup": 1,
        "timeout": 1,
    }
    call = db[CALLS].find_one({"_id": "c1"})
    assert call["costs"]["total"] == "0.048" and not call["costs"]["telephony_estimated"]
    assert usage_views.headline(usage).spend == "0.4575"


def test_same_fact_applied_twice_counts_once_even_concurrently(db):
    db[CALLS].insert_one(
        {"_id": "x", "job_id": "j1", "status": "completed", "created_at": _at(D1, 9), "duration_seconds": 61}
    )
    threads = [threading.Thread(target=rollups.record_terminal, args=(db, "x")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rollups.record_terminal(db, {"_id": "x"})
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["calls"] == 1
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["tel_est"] == 28_000


def test_estimate_moves_to_actual_without_double_counting(db):
    db[CALLS].insert_one(
        {"_id": "y", "job_id": "j1", "status": "completed", "created_at": _at(D1, 9), "duration_seconds": 61}
    )
    rollups.record_terminal(db, "y")
    db[CALLS].update_one({"_id": "y"}, {"$set": {"telephony_price": "-0.02", "price_unit": "USD"}})
    assert rollups.record_price(db, "y") is True
    c = db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]
    assert c["tel_est"] == 0 and c["tel_act"] == 20_000 and c["calls"] == 1


def test_rebuild_equals_incremental(db):
    _seed(db)
    incremental = _rollup_counters(db)
    report = rollups.rebuild(db)
    assert report.calls == len(DATASET) and report.calls_fixed == 0
    assert _rollup_counters(db) == incremental
    # A wiped collection comes back identical; further syncs then change nothing.
    db[ROLLUPS].delete_many({})
    rollups.rebuild(db)
    assert _rollup_counters(db) == incremental
    assert not any(rollups.sync_call(db, base["_id"]) for base, _ in DATASET)


def test_rebuild_repairs_a_crash_between_gate_and_increment(db):
    _seed(db, duplicate=False)
    good = _rollup_counters(db)
    # Simulate a crash right after the gate: the marker moved, the $inc never happened.
    db[ROLLUPS].update_one({"_id": "day|2025-03-04"}, {"$inc": {"c.calls": -1}})
    db[CALLS].update_one(
        {"_id": "c6"},
        {"$set": {"rollup.inc_pending": True, "rollup.synced_at": utcnow() - timedelta(minutes=5)}},
    )
    assert rollups.status(db).possibly_uncounted == 1
    rollups.rebuild(db)
    assert _rollup_counters(db) == good
    assert rollups.status(db).possibly_uncounted == 0


def test_sweep_syncs_calls_the_hooks_missed(db):
    now = utcnow()
    db[CALLS].insert_one({"_id": "m", "job_id": "j1", "status": "busy", "created_at": now})
    db[CALLS].insert_one(
        {"_id": "n", "job_id": "j1", "status": "completed", "created_at": now, "duration_seconds": 30}
    )
    rollups.sync_call(db, "n")
    # A later change whose hook was never called (e.g. a crash): updated_at moved on.
    db[CALLS].update_one(
        {"_id": "n"},
        {
            "$set": {
                "telephony_price": "-0.01",
                "price_unit": "USD",
                "updated_at": utcnow() + timedelta(seconds=1),
            }
        },
    )
    assert rollups.sync_stale(db, now=now) == 2
    c = db[ROLLUPS].find_one({"_id": f"day|{now.date().isoformat()}"})["c"]
    assert c["calls"] == 2 and c["tel_act"] == 10_000 and c.get("tel_est", 0) == 0
    assert rollups.sync_stale(db, now=now) == 0


def _csv_totals(db, start, end, job=None) -> tuple[int, dict[str, Decimal]]:
    out = io.StringIO()
    result = usage_export.export_csv(db, out, start, end, job)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == result.rows and not result.truncated
    sums = {
        k: sum((Decimal(r[k]) for r in rows), Decimal(0)) for k in ("ai_cost", "telephony_cost", "total_cost")
    }
    return len(rows), sums


@pytest.mark.parametrize(
    ("start", "end", "job"), [(D1, D2, None), (D1, D3, "j2"), (D2, D2, "j1"), (D1, D1, None)]
)
def test_page_numbers_equal_csv_export_totals(db, start, end, job):
    _seed(db, duplicate=False)
    usage = usage_views.usage_summary(db, start, end, job)
    count, sums = _csv_totals(db, start, end, job)
    t = usage.totals
    assert count == t["calls"]
    assert sums["ai_cost"] == costs.from_micros(t.get("ai_est", 0) + t.get("ai_act", 0))
    assert sums["telephony_cost"] == costs.from_micros(t.get("tel_est", 0) + t.get("tel_act", 0))
    assert sums["total_cost"] == costs.from_micros(usage.total_cost_micros)
    assert usage_views.headline(usage).spend == costs.money_str(sums["total_cost"])


def test_export_is_bounded(db):
    _seed(db, duplicate=False)
    out = io.StringIO()
    result = usage_export.export_csv(db, out, D1, D3, limit=3)
    assert result.rows == 3 and result.truncated
    assert len(out.getvalue().strip().splitlines()) == 4  # header + 3


def test_budget_reads_this_months_rollups(db):
    now = utcnow()
    db[CALLS].insert_one(
        {
            "_id": "b",
            "job_id": "j1",
            "status": "completed",
            "created_at": now,
            "duration_seconds": 600,
            "billing_status": "BILLING_STATUS_BILLED",
            "billed_duration_seconds": 600.0,
            "telephony_price": "-0.14",
            "price_unit": "USD",
        }
    )
    rollups.record_terminal(db, "b")
    assert spend.spend_this_month(db) == Decimal("0.64")
    assert spend.budget_state(db, "0.70").level == "warning"
    assert spend.budget_state(db, "0.64").level == "exceeded"
    assert spend.budget_state(db, "100").allows(Decimal("1"))
    assert spend.spend_this_month(db, now=now + timedelta(days=40)) == 0


def test_empty_range_and_bad_range(db):
    usage = usage_views.usage_summary(db, D1, D2)
    assert usage.empty and len(usage.daily) == 2 and usage.jobs.empty
    with pytest.raises(ValueError):
        usage_views.usage_summary(db, D2, D1)


def test_cli_rebuild_and_export(db, tmp_path, capsys):
    import json


    _seed(db, duplicate=False)
    db[ROLLUPS].delete_many({})
    assert manage.main(["rebuild-rollups", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["calls"] == len(DATASET) and report["possibly_uncounted"] == 0
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["calls"] == 4
    out = tmp_path / "usage.csv"
    args = ["usage-export", "--from", "2025-03-03", "--to", "2025-03-04", "--out", str(out), "--json"]
    assert manage.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "rows": 7,
        "truncated": False,
        "total_cost": "0.4575",
        "file": str(out),
    }
    assert manage.main(["usage-export", "--from", "2025-03-04", "--to", "2025-03-03", "--out", str(out)]) == 1
    assert "end date" in capsys.readouterr().err
