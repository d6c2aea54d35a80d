"""Each event stored once, then applied forward-only to its call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from core.documents.status import TERMINAL_STATUSES, CallStatus, statuses_before
from core.db import CALL_EVENTS, CALLS, new_id, utcnow
from core.lifecycle.events import (
    BILLING_PENDING,
    TWILIO,
    ULTRAVOX,
    ParsedEvent,
    parse_duration,
    twilio_status,
)
from core.lifecycle.signatures import parse_timestamp
from core.usage import rollups

log = logging.getLogger(__name__)

# Which timestamp a status fills in (the earliest one wins, whatever the delivery order).
_STATUS_TIME_FIELD: dict[CallStatus, str] = {
    CallStatus.DIALING: "dialed_at",
    CallStatus.RINGING: "ringing_at",
    CallStatus.IN_PROGRESS: "answered_at",
}


# -- storing and applying -----------------------------------------------------------------


@dataclass
class StoreResult:
    """What happened to one delivery."""

    event_id: str
    call_id: str | None
    new: bool
    applied: bool
    notes: list[str] = field(default_factory=list)


def find_call_id(db: Database, provider: str, provider_call_id: str,
                 hint_call_id: str | None = None) -> str | None:
    """Our call id for a provider's call id (adopting the hint when the launcher has not yet)."""
    key = "ultravox_call_id" if provider == ULTRAVOX else "twilio_call_sid"
    doc = db[CALLS].find_one({key: provider_call_id}, {"_id": 1})
    if doc:
        return doc["_id"]
    if hint_call_id:
        # The webhook can beat the launcher's write of the provider id: trust our own id from
        # the signed metadata, but only for a call that has no other provider id.
        doc = db[CALLS].find_one_and_update(
            {"_id": hint_call_id, key: {"$in": [None, provider_call_id]}},
            {"$set": {key: provider_call_id}},
            projection={"_id": 1},
        )
        if doc:
            return doc["_id"]
    return None


def store_event(db: Database, event: ParsedEvent, *, source: str = "webhook",
                now: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Insert the event once; returns (the stored document, True if this delivery stored it)."""
    now = now or utcnow()
    call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
    doc = {
        "_id": new_id(),
        "dedupe_key": event.dedupe_key,
        "provider": event.provider,
        "kind": event.kind,
        "call_id": call_id,
        "provider_call_id": event.provider_call_id,
        "payload": event.payload,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "source": source,
        "applied": False,
        "orphan": call_id is None,
        # Counts the apply that follows this insert (saves a write on the hot path).
        "apply_attempts": 1,
    }
    try:
        db[CALL_EVENTS].insert_one(doc)
    except DuplicateKeyError:
        existing = db[CALL_EVENTS].find_one({"dedupe_key": event.dedupe_key})
        if existing is None:  # deleted in between (purge): nothing to do
            return doc, False
        return existing, False
    return doc, True


def process(db: Database, event: ParsedEvent, *, source: str = "webhook") -> StoreResult:
    """Store the event once and apply it; database errors propagate (the caller answers 503)."""
    doc, new = store_event(db, event, source=source)
    if doc.get("applied"):
        return StoreResult(doc["_id"], doc.get("call_id"), new, True)
    if doc.get("call_id") is None:
        # A later delivery may find the call the first one did not (the launcher was slower).
        call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
        if call_id is None:
            return StoreResult(doc["_id"], None, new, False, ["orphan"])
        db[CALL_EVENTS].update_one({"_id": doc["_id"]},
                                   {"$set": {"call_id": call_id, "orphan": False}})
        doc["call_id"] = call_id
    applied = apply_stored(db, doc, count_attempt=not new)
    return StoreResult(doc["_id"], doc["call_id"], new, applied)


def apply_stored(db: Database, doc: dict[str, Any], *, count_attempt: bool = True) -> bool:
    """Apply a stored event to its call and mark it applied; False if applying failed."""
    if count_attempt:  # bounded retries: a poison event is not re-applied forever
        db[CALL_EVENTS].update_one({"_id": doc["_id"]}, {"$inc": {"apply_attempts": 1}})
    try:
        apply_event(db, doc)
    except PyMongoError:
        raise
    except Exception:
        # The event is stored: reconcile retries it, so the provider needs no retry.
        log.exception("applying %s event %s failed; reconcile will retry",
                      doc.get("provider"), doc.get("_id"))
        return False
    db[CALL_EVENTS].update_one({"_id": doc["_id"]},
                               {"$set": {"applied": True, "applied_at": utcnow()}})
    return True


def advance_status(
    db: Database,
    call_id: str,
    new: CallStatus,
    *,
    fields: dict[str, Any] | None = None,
    event_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Move a call to `new` only if that is forward (one conditional update); True if it moved."""
    now = utcnow()
    update: dict[str, Any] = {
        "$set": {"status": new.value, "updated_at": now, **(fields or {})},
        "$push": {"status_history": {"status": new.value, "at": at or now, "event_id": event_id}},
    }
    if new in TERMINAL_STATUSES:
        update["$unset"] = {"open_key": ""}
        update["$set"]["needs_followup"] = True
        update["$set"]["followup_next_at"] = now
        update["$inc"] = {"followup_seq": 1}
    result = db[CALLS].update_one(
        {"_id": call_id, "status": {"$in": statuses_before(new)}}, update
    )
    moved = result.modified_count == 1
    if moved and new in TERMINAL_STATUSES:
        sync_rollup(db, call_id)
    return moved


def sync_rollup(db: Database, call_id: str) -> None:
    """Bring the usage rollups and the call's `costs` in line after its figures changed."""
    try:
        rollups.sync_call(db, call_id)
    except PyMongoError:
        raise
    except Exception:
        # Counters are derived data: the worker's rollup safety net (sync_stale) catches up.
        log.exception("rollup sync of call %s failed", call_id)


def _event_time(doc: dict[str, Any]) -> datetime:
    at = doc.get("occurred_at") or doc.get("received_at") or utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def apply_event(db: Database, doc: dict[str, Any]) -> None:
    """Apply one stored event to its call (idempotent: re-applying changes nothing)."""
    call_id = doc["call_id"]
    if doc["provider"] == TWILIO:
        _apply_twilio(db, call_id, doc)
    else:
        _apply_ultravox(db, call_id, doc)


def _apply_twilio(db: Database, call_id: str, doc: dict[str, Any]) -> None:
    p = doc["payload"]
    answered_by = p.get("AnsweredBy") or None
    new = twilio_status(p["CallStatus"], answered_by)
    if new is None:
        return
    at = _event_time(doc)
    # Facts that do not depend on the order of delivery are written unconditionally:
    # the earliest time of each phase ($min) and what the final callback reports.
    data: dict[str, Any] = {}
    if answered_by:
        data["answered_by"] = answered_by
    if p.get("CallDuration", "").isdigit():
        data["duration_seconds"] = int(p["CallDuration"])
    time_field = _STATUS_TIME_FIELD.get(new, "ended_at")
    update: dict[str, Any] = {"$min": {time_field: at}}
    if data:
        update["$set"] = data
    db[CALLS].update_one({"_id": call_id}, update)
    fields = {"twilio_status": p["CallStatus"]}
    if new == CallStatus.VOICEMAIL:
        fields["failure_reason"] = "answered by voicemail"
    elif new in (CallStatus.FAILED,) and p.get("ErrorMessage"):
        fields["failure_reason"] = p["ErrorMessage"][:300]
    advance_status(db, call_id, new, fields=fields, event_id=doc["_id"], at=at)


def _apply_ultravox(db: Database, call_id: str, doc: dict[str, Any]) -> None:
    kind = doc["kind"]
    call = doc["payload"]["call"]
    now = utcnow()
    if kind == "call.joined":
        at = parse_timestamp(call.get("joined", "")) or _event_time(doc)
        db[CALLS].update_one({"_id": call_id}, {"$min": {"joined_at": at}})
        advance_status(db, call_id, CallStatus.IN_PROGRESS, event_id=doc["_id"], at=at)
    elif kind == "call.ended":
        at = parse_timestamp(call.get("ended", "")) or _event_time(doc)
        fields: dict[str, Any] = {"ultravox_ended": True, "needs_followup": True,
                                  "followup_next_at": now, "updated_at": now}
        for src, dst in (("endReason", "end_reason"), ("summary", "summary"),
                         ("shortSummary", "short_summary")):
            if call.get(src):
                fields[dst] = call[src]
        db[CALLS].update_one(
            {"_id": call_id},
            {"$set": fields, "$min": {"ultravox_ended_at": at}, "$inc": {"followup_seq": 1}},
        )
        # The transcript is fetched by the follow-up; never downgrade a stored one.
        db[CALLS].update_one(
            {"_id": call_id, "transcript_status": {"$nin": ["stored", "unavailable"]}},
            {"$set": {"transcript_status": "pending"}},
        )
        sync_rollup(db, call_id)  # end reasons and agent-side duration feed the usage charts
    elif kind == "call.billed":
        apply_billing(db, call_id, call.get("billingStatus"), call.get("billedDuration"))


def apply_billing(db: Database, call_id: str, billing_status: str | None,
                  billed_duration: str | None) -> bool:
    """Store Ultravox billing once it is final (a PENDING status is not stored)."""
    if not billing_status or billing_status == BILLING_PENDING:
        return False
    fields: dict[str, Any] = {"billing_status": billing_status, "billed_at": utcnow(), "updated_at": utcnow()}
    seconds = parse_duration(billed_duration)
    if seconds is not None:
        fields["billed_duration_seconds"] = seconds
    db[CALLS].update_one({"_id": call_id}, {"$set": fields})
    sync_rollup(db, call_id)
    return True


def apply_pending(db: Database, *, limit: int = 100, orphan_max_age: timedelta = timedelta(hours=2),
                  max_attempts: int = 10, now: datetime | None = None) -> tuple[int, int]:
    """Apply stored events not applied yet (crashed applies, orphans whose call appeared).

    Returns (applied, still pending) for this bounded batch.
    """
    now = now or utcnow()
    query = {
        "applied": False,
        "apply_attempts": {"$lt": max_attempts},
        # Orphans are retried for a while only: a call that never appears stays an orphan.
        "$or": [{"call_id": {"$ne": None}}, {"received_at": {"$gte": now - orphan_max_age}}],
    }
    done = pending = 0
    for doc in db[CALL_EVENTS].find(query).sort("received_at", 1).limit(limit):
        if doc.get("call_id") is None:
            hint = ((doc.get("payload") or {}).get("call") or {}).get("metadata", {}) \
                .get("screeningId") if doc["provider"] == ULTRAVOX else None
            call_id = find_call_id(db, doc["provider"], doc["provider_call_id"], hint)
            if call_id is None:
                pending += 1
                continue
            claimed = db[CALL_EVENTS].find_one_and_update(
                {"_id": doc["_id"], "call_id": None},
                {"$set": {"call_id": call_id, "orphan": False}},
                return_document=ReturnDocument.AFTER,
            )
            if claimed is None:
                continue
            doc = claimed
        if apply_stored(db, doc):
            done += 1
        else:
            pending += 1
    return done, pending
