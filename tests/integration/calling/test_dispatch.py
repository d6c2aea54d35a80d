"""Batch dispatch with several workers: no double dial, rate limit, retries, holds, spike pause."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.agent.models import RetryPolicy
from core.calling import batches, dispatch
from core.calling.outcome import outcome_text
from core.config import get_settings
from core.db import BATCHES, CALLS, utcnow
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack
ROOT = Path(__file__).resolve().parents[3]
_WORKER = ("import time\nfrom core.db import get_db\nfrom core.calling.dispatch import run_once\n"
           "db = get_db()\nwhile True:\n    run_once(db)\n    time.sleep(0.05)\n")
# What the worker runs, every task in one loop (the sweeps settle a dial its killer left behind).
_FULL_WORKER = ("import time\nfrom core.db import get_db\nfrom core.calling import dispatch, sweeper\n"
                "from core.lifecycle import reconcile\ndb = get_db()\nwhile True:\n"
                "    dispatch.run_once(db)\n    sweeper.run_once(db)\n    reconcile.run_once(db)\n"
                "    time.sleep(0.05)\n")


def add_many(stack: Stack, job: dict, suffixes: list[str], npa: str = "212") -> list[dict]:
    return [candidates.add_candidate(stack.db, stack.recruiter, name=f"P{npa}{xx}", consent=True,
                                     phone=f"+1 {npa} 555 01{xx}", job_ids=[job.id])
            for xx in suffixes]


def dial_counts(stack: Stack) -> Counter:
    return Counter(d["params"]["To"][0] for d in stack.dials())


def wait_batch(stack: Stack, batch_id: str, status: str = "done", timeout: float = 30,
               drive: bool = True) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if drive:
            dispatch.run_once(stack.db)
        doc = stack.db[BATCHES].find_one({"_id": batch_id})
        if doc["status"] == status:
            return doc
        time.sleep(0.1)
    raise AssertionError(f"batch not {status}: {batches.batch_progress(stack.db, batch_id)}")


def test_three_workers_never_dial_a_candidate_twice_and_respect_the_rate(stack):
    job = make_job(stack)
    add_many(stack, job, [f"{i:02d}" for i in range(18)])
    stack.set_config(calls_per_second=5.0, max_concurrent_calls=50)
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    assert batch.queued == 18
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            dispatch.run_once(stack.db)
            time.sleep(0.02)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_batch(stack, batch.id, drive=False, timeout=40)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    counts = dial_counts(stack)
    assert len(counts) == 18 and set(counts.values()) == {1}
    claimers = {c["claimed_by"] for c in stack.db[CALLS].find({"batch_id": batch.id})}
    assert len(claimers) >= 2  # the work was shared
    slots = sorted(c["rate_slot_at"] for c in stack.db[CALLS].find({"batch_id": batch.id}))
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) >= 0.2 - 1e-6  # never faster than 5 per second, all workers together
    for i in range(len(slots)):
        assert sum(1 for s in slots if slots[i] <= s < slots[i] + 1.0) <= 5
    progress = batches.batch_progress(stack.db, batch.id)
    assert progress.finished == 18 and progress.fraction == 1.0


def test_a_worker_killed_mid_batch_leaves_no_double_dial(stack, monkeypatch):
    monkeypatch.setenv("DISPATCH_STALE_SECONDS", "2")
    monkeypatch.setenv("DISPATCH_LEASE_SECONDS", "2")
    get_settings.cache_clear()
    env = {**os.environ, **stack.env, "DISPATCH_STALE_SECONDS": "2", "DISPATCH_LEASE_SECONDS": "2",
           "SETTLE_FIRST_LOOK_SECONDS": "2", "SETTLE_EVERY_SECONDS": "1", "SETTLE_MATCH_AFTER_SECONDS": "3"}
    job = make_job(stack)
    add_many(stack, job, [f"{i:02d}" for i in range(20)], npa="415")
    stack.set_config(calls_per_second=8.0, max_concurrent_calls=50)
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    procs = [subprocess.Popen([sys.executable, "-c", _FULL_WORKER], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(3)]
    try:
        stack.sandbox.wait_for(lambda: len(stack.dials()) >= 4, 30)
        os.kill(procs[0].pid, signal.SIGKILL)  # no clean-up of any kind
        procs[0].wait(5)
        wait_batch(stack, batch.id, drive=False, timeout=60)
    finally:
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs[1:]:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    counts = dial_counts(stack)
    assert max(counts.values()) == 1  # nobody dialled twice
    docs = list(stack.db[CALLS].find({"batch_id": batch.id}))
    assert len(docs) == 20 and all(d["status"] in ("completed", "failed") for d in docs)
    # A call whose worker died mid-dial ends failed with a reason (interrupted before
    # Ultravox, or never placed at Twilio); none is silently dropped or dialled again.
    for d in docs:
        if d["status"] == "failed":
            assert d["failure_reason"] and counts.get(d.get("to", ""), 0) <= 1


def test_retry_policy_for_no_answer_and_busy_not_voicemail(stack):
    job = make_job(stack)
    add_many(stack, job, ["50", "51", "52", "00"])
    stack.set_config(calls_per_second=20.0, retry_policy=RetryPolicy(
        max_attempts=2, spacing_minutes=30, retry_after_voicemail=False))
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)

    def attempts_done(n):
        return stack.db[CALLS].count_documents({"batch_id": batch.id, "attempt": n,
                                                "status": {"$in": ["completed", "no_answer",
                                                                   "busy", "voicemail"]}})

    deadline = time.monotonic() + 30
    while attempts_done(1) < 4 and time.monotonic() < deadline:
        dispatch.run_once(stack.db)
        time.sleep(0.1)
    dispatch.run_once(stack.db)
    first = {d["status"]: d for d in stack.db[CALLS].find({"batch_id": batch.id, "attempt": 1})}
    assert set(first) == {"no_answer", "busy", "voicemail", "completed"}
    retries = list(stack.db[CALLS].find({"batch_id": batch.id, "attempt": 2}))
    assert sorted(r["retry_of"] for r in retries) == sorted(
        [first["no_answer"]["_id"], first["busy"]["_id"]])
    for r in retries:
        prev = first["no_answer"] if r["retry_of"] == first["no_answer"]["_id"] else first["busy"]
        assert r["status"] == "queued"
        # What the lists say while it waits (when, on the candidate's clock, and which attempt).
        assert (r["wait_kind"], r["max_attempts"]) == ("retry", 2)
        assert r["candidate_zone"] == prev["calling_window"]["zone"] == "America/New_York"
        assert outcome_text(r).endswith("New York time (attempt 2 of 2)")
        assert abs((r["next_attempt_at"] - prev["ended_at"]) - timedelta(minutes=30)) < \
            timedelta(seconds=1)
    assert len(dial_counts(stack)) == 4 and stack.db[BATCHES].find_one(
        {"_id": batch.id})["status"] == "running"
    assert batches.waiting_sentence(stack.db, batch.id).startswith(
        "2 calls wait for a later attempt; the next: Retry at ")
    # Not before the spacing: nothing is dialled now.
    dispatch.run_once(stack.db)
    assert sum(dial_counts(stack).values()) == 4
    # 31 minutes later (clock passed in): the second attempts are dialled, and no third.
    later = utcnow() + timedelta(minutes=31)
    deadline = time.monotonic() + 30
    while attempts_done(2) < 2 and time.monotonic() < deadline:
        dispatch.run_once(stack.db, now=later)
        time.sleep(0.1)
    for _ in range(3):
        dispatch.run_once(stack.db, now=later + timedelta(hours=2))
    assert sum(dial_counts(stack).values()) == 6
    assert stack.db[CALLS].count_documents({"batch_id": batch.id, "attempt": 3}) == 0
    assert stack.db[BATCHES].find_one({"_id": batch.id})["status"] == "done"


@pytest.fixture
def spike_window(monkeypatch):
    """A failure window of 4, set before the stack starts so every thread reads it."""
    monkeypatch.setenv("DISPATCH_FAILURE_WINDOW", "4")
    get_settings.cache_clear()


def test_failure_spike_pauses_the_batch_with_a_reason(spike_window, stack):
    job = make_job(stack)
    # 8 numbers the sandbox's Twilio rejects (…0153 in eight area codes).
    for npa in ("212", "415", "312", "617", "202", "303", "404", "503"):
        add_many(stack, job, ["53"], npa=npa)
    stack.set_config(calls_per_second=50.0)
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    for _ in range(5):
        dispatch.run_once(stack.db)
    doc = stack.db[BATCHES].find_one({"_id": batch.id})
    assert doc["status"] == "paused"
    assert "4 of the last 4 calls failed" in doc["pause_reason"] and "21217" in doc["pause_reason"]
    assert len(stack.dials()) == 4
    assert stack.db[CALLS].count_documents({"batch_id": batch.id, "status": "queued"}) == 4
    batches.resume_batch(stack.db, stack.recruiter, batch.id)
    for _ in range(5):
        dispatch.run_once(stack.db)
    assert len(stack.dials()) == 8  # resumed: earlier failures no longer count


def test_do_not_call_consent_unknown_zone_and_budget_are_never_dialled(stack):
    job = make_job(stack)
    dnc, ok = add_many(stack, job, ["10", "11"])
    no_consent = candidates.add_candidate(stack.db, stack.recruiter, name="NC", consent=False,
                                          phone="+1 212 555 0112", job_ids=[job.id])
    satellite = candidates.add_candidate(stack.db, stack.recruiter, name="Sat", consent=True,
                                         phone="+870773111632", job_ids=[job.id])
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    assert batch.queued == 3
    assert batch.skipped[0].candidate_id == no_consent.id
    # Do-not-call set after queueing: checked again at dial time.
    candidates.set_do_not_call(stack.db, stack.recruiter, dnc.id, True, "opted out by email")
    stack.set_config(monthly_budget=Decimal("0.50"))  # one call may cost up to $0.96
    dispatch.run_once(stack.db)
    calls_by = {c["candidate_id"]: c for c in stack.db[CALLS].find({"batch_id": batch.id})}
    assert calls_by[dnc.id]["status"] == "canceled"
    assert "do-not-call" in calls_by[dnc.id]["failure_reason"]
    assert calls_by[satellite.id]["status"] == "queued"
    assert "Held for a person" in calls_by[satellite.id]["hold_reason"]
    assert calls_by[satellite.id]["calling_window"]["held"] is True
    assert "monthly budget" in calls_by[ok.id]["hold_reason"]
    assert stack.dials() == []
    progress = batches.batch_progress(stack.db, batch.id)
    assert progress.held == 2 and progress.counts["canceled"] == 1
    # A person raises the budget and releases the holds: the good one is dialled, the
    # unknown zone is held again.
    stack.set_config(monthly_budget=Decimal("500"))
    assert batches.release_holds(stack.db, stack.recruiter, batch.id) == 2
    dispatch.run_once(stack.db)
    assert list(dial_counts(stack)) == ["+12125550111"]
    # The dialled call's compliance record names who released it.
    released = stack.db[CALLS].find_one({"_id": calls_by[ok.id]["_id"]})
    assert released["compliance"]["released_by"] == "rec1"
    batches.cancel_batch(stack.db, stack.recruiter, batch.id)
    assert stack.db[CALLS].find_one({"candidate_id": satellite.id})["status"] == "canceled"


def test_outside_calling_hours_waits_for_the_window(stack):
    import datetime as dt

    from core.agent.models import CallingHours, TimeWindow, Weekday

    job = make_job(stack)
    add_many(stack, job, ["20"])
    now_ny = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    # A one-hour window three hours from now, every day: not open now.
    start = (now_ny + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0).time()
    end = (dt.datetime.combine(dt.date.today(), start) + timedelta(hours=1)).time()
    if end <= start:
        start, end = dt.time(1, 0), dt.time(2, 0)
    stack.set_config(calling_hours=CallingHours(
        windows={d: [TimeWindow(start=start, end=end)] for d in Weekday}))
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    dispatch.run_once(stack.db)
    call = stack.db[CALLS].find_one({"batch_id": batch.id})
    assert call["status"] == "queued" and call["hold_reason"] is None
    assert call["next_attempt_at"] > utcnow() and "Outside calling hours" in call["wait_reason"]
    assert call["calling_window"]["zone"] == "America/New_York"
    assert stack.dials() == []
    # The batch says why it waits, on the candidate's clock.
    said = batches.waiting_sentence(stack.db, batch.id)
    assert said.startswith("1 call waits for calling hours. The calling window opens at ")
    assert said.endswith(").") and "New York time (in " in said


def test_a_requested_callback_is_the_next_attempt_without_using_one_up(stack):
    stack.sandbox.state.config.speed = 40  # the conversation must happen (see test_tools_sandbox)
    job = make_job(stack)
    add_many(stack, job, ["58"])
    stack.set_config(calls_per_second=20.0, retry_policy=RetryPolicy(max_attempts=1, spacing_minutes=30))
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    deadline = time.monotonic() + 30
    while not stack.db[CALLS].find_one({"batch_id": batch.id, "callback": {"$ne": None},
                                        "status": "completed"}) and time.monotonic() < deadline:
        dispatch.run_once(stack.db)
        time.sleep(0.1)
    dispatch.run_once(stack.db)
    first = stack.db[CALLS].find_one({"batch_id": batch.id, "attempt": 1, "callback": {"$ne": None}})
    again = stack.db[CALLS].find_one({"_id": f"{first['_id']}-cb"})
    # The same attempt number: a call back the candidate asked for does not use one up.
    assert again["status"] == "queued" and again["attempt"] == 1 and again["retry_of"] == first["_id"]
    assert abs(again["next_attempt_at"] - first["callback"]["at"]) < timedelta(seconds=1)
    assert again["next_attempt_at"] > utcnow() + timedelta(hours=1)
