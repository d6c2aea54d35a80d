"""Settling many ended calls at once (the sidecar's settler, the worker's stale pass): the same
exactly-once counts as one call at a time, with a few commands per batch instead of seven a call.

Before, a burst of 375 ended calls cost the sidecar 2,737 database commands to settle (each a
commit on the durable store), competing with the webhooks it was answering.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

from core.calling.transitions import sync_rollups
from core.db import CALLS, ROLLUPS, utcnow
from core.usage import budget, budget_store, rollups
from tests.faults.test_usage_counts import _counted, _ended_call, _expected, _job_counted, _settle
from tests.integration.usage.test_budget import ONE_CALL, claimed_call, month_doc, reserve
from tests.support.commands import listened
from tests.support.usage_data import DATASET, EXPECTED_DAY, seed_dataset

ROOT = Path(__file__).resolve().parents[3]
_BATCH_SYNC = ("import sys\nfrom core.db import get_db\nfrom core.usage import rollups\n"
               "rollups.sync_calls(get_db(), sys.argv[1:])\n")


def _rollup_counters(db) -> dict[str, dict[str, int]]:
    return {d["_id"]: {k: v for k, v in d["c"].items() if v} for d in db[ROLLUPS].find()}


def test_a_batch_counts_what_one_call_at_a_time_counts(db):
    seed_dataset(db, duplicate=False)  # one call at a time: the reference
    one_by_one = _rollup_counters(db)
    ids = [base["id"] for base, _ in DATASET]
    db[ROLLUPS].delete_many({})
    db[CALLS].update_many({}, {"$unset": {"rollup": "", "costs": ""}})
    assert rollups.sync_calls(db, ids) > 0
    assert _rollup_counters(db) == one_by_one
    for day, expected in EXPECTED_DAY.items():
        assert _rollup_counters(db)[f"day|{day}"] == expected
    # A second batch (a redelivered burst) moves nothing.
    assert rollups.sync_calls(db, ids + ids) == 0
    assert _rollup_counters(db) == one_by_one


def test_racing_batches_and_single_syncs_count_every_call_once(db, test_env):
    ids = [_ended_call(db, job_id=f"j{i % 3}").id for i in range(30)]
    work = [lambda: rollups.sync_calls(db, ids) for _ in range(3)]
    work += [lambda: rollups.sync_calls(db, list(reversed(ids)))]
    work += [lambda i=i: rollups.sync_call(db, i) for i in ids[::5]]
    threads = [threading.Thread(target=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _counted(db)["calls"] == 30
    assert _counted(db) == _expected(db) == _job_counted(db)
    assert all("inc_pending" not in d["rollup"] for d in db[CALLS].find())


def test_a_batch_killed_between_its_gates_and_its_increments_is_finished_once(db, test_env):
    ids = [_ended_call(db).id for _ in range(5)]
    run = subprocess.run([sys.executable, "-c", _BATCH_SYNC, *ids], cwd=ROOT, timeout=60,
                         env={**os.environ, **test_env, "VSC_FAULT_KILL_AT": "after_rollup_gate"})
    assert run.returncode == -signal.SIGKILL
    assert all(d["rollup"]["inc_pending"] for d in db[CALLS].find())
    assert _counted(db) == Counter()  # every gate moved, no count landed
    # The next burst names two of them again: each is finished on its own, once.
    rollups.sync_calls(db, ids[:2])
    assert _counted(db)["calls"] == 2
    _settle(db)
    assert _counted(db) == _expected(db) == _job_counted(db) and _counted(db)["calls"] == 5


def test_an_increment_that_already_landed_on_a_rollup_is_not_added_again(db, test_env):
    first, second = _ended_call(db, job_id="j1"), _ended_call(db, job_id="j1")
    day = utcnow().date().isoformat()
    # The first call's increment had reached the day's rollup (its mark is there) while its gate
    # still shows it unsynced: the batch's summed update must not land, and each is added alone.
    db[ROLLUPS].insert_one({"_id": f"day|{day}", "day": day, "month": day[:7], "scope": "day",
                            "job_id": None, "c": {"calls": 1}, "m": {first.id: {"s": 1, "t": utcnow()}}})
    assert rollups.sync_calls(db, [first.id, second.id]) == 2
    assert db[ROLLUPS].find_one({"_id": f"day|{day}"})["c"]["calls"] == 2
    assert _job_counted(db)["calls"] == 2


def test_a_batch_is_settled_with_a_few_commands(db, test_env):
    ids = [_ended_call(db, job_id=f"j{i % 4}").id for i in range(40)]
    with listened(test_env["MONGODB_URI"], db.name) as (database, commands):
        sync_rollups(database, ids)
    writes = [n for n in commands.names if n in ("update", "insert", "findAndModify", "delete")]
    assert _counted(db)["calls"] == 40
    # Gates, increments (summed per rollup document) and clears: three write commands for all
    # 40 (the calls hold no budget, so there is nothing to settle there); one at a time was 120.
    assert len(writes) == 3


def test_a_batch_gives_back_each_calls_unused_budget_once_even_racing(db):
    for call_id in ("c1", "c2", "c3"):
        claimed_call(db, call_id, reserve(db))
    assert month_doc(db)["committed_micros"] == 3 * ONE_CALL
    for call_id, cost in (("c1", 120_000), ("c2", 50_000)):
        db[CALLS].update_one({"_id": call_id}, {"$set": {"status": "completed",
                                                         "costs": {"total_micros": cost}}})
    threads = [threading.Thread(target=budget.settle_calls, args=(db, ["c1", "c2", "c3"]))
               for _ in range(4)]
    threads.append(threading.Thread(target=budget.settle_call, args=(db, "c1")))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # c3 is still open: it keeps its reservation; the ended two count at their cost, once.
    assert month_doc(db)["committed_micros"] == 120_000 + 50_000 + ONE_CALL
    assert month_doc(db)["jobs"]["j1"] == 120_000 + 50_000 + ONE_CALL
    assert budget_store.budget_call(db, "c2").budget.counted == 50_000
    assert budget.settle_calls(db, ["c1", "c2", "c3"]) == 0
    # And the sweeper's repair finds the month in line with the calls.
    assert budget.check_month(db) == ""


def test_the_worker_stale_pass_settles_its_batch_together(db, test_env):
    ids = [_ended_call(db).id for _ in range(12)]
    assert rollups.sync_stale(db, now=utcnow() + timedelta(seconds=1)) == 12
    assert _counted(db) == _expected(db) and _counted(db)["calls"] == 12
    assert rollups.sync_stale(db, now=utcnow() + timedelta(seconds=1)) == 0
    assert set(ids) == {d["_id"] for d in db[CALLS].find({"rollup.seq": 1})}
