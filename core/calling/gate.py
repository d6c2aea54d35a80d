"""The dial gate: calls per second and concurrent calls, across every process and host."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

from core.agent.models import GlobalVoiceConfig
from core.calling import gate_store
from core.calling import store as call_store
from core.config import get_settings
from core.db import Database

DIAL_GATE = "dial_gate"
# Twilio creates get their own rate gate, taken right before the request: the Ultravox step
# in between has variable latency, which would otherwise bunch Twilio's arrivals.
TWILIO_GATE = "twilio_gate"


def worker_id() -> str:
    """Who claims a call (host, process, thread), for the record and for leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def sweep_gate(db: Database) -> int:
    """Free the slots of calls that have ended (or vanished); returns how many were freed."""
    ids = gate_store.read_gate(db, DIAL_GATE).inflight
    if not ids:
        return 0
    still_open = call_store.open_ids(db, ids)
    done = [i for i in ids if i not in still_open]
    if done:
        gate_store.release(db, DIAL_GATE, done)
    return len(done)


def release_slot(db: Database, call_id: str) -> None:
    """Give back a call's concurrency slot (its rate slot is spent either way)."""
    gate_store.release(db, DIAL_GATE, [call_id])


def inflight_count(db: Database) -> int:
    """Calls currently holding a concurrency slot."""
    return len(gate_store.read_gate(db, DIAL_GATE).inflight)


@dataclass(frozen=True)
class Slot:
    """The outcome of asking the gate: granted (at `at`, epoch seconds) or why not."""

    granted: bool
    reason: str = ""
    at: float = 0.0
    wait: float = 0.0


@dataclass(frozen=True)
class Limits:
    """The pace of dials: the organisation's limits and, when lower, one job's own."""

    calls_per_second: float
    max_concurrent: int | None
    job_id: str | None = None
    job_calls_per_second: float | None = None
    job_max_concurrent: int | None = None


def limits_for(global_cfg: GlobalVoiceConfig, job_cfg: GlobalVoiceConfig, job_id: str) -> Limits:
    """The limits a job's dial must respect (its effective config may only lower the global)."""
    return Limits(
        calls_per_second=global_cfg.calls_per_second, max_concurrent=global_cfg.max_concurrent_calls,
        job_id=job_id,
        job_calls_per_second=(job_cfg.calls_per_second
                              if job_cfg.calls_per_second < global_cfg.calls_per_second else None),
        job_max_concurrent=(job_cfg.max_concurrent_calls
                            if job_cfg.max_concurrent_calls < global_cfg.max_concurrent_calls else None))


def _interval_ms(calls_per_second: float) -> int:
    return max(1, round(1000.0 / calls_per_second * (1.0 + get_settings().dispatch_rate_margin)))


def acquire_slot(db: Database, call_id: str, *, limits: Limits, max_wait: float,
                 gate_id: str = DIAL_GATE) -> Slot:
    """Take the next dial (and a concurrency slot) for `call_id`, waiting up to `max_wait` s.

    The gate grants at most one dial per 1/calls-per-second across every worker and host (and
    per job, when a job has a lower limit), judged on the database's clock (see gate_store),
    so no host's clock can bunch the dials or stop them. A call holding a slot keeps it.
    """
    interval = _interval_ms(limits.calls_per_second)
    job_interval = _interval_ms(limits.job_calls_per_second) if limits.job_calls_per_second else None
    deadline = time.monotonic() + max(0.0, max_wait)
    swept = False
    while True:
        granted = gate_store.try_grant(db, gate_id, call_id=call_id, job_id=limits.job_id,
                                       interval_ms=interval, max_concurrent=limits.max_concurrent,
                                       job_interval_ms=job_interval,
                                       job_max_concurrent=limits.job_max_concurrent)
        if granted is not None:
            return Slot(True, at=granted.timestamp())
        state = gate_store.read_gate(db, gate_id, interval_ms=interval, job_id=limits.job_id,
                                     job_interval_ms=job_interval)
        if limits.max_concurrent is not None and call_id in state.inflight:
            return Slot(True, at=time.time())
        full = _full(limits, state)
        if full and not swept:
            swept = True
            sweep_gate(db)
            continue
        if full:
            return Slot(False, full)
        left = deadline - time.monotonic()
        if state.wait_seconds > left:
            return Slot(False, "the calls-per-second limit is reached", wait=state.wait_seconds)
        # Sleep until the database says the interval has passed (never a negative sleep).
        time.sleep(min(max(state.wait_seconds, 0.001), max(left, 0.0)))


def _full(limits: Limits, state: gate_store.GateState) -> str:
    """Why no concurrency slot is free ("" when one is)."""
    if limits.max_concurrent is not None and len(state.inflight) >= limits.max_concurrent:
        return (f"{len(state.inflight)} calls are in progress; the limit is "
                f"{limits.max_concurrent} at a time.")
    if limits.job_max_concurrent is not None and state.job_inflight >= limits.job_max_concurrent:
        return (f"{state.job_inflight} calls of this job are in progress; its limit is "
                f"{limits.job_max_concurrent} at a time.")
    return ""
