"""Reconcile: finish what lost webhooks, crashed applies or slow providers left incomplete."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.db import Database, utcnow
from core.documents.status import TERMINAL_VALUES
from core.lifecycle import followup, ingest, store
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
    quiet = store.quiet_live_calls(db, quiet_since=now - QUIET_AFTER, polled_before=now - POLL_EVERY,
                                   limit=limit)
    return sum(store.flag_for_poll(db, call_id, now) for call_id in quiet)


def flag_incomplete_terminal_calls(db: Database, now: datetime, limit: int = _BATCH) -> int:
    """Mark ended calls whose follow-up never ran (e.g. ended by another process) for one."""
    ended = store.ended_without_followup(db, TERMINAL_VALUES, created_since=now - LOOKBACK, limit=limit)
    return sum(store.flag_ended_for_followup(db, call_id, now) for call_id in ended)


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
