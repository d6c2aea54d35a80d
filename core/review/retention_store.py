"""The retention purge's bounded batches: conversation content of old calls, expired media."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from core.db import CALLS, MEDIA_CACHE, TRANSCRIPTS


def purge_calls_batch(db: Database, cutoff: datetime, now: datetime, limit: int) -> int:
    """Purge the transcripts, cached media and summaries of up to `limit` calls that ended
    before `cutoff` and are not purged yet; returns how many calls were purged."""
    ids = [
        doc["_id"]
        for doc in db[CALLS]
        .find({"ended_at": {"$lt": cutoff}, "purged_at": {"$exists": False}}, {"_id": 1})
        .limit(limit)
    ]
    if not ids:
        return 0
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
    return len(ids)


def purge_expired_media(db: Database, now: datetime) -> int:
    """Delete every media-cache entry past its expiry (recordings and voice previews alike)."""
    return db[MEDIA_CACHE].delete_many({"expires_at": {"$lt": now}}).deleted_count
