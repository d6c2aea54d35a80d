"""Retention: conversation content of calls, and personal text in the audit log, is purged
after RETENTION_DAYS; expired media goes too."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from core.config import get_settings
from core.db import Database, utcnow
from core.review import retention_store

# Bounded batches so one run never holds the worker for long; the next run continues.
_BATCH = 500
_STEP_SECONDS = 2.0


def purge_batch(db: Database, cutoff: datetime, now: datetime, limit: int = _BATCH) -> tuple[int, int]:
    """One bounded step of the purge: (calls purged, audit entries scrubbed), each at most `limit`.

    A call loses its transcript, cached recording, summaries (on the call and in its stored
    webhooks), the prompt and spoken texts rendered for it, and the words in its audit
    entries; older candidate audit entries lose the names, notes and reasons they quote.
    """
    calls = retention_store.purge_calls_batch(db, cutoff, now, limit)
    audit_entries = retention_store.scrub_audit_batch(db, cutoff, now, limit)
    return calls, audit_entries


def purge_expired(db: Database, now: datetime | None = None, retention_days: int | None = None,
                  *, max_seconds: float | None = None) -> str:
    """Purge what is older than the retention period, batch by batch, and expired media.

    `max_seconds` bounds one run (the worker's tick): it stops after the batch that crosses it
    and the next run continues where it stopped. Without it (the CLI) it runs until done.
    """
    now = now or utcnow()
    days = retention_days if retention_days is not None else get_settings().retention_days
    cutoff = now - timedelta(days=days)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    purged = scrubbed = 0
    more = True
    while more:
        calls, audit_entries = purge_batch(db, cutoff, now)
        purged += calls
        scrubbed += audit_entries
        more = calls >= _BATCH or audit_entries >= _BATCH
        if deadline is not None and time.monotonic() >= deadline:
            break
    media = retention_store.purge_expired_media(db, now)
    if not (purged or scrubbed or media):
        return ""
    rest = "; more next time" if more else ""
    return (f"purged {purged} call(s) past {days} days, {media} expired media item(s), "
            f"{scrubbed} audit entr{'y' if scrubbed == 1 else 'ies'} cleared of personal text{rest}")


def purge_step(db: Database) -> str:
    """The worker's purge: at most about two seconds per tick, so the other tasks keep their
    pace even with a large backlog (the worker runs it every minute until it is done)."""
    return purge_expired(db, max_seconds=_STEP_SECONDS)
