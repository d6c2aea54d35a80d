"""Reconcile: finish what lost webhooks, crashed applies or slow providers left incomplete."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database

from core.documents.status import CallStatus
from core.db import CALLS, utcnow
from core.lifecycle import followup, ingest
from core.usage import rollups

# An open call that has heard nothing for this long is polled from the providers, at most
# this often: a lost webhook costs a few minutes, never data.
QUIET_AFTER = timedelta(minutes=3)
POLL_EVERY = timedelta(minutes=2)
# Terminal calls whose follow-up never started are looked at for this long after creation.
LOOKBACK = timedelta(days=7)
_BATCH = 50  # per category and run: the worker runs us again in 15 s


def flag_quiet_open_calls(db: Database, now: datetime, limit: int = _BATCH) -> int:
    """Mark open calls that went quiet (or passed their max duration) for a provider poll."""
    live = [s.value for s in (CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS)]
    query = {
        "status": {"$in": live},
        "needs_followup": {"$ne": True},
        "$and": [
            {"$or": [{"updated_at": {"$lte": now - QUIET_AFTER}},
                     {"updated_at": None, "created_at": {"$lte": now - QUIET_AFTER}}]},
            {"$or": [{"last_polled_at": None}, {"last_polled_at": {"$lte": now - POLL_EVERY}}]},
        ],
    }
    flagged = 0
    for doc in db[CALLS].find(query, {"_id": 1}).limit(limit):
        result = db[CALLS].update_one(
            {"_id": doc["_id"], "needs_followup": {"$ne": True}},
            {"$set": {"needs_followup": True, "followup_next_at": now, "last_polled_at": now}},
        )
        flagged += result.modified_count
    return flagged


def flag_incomplete_terminal_calls(db: Database, now: datetime, limit: int = _BATCH) -> int:
    """Mark ended calls whose follow-up never ran (e.g. ended by another process) for one."""
    query = {
        "status": {"$in": followup.terminal_statuses()},
        "needs_followup": {"$ne": True},
        "followup_done_at": None,
        "created_at": {"$gte": now - LOOKBACK},
    }
    flagged = 0
    for doc in db[CALLS].find(query, {"_id": 1}).limit(limit):
        result = db[CALLS].update_one(
            {"_id": doc["_id"], "needs_followup": {"$ne": True}, "followup_done_at": None},
            {"$set": {"needs_followup": True, "followup_next_at": now}},
        )
        flagged += result.modified_count
    return flagged


def run_once(db: Database, *, now: datetime | None = None,
             providers: followup.Providers | None = None) -> str | None:
    """One bounded reconcile pass; returns a short summary of what it did (None if nothing)."""
    now = now or utcnow()
    applied, unapplied = ingest.apply_pending(db, now=now)
    quiet = flag_quiet_open_calls(db, now)
    ended = flag_incomplete_terminal_calls(db, now)
    done, waiting = followup.run_due(db, now=now, providers=providers)
    # Safety net for the usage counters: ended calls changed since their last rollup sync.
    resynced = rollups.sync_stale(db, now=now)
    parts = []
    if applied or unapplied:
        parts.append(f"events applied {applied}, still unapplied {unapplied}")
    if quiet:
        parts.append(f"quiet calls polled {quiet}")
    if ended:
        parts.append(f"ended calls to complete {ended}")
    if done or waiting:
        parts.append(f"follow-ups complete {done}, waiting {waiting}")
    if resynced:
        parts.append(f"rollups re-synced {resynced}")
    return "; ".join(parts) or None
