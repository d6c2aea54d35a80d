"""The usage counters under faults: a sync killed between its gate and its increment, and a
rebuild while calls end. Every call counts once, whatever happened.

Before: the gate moved `rollup.applied`, then the process died before the `$inc` — the counts
were lost for good (nothing knew what was missing); a rebuild racing live syncs replaced the
rollups under them and counted some calls twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from core.config import get_settings
from core.db import CALLS, ROLLUPS, utcnow
from core.usage import counters, rollups, store
from tests.factories import insert_call

ROOT = Path(__file__).resolve().parents[2]
_SYNC = ("import sys\nfrom core.db import get_db\nfrom core.usage import rollups\n"
         "rollups.sync_call(get_db(), sys.argv[1])\n")


def _ended_call(db, **fields):
    return insert_call(db, status="completed", duration_seconds=120, billed_duration_seconds=118,
                       billing_status="BILLING_STATUS_BILLED", telephony_price="-0.03", price_unit="USD",
                       created_at=utcnow(), **fields)


def _expected(db) -> Counter:
    """Every call's counters summed straight from the calls (what the rollups must hold)."""
    total: Counter = Counter()
    for doc in db[CALLS].find():
        total.update(counters.contribution(doc, get_settings())[0])
    return total


def _counted(db) -> Counter:
    total: Counter = Counter()
    for doc in db[ROLLUPS].find({"scope": "day"}):
        total.update(doc["c"])
    return total


def _job_counted(db) -> Counter:
    total: Counter = Counter()
    for doc in db[ROLLUPS].find({"scope": "job"}):
        total.update(doc["c"])
    return total


def _settle(db) -> None:
    """The worker's stale pass, as often as it finds work, a minute and more later."""
    later = utcnow() + timedelta(minutes=2)
    while rollups.sync_stale(db, now=later):
        pass


def test_a_sync_killed_between_its_gate_and_its_increment_is_finished_once(db, test_env) -> None:
    call = _ended_call(db)
    run = subprocess.run([sys.executable, "-c", _SYNC, call.id], cwd=ROOT, timeout=60,
                         env={**os.environ, **test_env, "VSC_FAULT_KILL_AT": "after_rollup_gate"})
    assert run.returncode == -signal.SIGKILL
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["rollup"]["inc_pending"] is True and doc["rollup"]["pending"]["delta"]
    assert _counted(db) == Counter()  # the gate moved, the counts did not land
    _settle(db)
    assert _counted(db) == _expected(db) == _job_counted(db) and _expected(db)["calls"] == 1
    # Finishing the same increment again (a slow second process) changes nothing.
    state = {**doc["rollup"]}
    rollups._finish(db, call.id, state)
    assert _counted(db) == _expected(db)
    assert "pending" not in db[CALLS].find_one({"_id": call.id})["rollup"]


def test_an_old_increment_finished_after_a_newer_sync_landed_is_not_added_again(db, test_env) -> None:
    call = _ended_call(db)
    assert rollups.sync_call(db, call.id)
    stale_view = dict(db[CALLS].find_one({"_id": call.id})["rollup"])
    stale_view["pending"] = {"delta": {"calls": 1}, "day": stale_view["day"], "job_id": call.job_id}
    # A newer sync of the same call lands (a review decision changed its counters).
    db[CALLS].update_one({"_id": call.id}, {"$set": {"review": {"decision": "advance"},
                                                     "updated_at": utcnow()}})
    rollups.record_decision(db, call.id)
    rollups._finish(db, call.id, stale_view)  # the process that read the older state wakes up
    assert _counted(db) == _expected(db)


def test_old_sync_marks_are_pruned(db, test_env) -> None:
    for _ in range(3):
        rollups.sync_call(db, _ended_call(db).id)
    assert all(doc.get("m") for doc in db[ROLLUPS].find())
    assert store.prune_marks(db, older_than=utcnow() + timedelta(hours=2)) == db[ROLLUPS].count_documents({})
    assert not any(doc.get("m") for doc in db[ROLLUPS].find())
    assert _counted(db) == _expected(db)


def test_a_rebuild_while_calls_end_counts_every_call_once(db, test_env) -> None:
    calls = [_ended_call(db) for _ in range(120)]
    for call in calls[:60]:
        rollups.sync_call(db, call.id)
    done = threading.Event()
    errors: list[BaseException] = []

    def calls_ending() -> None:
        # Meanwhile the sidecar keeps recording billing for calls (each change synced at once).
        try:
            for i, call in enumerate(calls):
                db[CALLS].update_one({"_id": call.id}, {"$set": {"billed_duration_seconds": 30 + i,
                                                                 "updated_at": utcnow()}})
                rollups.record_billing(db, call.id)
                time.sleep(0.03)  # spread over the whole rebuild
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    ender = threading.Thread(target=calls_ending)
    ender.start()
    time.sleep(0.3)
    report = rollups.rebuild(db, batch_size=25)
    ender.join(60)
    assert done.is_set() and not errors and report.calls == 120
    _settle(db)
    assert _counted(db) == _expected(db) == _job_counted(db)
    assert _expected(db)["calls"] == 120


def test_a_second_rebuild_is_refused_while_one_runs(db, test_env) -> None:
    from core.db import server_now

    assert store.start_rebuild(db, owner="other", until=server_now(db) + timedelta(minutes=5))
    try:
        refused = False
        try:
            rollups.rebuild(db)
        except rollups.RebuildRunning as exc:
            refused = "Another rebuild" in str(exc)
        assert refused
        call = _ended_call(db)
        assert rollups.sync_call(db, call.id) is False  # syncs wait for the rebuild
    finally:
        store.finish_rebuild(db, owner="other")
    assert rollups.sync_call(db, call.id) is True
