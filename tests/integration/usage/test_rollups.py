"""Usage rollups on the real test database: exact sums, exactly-once, rebuild, CSV == page."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from core import labels
from core.db import CALLS, ROLLUPS, utcnow
from core.usage import costs, rollups, spend
from core.usage import export as usage_export
from core.usage import views as usage_views
from tests.factories import insert_call
from tests.support.usage_data import D1, D2, D3, DATASET, EXPECTED_DAY, EXPECTED_JOB_TOTAL, at, seed_dataset
from tests.support.visible_text import engineer_speak


def _rollup_counters(db) -> dict[str, dict[str, int]]:
    return {d["_id"]: {k: v for k, v in d["c"].items() if v} for d in db[ROLLUPS].find()}


def test_exact_sums_per_day_job_and_component(db):
    seed_dataset(db)
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
    insert_call(db, id="x", job_id="j1", status="completed", created_at=at(D1, 9), duration_seconds=61)
    threads = [threading.Thread(target=rollups.record_terminal, args=(db, "x")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rollups.record_terminal(db, {"_id": "x"})
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["calls"] == 1
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["tel_est"] == 28_000


def test_estimate_moves_to_actual_without_double_counting(db):
    insert_call(db, id="y", job_id="j1", status="completed", created_at=at(D1, 9), duration_seconds=61)
    rollups.record_terminal(db, "y")
    db[CALLS].update_one({"_id": "y"}, {"$set": {"telephony_price": "-0.02", "price_unit": "USD"}})
    assert rollups.record_price(db, "y") is True
    c = db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]
    assert c["tel_est"] == 0 and c["tel_act"] == 20_000 and c["calls"] == 1


def test_rebuild_equals_incremental(db):
    seed_dataset(db)
    incremental = _rollup_counters(db)
    report = rollups.rebuild(db)
    assert report.calls == len(DATASET) and report.calls_fixed == 0
    assert _rollup_counters(db) == incremental
    # A wiped collection comes back identical; further syncs then change nothing.
    db[ROLLUPS].delete_many({})
    rollups.rebuild(db)
    assert _rollup_counters(db) == incremental
    assert not any(rollups.sync_call(db, base["id"]) for base, _ in DATASET)


def test_rebuild_repairs_a_crash_between_gate_and_increment(db):
    seed_dataset(db, duplicate=False)
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
    insert_call(db, id="m", job_id="j1", status="busy", created_at=now)
    insert_call(db, id="n", job_id="j1", status="completed", created_at=now, duration_seconds=30)
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
    seed_dataset(db, duplicate=False)
    usage = usage_views.usage_summary(db, start, end, job)
    count, sums = _csv_totals(db, start, end, job)
    t = usage.totals
    assert count == t["calls"]
    assert sums["ai_cost"] == costs.from_micros(t.get("ai_est", 0) + t.get("ai_act", 0))
    assert sums["telephony_cost"] == costs.from_micros(t.get("tel_est", 0) + t.get("tel_act", 0))
    assert sums["total_cost"] == costs.from_micros(usage.total_cost_micros)
    assert usage_views.headline(usage).spend == costs.money_str(sums["total_cost"])


def test_export_is_bounded(db):
    seed_dataset(db, duplicate=False)
    out = io.StringIO()
    result = usage_export.export_csv(db, out, D1, D3, limit=3)
    assert result.rows == 3 and result.truncated
    assert len(out.getvalue().strip().splitlines()) == 4  # header + 3


def test_the_pages_export_is_for_people_and_the_cli_keeps_the_codes(db):
    seed_dataset(db, duplicate=False)
    machine, people = io.StringIO(), io.StringIO()
    usage_export.export_csv(db, machine, D1, D3)
    usage_export.export_csv(db, people, D1, D3, for_people=usage_export.ForPeople(
        "America/New_York", {"j1": "Forklift operator", "j2": "Line cook"}))
    codes = list(csv.DictReader(io.StringIO(machine.getvalue())))
    words = list(csv.DictReader(io.StringIO(people.getvalue())))
    assert len(codes) == len(words) > 0
    assert {r["Job"] for r in words} == {"Forklift operator", "Line cook"}
    assert {r["Outcome"] for r in words} <= set(labels.labels(labels.Kind.CALL_STATUS).values())
    assert all(r["Started"].endswith(("EST", "EDT")) for r in words)  # the reader's zone
    assert {r["Test call"] for r in words} <= {"Yes", "No"}
    # The same money either way; ids and codes stay in the tools' version only.
    assert [r["Total cost"] for r in words] == [r["total_cost"] for r in codes]
    text = people.getvalue()
    assert engineer_speak(text) == [] and not any(r["call_id"] in text for r in codes)


def test_budget_reads_this_months_rollups(db):
    now = utcnow()
    insert_call(db, id="b", job_id="j1", status="completed", created_at=now, duration_seconds=600,
                billing_status="BILLING_STATUS_BILLED", billed_duration_seconds=600.0,
                telephony_price="-0.14", price_unit="USD")
    rollups.record_terminal(db, "b")
    assert spend.spend_this_month(db) == Decimal("0.64")
    assert spend.spend_this_month(db, now=now + timedelta(days=40)) == 0


def test_empty_range_and_bad_range(db):
    usage = usage_views.usage_summary(db, D1, D2)
    assert usage.empty and len(usage.daily) == 2 and usage.jobs.empty
    with pytest.raises(ValueError):
        usage_views.usage_summary(db, D2, D1)
