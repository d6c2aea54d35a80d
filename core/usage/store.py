"""The usage feature's database access: the `usage_rollups` collection, and on `calls` only the
fields usage owns (`rollup.*`, `costs`) plus the reads its figures are computed from.

Every conditional update here is part of the rollup design: a call's counters reach the
rollups exactly once because the gate on `rollup.seq` lets one sync win, and `inc_pending`
marks the window between the gate and the `$inc` (a crash there is found by `status` and
repaired by a rebuild).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from core.db import CALLS, ROLLUPS
from core.documents.rollup import Rollup

# What a rollup computation reads of a call; the heavy fields stay on the server.
_PROJECTION = {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0, "status_history": 0}


@dataclass(frozen=True)
class CallRollupState:
    """The rollup state a rebuild writes on one call (with its recomputed `costs`)."""

    call_id: str
    applied: Mapping[str, int]
    seq: int
    synced_at: datetime
    day: str | None
    costs: Mapping[str, Any]


def rollup_ids(day: str, job_id: Any) -> tuple[str, str]:
    """The `_id`s of a day's rollup and of a job's rollup on that day."""
    return f"day|{day}", f"job|{day}|{job_id or ''}"


# -- calls: the fields usage owns ------------------------------------------------------------
# Reads return the raw stored document on purpose: the sync compares the stored `costs` and
# `rollup` sub-documents with freshly computed ones key for key, and tells "no rollup.seq" from
# any value; a typed model would fill defaults and coerce, and so change what counts as stale.


def rollup_source(db: Database, call_id: str) -> dict[str, Any] | None:
    """One call as the rollup computation reads it (without the heavy fields), or None."""
    return db[CALLS].find_one({"_id": call_id}, _PROJECTION)


def claim_rollup_sync(
    db: Database,
    call_id: str,
    *,
    seq: int,
    applied: Mapping[str, int],
    day: str | None,
    costs: Mapping[str, Any],
    now: datetime,
) -> bool:
    """The gate: store the call's new counters and costs if nobody synced it since `seq`."""
    result = db[CALLS].update_one(
        # None matches a call never synced (no `rollup.seq` yet).
        {"_id": call_id, "rollup.seq": seq or None},
        {
            "$set": {
                "rollup.applied": applied,
                "rollup.seq": seq + 1,
                "rollup.synced_at": now,
                "rollup.day": day,
                "rollup.inc_pending": True,
                "costs": costs,
            }
        },
    )
    return result.modified_count == 1


def clear_inc_pending(db: Database, call_id: str, seq: int) -> None:
    """Mark the increment of sync `seq` as landed (unless a later sync has moved on)."""
    db[CALLS].update_one({"_id": call_id, "rollup.seq": seq}, {"$unset": {"rollup.inc_pending": ""}})


def stale_call_ids(db: Database, *, since: datetime, terminal: Sequence[str], limit: int) -> list[str]:
    """Calls created since `since` that ended unsynced, or changed after their last sync."""
    query = {
        "created_at": {"$gte": since},
        "$or": [
            {"status": {"$in": list(terminal)}, "rollup.seq": None},
            {"$expr": {"$gt": ["$updated_at", "$rollup.synced_at"]}, "rollup.seq": {"$ne": None}},
        ],
    }
    return [doc["_id"] for doc in db[CALLS].find(query, {"_id": 1}).limit(limit)]


def count_possibly_uncounted(db: Database, *, synced_before: datetime) -> int:
    """Calls whose gate moved before `synced_before` but whose increment never cleared its mark."""
    return db[CALLS].count_documents({"rollup.inc_pending": True, "rollup.synced_at": {"$lt": synced_before}})


def all_calls(db: Database, *, batch_size: int) -> Iterator[dict[str, Any]]:
    """Every call as the rollup computation reads it, streamed (for a rebuild)."""
    yield from db[CALLS].find({}, _PROJECTION).batch_size(batch_size)


def reset_call_rollups(db: Database, states: Sequence[CallRollupState]) -> None:
    """Write the rebuilt rollup state (and costs) on these calls; clears any `inc_pending`."""
    if not states:
        return
    db[CALLS].bulk_write(
        [
            UpdateOne(
                {"_id": s.call_id},
                {
                    "$set": {
                        "rollup.applied": s.applied,
                        "rollup.seq": s.seq,
                        "rollup.synced_at": s.synced_at,
                        "rollup.day": s.day,
                        "costs": s.costs,
                    },
                    "$unset": {"rollup.inc_pending": ""},
                },
            )
            for s in states
        ],
        ordered=False,
    )


def ended_calls(
    db: Database,
    *,
    created_from: datetime,
    created_before: datetime,
    terminal: Sequence[str],
    job_id: str | None,
    limit: int,
) -> Iterator[dict[str, Any]]:
    """Ended calls created in [from, before) (of one job), oldest first, streamed, at most `limit`."""
    query: dict[str, Any] = {
        "created_at": {"$gte": created_from, "$lt": created_before},
        "status": {"$in": list(terminal)},
    }
    if job_id:
        query["job_id"] = job_id
    yield from db[CALLS].find(query, _PROJECTION).sort("created_at", 1).limit(limit).batch_size(1000)


# -- usage_rollups ---------------------------------------------------------------------------


def inc_counters(db: Database, day: str, job_id: Any, delta: Mapping[str, int], *, now: datetime) -> None:
    """Add `delta` to the day's and the day-job's counters (upserting them)."""
    inc = {f"c.{k}": v for k, v in delta.items() if v}
    if not inc:
        return
    day_id, job_doc_id = rollup_ids(day, job_id)
    base = {"day": day, "month": day[:7]}
    db[ROLLUPS].bulk_write(
        [
            UpdateOne(
                {"_id": day_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "day", "job_id": None},
                },
                upsert=True,
            ),
            UpdateOne(
                {"_id": job_doc_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "job", "job_id": job_id or ""},
                },
                upsert=True,
            ),
        ],
        ordered=False,
    )


def _day_range(first_day: str, last_day: str) -> dict[str, str]:
    return {"$gte": first_day, "$lte": last_day}


def day_rollups(db: Database, first_day: str, last_day: str, job_id: str | None) -> list[Rollup]:
    """The rollups of the days (inclusive; "YYYY-MM-DD"): per day, or the job's when given."""
    query: dict[str, Any] = {"day": _day_range(first_day, last_day)}
    if job_id:
        query.update(scope="job", job_id=job_id)
    else:
        query["scope"] = "day"
    # One document per day of the range (per job when filtered): a few hundred at most.
    return [Rollup.model_validate(d) for d in db[ROLLUPS].find(query, {"day": 1, "c": 1})]


def job_totals(
    db: Database, first_day: str, last_day: str, job_id: str | None, counters: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per job with rollups in the days (or just `job_id`): each counter summed, in the database."""
    query: dict[str, Any] = {"scope": "job", "day": _day_range(first_day, last_day)}
    if job_id:
        query["job_id"] = job_id
    group: dict[str, Any] = {"_id": "$job_id", **{k: {"$sum": f"$c.{k}"} for k in counters}}
    # The key is evaluated (and popped) before the value: the sums are left without `_id`.
    return {g.pop("_id"): g for g in db[ROLLUPS].aggregate([{"$match": query}, {"$group": group}])}


def month_day_rollups(db: Database, month: str) -> list[Rollup]:
    """The per-day rollups of a "YYYY-MM" month (their counters only)."""
    # At most 31 small day documents.
    return [Rollup.model_validate(d) for d in db[ROLLUPS].find({"scope": "day", "month": month}, {"c": 1})]


def replace_rollups(db: Database, rollups: Iterable[Rollup]) -> None:
    """Write these rollup documents whole (upserting), as a rebuild computed them."""
    writes = [
        ReplaceOne(
            {"_id": r.id},
            {
                "_id": r.id,
                "scope": r.scope,
                "day": r.day,
                "month": r.month,
                "job_id": r.job_id,
                "c": dict(r.c),
                "updated_at": r.updated_at,
                "rebuild": r.rebuild,
            },
            upsert=True,
        )
        for r in rollups
    ]
    if writes:
        db[ROLLUPS].bulk_write(writes, ordered=False)


def delete_rollups_not_of(db: Database, rebuild_run: str) -> int:
    """Delete every rollup the rebuild `rebuild_run` did not write; returns how many."""
    return db[ROLLUPS].delete_many({"rebuild": {"$ne": rebuild_run}}).deleted_count


def count_rollups(db: Database) -> int:
    """How many rollup documents there are (the collection's estimate)."""
    return db[ROLLUPS].estimated_document_count()


