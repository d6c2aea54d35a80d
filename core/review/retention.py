"""Retention: transcripts and cached recordings are purged after RETENTION_DAYS."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config import get_settings
from core.db import Database, utcnow
from core.review import retention_store

# Bounded batches so one run never holds the worker for long; the next run continues.
_BATCH = 500


def purge_expired(db: Database, now: datetime | None = None, retention_days: int | None = None) -> str:
    """Delete transcripts of calls that ended before the retention cut-off, and expired media."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else get_settings().retention_days
    cutoff = now - timedelta(days=days)
    purged = 0
    while True:
        batch = retention_store.purge_calls_batch(db, cutoff, now, _BATCH)
        purged += batch
        if batch < _BATCH:
            break
    media = retention_store.purge_expired_media(db, now)
    if not (purged or media):
        return ""
    return f"purged {purged} call(s) past {days} days, {media} expired media item(s)"
