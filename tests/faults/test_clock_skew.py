"""Workers whose clocks are an hour off still dial on time, at the right hours, at the right rate.

Two worker processes dispatch one batch: one clock an hour ahead, one an hour behind (the
test-only hook `VSC_FAULT_CLOCK_SKEW_SECONDS`). The calling hours allow only the current hour,
so a worker that believed its own clock would hold every call; the dial gate would be blocked
for an hour by the fast clock. Decisions are taken on the database's clock: every candidate is
dialled once, promptly, and the grants are spaced by the calls-per-second limit.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import batches
from core.db import CALLS, server_now
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack
ROOT = Path(__file__).resolve().parents[2]
_WORKER = ("import time\nfrom core.db import get_db\nfrom core.calling.dispatch import run_once\n"
           "db = get_db()\nwhile True:\n    run_once(db)\n    time.sleep(0.02)\n")
_CPS = 4.0


def _this_hour_only(now: dt.datetime) -> CallingHours:
    """Today's window around now (UTC): now ± 25 minutes, clipped to the day."""
    start = max(dt.datetime.combine(now.date(), dt.time(0, 0), dt.UTC), now - dt.timedelta(minutes=25))
    end = min(dt.datetime.combine(now.date(), dt.time(23, 59, 59), dt.UTC), now + dt.timedelta(minutes=25))
    day = list(Weekday)[now.weekday()]
    return CallingHours(windows={day: [TimeWindow(start=start.time(), end=end.time())]})


def test_workers_an_hour_apart_dial_everyone_once_on_the_database_clock(stack) -> None:
    job = make_job(stack)
    for i in range(8):
        candidates.add_candidate(stack.db, stack.recruiter, name=f"Skew {i}", consent=True,
                                 phone=f"+1 415 555 01{i:02d}", timezone="Etc/UTC", job_ids=[job.id])
    stack.set_config(calling_hours=_this_hour_only(server_now(stack.db)), calls_per_second=_CPS,
                     max_concurrent_calls=50)
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    assert batch.queued == 8
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT,
                              env={**os.environ, **stack.env, "VSC_FAULT_CLOCK_SKEW_SECONDS": skew},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for skew in ("3600", "-3600")]
    try:
        stack.sandbox.wait_for(lambda: len(stack.dials()) >= 8, 30)
        time.sleep(0.5)  # room for a wrong second dial to show up
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    numbers = Counter(d["params"]["To"][0] for d in stack.dials())
    assert len(numbers) == 8 and max(numbers.values()) == 1
    docs = list(stack.db[CALLS].find({"batch_id": batch.id}))
    # Both workers dialled, so neither was blocked by the other's clock.
    assert len({d["claimed_by"].rsplit(":", 2)[1] for d in docs}) == 2
    # No call was held for being outside calling hours on a skewed clock.
    assert not any(d.get("wait_reason") for d in docs)
    grants = sorted(d["rate_slot_at"] for d in docs)
    gaps = [b - a for a, b in zip(grants, grants[1:], strict=False)]
    assert min(gaps) >= 1 / _CPS - 0.002  # the database clock has millisecond precision
