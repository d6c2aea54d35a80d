"""The `recording_consent` sub-document of a call: the decision at dial, the agent's report, the
deletion at Ultravox. Each write is one single-document operation on `calls`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.db import CALL_EVENTS, CALLS, Database, utcnow

_FIELD = "recording_consent"
_EVENT_SUMMARIES = ("payload.call.summary", "payload.call.shortSummary")


def record_decision(db: Database, call_id: str, decision: dict[str, Any]) -> None:
    """Store what was decided when the call was placed (replaces an earlier attempt's)."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {_FIELD: decision, "updated_at": utcnow()}})


def record_answer(db: Database, call_id: str, granted: bool, at: datetime) -> bool:
    """The candidate's answer as the agent reported it. A refusal is final: a later "yes" does not
    turn it back (False: nothing changed, the answer was already a refusal)."""
    result = db[CALLS].update_one(
        {"_id": call_id, f"{_FIELD}.granted": {"$ne": False}},
        {"$set": {f"{_FIELD}.asked": True, f"{_FIELD}.granted": granted, f"{_FIELD}.at": at,
                  "updated_at": at}})
    return result.modified_count == 1


def mark_transcript_not_kept(db: Database, call_id: str, message_count: int, at: datetime,
                             facts: dict[str, Any] | None = None) -> None:
    """The transcript was read (for opt-out, voicemail and disclosure checks) but not stored."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {
        **(facts or {}), "transcript_status": "not_kept", "message_count": message_count,
        f"{_FIELD}.transcript_kept": False, "updated_at": at}})


def mark_deleted(db: Database, call_id: str, at: datetime, note: str, *, clear_summary: bool) -> None:
    """The Ultravox call (with its recording) is gone; without a kept transcript its summaries go too."""
    fields: dict[str, Any] = {f"{_FIELD}.deleted_at": at, f"{_FIELD}.delete_note": note, "updated_at": at}
    if clear_summary:
        # The stored webhooks carry the same summaries; they go first, so a run cut short between
        # the two writes is finished by the next follow-up (the call is not marked deleted yet).
        db[CALL_EVENTS].update_many({"call_id": call_id}, {"$unset": dict.fromkeys(_EVENT_SUMMARIES, "")})
        fields.update(summary=None, short_summary=None)
    db[CALLS].update_one({"_id": call_id}, {"$set": fields})


def note_delete_failure(db: Database, call_id: str, note: str, at: datetime) -> None:
    """A deletion attempt failed; the follow-up tries again later."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {f"{_FIELD}.delete_note": note, "updated_at": at},
                                            "$inc": {f"{_FIELD}.delete_attempts": 1}})
