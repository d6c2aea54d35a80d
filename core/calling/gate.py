"""The dial gate: calls per second and concurrent calls, across every process and host."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

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


def acquire_slot(db: Database, call_id: str, *, calls_per_second: float,
                 max_concurrent: int | None, max_wait: float, gate_id: str = DIAL_GATE) -> Slot:
    """Take the next dial (and a concurrency slot) for `call_id`, waiting up to `max_wait` s.

    The gate grants at most one dial per 1/calls-per-second across every worker and host,
    judged on the database's clock (see gate_store), so no host's clock can bunch the dials or
    stop them. A call already holding a concurrency slot keeps it.
    """
    interval_ms = max(1, round(1000.0 / calls_per_second * (1.0 + get_settings().dispatch_rate_margin)))
    deadline = time.monotonic() + max(0.0, max_wait)
    swept = False
    while True:
        granted = gate_store.try_grant(db, gate_id, interval_ms=interval_ms, call_id=call_id,
                                       max_concurrent=max_concurrent)
        if granted is not None:
            return Slot(True, at=granted.timestamp())
        state = gate_store.read_gate(db, gate_id, interval_ms=interval_ms)
        if max_concurrent is not None and call_id in state.inflight:
            return Slot(True, at=time.time())
        if max_concurrent is not None and len(state.inflight) >= max_concurrent:
            if not swept:
                swept = True
                sweep_gate(db)
                continue
            return Slot(False, f"{len(state.inflight)} calls are in progress; the limit is "
                               f"{max_concurrent} at a time.")
        left = deadline - time.monotonic()
        if state.wait_seconds > left:
            return Slot(False, "the calls-per-second limit is reached", wait=state.wait_seconds)
        # Sleep until the database says the interval has passed (never a negative sleep).
        time.sleep(min(max(state.wait_seconds, 0.001), max(left, 0.0)))
