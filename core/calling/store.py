"""Call documents for launching and dispatch: the queued call, the claim, the early ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.calling.gate import release_slot
from core.calling.refusals import LaunchRefused
from core.documents.status import OPEN_STATUSES, CallStatus
from core.db import CALLS, new_id, utcnow
from core.lifecycle import ingest

_OPEN = [s.value for s in OPEN_STATUSES]
_LIST_LIMIT = 500


def open_key(candidate_id: str, job_id: str) -> str:
    """The value of the unique `open_key` while a screening of this pair is open."""
    return f"{candidate_id}:{job_id}"


def public_call(doc: dict | None) -> dict | None:
    """A call document for pages and the CLI (`id` added)."""
    if doc is None:
        return None
    return {"id": doc["_id"], **doc}


def get_call(db: Database, call_id: str) -> dict | None:
    """One call by id."""
    return public_call(db[CALLS].find_one({"_id": str(call_id)}))


def list_calls(db: Database, *, job_id: str | None = None, batch_id: str | None = None,
               limit: int = 100) -> list[dict]:
    """Recent calls (of a job or batch), newest first, without the bulky request fields."""
    query: dict[str, Any] = {}
    if job_id:
        query["job_id"] = str(job_id)
    if batch_id:
        query["batch_id"] = str(batch_id)
    docs = (db[CALLS].find(query, {"request_body": 0, "rendered_prompt": 0,
                                   "config_snapshot": 0})
            .sort("created_at", -1).limit(max(1, min(limit, _LIST_LIMIT))))
    return [public_call(d) for d in docs]  # type: ignore[misc]


# -- the call document -----------------------------------------------------------------------


def new_call_doc(candidate_id: str, job_id: str, *, actor: str, batch_id: str | None = None,
                 attempt: int = 1, call_id: str | None = None, first_call_id: str | None = None,
                 next_attempt_at: datetime | None = None) -> dict[str, Any]:
    """A queued call holding the pair's `open_key` (inserting it is the idempotency check)."""
    now = utcnow()
    call_id = call_id or new_id()
    return {
        "_id": call_id,
        "candidate_id": str(candidate_id),
        "job_id": str(job_id),
        "batch_id": batch_id,
        "attempt": attempt,
        "first_call_id": first_call_id or call_id,
        "status": CallStatus.QUEUED.value,
        "open_key": open_key(candidate_id, job_id),
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": next_attempt_at or now,
        "ultravox_call_id": None,
        "twilio_call_sid": None,
        "status_history": [{"status": CallStatus.QUEUED.value, "at": now, "event_id": None}],
    }


def insert_open_call(db: Database, doc: dict[str, Any]) -> tuple[dict, bool]:
    """Insert a queued call, or return the pair's open call: (call, created)."""
    try:
        db[CALLS].insert_one(doc)
        return doc, True
    except DuplicateKeyError:
        existing = db[CALLS].find_one({"open_key": doc["open_key"]})
        if existing is None:  # it ended in between: the caller may try again
            existing = db[CALLS].find_one({"_id": doc["_id"]})
        if existing is None:
            raise LaunchRefused("busy", "Another launch of this candidate just finished; "
                                "try again.") from None
        return existing, False


def claim(db: Database, call_id: str, *, by: str, lease_owner: str | None = None,
          window: dict | None = None, slot_at: float | None = None) -> dict | None:
    """Move a queued call to `dialing` atomically; None when someone else got it first."""
    query: dict[str, Any] = {"_id": call_id, "status": CallStatus.QUEUED.value}
    if lease_owner is not None:
        query["lease_owner"] = lease_owner
    now = utcnow()
    fields: dict[str, Any] = {"status": CallStatus.DIALING.value, "dialed_at": now,
                              "updated_at": now, "claimed_by": by}
    if window is not None:
        fields["calling_window"] = window
    if slot_at is not None:
        fields["rate_slot_at"] = slot_at  # the gate's reserved dial time (epoch seconds)
    return db[CALLS].find_one_and_update(
        query,
        {"$set": fields, "$unset": {"lease_owner": "", "lease_until": "", "hold_reason": ""},
         "$push": {"status_history": {"status": CallStatus.DIALING.value, "at": now,
                                      "event_id": None}}},
        return_document=ReturnDocument.AFTER,
    )


def mark_failed(db: Database, call_id: str, reason: str, **fields: Any) -> bool:
    """End an open call as `failed` with a reason (forward-only; frees the open_key)."""
    moved = ingest.advance_status(db, call_id, CallStatus.FAILED,
                                  fields={"failure_reason": reason[:500], "ended_at": utcnow(),
                                          **fields})
    release_slot(db, call_id)
    return moved


def cancel_queued(db: Database, call_id: str, reason: str) -> bool:
    """Cancel a call that has not been dialled yet."""
    now = utcnow()
    result = db[CALLS].update_one(
        {"_id": call_id, "status": CallStatus.QUEUED.value},
        {"$set": {"status": CallStatus.CANCELED.value, "failure_reason": reason[:500],
                  "ended_at": now, "updated_at": now},
         "$unset": {"open_key": "", "lease_owner": "", "lease_until": ""},
         "$push": {"status_history": {"status": CallStatus.CANCELED.value, "at": now,
                                      "event_id": None}}},
    )
    return result.modified_count == 1
