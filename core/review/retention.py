"""Retention: conversation content of calls, and personal text in the audit log, is purged
after RETENTION_DAYS; expired media goes too."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config import get_settings
from core.db import Database, utcnow
from core.review import retention_store

# Bounded batches so one run never holds the worker for long; the next run continues.
_BATCH = 500


def purge_batch(db: Database, cutoff: datetime, now: datetime, limit: int = _BATCH) -> tuple[int, int]:
    """One bounded step of the purge: (calls purged, audit entries scrubbed), each at most `limit`.

    A call loses its transcript, cached recording, summaries (on the call and in its stored
    webhooks), the prompt and spoken texts rendered for it, and the words in its audit
    entries; older candidate audit entries lose the names, notes and reasons they quote.
    """
    calls = retention_store.purge_calls_batch(db, cutoff, now, limit)
    audit_entries = retention_store.scrub_audit_batch(db, cutoff, now, limit)
    return calls, audit_entries


def purge_expired(db: Database, now: datetime | None = None, retention_days: int | None = None) -> str:
    """Purge what is older than the retention period, batch by batch, and expired media."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else get_settings().retention_days
    cutoff = now - timedelta(days=days)
    purged = scrubbed = 0
    while True:
        calls, audit_entries = purge_batch(db, cutoff, now)
        purged += calls
        scrubbed += audit_entries
        if calls < _BATCH and audit_entries < _BATCH:
            break
    media = retention_store.purge_expired_media(db, now)
    if not (purged or scrubbed or media):
        return ""
    return (f"purged {purged} call(s) past {days} days, {media} expired media item(s), "
            f"{scrubbed} audit entr{'y' if scrubbed == 1 else 'ies'} cleared of personal text")
