"""A call's recording, fetched server-side with the API key and cached."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.compliance import recording_consent
from core.db import Database, utcnow
from core.providers.media import MAX_RECORDING_BYTES, MediaRefused
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.ultravox import get_ultravox
from core.review import recording_store, retention, store
from core.review.filters import valid_call_id
from core.review.models import RecordingFetch

log = logging.getLogger(__name__)

# -- the recording ---------------------------------------------------------------------------

RECORDING_TTL = timedelta(hours=6)  # then fetched again (and purged by the expiry sweep)
_NO_RECORDING_TTL = timedelta(minutes=2)  # "none yet" is re-asked soon: it may still arrive


class _RecordingSource(Protocol):
    def get_recording(self, call_id: str) -> Any: ...


def _read_cached(db: Database, call_id: str, now: datetime) -> RecordingFetch | None:
    head = recording_store.cached_recording(db, call_id)
    if head is None or (head.expires_at or now) <= now:
        return None
    if head.none:
        return RecordingFetch(None, None, head.message or "No recording is available.", cached=True)
    content = recording_store.recording_content(db, call_id, int(head.chunks or 0))
    if content is None:  # evicted half-way: fetch again
        return None
    return RecordingFetch(content, head.content_type or "audio/wav", cached=True)


def recording_bytes(
    db: Database, call_id: str, *, client: _RecordingSource | None = None, now: datetime | None = None
) -> RecordingFetch:
    """The call's recording, fetched server-side with the API key and cached until it expires."""
    now = now or utcnow()
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    call = store.call_for_recording(db, call_id) if call_id else None
    if call is None:
        return RecordingFetch(None, None, "That call does not exist.")
    if call.is_open:
        return RecordingFetch(None, None, "The recording is available once the call has ended.")
    if recording_consent.no_recording(call):
        # Never fetched, never cached: consent was needed and the recording is not kept.
        return RecordingFetch(None, None, recording_consent.not_kept_message(
            call.recording_consent, joined=call.joined_at is not None))  # type: ignore[arg-type]
    if call.snapshot_config.get("recording_enabled") is False:
        return RecordingFetch(None, None, "No recording: recording was turned off for this call.")
    if not call.ultravox_call_id:
        return RecordingFetch(None, None, "No recording: the call never reached the voice agent.")
    if call.recording_purge:
        return RecordingFetch(None, None, retention.purge_note(call.recording_purge, "Recording", now))
    if call.recording_available is False:
        return RecordingFetch(None, None, "No recording is available for this call.")
    cached = _read_cached(db, call_id, now)
    if cached is not None:
        return cached
    if client is None:
        client = get_ultravox()
    try:
        recording = client.get_recording(call.ultravox_call_id)
    except ProviderUnavailable as exc:
        return RecordingFetch(None, None, f"{exc} The recording cannot be played now; try again in a moment.")
    except MediaRefused as exc:
        return RecordingFetch(None, None, f"The recording was not fetched: {exc.provider_message}.")
    except ProviderError as exc:
        log.warning("recording of call %s refused: HTTP %s", call_id, exc.status)
        return RecordingFetch(None, None, f"Ultravox refused to give the recording (HTTP {exc.status}).")
    if recording is None or not recording.content:
        message = "No recording is available for this call (yet)."
        recording_store.cache_no_recording(
            db, call_id, now, message=message, expires_at=now + _NO_RECORDING_TTL
        )
        return RecordingFetch(None, None, message)
    if len(recording.content) > MAX_RECORDING_BYTES:  # a client without the streamed cap
        return RecordingFetch(None, None, "The recording is too large to play here.")
    content_type = recording.content_type if recording.content_type.startswith("audio/") else "audio/wav"
    recording_store.cache_recording(
        db, call_id, now, content=recording.content, content_type=content_type, expires_at=now + RECORDING_TTL
    )
    return RecordingFetch(recording.content, content_type)
