"""Every query of an erasure and of an access export: the tombstones (`erasures`), and the
candidate's data wherever it lives (candidate, calls, transcripts, webhook events, tool requests,
cached media, batches). The audit entries are scrubbed by the retention purge's own functions
(core.review.retention_store), not by a second scrubber."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.db import (
    AUDIT_LOG,
    BATCHES,
    CALL_EVENTS,
    CALLS,
    CANDIDATES,
    ERASURES,
    JOBS,
    MEDIA_CACHE,
    TOOL_REQUESTS,
    TRANSCRIPTS,
    utcnow,
)

_CALLS_CAP = 5000  # more calls than any one candidate gets; bounds every read below
_AUDIT_CAP = 5000

# What an erased call keeps: the facts that the money, the usage counts and the call's place in
# its job and batch rest on (status and times, costs, budget, rollup). Everything else goes —
# the texts rendered for the candidate, the request body, summaries, answers, the review, the
# calling window (their zone and local time), the provider ids (kept in the tombstone only until
# the providers confirm the deletion) — including fields added after this list was written.
_CALL_KEEPS = frozenset({
    "_id", "candidate_id", "job_id", "batch_id", "attempt", "first_call_id", "retry_of",
    "retry_handled", "retry_call_id", "test_call", "created_by", "created_at", "updated_at",
    "status", "status_history", "dialed_at", "ringing_at", "answered_at", "joined_at", "ended_at",
    "duration_seconds", "billed_duration_seconds", "billing_status", "billed_at", "telephony_price",
    "price_unit", "price_status", "priced_at", "costs", "budget", "rollup", "end_reason", "opt_out",
    "twilio_status", "answered_by", "ultravox_ended", "ultravox_ended_at", "purged_at",
})


# -- reads ---------------------------------------------------------------------------------


def candidate_doc(db: Database, candidate_id: str) -> dict[str, Any] | None:
    """The candidate document as stored."""
    return db[CANDIDATES].find_one({"_id": str(candidate_id)})


def calls_of(db: Database, candidate_id: str) -> list[dict[str, Any]]:
    """Every call of the candidate as stored, oldest first (bounded)."""
    return list(db[CALLS].find({"candidate_id": str(candidate_id)}).sort("created_at", 1).limit(_CALLS_CAP))


def job_titles(db: Database, job_ids: list[str]) -> dict[str, str]:
    """Job titles by id."""
    ids = sorted(set(job_ids))
    return {d["_id"]: str(d.get("title") or "") for d in db[JOBS].find({"_id": {"$in": ids}}, {"title": 1})}


def transcripts_of(db: Database, call_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The stored transcript messages of these calls, by call id."""
    docs = db[TRANSCRIPTS].find({"_id": {"$in": call_ids}}).limit(len(call_ids))
    return {d["_id"]: list(d.get("messages") or []) for d in docs}


def _event_query(call_ids: list[str], provider_ids: list[str]) -> dict[str, Any]:
    # Linked events by our call id; orphans (never linked) by the provider's call id.
    return {"$or": [{"call_id": {"$in": call_ids}}, {"provider_call_id": {"$in": provider_ids}}]}


def events_of(db: Database, call_ids: list[str], provider_ids: list[str]) -> list[dict[str, Any]]:
    """The stored webhook events of these calls, in the order received (bounded)."""
    cursor = db[CALL_EVENTS].find(_event_query(call_ids, provider_ids)).sort("received_at", 1)
    return list(cursor.limit(_CALLS_CAP * 20))


def audit_about(db: Database, candidate_id: str, call_ids: list[str]) -> list[dict[str, Any]]:
    """The audit entries about the candidate or their calls, oldest first (bounded)."""
    query = {"$or": [{"entity": "candidate", "entity_id": candidate_id},
                     {"entity": "call", "entity_id": {"$in": call_ids}}]}
    return list(db[AUDIT_LOG].find(query).sort("at", 1).limit(_AUDIT_CAP))


def tool_requests_of(db: Database, call_ids: list[str]) -> list[dict[str, Any]]:
    """The agent's tool requests during these calls (bounded)."""
    return list(db[TOOL_REQUESTS].find({"call_id": {"$in": call_ids}}).limit(_CALLS_CAP * 20))


# -- the erasure's writes ----------------------------------------------------------------------


def erase_calls(db: Database, calls: list[dict[str, Any]], now: datetime,
                erased_at: datetime | None = None) -> dict[str, int]:
    """Take the candidate's content out of these calls and of everything stored about them:
    transcripts, cached recordings, tool requests and the payloads of their webhook events (the
    events stay, without payload, so a late duplicate is still recognised); returns counts.
    `erased_at`: when the candidate was erased, if before `now` (a second pass)."""
    ids = [c["_id"] for c in calls]
    if not ids:
        return {"calls": 0, "transcripts": 0, "events": 0, "tool_requests": 0, "media_items": 0}
    provider_ids = [str(c[k]) for c in calls for k in ("ultravox_call_id", "twilio_call_sid") if c.get(k)]
    counts = {
        "transcripts": db[TRANSCRIPTS].delete_many({"_id": {"$in": ids}}).deleted_count,
        "media_items": db[MEDIA_CACHE].delete_many({"call_id": {"$in": ids}}).deleted_count,
        "tool_requests": db[TOOL_REQUESTS].delete_many({"call_id": {"$in": ids}}).deleted_count,
        "events": db[CALL_EVENTS].update_many(
            _event_query(ids, provider_ids),
            {"$unset": {"payload": ""}, "$set": {"payload_erased_at": now}},
        ).matched_count,
    }
    for call in calls:
        marks = {"erased_at": erased_at or now, "transcript_status": "erased", "recording_available": False,
                 "purged_at": now}
        drop = {k: "" for k in call if k not in _CALL_KEEPS and k not in marks}
        update: dict[str, Any] = {"$set": marks}
        if drop:
            update["$unset"] = drop
        db[CALLS].update_one({"_id": call["_id"]}, update)
    counts["calls"] = len(ids)
    return counts


def scrub_erased(db: Database, call_ids: list[str]) -> list[str]:
    """Erase again what reached these calls after their erasure (a webhook that came late, a
    follow-up already under way); returns the ids of those that are erased (others untouched)."""
    if not call_ids:
        return []
    erased = [d for d in db[CALLS].find({"_id": {"$in": list(call_ids)}}) if d.get("erased_at")]
    for call in erased:
        erase_calls(db, [call], utcnow(), erased_at=call["erased_at"])
    return [d["_id"] for d in erased]


def scrub_batches(db: Database, candidate_id: str) -> int:
    """Take the candidate's name out of the batches that skipped them; returns how many batches."""
    changed = 0
    for batch in db[BATCHES].find({"skipped.candidate_id": candidate_id}, {"skipped": 1}).limit(_CALLS_CAP):
        skipped = [{**s, "name": None} if s.get("candidate_id") == candidate_id else s
                   for s in batch.get("skipped") or []]
        db[BATCHES].update_one({"_id": batch["_id"]}, {"$set": {"skipped": skipped}})
        changed += 1
    return changed


def delete_candidate(db: Database, candidate_id: str) -> int:
    """Delete the candidate document; returns 1 or 0."""
    return db[CANDIDATES].delete_one({"_id": str(candidate_id)}).deleted_count


# -- tombstones --------------------------------------------------------------------------------


def insert_erasure(db: Database, doc: dict[str, Any]) -> None:
    """Store a new tombstone."""
    db[ERASURES].insert_one(doc)


def update_erasure(db: Database, erasure_id: str, fields: dict[str, Any],
                   unset: tuple[str, ...] = ()) -> None:
    """Set (and unset) fields of one tombstone."""
    update: dict[str, Any] = {"$set": fields}
    if unset:
        update["$unset"] = dict.fromkeys(unset, "")
    db[ERASURES].update_one({"_id": erasure_id}, update)


def get_erasure(db: Database, erasure_id: str) -> dict[str, Any] | None:
    """One tombstone as stored."""
    return db[ERASURES].find_one({"_id": erasure_id})


def erasure_of(db: Database, candidate_id: str) -> dict[str, Any] | None:
    """The tombstone of an erased (or half-erased) candidate, if any."""
    return db[ERASURES].find_one({"candidate_id": str(candidate_id)})


def claim_pending(db: Database, now: datetime, lease_until: datetime) -> dict[str, Any] | None:
    """Lease one erasure whose provider deletions are due (atomic: two workers never share one)."""
    return db[ERASURES].find_one_and_update(
        {"state": "pending_providers", "providers_next_at": {"$lte": now},
         "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]},
        {"$set": {"lease_until": lease_until}},
        sort=[("providers_next_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def pending_count(db: Database) -> int:
    """How many erasures still wait for the providers."""
    return db[ERASURES].count_documents({"state": "pending_providers"})
