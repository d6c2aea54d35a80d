"""The concurrency cap: however many workers dispatch, never more than `max_concurrent_calls` live."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime

import pytest

from core.calling import batches, dispatch
from core.db import APP_STATE, BATCHES, CALLS
from core.documents.status import TERMINAL_STATUSES, CallStatus
from core.people import candidates
from sandbox.server import config_from_env, start_sandbox
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack
_SPEED = 15.0  # slow enough that calls last seconds and overlap; the fixture's 200 would not
_CAP = 2
_LIVE = [CallStatus.DIALING.value, CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value]
_TERMINAL = {s.value for s in TERMINAL_STATUSES}
_SANDBOX_LIVE = {"queued", "initiated", "ringing", "in-progress"}


@pytest.fixture
def slow_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the `stack` fixture start its sandbox at `_SPEED` (requested before `stack`)."""
    monkeypatch.setattr(
        sandbox_stack, "start_sandbox", lambda port: start_sandbox(port, config_from_env(speed=_SPEED))
    )


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """Most intervals open at one instant (an end at the same instant as a start comes first)."""
    points = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda p: (p[0], p[1]),
    )
    live = peak = 0
    for _, step in points:
        live += step
        peak = max(peak, live)
    return peak


def _live_interval(call: dict) -> tuple[datetime, datetime]:
    """From the move to `dialing` to the first terminal status, as recorded on the call."""
    history = call["status_history"]
    start = next(h["at"] for h in history if h["status"] == CallStatus.DIALING.value)
    end = next(h["at"] for h in history if h["status"] in _TERMINAL)
    return start, end


def test_three_workers_never_exceed_the_concurrency_cap(slow_stack, stack: Stack):
    job = make_job(stack)
    numbers = [f"+1 212 555 01{i:02d}" for i in range(6)]  # all answered by the sandbox
    for i, phone in enumerate(numbers):
        candidates.add_candidate(
            stack.db, stack.recruiter, name=f"Cap {i}", phone=phone, consent=True, job_ids=[job.id]
        )
    # A high rate, so the cap (not the rate) is what holds the dials back.
    stack.set_config(max_concurrent_calls=_CAP, calls_per_second=20.0)
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    assert batch.queued == 6

    stop = threading.Event()
    samples: list[tuple[int, int, int]] = []  # (live in our DB, gate slots, live at the sandbox)
    errors: list[Exception] = []

    def worker() -> None:
        while not stop.is_set():
            try:
                dispatch.run_once(stack.db)
            except Exception as exc:  # reported by the test thread
                errors.append(exc)
                return
            time.sleep(0.02)

    def sampler() -> None:
        while not stop.is_set():
            live = stack.db[CALLS].count_documents({"batch_id": batch.id, "status": {"$in": _LIVE}})
            gate = stack.db[APP_STATE].find_one({"_id": "dial_gate"}) or {}
            with stack.sandbox.state.lock:
                at_sandbox = sum(
                    1
                    for c in stack.sandbox.state.twilio_calls.values()
                    if c.data.get("status") in _SANDBOX_LIVE
                )
            samples.append((live, len(gate.get("inflight") or []), at_sandbox))
            time.sleep(0.01)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    threads.append(threading.Thread(target=sampler))
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 35
        while time.monotonic() < deadline and not errors:
            if stack.db[BATCHES].find_one({"_id": batch.id})["status"] == batches.DONE:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert not errors, errors
    progress = batches.batch_progress(stack.db, batch.id)
    assert progress.batch and progress.batch.status == batches.DONE, progress

    docs = list(stack.db[CALLS].find({"batch_id": batch.id}))
    assert len(docs) == 6 and {d["status"] for d in docs} == {CallStatus.COMPLETED.value}
    # Ground truth of dialling: one Twilio create per number, one Ultravox call per candidate.
    dialled = Counter(d["params"]["To"][0] for d in stack.dials())
    assert sorted(dialled) == [f"+121255501{i:02d}" for i in range(6)]
    assert set(dialled.values()) == {1}
    assert len(stack.sandbox.received("ultravox", "create_call")) == 6

    # Sampled while it ran: never more than the cap live, in our records, the gate or the sandbox.
    assert samples and max(s[0] for s in samples) <= _CAP, max(samples)
    assert max(s[1] for s in samples) <= _CAP
    assert max(s[2] for s in samples) <= _CAP
    # The recorded life of every call: the same, without sampling gaps.
    assert _max_overlap([_live_interval(d) for d in docs]) == _CAP  # the cap was reached, not passed
