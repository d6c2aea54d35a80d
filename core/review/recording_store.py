"""The recording cache: a call's audio in `media_cache`, fetched once and kept until it expires.

Only the recording entries are review's (`recording:<call id>` and its chunks); the voice
previews in the same collection belong to core.agent.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from core.db import MEDIA_CACHE
from core.review.models import CachedRecording

_CHUNK_BYTES = 4 * 1024 * 1024  # well under MongoDB's 16 MB document limit


def _key(call_id: str) -> str:
    return f"recording:{call_id}"


def cached_recording(db: Database, call_id: str) -> CachedRecording | None:
    """The head entry of the call's cached recording, expired or not (None: never cached)."""
    return CachedRecording.from_doc(db[MEDIA_CACHE].find_one({"_id": _key(call_id)}))


def recording_content(db: Database, call_id: str, chunks: int) -> bytes | None:
    """The cached audio, its `chunks` read in order (None when one was evicted meanwhile)."""
    parts = []
    for index in range(chunks):
        chunk = db[MEDIA_CACHE].find_one({"_id": f"{_key(call_id)}:{index}"})
        if chunk is None:
            return None
        parts.append(bytes(chunk["data"]))
    return b"".join(parts)


def cache_no_recording(
    db: Database, call_id: str, now: datetime, *, message: str, expires_at: datetime
) -> None:
    """Remember for a while that the provider has no recording of the call (yet)."""
    key = _key(call_id)
    db[MEDIA_CACHE].replace_one(
        {"_id": key},
        {
            "_id": key,
            "kind": "recording",
            "call_id": call_id,
            "none": True,
            "message": message,
            "fetched_at": now,
            "expires_at": expires_at,
        },
        upsert=True,
    )


def cache_recording(
    db: Database,
    call_id: str,
    now: datetime,
    *,
    content: bytes,
    content_type: str | None,
    expires_at: datetime,
) -> None:
    """Store the call's audio in chunks, then the head entry that makes it readable."""
    key = _key(call_id)
    chunks = [content[i : i + _CHUNK_BYTES] for i in range(0, len(content), _CHUNK_BYTES)] or [b""]
    for index, data in enumerate(chunks):
        db[MEDIA_CACHE].replace_one(
            {"_id": f"{key}:{index}"},
            {
                "_id": f"{key}:{index}",
                "kind": "recording_chunk",
                "call_id": call_id,
                "data": data,
                "fetched_at": now,
                "expires_at": expires_at,
            },
            upsert=True,
        )
    # The head goes last: a reader never sees a head whose chunks are not all written.
    db[MEDIA_CACHE].replace_one(
        {"_id": key},
        {
            "_id": key,
            "kind": "recording",
            "call_id": call_id,
            "none": False,
            "content_type": content_type,
            "chunks": len(chunks),
            "size": len(content),
            "fetched_at": now,
            "expires_at": expires_at,
        },
        upsert=True,
    )
