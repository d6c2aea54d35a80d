"""Retention: transcripts and cached recordings are purged after RETENTION_DAYS."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database

from core.config import get_settings
from core.db import CALLS, MEDIA_CACHE, TRANSCRIPTS, utcnow

# Bounded batches so one run never holds the worker for long; the next run continues.
_BATCH = 500


def purge_expired(db: Database, now: datetime | None = None, retention_days: int | None = None) -> str:
    """Delete transcripts of calls that ended before the retention cut-off, and expired media."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else get_settings().retention_days
    cutoff = now - timedelta(days=days)
    purged = 0
    while True:
        ids = [
            doc["_id"]
            for doc in db[CALLS]
            .find({"ended_at": {"$lt": cutoff}, "purged_at": {"$exists": False}}, {"_id": 1})
            .limit(_BATCH)
        ]
        if not ids:
            break
        db[TRANSCRIPTS].delete_many({"_id": {"$in": ids}})
        db[MEDIA_CACHE].delete_many({"call_id": {"$in": ids}})
        # The call keeps its outcome, costs and review; only the conversation content goes.
        db[CALLS].update_many(
            {"_id": {"$in": ids}},
            {
                "$set": {"purged_at": now, "transcript_status": "purged", "recording_available": False},
                "$unset": {"summary": "", "short_summary": "", "rendered_prompt": ""},
            },
        )
        purged += len(ids)
        if len(ids) < _BATCH:
            break
    media = db[MEDIA_CACHE].delete_many({"expires_at": {"$lt": now}}).deleted_count
    if not (purged or media):
        return ""
    return f"purged {purged} call(s) past {days} days, {media} expired media item(s)"
