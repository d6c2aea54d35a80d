"""The dial gate: calls per second and concurrent calls, across every process and host."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from core.documents.status import OPEN_VALUES
from core.config import get_settings
from core.db import APP_STATE, CALLS

_GATE_ID = "dial_gate"
# Twilio creates get their own rate gate, taken right before the request: the Ultravox step
# in between has variable latency, which would otherwise bunch Twilio's arrivals.
_TWILIO_GATE_ID = "twilio_gate"


def worker_id() -> str:
    """Who claims a call (host, process, thread), for the record and for leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# -- the dial gate: calls per second and concurrent calls, across every process ---------------


def _gate(db: Database, gate_id: str = _GATE_ID) -> dict:
    db[APP_STATE].update_one(
        {"_id": gate_id},
        {"$setOnInsert": {"next_at": 0.0, "version": 0, "inflight": []}},
        upsert=True,
    )
    return db[APP_STATE].find_one({"_id": gate_id}) or {}


def sweep_gate(db: Database) -> int:
    """Free the slots of calls that have ended (or vanished); returns how many were freed."""
    doc = _gate(db)
    ids = list(doc.get("inflight") or [])
    if not ids:
        return 0
    still_open = {d["_id"] for d in db[CALLS].find({"_id": {"$in": ids}, "status": {"$in": OPEN_VALUES}},
                                                   {"_id": 1})}
    done = [i for i in ids if i not in still_open]
    if done:
        db[APP_STATE].update_one({"_id": _GATE_ID}, {"$pull": {"inflight": {"$in": done}}})
    return len(done)


def release_slot(db: Database, call_id: str) -> None:
    """Give back a call's concurrency slot (its rate slot is spent either way)."""
    db[APP_STATE].update_one({"_id": _GATE_ID}, {"$pull": {"inflight": call_id}})


def inflight_count(db: Database) -> int:
    """Calls currently holding a concurrency slot."""
    return len(_gate(db).get("inflight") or [])


@dataclass(frozen=True)
class Slot:
    """The outcome of asking the gate: granted (at `at`, epoch seconds) or why not."""

    granted: bool
    reason: str = ""
    at: float = 0.0
    wait: float = 0.0


def acquire_slot(db: Database, call_id: str, *, calls_per_second: float,
                 max_concurrent: int | None, max_wait: float, sleep: bool = True,
                 gate_id: str = _GATE_ID) -> Slot:
    """Reserve the next dial time and a concurrency slot for `call_id`, atomically.

    One document holds the next free dial time and the calls in flight; a compare-and-set on
    its version makes the reservation atomic across threads, processes and hosts, so the
    dials of all workers together are spaced at least 1/calls-per-second apart.
    """
    interval = (1.0 / calls_per_second) * (1.0 + get_settings().dispatch_rate_margin)
    swept = False
    for _ in range(200):  # bounded: contention resolves in a few rounds
        doc = _gate(db, gate_id)
        inflight = list(doc.get("inflight") or [])
        if max_concurrent is not None and call_id in inflight:
            return Slot(True, at=time.time())
        if max_concurrent is not None and len(inflight) >= max_concurrent:
            if not swept:
                swept = True
                sweep_gate(db)
                continue
            return Slot(False, f"{len(inflight)} calls are in progress; the limit is "
                               f"{max_concurrent} at a time.")
        now = time.time()
        at = max(now, float(doc.get("next_at") or 0.0))
        if at - now > max_wait:
            return Slot(False, "the calls-per-second limit is reached", wait=at - now)
        update: dict[str, Any] = {"$set": {"next_at": at + interval}, "$inc": {"version": 1}}
        if max_concurrent is not None:
            update["$push"] = {"inflight": call_id}
        result = db[APP_STATE].update_one({"_id": gate_id, "version": doc.get("version", 0)},
                                          update)
        if result.modified_count == 1:
            if sleep and at > time.time():
                time.sleep(at - time.time())
            return Slot(True, at=at)
    return Slot(False, "the dial gate is busy; try again")
