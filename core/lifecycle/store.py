"""What the lifecycle feature reads and writes: `call_events`, `call_transcripts`, and on
`calls` the facts the providers report and the follow-up's own bookkeeping.

Status moves go through `core.calling.transitions` (one forward-only conditional update);
everything here is a single-document write whose result does not depend on the order in
which webhooks arrive ($min for first times, $set for final facts, guarded updates for leases).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import crypto
from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, insert_new, utcnow
from core.documents.call import Call
from core.documents.event import Event
from core.documents.status import CallStatus

# -- events --------------------------------------------------------------------------------


def call_id_by_provider_id(db: Database, field: str, provider_call_id: str) -> str | None:
    """Our call id for a provider's call id (`field`: ultravox_call_id or twilio_call_sid)."""
    doc = db[CALLS].find_one({field: provider_call_id}, {"_id": 1})
    return doc["_id"] if doc else None


def provider_id_of(db: Database, call_id: str, field: str) -> tuple[bool, str | None]:
    """(whether the call exists, its provider id in `field` or None): one read by `_id`."""
    doc = db[CALLS].find_one({"_id": call_id}, {field: 1})
    return (doc is not None, doc.get(field) if doc else None)


def provider_ids_of(db: Database, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The provider ids of these calls, their status and whether they are erased (one read by
    `_id`), keyed by call id; missing calls are absent."""
    if not call_ids:
        return {}
    docs = db[CALLS].find({"_id": {"$in": call_ids}},
                          {"ultravox_call_id": 1, "twilio_call_sid": 1, "erased_at": 1, "status": 1})
    return {d["_id"]: d for d in docs}


def adopt_provider_id(db: Database, call_id: str, field: str, provider_call_id: str) -> bool:
    """Link our call to a provider id it does not have yet (never over another id)."""
    update: dict[str, Any] = {"$set": {field: provider_call_id}}
    if field == "twilio_call_sid":
        # A callback names the call: the create's lost answer no longer matters.
        update["$unset"] = {"twilio_unconfirmed": ""}
    try:
        doc = db[CALLS].find_one_and_update(
            {"_id": call_id, field: {"$in": [None, provider_call_id]}}, update, projection={"_id": 1},
        )
    except DuplicateKeyError:
        return False  # another call already carries this provider id (its unique index says so)
    return doc is not None


def insert_event(db: Database, doc: dict[str, Any],
                 insert: Callable[[dict[str, Any]], bool] | None = None) -> bool:
    """Store an event; False when one with its dedupe key is already stored.

    `insert` writes the document instead of a single insert (the sidecar's group insert);
    it returns like `insert_new` and raises when the write failed.
    """
    doc = crypto.encrypt_event(doc)
    return insert(doc) if insert is not None else insert_new(db[CALL_EVENTS], doc)


def events_collection(db: Database) -> Collection:
    """The event log itself, for the group insert that batches concurrent webhooks."""
    return db[CALL_EVENTS]


def event_by_key(db: Database, dedupe_key: str) -> Event | None:
    """The stored event with this dedupe key."""
    return Event.from_doc(db[CALL_EVENTS].find_one({"dedupe_key": dedupe_key}))


def link_event(db: Database, event_id: str, call_id: str) -> None:
    """Attach an event stored as an orphan to the call that has since been found."""
    db[CALL_EVENTS].update_one({"_id": event_id}, {"$set": {"call_id": call_id, "orphan": False}})


def unlink_event(db: Database, event_id: str) -> None:
    """An event stored under a call id that turned out wrong: an orphan again, due at once."""
    db[CALL_EVENTS].update_one({"_id": event_id}, {"$set": {"call_id": None, "orphan": True},
                                                   "$unset": {"orphan_next_check_at": ""}})


def claim_orphan(db: Database, event_id: str, call_id: str) -> Event | None:
    """Attach an orphan to its call unless another process did; the event after, or None."""
    return Event.from_doc(db[CALL_EVENTS].find_one_and_update(
        {"_id": event_id, "call_id": None},
        {"$set": {"call_id": call_id, "orphan": False}},
        return_document=ReturnDocument.AFTER,
    ))


def count_apply_attempt(db: Database, event_id: str) -> None:
    """Count one more try at applying an event (poison events are not retried for ever)."""
    db[CALL_EVENTS].update_one({"_id": event_id}, {"$inc": {"apply_attempts": 1}})


def mark_applied(db: Database, event_id: str) -> None:
    """Record that an event's effect is on its call."""
    db[CALL_EVENTS].update_one({"_id": event_id}, {"$set": {"applied": True, "applied_at": utcnow()}})


def mark_applied_many(db: Database, event_ids: list[str]) -> None:
    """Record that these events' effects are on their calls (one write for a batch)."""
    if event_ids:
        db[CALL_EVENTS].update_many({"_id": {"$in": event_ids}},
                                    {"$set": {"applied": True, "applied_at": utcnow()}})


def unapplied_linked_events(db: Database, *, max_attempts: int, limit: int) -> list[Event]:
    """Stored events of a known call whose effect is not on it yet (a crashed apply), oldest first."""
    query = {"applied": False, "apply_attempts": {"$lt": max_attempts}, "call_id": {"$ne": None}}
    return [Event.model_validate(d)
            for d in db[CALL_EVENTS].find(query).sort("received_at", 1).limit(limit)]


def due_orphan_events(db: Database, *, received_since: datetime, now: datetime, limit: int) -> list[Event]:
    """Orphans (no call linked yet) still young and due for another look, oldest first."""
    query = {"applied": False, "call_id": None, "received_at": {"$gte": received_since},
             "$or": [{"orphan_next_check_at": None}, {"orphan_next_check_at": {"$lte": now}}]}
    return [Event.model_validate(d)
            for d in db[CALL_EVENTS].find(query).sort("received_at", 1).limit(limit)]


def defer_orphan(db: Database, event_id: str, *, until: datetime) -> None:
    """An orphan that still links to no call: look again at `until`."""
    db[CALL_EVENTS].update_one({"_id": event_id, "call_id": None},
                               {"$set": {"orphan_next_check_at": until}, "$inc": {"orphan_checks": 1}})


# -- provider facts on the call ---------------------------------------------------------------


def record_phase(db: Database, call_id: str, *, earliest: dict[str, datetime],
                 facts: dict[str, Any]) -> None:
    """Keep the earliest time of a phase ($min) and facts the final callback reports ($set)."""
    update: dict[str, Any] = {"$min": earliest}
    if facts:
        update["$set"] = facts
    db[CALLS].update_one({"_id": call_id}, update)


def record_agent_end(db: Database, call_id: str, *, fields: dict[str, Any], ended_at: datetime) -> None:
    """The agent side ended: end reason and summaries, a follow-up due (transcript and more)."""
    fields = crypto.encrypt_fields(fields, crypto.CALL_TEXT_FIELDS)  # summaries at rest
    db[CALLS].update_one(
        {"_id": call_id},
        {"$set": fields, "$min": {"ultravox_ended_at": ended_at}, "$inc": {"followup_seq": 1}},
    )
    # The transcript is fetched by the follow-up; never downgrade a stored one.
    db[CALLS].update_one(
        {"_id": call_id, "transcript_status": {"$nin": ["stored", "unavailable", "not_kept"]}},
        {"$set": {"transcript_status": "pending"}},
    )


def set_call_facts(db: Database, call_id: str, fields: dict[str, Any]) -> None:
    """Set facts about a call that are final once known (billing, price, summaries, hang-ups)."""
    db[CALLS].update_one({"_id": call_id}, {"$set": crypto.encrypt_fields(fields, crypto.CALL_TEXT_FIELDS)})


def get_call(db: Database, call_id: str) -> Call | None:
    """One call by id (as the follow-up reads it)."""
    return Call.from_doc(db[CALLS].find_one({"_id": call_id}))


# -- transcripts ---------------------------------------------------------------------------


def store_transcript(db: Database, call_id: str, messages: list[dict[str, Any]],
                     facts: dict[str, Any] | None = None) -> None:
    """Write the call's transcript document (replacing any earlier fetch) and its count, with
    `facts` drawn from it (the disclosure check) in the same call update."""
    now = utcnow()
    messages = crypto.encrypt_messages(messages)  # the words at rest (speaker and timing stay)
    db[TRANSCRIPTS].replace_one(
        {"_id": call_id}, {"_id": call_id, "messages": messages, "fetched_at": now}, upsert=True
    )
    db[CALLS].update_one({"_id": call_id}, {"$set": {
        **(facts or {}), "transcript_status": "stored", "message_count": len(messages), "updated_at": now,
    }})


def transcript_size(db: Database, call_id: str) -> int:
    """How many messages the call's stored transcript has (0 when none)."""
    doc = db[TRANSCRIPTS].find_one({"_id": call_id}, {"messages": 1})
    return len(doc["messages"]) if doc else 0


# -- the follow-up's bookkeeping -------------------------------------------------------------

def _due(now: datetime) -> list[dict[str, Any]]:
    return [{"$or": [{"followup_next_at": None}, {"followup_next_at": {"$lte": now}}]},
            {"$or": [{"followup_lease_until": None}, {"followup_lease_until": {"$lte": now}}]}]


def _is_due(doc: dict[str, Any], now: datetime) -> bool:
    """`_due` for a document read (the lease's check)."""
    return (bool(doc.get("needs_followup"))
            and all(doc.get(field) is None or doc[field] <= now
                    for field in ("followup_next_at", "followup_lease_until")))


def claim_followup(db: Database, call_id: str, now: datetime, lease_until: datetime) -> Call | None:
    """Lease a call whose follow-up is due (and not leased); None when it is not ours to do.

    The call is read by `_id`, checked, and leased by a compare-and-set on its lease counter:
    every lease moves the counter, so if anyone leased the call since the read, this one fails
    (one field besides `_id`, which the embedded server answers from an index, core.db; a
    condition on the due times would make it scan every call).
    """
    doc = db[CALLS].find_one({"_id": call_id})
    if doc is None or not _is_due(doc, now):
        return None
    seq = doc.get("followup_lease_seq")
    leased = db[CALLS].update_one({"_id": call_id, "followup_lease_seq": seq},
                                  {"$set": {"followup_lease_until": lease_until},
                                   "$inc": {"followup_lease_seq": 1}})
    if leased.modified_count != 1:
        return None
    return Call.from_doc({**doc, "followup_lease_until": lease_until, "followup_lease_seq": (seq or 0) + 1})


def due_followups(db: Database, now: datetime, *, limit: int) -> list[str]:
    """Ids of the calls whose follow-up is due and not leased, most overdue first."""
    query = {"needs_followup": True, "$and": _due(now)}
    return [d["_id"] for d in db[CALLS].find(query, {"_id": 1}).sort("followup_next_at", 1).limit(limit)]


def finish_followup(db: Database, call_id: str) -> None:
    """Nothing is missing any more: the call leaves the follow-up."""
    db[CALLS].update_one({"_id": call_id}, {
        "$set": {"followup_done_at": utcnow()},
        "$unset": {"needs_followup": "", "followup_next_at": "", "followup_lease_until": "",
                   "followup_attempts": ""},
    })


def postpone_followup(db: Database, call_id: str, *, seen_seq: int | None, next_at: datetime) -> bool:
    """Try again later, unless new information arrived since `seen_seq` was read."""
    result = db[CALLS].update_one(
        # None matches a call whose counter was never set (flagged by reconcile, not an event).
        {"_id": call_id, "followup_seq": seen_seq},
        {"$set": {"followup_next_at": next_at},
         "$inc": {"followup_attempts": 1}, "$unset": {"followup_lease_until": ""}},
    )
    return result.matched_count == 1


def drop_followup_lease(db: Database, call_id: str) -> None:
    """Release our lease so the follow-up is due again right away."""
    db[CALLS].update_one({"_id": call_id}, {"$unset": {"followup_lease_until": ""}})


# -- reconcile -------------------------------------------------------------------------------

_LIVE = [s.value for s in (CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS)]


def quiet_live_calls(db: Database, *, quiet_since: datetime, polled_before: datetime,
                     limit: int) -> list[str]:
    """Live calls that heard nothing since `quiet_since` and were not polled recently."""
    query = {
        "status": {"$in": _LIVE},
        "needs_followup": {"$ne": True},
        "$and": [
            {"$or": [{"updated_at": {"$lte": quiet_since}},
                     {"updated_at": None, "created_at": {"$lte": quiet_since}}]},
            {"$or": [{"last_polled_at": None}, {"last_polled_at": {"$lte": polled_before}}]},
        ],
    }
    return [d["_id"] for d in db[CALLS].find(query, {"_id": 1}).limit(limit)]


def flag_for_poll(db: Database, call_id: str, now: datetime) -> bool:
    """Flag a quiet live call for a provider poll now; True if this call flagged it."""
    result = db[CALLS].update_one(
        {"_id": call_id, "needs_followup": {"$ne": True}},
        {"$set": {"needs_followup": True, "followup_next_at": now, "last_polled_at": now}},
    )
    return result.modified_count == 1


def ended_without_followup(db: Database, statuses: list[str], *, created_since: datetime,
                           limit: int) -> list[str]:
    """Ended calls (recent ones) whose follow-up never ran."""
    query = {
        "status": {"$in": statuses},
        "needs_followup": {"$ne": True},
        "followup_done_at": None,
        "created_at": {"$gte": created_since},
    }
    return [d["_id"] for d in db[CALLS].find(query, {"_id": 1}).limit(limit)]


def flag_ended_for_followup(db: Database, call_id: str, now: datetime) -> bool:
    """Flag an ended call for a follow-up now; True if this call flagged it."""
    result = db[CALLS].update_one(
        {"_id": call_id, "needs_followup": {"$ne": True}, "followup_done_at": None},
        {"$set": {"needs_followup": True, "followup_next_at": now}},
    )
    return result.modified_count == 1
