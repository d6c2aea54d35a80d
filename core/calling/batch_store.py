"""The `batches` collection: one document per batch of queued calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.db import BATCHES, utcnow
from core.documents.batch import Batch, BatchStatus

_LIST_CAP = 200


def insert_batch(db: Database, doc: dict[str, Any]) -> None:
    """Store a new batch document."""
    db[BATCHES].insert_one(doc)


def set_outcome_of_queueing(db: Database, batch_id: str, *, queued: int, skipped: list[dict[str, Any]],
                            skipped_count: int, status: BatchStatus, finished_at: datetime | None) -> None:
    """Record how many calls a new batch queued and whom it skipped (and why)."""
    db[BATCHES].update_one({"_id": batch_id}, {"$set": {
        "queued": queued, "skipped": skipped, "skipped_count": skipped_count,
        "status": status.value, "finished_at": finished_at}})


def get_batch(db: Database, batch_id: str) -> Batch | None:
    """One batch by id."""
    return Batch.from_doc(db[BATCHES].find_one({"_id": str(batch_id)}))


def batch_status(db: Database, batch_id: str) -> BatchStatus | None:
    """The batch's status now (None when it does not exist)."""
    doc = db[BATCHES].find_one({"_id": str(batch_id)}, {"status": 1})
    return BatchStatus(doc["status"]) if doc else None


def list_batches(db: Database, *, job_id: str | None = None, limit: int = 50) -> list[Batch]:
    """Recent batches, newest first, without the skipped list (bounded)."""
    query = {"job_id": str(job_id)} if job_id else {}
    cursor = db[BATCHES].find(query, {"skipped": 0}).sort("created_at", -1).limit(min(limit, _LIST_CAP))
    return [Batch.model_validate(d) for d in cursor]


def running_batches(db: Database, *, limit: int = _LIST_CAP) -> list[Batch]:
    """Batches that are dialling now."""
    return [Batch.model_validate(d) for d in
            db[BATCHES].find({"status": BatchStatus.RUNNING.value}).limit(limit)]


def unfinished_of_job(db: Database, job_id: str, *, limit: int = _LIST_CAP) -> list[str]:
    """Ids of the job's batches still running or paused."""
    query = {"job_id": str(job_id),
             "status": {"$in": [BatchStatus.RUNNING.value, BatchStatus.PAUSED.value]}}
    return [d["_id"] for d in db[BATCHES].find(query, {"_id": 1}).limit(limit)]


def move_status(db: Database, batch_id: str, new: BatchStatus, allowed_from: list[BatchStatus],
                extra: dict[str, Any] | None = None) -> Batch | None:
    """Set a batch's status if it is in one of `allowed_from`; the batch after, or None."""
    return Batch.from_doc(db[BATCHES].find_one_and_update(
        {"_id": str(batch_id), "status": {"$in": [s.value for s in allowed_from]}},
        {"$set": {"status": new.value, "updated_at": utcnow(), **(extra or {})}},
        return_document=ReturnDocument.AFTER,
    ))


def pause_if_running(db: Database, batch_id: str, reason: str) -> bool:
    """Pause a running batch with a reason; True if this call paused it."""
    moved = db[BATCHES].update_one({"_id": batch_id, "status": BatchStatus.RUNNING.value},
                                   {"$set": {"status": BatchStatus.PAUSED.value, "pause_reason": reason,
                                             "updated_at": utcnow()}})
    return moved.modified_count == 1


def finish_if_running(db: Database, batch_id: str) -> bool:
    """Mark a running batch done; True if this call finished it."""
    now = utcnow()
    result = db[BATCHES].update_one({"_id": batch_id, "status": BatchStatus.RUNNING.value},
                                    {"$set": {"status": BatchStatus.DONE.value, "finished_at": now,
                                              "updated_at": now}})
    return result.modified_count == 1
