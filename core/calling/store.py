"""The `calls` collection as launching and dialling see it: one call at a time.

Every write here is a single conditional update on one call document, so that concurrent
launches, workers and webhooks stay safe without transactions: the unique `open_key` makes
the insert the idempotency check, the `status` filter makes the claim and every status move
atomic and forward-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.calling.reasons import clean_reason
from core.db import CALLS, insert_new, new_id, utcnow
from core.documents.call import Call
from core.documents.status import (
    OPEN_VALUES,
    TERMINAL_STATUSES,
    CallStatus,
    can_advance,
    statuses_before,
)

_LIST_LIMIT = 500


def open_key(candidate_id: str, job_id: str) -> str:
    """The value of the unique `open_key` while a screening of this pair is open."""
    return f"{candidate_id}:{job_id}"


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
        # No provider ids yet: they stay absent (not null) until known, as their unique sparse
        # indexes require.
        "status_history": [{"status": CallStatus.QUEUED.value, "at": now, "event_id": None}],
    }


# -- reads ---------------------------------------------------------------------------------


def get_call(db: Database, call_id: str) -> Call | None:
    """One call by id."""
    return Call.from_doc(db[CALLS].find_one({"_id": str(call_id)}))


def find_open_call(db: Database, candidate_id: str, job_id: str) -> Call | None:
    """The pair's open call (queued or live), if any."""
    return Call.from_doc(db[CALLS].find_one({"open_key": open_key(candidate_id, job_id)}))


def list_calls(db: Database, *, job_id: str | None = None, batch_id: str | None = None,
               limit: int = 100) -> list[Call]:
    """Recent calls (of a job or batch), newest first, without the bulky request fields."""
    query: dict[str, Any] = {}
    if job_id:
        query["job_id"] = str(job_id)
    if batch_id:
        query["batch_id"] = str(batch_id)
    docs = (db[CALLS].find(query, {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0})
            .sort("created_at", -1).limit(max(1, min(limit, _LIST_LIMIT))))
    return [Call.model_validate(d) for d in docs]


def open_ids(db: Database, ids: list[str]) -> set[str]:
    """Which of these calls are still open (queued or live)."""
    if not ids:
        return set()
    return {d["_id"] for d in db[CALLS].find({"_id": {"$in": ids}, "status": {"$in": OPEN_VALUES}},
                                             {"_id": 1})}


# -- the queued call and the claim -----------------------------------------------------------


def insert_open_call(db: Database, doc: dict[str, Any]) -> tuple[Call | None, bool]:
    """Insert a queued call, or return the pair's open call: (call, created).

    (None, False) when the pair's other call ended between the insert and the read: the
    caller may simply try again.
    """
    try:
        db[CALLS].insert_one(doc)
        return Call.model_validate(doc), True
    except DuplicateKeyError:
        existing = db[CALLS].find_one({"open_key": doc["open_key"]})
        if existing is None:
            existing = db[CALLS].find_one({"_id": doc["_id"]})
        return Call.from_doc(existing), False


def insert_call(db: Database, doc: dict[str, Any]) -> bool:
    """Insert a queued call; False when its id or its pair's open call already exists."""
    return insert_new(db[CALLS], doc)


def claim(db: Database, call_id: str, *, by: str, lease_owner: str | None = None,
          window: dict | None = None, slot_at: float | None = None,
          budget: dict[str, Any] | None = None) -> Call | None:
    """Move a queued call to `dialing` atomically; None when someone else got it first.

    `budget` is the reservation made for it (core.usage.budget), stored with the claim.
    """
    query: dict[str, Any] = {"_id": call_id, "status": CallStatus.QUEUED.value}
    if lease_owner is not None:
        query["lease_owner"] = lease_owner
    now = utcnow()
    fields: dict[str, Any] = {"status": CallStatus.DIALING.value, "updated_at": now, "claimed_by": by}
    if window is not None:
        fields["calling_window"] = window
    if slot_at is not None:
        fields["rate_slot_at"] = slot_at  # the gate's granted dial time (epoch seconds)
    if budget is not None:
        fields["budget"] = budget
    return Call.from_doc(db[CALLS].find_one_and_update(
        query,
        # `dialed_at` is the database's clock: the sweeper's bound for the call counts from it.
        {"$set": fields, "$currentDate": {"dialed_at": True},
         "$unset": {"lease_owner": "", "lease_until": "", "hold_reason": ""},
         "$push": {"status_history": {"status": CallStatus.DIALING.value, "at": now,
                                      "event_id": None}}},
        return_document=ReturnDocument.AFTER,
    ))


def cancel_queued(db: Database, call_id: str, reason: str) -> bool:
    """Cancel a call that has not been dialled yet."""
    now = utcnow()
    result = db[CALLS].update_one(
        {"_id": call_id, "status": CallStatus.QUEUED.value},
        {"$set": {"status": CallStatus.CANCELED.value, "failure_reason": clean_reason(reason),
                  "ended_at": now, "updated_at": now},
         "$unset": {"open_key": "", "lease_owner": "", "lease_until": ""},
         "$push": {"status_history": {"status": CallStatus.CANCELED.value, "at": now,
                                      "event_id": None}}},
    )
    return result.modified_count == 1


def _move(call_id: str, new: CallStatus, fields: dict[str, Any] | None, event_id: str | None,
          at: datetime | None, earliest: dict[str, datetime] | None) -> tuple[dict, dict]:
    """The filter and update of one forward-only status move."""
    now = utcnow()
    fields = dict(fields or {})
    if "failure_reason" in fields:
        fields["failure_reason"] = clean_reason(fields["failure_reason"])
    update: dict[str, Any] = {
        "$set": {"status": new.value, "updated_at": now, **fields},
        "$push": {"status_history": {"status": new.value, "at": at or now, "event_id": event_id}},
    }
    minimum: dict[str, datetime] = dict(earliest or {})
    if new in TERMINAL_STATUSES:
        update["$unset"] = {"open_key": ""}
        update["$set"]["needs_followup"] = True
        update["$set"]["followup_next_at"] = now
        update["$inc"] = {"followup_seq": 1}
        # Every end has a time (the retention purge counts from it); an earlier one stays.
        if "ended_at" not in update["$set"]:
            minimum.setdefault("ended_at", at or now)
    minimum = {k: v for k, v in minimum.items() if k not in update["$set"]}
    if minimum:
        update["$min"] = minimum
    return {"_id": call_id, "status": {"$in": statuses_before(new)}}, update


def move_status(db: Database, call_id: str, new: CallStatus, *, fields: dict[str, Any] | None = None,
                event_id: str | None = None, at: datetime | None = None,
                earliest: dict[str, datetime] | None = None) -> bool:
    """Move a call to `new` only if that is forward (one conditional update); True if it moved.

    A terminal move frees the pair's `open_key` and flags the call for its follow-up. Every
    failure reason is stored through here or `cancel_queued`: both hide phone numbers in it.
    `earliest` are phase times kept with $min in the same write (the caller records them on
    their own when the call did not move).
    """
    query, update = _move(call_id, new, fields, event_id, at, earliest)
    return db[CALLS].update_one(query, update).modified_count == 1


@dataclass(frozen=True)
class PhaseMove:
    """One status callback as a write: the forward-only move, and the facts kept either way."""

    call_id: str
    status: CallStatus
    fields: dict[str, Any]
    event_id: str
    at: datetime
    earliest: dict[str, datetime]
    facts: dict[str, Any]


def move_status_many(db: Database, moves: list[PhaseMove], read: Mapping[str, str] | None = None) -> None:
    """Apply many status callbacks in ordered commands: each is its move (only if forward)
    followed by its order-free facts ($min times, final facts), which change nothing when the
    move carried them. The same as `move_status` then `record_phase` for each, in order.

    `read`: the status of some of these calls as read just before. Their moves are
    compare-and-sets on the status they follow (an index answers `{_id, status}` on the embedded
    server, which scans the calls for a `$in` condition). A move that is not forward from the
    read status is not forward from any later one, so it is left out. Should another writer have
    moved one of these calls meanwhile, their moves run again as forward-only conditional
    updates: a move that already happened matches nothing then.
    """
    current = dict(read or {})
    compared: list[UpdateOne] = []  # calls whose status was read: each write must match
    conditional: list[UpdateOne] = []
    for m in moves:
        query, update = _move(m.call_id, m.status, m.fields, m.event_id, m.at, m.earliest)
        phase: dict[str, Any] = {"$min": m.earliest}
        if m.facts:
            phase["$set"] = m.facts
        was = current.get(m.call_id)
        if was is None:
            conditional += [UpdateOne(query, update), UpdateOne({"_id": m.call_id}, phase)]
            continue
        if can_advance(was, m.status):
            compared.append(UpdateOne({"_id": m.call_id, "status": was}, update))
            current[m.call_id] = m.status.value
        compared.append(UpdateOne({"_id": m.call_id}, phase))
    if compared and db[CALLS].bulk_write(compared, ordered=True).matched_count < len(compared):
        move_status_many(db, [m for m in moves if m.call_id in current])
    if conditional:
        db[CALLS].bulk_write(conditional, ordered=True)


# -- the dial ------------------------------------------------------------------------------


def record_request(db: Database, call_id: str, *, config_snapshot: dict[str, Any], rendered_prompt: str,
                   request_body: dict[str, Any], destination_country: str | None,
                   compliance: dict[str, Any] | None = None) -> None:
    """Keep what the call is placed with: the settings snapshot, prompt and request (no secrets),
    and its compliance record (core.compliance), in one write."""
    fields: dict[str, Any] = {
        "config_snapshot": config_snapshot, "rendered_prompt": rendered_prompt,
        "request_body": request_body, "destination_country": destination_country,
        "updated_at": utcnow()}
    if compliance is not None:
        fields["compliance"] = compliance
    db[CALLS].update_one({"_id": call_id}, {"$set": fields})


def attach_ultravox_id(db: Database, call_id: str, ultravox_id: str) -> bool:
    """Store the Ultravox call id while the call is still open; False if it ended meanwhile."""
    result = db[CALLS].update_one(
        {"_id": call_id, "status": {"$in": OPEN_VALUES},
         "ultravox_call_id": {"$in": [None, ultravox_id]}},
        {"$set": {"ultravox_call_id": ultravox_id, "updated_at": utcnow()}})
    return result.matched_count == 1


def adopt_ultravox_id(db: Database, call_id: str, ultravox_id: str) -> None:
    """Link a call to the Ultravox call found for it later (only if it has none)."""
    db[CALLS].update_one({"_id": call_id, "ultravox_call_id": None},
                         {"$set": {"ultravox_call_id": ultravox_id}})


def mark_twilio_sending(db: Database, call_id: str) -> bool:
    """Record (database clock) that the Twilio create is about to leave; False if the call is no
    longer dialling or already has a CallSid (then nothing may be sent)."""
    result = db[CALLS].update_one(
        {"_id": call_id, "status": CallStatus.DIALING.value, "twilio_call_sid": None},
        {"$currentDate": {"twilio_sent_at": True}, "$set": {"updated_at": utcnow()}})
    return result.modified_count == 1


def mark_twilio_unconfirmed(db: Database, call_id: str, reason: str) -> None:
    """The Twilio create's answer was lost: the call may be ringing; keep it open, say why."""
    db[CALLS].update_one({"_id": call_id, "twilio_call_sid": None},
                         {"$set": {"twilio_unconfirmed": clean_reason(reason, 300), "updated_at": utcnow()},
                          "$currentDate": {"twilio_unconfirmed_at": True}})


def attach_twilio_sid(db: Database, call_id: str, sid: str, *, requested_at: float) -> None:
    """Store Twilio's CallSid (and when the create request left, epoch seconds)."""
    db[CALLS].update_one({"_id": call_id, "twilio_call_sid": {"$in": [None, sid]}},
                         {"$set": {"twilio_call_sid": sid, "updated_at": utcnow(),
                                   # when the request left (epoch s): the rate as sent
                                   "twilio_requested_at": requested_at},
                          "$unset": {"twilio_unconfirmed": ""}})


def mark_opt_out(db: Database, call_id: str) -> None:
    """Flag the call on which the candidate asked never to be called again."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {"opt_out": True, "updated_at": utcnow()}})


def queued_of_candidate(db: Database, candidate_id: str, *, limit: int = 100) -> list[str]:
    """Ids of the candidate's calls still waiting in the queue (any job)."""
    return [d["_id"] for d in db[CALLS].find({"candidate_id": candidate_id, "status": "queued"},
                                             {"_id": 1}).limit(limit)]


def find_call(db: Database, ref: str) -> Call | None:
    """A call by our id, or by its Ultravox call id or Twilio CallSid (for operators)."""
    return Call.from_doc(db[CALLS].find_one({"_id": ref}) or db[CALLS].find_one(
        {"$or": [{"ultravox_call_id": ref}, {"twilio_call_sid": ref}]}))


def call_id_by_twilio_sid(db: Database, sid: str) -> str | None:
    """Our call linked to this Twilio CallSid, if any."""
    doc = db[CALLS].find_one({"twilio_call_sid": sid}, {"_id": 1})
    return doc["_id"] if doc else None


def adopt_twilio_sid(db: Database, call_id: str, sid: str) -> bool:
    """Link the Twilio call a lookup found (only a call without one); its follow-up reads it."""
    now = utcnow()
    result = db[CALLS].update_one(
        {"_id": call_id, "twilio_call_sid": None},
        {"$set": {"twilio_call_sid": sid, "needs_followup": True, "followup_next_at": now,
                  "settle_note": "linked by a lookup of Twilio's calls", "updated_at": now},
         "$unset": {"twilio_unconfirmed": ""}, "$currentDate": {"settle_checked_at": True}})
    return result.modified_count == 1


def note_settle(db: Database, call_id: str, note: str) -> None:
    """Record when and with what result a dial was last looked up."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {"settle_note": clean_reason(note, 300)},
                                            "$currentDate": {"settle_checked_at": True}})
