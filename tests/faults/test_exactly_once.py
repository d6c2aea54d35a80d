"""Faults injected for real while dialling: no candidate is dialled twice, every call ends.

Each test breaks one step for real — a worker process killed (SIGKILL) at a named point of the
dial, the answer of Twilio's create lost (the sandbox processes the request, then answers 500
or nothing), the callbacks lost (the sidecar down) — then lets healthy processes carry on, and
checks the invariants: at most one dial per number, every call terminal, no concurrency slot
left taken, and the call's outcome what really happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core.calling import batches, dispatch, sweeper
from core.calling.gate import DIAL_GATE
from core.config import get_settings
from core.db import APP_STATE, CALLS
from core.documents.call import Call
from core.documents.status import TERMINAL_VALUES
from core.lifecycle import reconcile
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack
# The sweeper's waits are minutes in production; the sandbox plays calls 200x faster.
QUICK = {"DISPATCH_STALE_SECONDS": "1", "SETTLE_FIRST_LOOK_SECONDS": "2", "SETTLE_EVERY_SECONDS": "0",
         "SETTLE_MATCH_AFTER_SECONDS": "2"}
ROOT = Path(__file__).resolve().parents[2]
_WORKER = ("import time\nfrom core.db import get_db\nfrom core.calling.dispatch import run_once\n"
           "db = get_db()\nwhile True:\n    run_once(db)\n    time.sleep(0.02)\n")


@pytest.fixture(autouse=True)
def _quick_sweeps(monkeypatch):
    for name, value in QUICK.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _candidate(stack: Stack, job, xx: str = "00"):
    return candidates.add_candidate(stack.db, stack.recruiter, name=f"Pat {xx}", consent=True,
                                    phone=f"+1 212 555 01{xx}", job_ids=[job.id])


def our_dials(stack: Stack) -> list[dict]:
    """The Twilio creates our launcher sent (they carry our status callback)."""
    return [d for d in stack.dials() if d["params"].get("StatusCallback")]


def dial_counts(stack: Stack) -> Counter:
    return Counter(d["params"]["To"][0] for d in our_dials(stack))


def calls(stack: Stack) -> list[Call]:
    return [Call.model_validate(d) for d in stack.db[CALLS].find()]


def drive(stack: Stack, done, timeout: float = 40.0) -> None:
    """What healthy workers do, until `done()`: dispatch, sweep, reconcile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch.run_once(stack.db, max_seconds=0.2)
        sweeper.run_once(stack.db)
        reconcile.run_once(stack.db)
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"not settled in time: {[(c.status, c.failure_reason) for c in calls(stack)]}")


def assert_invariants(stack: Stack) -> None:
    """No number dialled twice, every call ended, no slot left taken once the sweeper ran."""
    assert max(dial_counts(stack).values(), default=0) <= 1
    assert all(c.status.value in TERMINAL_VALUES and c.open_key is None for c in calls(stack))
    sweeper.run_once(stack.db)
    gate = stack.db[APP_STATE].find_one({"_id": DIAL_GATE}) or {}
    assert gate.get("inflight", []) == []


def _settled(stack: Stack) -> bool:
    found = calls(stack)
    return bool(found) and all(c.status.value in TERMINAL_VALUES for c in found)


def _run_worker_until_killed(stack: Stack, point: str) -> int:
    env = {**os.environ, **stack.env, **QUICK, "VSC_FAULT_KILL_AT": point}
    proc = subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("point,outcome,dials", [
    ("before_ultravox_create", "failed", 0),
    ("after_ultravox_create", "failed", 0),
    ("before_twilio_create", "failed", 0),
    ("after_twilio_create", "completed", 1),
    ("after_callsid_stored", "completed", 1),
])
def test_a_worker_killed_at_each_point_of_a_dial(stack, point, outcome, dials) -> None:
    job = make_job(stack)
    _candidate(stack, job)
    batches.create_batch(stack.db, stack.recruiter, job.id)
    assert _run_worker_until_killed(stack, point) == -signal.SIGKILL
    drive(stack, lambda: _settled(stack))
    assert_invariants(stack)
    [call] = calls(stack)
    assert len(our_dials(stack)) == dials
    assert call.status.value == outcome, call.failure_reason
    if outcome == "failed":
        # It says why, and that the phone was not dialled.
        assert "never" in (call.failure_reason or "") or "not re-dialled" in (call.failure_reason or "")


def test_a_lost_create_answer_keeps_the_call_and_its_callbacks_settle_it(stack) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)
    # Twilio does the work, then its answer is lost (a 500 after the fact).
    stack.sandbox.inject_fault(path_prefix="/2010-04-01/", method="POST", status=500, count=1,
                               after=True)
    result = sandbox_stack.launch(stack, cand.id)
    assert result.call.status.value in ("dialing", "ringing", "in_progress")  # never failed
    # Marked unconfirmed — unless Twilio's first callback linked the call in the meantime.
    assert "lost" in (result.call.twilio_unconfirmed or "") or result.call.twilio_call_sid
    drive(stack, lambda: _settled(stack))
    [call] = calls(stack)
    assert call.status.value == "completed" and call.twilio_call_sid
    assert call.failure_reason is None
    assert_invariants(stack)
    assert len(our_dials(stack)) == 1


def test_a_lost_answer_and_lost_callbacks_are_settled_by_a_lookup(stack) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)
    stack.stop_sidecar()  # no webhook reaches us, from either provider
    stack.sandbox.inject_fault(path_prefix="/2010-04-01/", method="POST", status=500, count=1,
                               after=True)
    result = sandbox_stack.launch(stack, cand.id)
    assert result.call.twilio_call_sid is None and result.call.twilio_unconfirmed
    drive(stack, lambda: _settled(stack))
    [call] = calls(stack)
    assert call.twilio_call_sid in stack.sandbox.state.twilio_calls
    assert call.status.value == "completed", call.failure_reason
    assert "lookup" in (call.settle_note or "")
    assert_invariants(stack)
    assert len(our_dials(stack)) == 1


def test_a_create_that_never_happened_fails_once_the_agent_gives_up(stack) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)
    # A 500 before anything was done: ambiguous to us, so the call waits for proof.
    stack.sandbox.inject_fault(path_prefix="/2010-04-01/", method="POST", status=500, count=1)
    result = sandbox_stack.launch(stack, cand.id)
    assert result.call.status.value == "dialing" and result.call.twilio_unconfirmed
    drive(stack, lambda: _settled(stack))
    [call] = calls(stack)
    assert call.status.value == "failed" and "never placed" in (call.failure_reason or "")
    assert_invariants(stack)
    assert len(our_dials(stack)) == 0


def test_two_twilio_calls_that_could_be_ours_make_the_outcome_unknown(stack) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)
    stack.stop_sidecar()
    stack.sandbox.inject_fault(path_prefix="/2010-04-01/", method="POST", status=500, count=1,
                               after=True)
    result = sandbox_stack.launch(stack, cand.id)
    # Someone else's call to the same number, placed from our number at the same moment.
    sandbox_stack.foreign_twilio_call(stack, "+12125550100")
    drive(stack, lambda: _settled(stack))
    [call] = calls(stack)
    assert call.id == result.call.id
    assert call.status.value == "unknown" and "cannot be told" in (call.failure_reason or "")
    assert_invariants(stack)
    assert len(our_dials(stack)) == 1 and len(stack.dials()) == 2
