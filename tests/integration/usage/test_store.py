"""The usage store on the real test database: the rollup gate, the pending mark, the reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.db import CALLS, ROLLUPS, utcnow
from core.usage import store
from tests.factories import insert_call

T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


def _claim(db, seq: int, applied: dict[str, int]) -> bool:
    return store.claim_rollup_sync(
        db, "c1", seq=seq, applied=applied, day="2025-03-03", costs={"total_micros": 1}, now=utcnow()
    )


def test_the_gate_lets_one_sync_win_per_seq(db):
    insert_call(db, id="c1", job_id="j1", status="completed", created_at=T0)
    assert _claim(db, 0, {"calls": 1}) is True  # never synced: no rollup.seq yet
    assert _claim(db, 0, {"calls": 1}) is False  # a second sync from the same read loses
    call = db[CALLS].find_one({"_id": "c1"})
    assert call["rollup"]["seq"] == 1 and call["rollup"]["inc_pending"] is True
    assert call["rollup"]["applied"] == {"calls": 1} and call["costs"] == {"total_micros": 1}
    store.clear_inc_pending(db, "c1", 2)  # not this sync's seq: the mark stays
    assert db[CALLS].find_one({"_id": "c1"})["rollup"]["inc_pending"] is True
    store.clear_inc_pending(db, "c1", 1)
    assert "inc_pending" not in db[CALLS].find_one({"_id": "c1"})["rollup"]
    assert _claim(db, 1, {"calls": 1, "tel_est": 5}) is True
    assert db[CALLS].find_one({"_id": "c1"})["rollup"]["seq"] == 2


def test_pending_marks_older_than_the_cut_are_counted(db):
    insert_call(db, id="c1", status="busy", created_at=T0)
    _claim(db, 0, {"calls": 1})
    assert store.count_possibly_uncounted(db, synced_before=utcnow() - timedelta(minutes=1)) == 0
    assert store.count_possibly_uncounted(db, synced_before=utcnow() + timedelta(minutes=1)) == 1


def test_counters_rollups_and_job_totals(db):
    store.inc_counters(db, "2025-03-03", "j1", {"calls": 1, "ai_est": 5, "tel_est": 0}, now=T0)
    store.inc_counters(db, "2025-03-03", "j2", {"calls": 2}, now=T0)
    store.inc_counters(db, "2025-03-04", "j1", {}, now=T0)  # nothing to add: nothing written
    assert db[ROLLUPS].count_documents({}) == 3
    day = db[ROLLUPS].find_one({"_id": "day|2025-03-03"})
    assert day["c"] == {"calls": 3, "ai_est": 5} and day["job_id"] is None and day["month"] == "2025-03"
    assert [r.counters for r in store.day_rollups(db, "2025-03-01", "2025-03-31", None)] == [day["c"]]
    assert [r.day for r in store.day_rollups(db, "2025-03-01", "2025-03-31", "j2")] == ["2025-03-03"]
    totals = store.job_totals(db, "2025-03-03", "2025-03-03", None, ("calls", "ai_est"))
    assert totals == {"j1": {"calls": 1, "ai_est": 5}, "j2": {"calls": 2, "ai_est": 0}}
    assert [r.counters for r in store.month_day_rollups(db, "2025-03")] == [{"calls": 3, "ai_est": 5}]
    assert store.count_rollups(db) == 3
