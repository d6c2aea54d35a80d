"""The dial gates in `app_state`: when dials were granted, and the calls in flight.

One document per gate: the last grant, the calls in flight (`{call, job}`), and per job its
own last grant. A grant is one conditional update judged on the database's clock (`$$NOW`
against the last grants, `$currentDate` to record one), so the dials of every worker on every
host are spaced by one clock — the global limits and, when a job has lower ones, the job's —
whatever each host's own clock says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.db import APP_STATE

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GateState:
    """A gate as read: the calls in flight (all, and of one job) and the wait for a grant."""

    inflight: list[str] = field(default_factory=list)
    job_inflight: int = 0
    wait_seconds: float = 0.0


def _ensure(db: Database, gate_id: str) -> None:
    db[APP_STATE].update_one({"_id": gate_id},
                             {"$setOnInsert": {"last_grant": _EPOCH, "inflight": [], "jobs": {}}},
                             upsert=True)
    # Slots taken before jobs had their own limits are bare call ids: give each its `{call, job}`
    # form in place, so the per-job count can read every entry (rare: once after an upgrade).
    legacy = db[APP_STATE].find_one({"_id": gate_id, "inflight": {"$type": "string"}}, {"inflight": 1})
    for entry in (legacy or {}).get("inflight", []):
        if isinstance(entry, str):
            db[APP_STATE].update_one({"_id": gate_id, "inflight": entry},
                                     {"$set": {"inflight.$": {"call": entry, "job": None}}})


def _since(path: str, interval_ms: int) -> dict[str, Any]:
    return {"$add": [{"$ifNull": [path, _EPOCH]}, interval_ms]}


def _job_count(job_id: str) -> dict[str, Any]:
    return {"$size": {"$filter": {"input": {"$ifNull": ["$inflight", []]}, "as": "s",
                                  "cond": {"$eq": ["$$s.job", job_id]}}}}


def try_grant(db: Database, gate_id: str, *, call_id: str, job_id: str | None, interval_ms: int,
              max_concurrent: int | None, job_interval_ms: int | None = None,
              job_max_concurrent: int | None = None) -> datetime | None:
    """Grant a dial now if every limit allows it on the database's clock; its time, or None.

    Global: one dial per `interval_ms`, at most `max_concurrent` in flight. The job's own lower
    limits, when given, are checked in the same update, so a grant is never half taken.
    """
    _ensure(db, gate_id)
    rules: list[dict[str, Any]] = [{"$gte": ["$$NOW", _since("$last_grant", interval_ms)]}]
    update: dict[str, Any] = {"$currentDate": {"last_grant": True}, "$inc": {"grants": 1}}
    query: dict[str, Any] = {"_id": gate_id}
    if max_concurrent is not None:
        rules.append({"$lt": [{"$size": {"$ifNull": ["$inflight", []]}}, max_concurrent]})
        query["inflight.call"] = {"$ne": call_id}
        update["$push"] = {"inflight": {"call": call_id, "job": job_id}}
    if job_id and job_interval_ms is not None:
        rules.append({"$gte": ["$$NOW", _since(f"$jobs.{job_id}.last_grant", job_interval_ms)]})
        update["$currentDate"][f"jobs.{job_id}.last_grant"] = True
    if job_id and job_max_concurrent is not None:
        rules.append({"$lt": [_job_count(job_id), job_max_concurrent]})
    query["$expr"] = {"$and": rules}
    doc = db[APP_STATE].find_one_and_update(query, update, projection={"last_grant": 1},
                                            return_document=ReturnDocument.AFTER)
    if doc is None:
        return None
    at = doc["last_grant"]
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def read_gate(db: Database, gate_id: str, *, interval_ms: int = 0, job_id: str | None = None,
              job_interval_ms: int | None = None) -> GateState:
    """The gate now: calls in flight and the seconds until every rate allows a grant."""
    _ensure(db, gate_id)
    waits: list[Any] = [{"$subtract": [_since("$last_grant", interval_ms), "$$NOW"]}]
    if job_id and job_interval_ms is not None:
        waits.append({"$subtract": [_since(f"$jobs.{job_id}.last_grant", job_interval_ms), "$$NOW"]})
    rows = list(db[APP_STATE].aggregate([
        {"$match": {"_id": gate_id}},
        {"$project": {"inflight": 1, "wait_ms": {"$max": waits},
                      "job_inflight": _job_count(job_id or "")}},
    ]))
    if not rows:
        return GateState()
    row = rows[0]
    ids = [e.get("call") if isinstance(e, dict) else e for e in row.get("inflight") or []]
    return GateState([i for i in ids if i], int(row.get("job_inflight") or 0),
                     max(0.0, float(row.get("wait_ms") or 0) / 1000))


def release(db: Database, gate_id: str, call_ids: list[str]) -> None:
    """Take calls out of the gate's in-flight list."""
    _ensure(db, gate_id)
    db[APP_STATE].update_one({"_id": gate_id}, {"$pull": {"inflight": {"call": {"$in": call_ids}}}})
