"""Batches of screening calls: create, pause, resume, cancel, progress."""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import audit
from core.agent.settings import job_effective_config
from core.auth import Action, User, require
from core.calling import store as call_store
from core.documents.status import TERMINAL_VALUES as _TERMINAL
from core.documents.status import CallStatus
from core.config import get_settings
from core.db import BATCHES, CALLS, CANDIDATES, JOBS, new_id, utcnow
from core.errors import UserError

log = logging.getLogger(__name__)

RUNNING, PAUSED, CANCELED, DONE = "running", "paused", "canceled", "done"
_MAX_BATCH = 10_000  # candidates per batch; the import limit is the same


class BatchError(UserError, ValueError):
    """A batch operation that cannot be done; the message is for people."""


# -- batches ------------------------------------------------------------------------------------


def _screened(db: Database, job_id: str) -> set[str]:
    """Candidates with a completed screening for this job."""
    return set(db[CALLS].distinct("candidate_id", {"job_id": job_id,
                                                   "status": CallStatus.COMPLETED.value}))


def create_batch(db: Database, actor: User, job_id: str, candidate_ids: list[str] | None = None,
                 *, name: str = "") -> dict[str, Any]:
    """Queue calls for the chosen candidates, or for everyone of the job not yet screened."""
    require(actor, Action.LAUNCH_CALLS)
    job = db[JOBS].find_one({"_id": str(job_id)})
    if job is None:
        raise BatchError("That job does not exist.")
    if job.get("status") == "archived":
        raise BatchError("The job is archived; no new calls are placed for it.")
    config = job_effective_config(db, job["_id"])
    query: dict[str, Any] = {"job_ids": job["_id"]}
    if candidate_ids is not None:
        if not candidate_ids:
            raise BatchError("Choose at least one candidate.")
        query["_id"] = {"$in": [str(c) for c in candidate_ids]}
    cands = list(db[CANDIDATES].find(query, {"do_not_call": 1, "consent": 1, "name": 1})
                 .limit(_MAX_BATCH + 1))
    if len(cands) > _MAX_BATCH:
        raise BatchError(f"A batch holds at most {_MAX_BATCH:,} candidates.")
    screened = _screened(db, job["_id"]) if candidate_ids is None else set()
    batch_id = new_id()
    now = utcnow()
    batch = {"_id": batch_id, "job_id": job["_id"], "name": name.strip()[:100] or
             f"{job.get('title', 'Job')} — {now:%Y-%m-%d %H:%M} UTC", "status": RUNNING,
             "pause_reason": None, "created_by": actor.username, "created_at": now,
             "updated_at": now, "spike_since": now, "queued": 0, "skipped": []}
    db[BATCHES].insert_one(batch)
    queued, skipped = 0, []
    for cand in cands:
        reason = None
        if cand["_id"] in screened:
            continue
        if cand.get("do_not_call"):
            reason = "on the do-not-call list"
        elif config.require_consent and not cand.get("consent"):
            reason = "no consent (the settings require it)"
        if reason is None:
            doc = call_store.new_call_doc(cand["_id"], job["_id"], actor=actor.username,
                                     batch_id=batch_id)
            try:
                db[CALLS].insert_one(doc)
                queued += 1
                continue
            except DuplicateKeyError:
                reason = "already has an open call for this job"
        skipped.append({"candidate_id": cand["_id"], "name": cand.get("name"), "reason": reason})
    status = RUNNING if queued else DONE
    db[BATCHES].update_one({"_id": batch_id}, {"$set": {
        "queued": queued, "skipped": skipped[:1000], "skipped_count": len(skipped),
        "status": status, "finished_at": None if queued else utcnow()}})
    audit.record(db, actor=actor.username, action="batch.create", entity="batch",
                 entity_id=batch_id, detail=f"job {job['_id']}: {queued} queued, "
                                            f"{len(skipped)} skipped")
    return get_batch(db, batch_id) or batch


def get_batch(db: Database, batch_id: str) -> dict | None:
    """One batch by id (`id` added)."""
    doc = db[BATCHES].find_one({"_id": str(batch_id)})
    return {"id": doc["_id"], **doc} if doc else None


def list_batches(db: Database, *, job_id: str | None = None, limit: int = 50) -> list[dict]:
    """Recent batches, newest first (bounded)."""
    query = {"job_id": str(job_id)} if job_id else {}
    return [{"id": d["_id"], **d} for d in
            db[BATCHES].find(query, {"skipped": 0}).sort("created_at", -1).limit(min(limit, 200))]


def _set_status(db: Database, actor: User, batch_id: str, new: str, allowed_from: list[str],
                extra: dict[str, Any] | None = None) -> dict:
    require(actor, Action.LAUNCH_CALLS)
    doc = db[BATCHES].find_one_and_update(
        {"_id": str(batch_id), "status": {"$in": allowed_from}},
        {"$set": {"status": new, "updated_at": utcnow(), **(extra or {})}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = get_batch(db, batch_id)
        if current is None:
            raise BatchError("That batch does not exist.")
        raise BatchError(f"The batch is {current['status']}; it cannot be set to {new}.")
    audit.record(db, actor=actor.username, action=f"batch.{new}", entity="batch",
                 entity_id=str(batch_id))
    return {"id": doc["_id"], **doc}


def pause_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Stop dialling new calls of a batch (live calls finish)."""
    return _set_status(db, actor, batch_id, PAUSED, [RUNNING],
                       {"pause_reason": f"paused by {actor.username}"})


def resume_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Dial again; failures before now no longer count towards the failure-spike check."""
    return _set_status(db, actor, batch_id, RUNNING, [PAUSED],
                       {"pause_reason": None, "spike_since": utcnow()})


def cancel_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Cancel every not-yet-dialled call of a batch (calls already live finish)."""
    doc = _set_status(db, actor, batch_id, CANCELED, [RUNNING, PAUSED],
                      {"pause_reason": f"canceled by {actor.username}", "finished_at": utcnow()})
    for call in db[CALLS].find({"batch_id": doc["_id"], "status": CallStatus.QUEUED.value},
                               {"_id": 1}):
        call_store.cancel_queued(db, call["_id"], f"batch canceled by {actor.username}")
    return doc


def release_holds(db: Database, actor: User, batch_id: str) -> int:
    """Let held calls of a batch be tried again (after a person fixed the time zone or budget)."""
    require(actor, Action.LAUNCH_CALLS)
    result = db[CALLS].update_many(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"$set": {"next_attempt_at": utcnow(), "hold_reason": None, "updated_at": utcnow()}},
    )
    audit.record(db, actor=actor.username, action="batch.release_holds", entity="batch",
                 entity_id=str(batch_id), detail=f"{result.modified_count} calls released")
    return result.modified_count


def batch_progress(db: Database, batch_id: str) -> dict[str, Any]:
    """Counts per status of each candidate's latest attempt, held calls and the done share."""
    rows = db[CALLS].aggregate([
        {"$match": {"batch_id": str(batch_id)}},
        {"$sort": {"attempt": -1}},
        {"$group": {"_id": "$candidate_id", "status": {"$first": "$status"},
                    "hold": {"$first": "$hold_reason"}, "attempts": {"$sum": 1}}},
        {"$group": {"_id": "$status", "n": {"$sum": 1},
                    "held": {"$sum": {"$cond": [{"$gt": ["$hold", None]}, 1, 0]}},
                    "attempts": {"$sum": "$attempts"}}},
    ])
    counts: dict[str, int] = {s.value: 0 for s in CallStatus}
    held = attempts = 0
    for row in rows:
        counts[row["_id"]] = row["n"]
        held += row["held"]
        attempts += row["attempts"]
    total = sum(counts.values())
    finished = sum(counts[s] for s in _TERMINAL)
    return {"batch": get_batch(db, batch_id), "counts": counts, "total": total,
            "finished": finished, "held": held, "attempts": attempts,
            "fraction": (finished / total) if total else 1.0}


def held_calls(db: Database, batch_id: str, limit: int = 200) -> list[dict]:
    """Queued calls of a batch waiting for a person, with the reason."""
    return [call_store.public_call(d) for d in db[CALLS].find(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"candidate_id": 1, "hold_reason": 1, "attempt": 1, "calling_window": 1}).limit(limit)]


def check_failure_spike(db: Database, batch: dict) -> str | None:
    """Pause a batch when more than half of its last N attempts failed; returns the reason."""
    window = get_settings().dispatch_failure_window
    since = batch.get("spike_since") or batch.get("created_at")
    last = list(db[CALLS].find(
        {"batch_id": batch["_id"], "status": {"$in": _TERMINAL},
         "ended_at": {"$gte": since}}, {"status": 1, "failure_reason": 1, "ended_at": 1})
        .sort("ended_at", -1).limit(window))
    if len(last) < window:
        return None
    failed = [c for c in last if c["status"] == CallStatus.FAILED.value]
    if len(failed) * 2 <= window:
        return None
    latest = failed[0].get("failure_reason") or "no reason recorded"
    reason = (f"Paused automatically: {len(failed)} of the last {window} calls failed "
              f"(latest: {latest}). Check the numbers and the provider status, then resume.")
    moved = db[BATCHES].update_one({"_id": batch["_id"], "status": RUNNING},
                                   {"$set": {"status": PAUSED, "pause_reason": reason,
                                             "updated_at": utcnow()}})
    if moved.modified_count:
        audit.record(db, actor="dispatch", action="batch.paused", entity="batch",
                     entity_id=batch["_id"], detail=reason)
        log.warning("batch %s paused: failure spike", batch["_id"])
    return reason


def finish_batches(db: Database) -> int:
    """Mark running batches done when nothing is queued, live or awaiting a retry decision."""
    done = 0
    for batch in db[BATCHES].find({"status": RUNNING}, {"_id": 1}).limit(200):
        pending = db[CALLS].find_one({"batch_id": batch["_id"], "$or": [
            {"status": {"$nin": _TERMINAL}},
            {"status": {"$in": _TERMINAL}, "retry_handled": {"$exists": False}}]}, {"_id": 1})
        if pending is None:
            result = db[BATCHES].update_one({"_id": batch["_id"], "status": RUNNING},
                                            {"$set": {"status": DONE, "finished_at": utcnow(),
                                                      "updated_at": utcnow()}})
            done += result.modified_count
    return done
