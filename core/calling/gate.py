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
                 max_concurrent: int | None, max_wait: float, sleep: bool = True,
                 gate_id: str = DIAL_GATE) -> Slot:
    """Reserve the next dial time and a concurrency slot for `call_id`, atomically.

    One document holds the next free dial time and the calls in flight; a compare-and-set on
    its version makes the reservation atomic across threads, processes and hosts, so the
    dials of all workers together are spaced at least 1/calls-per-second apart.
    """
    interval = (1.0 / calls_per_second) * (1.0 + get_settings().dispatch_rate_margin)
    swept = False
    for _ in range(200):  # bounded: contention resolves in a few rounds
        gate = gate_store.read_gate(db, gate_id)
        if max_concurrent is not None and call_id in gate.inflight:
            return Slot(True, at=time.time())
        if max_concurrent is not None and len(gate.inflight) >= max_concurrent:
            if not swept:
                swept = True
                sweep_gate(db)
                continue
            return Slot(False, f"{len(gate.inflight)} calls are in progress; the limit is "
                               f"{max_concurrent} at a time.")
        now = time.time()
        at = max(now, gate.next_at)
        if at - now > max_wait:
            return Slot(False, "the calls-per-second limit is reached", wait=at - now)
        if gate_store.reserve(db, gate_id, version=gate.version, next_at=at + interval,
                              call_id=call_id if max_concurrent is not None else None):
            if sleep and at > time.time():
                time.sleep(at - time.time())
            return Slot(True, at=at)
    return Slot(False, "the dial gate is busy; try again")
