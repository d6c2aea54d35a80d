"""A call's recording, fetched server-side with the API key and cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo.database import Database

from core.db import CALLS, MEDIA_CACHE, utcnow
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.ultravox import get_ultravox
from core.review.filters import _OPEN, _aware, valid_call_id

log = logging.getLogger(__name__)

# -- the recording ---------------------------------------------------------------------------

RECORDING_TTL = timedelta(hours=6)  # then fetched again (and purged by the expiry sweep)
_NO_RECORDING_TTL = timedelta(minutes=2)  # "none yet" is re-asked soon: it may still arrive
_CHUNK_BYTES = 4 * 1024 * 1024  # well under MongoDB's 16 MB document limit
_MAX_RECORDING_BYTES = 200 * 1024 * 1024


class _RecordingSource(Protocol):
    def get_recording(self, call_id: str) -> Any: ...


@dataclass(frozen=True)
class RecordingFetch:
    """A call's audio (bytes and content type), or why there is none."""

    content: bytes | None
    content_type: str | None
    message: str = ""
    cached: bool = False

    @property
    def available(self) -> bool:
        """True when there is audio to play."""
        return self.content is not None


def _cache_key(call_id: str) -> str:
    return f"recording:{call_id}"


def _read_cached(db: Database, call_id: str, now: datetime) -> RecordingFetch | None:
    head = db[MEDIA_CACHE].find_one({"_id": _cache_key(call_id)})
    if head is None or (_aware(head.get("expires_at")) or now) <= now:
        return None
    if head.get("none"):
        return RecordingFetch(None, None, head.get("message") or "No recording is available.", cached=True)
    parts = []
    for index in range(int(head.get("chunks") or 0)):
        chunk = db[MEDIA_CACHE].find_one({"_id": f"{_cache_key(call_id)}:{index}"})
        if chunk is None:  # evicted half-way: fetch again
            return None
        parts.append(bytes(chunk["data"]))
    return RecordingFetch(b"".join(parts), head.get("content_type") or "audio/wav", cached=True)


def _write_cached(
    db: Database,
    call_id: str,
    now: datetime,
    *,
    content: bytes | None = None,
    content_type: str | None = None,
    message: str = "",
) -> None:
    key = _cache_key(call_id)
    if content is None:
        db[MEDIA_CACHE].replace_one(
            {"_id": key},
            {
                "_id": key,
                "kind": "recording",
                "call_id": call_id,
                "none": True,
                "message": message,
                "fetched_at": now,
                "expires_at": now + _NO_RECORDING_TTL,
            },
            upsert=True,
        )
        return
    expires = now + RECORDING_TTL
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
                "expires_at": expires,
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
            "expires_at": expires,
        },
        upsert=True,
    )


def recording_bytes(
    db: Database, call_id: str, *, client: _RecordingSource | None = None, now: datetime | None = None
) -> RecordingFetch:
    """The call's recording, fetched server-side with the API key and cached until it expires."""
    now = now or utcnow()
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    call = (
        db[CALLS].find_one(
            {"_id": call_id},
            {
                "status": 1,
                "ultravox_call_id": 1,
                "recording_available": 1,
                "config_snapshot.config.recording_enabled": 1,
            },
        )
        if call_id
        else None
    )
    if call is None:
        return RecordingFetch(None, None, "That call does not exist.")
    if call.get("status") in _OPEN:
        return RecordingFetch(None, None, "The recording is available once the call has ended.")
    enabled = ((call.get("config_snapshot") or {}).get("config") or {}).get("recording_enabled")
    if enabled is False:
        return RecordingFetch(None, None, "No recording: recording was turned off for this call.")
    if not call.get("ultravox_call_id"):
        return RecordingFetch(None, None, "No recording: the call never reached the voice agent.")
    if call.get("recording_available") is False:
        return RecordingFetch(None, None, "No recording is available for this call.")
    cached = _read_cached(db, call_id, now)
    if cached is not None:
        return cached
    if client is None:
        client = get_ultravox()
    try:
        recording = client.get_recording(call["ultravox_call_id"])
    except ProviderUnavailable as exc:
        return RecordingFetch(None, None, f"{exc} The recording cannot be played now; try again in a moment.")
    except ProviderError as exc:
        log.warning("recording of call %s refused: HTTP %s", call_id, exc.status)
        return RecordingFetch(None, None, f"Ultravox refused to give the recording (HTTP {exc.status}).")
    if recording is None or not recording.content:
        message = "No recording is available for this call (yet)."
        _write_cached(db, call_id, now, message=message)
        return RecordingFetch(None, None, message)
    if len(recording.content) > _MAX_RECORDING_BYTES:
        return RecordingFetch(None, None, "The recording is too large to play here.")
    content_type = recording.content_type if recording.content_type.startswith("audio/") else "audio/wav"
    _write_cached(db, call_id, now, content=recording.content, content_type=content_type)
    return RecordingFetch(recording.content, content_type)
