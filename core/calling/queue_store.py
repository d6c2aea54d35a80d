"""The `calls` collection as the dispatcher sees it: the queue of batch calls and call-backs.

Leases make picking safe with many workers (a killed worker's lease expires); every other
write is one conditional update on one call, guarded by the lease owner or the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.db import CALLS
from core.documents.call import Call
from core.documents.status import TERMINAL_VALUES, CallStatus

_STALE_LIMIT = 100  # stale dials examined per run (the rest next run)
_HELD_LIMIT = 200


def lease_next(db: Database, batch_ids: list[str], owner: str, now: datetime,
               lease_until: datetime) -> Call | None:
    """Atomically take the next due queued call of these batches, a due call-back the candidate
    of a single call asked for (no batch, `retry_of` set), or a single call scheduled for the
    opening of the calling window (`scheduled_by` set), for a short lease."""
    return Call.from_doc(db[CALLS].find_one_and_update(
        {"status": CallStatus.QUEUED.value, "next_attempt_at": {"$lte": now},
         "$and": [{"$or": [{"batch_id": {"$in": batch_ids}},
                           {"batch_id": None, "retry_of": {"$nin": [None]}},
                           {"batch_id": None, "scheduled_by": {"$nin": [None]}}]},
                  {"$or": [{"lease_until": {"$exists": False}}, {"lease_until": None},
                           {"lease_until": {"$lt": now}}]}]},
        {"$set": {"lease_owner": owner, "lease_until": lease_until}},
        sort=[("next_attempt_at", 1)],
        return_document=ReturnDocument.AFTER,
    ))


def hold(db: Database, call_id: str, owner: str, fields: dict[str, Any]) -> None:
    """Keep a leased call queued with new wait fields, and drop our lease."""
    db[CALLS].update_one({"_id": call_id, "status": CallStatus.QUEUED.value, "lease_owner": owner},
                         {"$set": fields, "$unset": {"lease_owner": "", "lease_until": ""}})


def unlease(db: Database, call_id: str, owner: str) -> None:
    """Give a leased call back to the queue as it was."""
    db[CALLS].update_one({"_id": call_id, "lease_owner": owner},
                         {"$unset": {"lease_owner": "", "lease_until": ""}})


def stale_before_ultravox(db: Database, cutoff: datetime) -> list[str]:
    """Calls claimed before `cutoff` that never got an Ultravox id (their worker died)."""
    return [d["_id"] for d in db[CALLS].find(
        {"status": CallStatus.DIALING.value, "ultravox_call_id": None, "dialed_at": {"$lt": cutoff}},
        {"_id": 1}).limit(_STALE_LIMIT)]


def stale_between_providers(db: Database, cutoff: datetime) -> list[str]:
    """Calls whose agent side ended unjoined with no Twilio leg ever recorded (worker died)."""
    return [d["_id"] for d in db[CALLS].find(
        {"status": CallStatus.DIALING.value, "ultravox_call_id": {"$nin": [None]},
         "twilio_call_sid": None, "twilio_sent_at": None, "ultravox_ended": True,
         "joined_at": {"$exists": False}, "dialed_at": {"$lt": cutoff}}, {"_id": 1}).limit(_STALE_LIMIT)]


def ended_awaiting_retry_decision(db: Database, *, limit: int) -> list[Call]:
    """Ended calls whose next attempt has not been decided yet: batch calls, and single calls
    whose candidate asked to be called back (single calls have no other follow-on)."""
    return [Call.model_validate(d) for d in db[CALLS].find(
        {"status": {"$in": TERMINAL_VALUES}, "retry_handled": {"$exists": False},
         "$or": [{"batch_id": {"$nin": [None]}}, {"callback.at": {"$nin": [None]}}]}).limit(limit)]


def mark_retry_handled(db: Database, call_id: str, retry_call_id: str | None) -> None:
    """Record that the call's next attempt was decided (and which call it is, if any)."""
    db[CALLS].update_one({"_id": call_id},
                         {"$set": {"retry_handled": True, "retry_call_id": retry_call_id}})


def screened_candidates(db: Database, job_id: str) -> set[str]:
    """Candidates with a completed screening for this job."""
    return set(db[CALLS].distinct("candidate_id", {"job_id": job_id,
                                                   "status": CallStatus.COMPLETED.value}))


def open_candidates(db: Database, job_id: str) -> set[str]:
    """Candidates with an open (queued or live) call for this job."""
    live = [s.value for s in CallStatus if s.value not in TERMINAL_VALUES]
    return set(db[CALLS].distinct("candidate_id", {"job_id": job_id, "status": {"$in": live}}))


def queued_of_batch(db: Database, batch_id: str) -> list[str]:
    """Ids of the batch's calls still waiting in the queue."""
    return [d["_id"] for d in db[CALLS].find({"batch_id": batch_id, "status": CallStatus.QUEUED.value},
                                             {"_id": 1})]


def queued_of_job(db: Database, job_id: str, *, limit: int) -> list[str]:
    """Ids of the job's calls still waiting in the queue (any batch, single calls too)."""
    return [d["_id"] for d in db[CALLS].find({"job_id": str(job_id), "status": CallStatus.QUEUED.value},
                                             {"_id": 1}).limit(limit)]


def release_holds(db: Database, batch_id: str, now: datetime, by: str | None = None) -> int:
    """Let the batch's calls held for a person be tried again now (`by` released them); returns how many."""
    result = db[CALLS].update_many(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"$set": {"next_attempt_at": now, "hold_reason": None, "released_by": by, "updated_at": now}},
    )
    return result.modified_count


@dataclass(frozen=True)
class StatusCount:
    """How many of a batch's candidates have their latest attempt in one status."""

    status: str
    candidates: int
    held: int
    attempts: int


def latest_status_counts(db: Database, batch_id: str) -> list[StatusCount]:
    """Per status, the candidates whose latest attempt is in it (with held calls and attempts)."""
    rows = db[CALLS].aggregate([
        {"$match": {"batch_id": str(batch_id)}},
        {"$sort": {"attempt": -1}},
        {"$group": {"_id": "$candidate_id", "status": {"$first": "$status"},
                    "hold": {"$first": "$hold_reason"}, "attempts": {"$sum": 1}}},
        {"$group": {"_id": "$status", "n": {"$sum": 1},
                    "held": {"$sum": {"$cond": [{"$gt": ["$hold", None]}, 1, 0]}},
                    "attempts": {"$sum": "$attempts"}}},
    ])
    return [StatusCount(r["_id"], r["n"], r["held"], r["attempts"]) for r in rows]


def waiting_calls(db: Database, batch_id: str, now: datetime) -> tuple[int, Call | None]:
    """How many queued calls of a batch wait for a later time (not for a person), and the
    first of them to come due."""
    query = {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
             "hold_reason": {"$in": [None, ""]}, "next_attempt_at": {"$gt": now}}
    first = db[CALLS].find_one(query, {"next_attempt_at": 1, "wait_reason": 1, "wait_kind": 1,
                                       "calling_window": 1, "candidate_zone": 1, "attempt": 1,
                                       "max_attempts": 1, "status": 1},
                               sort=[("next_attempt_at", 1)])
    return (db[CALLS].count_documents(query) if first else 0), Call.from_doc(first)


def held_calls(db: Database, batch_id: str, limit: int = _HELD_LIMIT) -> list[Call]:
    """Queued calls of a batch waiting for a person, with the reason."""
    return [Call.model_validate(d) for d in db[CALLS].find(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"candidate_id": 1, "hold_reason": 1, "attempt": 1, "calling_window": 1}).limit(limit)]


def latest_ended(db: Database, batch_id: str, since: datetime | None, limit: int) -> list[Call]:
    """The batch's calls that ended since `since`, most recent first."""
    return [Call.model_validate(d) for d in db[CALLS].find(
        {"batch_id": batch_id, "status": {"$in": TERMINAL_VALUES}, "ended_at": {"$gte": since}},
        {"status": 1, "failure_reason": 1, "ended_at": 1}).sort("ended_at", -1).limit(limit)]


def has_pending(db: Database, batch_id: str) -> bool:
    """True while a call of the batch is queued, live, or ended without a retry decision."""
    pending = db[CALLS].find_one({"batch_id": batch_id, "$or": [
        {"status": {"$nin": TERMINAL_VALUES}},
        {"status": {"$in": TERMINAL_VALUES}, "retry_handled": {"$exists": False}}]}, {"_id": 1})
    return pending is not None


def unlinked_dials(db: Database, *, sent_before: datetime, checked_before: datetime,
                   limit: int) -> list[Call]:
    """Live calls whose Twilio create left before `sent_before` but whose CallSid we never
    learnt, not looked up since `checked_before`."""
    live = [CallStatus.DIALING.value, CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value]
    return [Call.model_validate(d) for d in db[CALLS].find(
        {"status": {"$in": live}, "twilio_call_sid": None, "twilio_sent_at": {"$lt": sent_before},
         "$or": [{"settle_checked_at": None}, {"settle_checked_at": {"$lt": checked_before}}]},
        {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0}).limit(limit)]


def overdue_claimed(db: Database, *, grace_ms: int, default_max_minutes: int, limit: int) -> list[Call]:
    """Live calls claimed longer ago than their maximum length plus `grace_ms` (database clock)."""
    live = [CallStatus.DIALING.value, CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value]
    bound = {"$add": ["$dialed_at", grace_ms, {"$multiply": [
        {"$ifNull": ["$config_snapshot.config.max_duration_minutes", default_max_minutes]}, 60_000]}]}
    return [Call.model_validate(d) for d in db[CALLS].find(
        {"status": {"$in": live}, "dialed_at": {"$ne": None}, "$expr": {"$lt": [bound, "$$NOW"]}},
        {"request_body": 0, "rendered_prompt": 0}).limit(limit)]


def orphan_launches(db: Database, *, created_before: datetime, limit: int) -> list[str]:
    """Queued calls of no batch that were never claimed (a one-call launch that stopped); a
    scheduled call-back (`retry_of` set) or a call scheduled for the window (`scheduled_by`
    set) is waiting for its time, not stranded."""
    return [d["_id"] for d in db[CALLS].find(
        {"status": CallStatus.QUEUED.value, "batch_id": None, "retry_of": None, "scheduled_by": None,
         "claimed_by": {"$exists": False},
         "created_at": {"$lt": created_before}}, {"_id": 1}).limit(limit)]
