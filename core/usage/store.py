"""The usage feature's database access: the `usage_rollups` collection, and on `calls` only the
fields usage owns (`rollup.*`, `costs`) plus the reads its figures are computed from.

Every conditional update here is part of the rollup design: a call's counters reach the
rollups exactly once because the gate on `rollup.seq` lets one sync win; the gate stores the
increment it is about to add (`rollup.pending`) and the increment itself is conditional on a
per-call mark on each rollup document, so a crash between the two is finished later, once.
A rebuild holds a lock in `app_state` while it recounts; syncs wait for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from core.db import APP_STATE, CALLS, ROLLUPS, field_key
from core.documents.rollup import Rollup

_REBUILD_LOCK = "rollup_rebuild"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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
    pending: Mapping[str, Any] | None = None,
) -> bool:
    """The gate: store the call's new counters and costs if nobody synced it since `seq`.

    `pending` is the increment this sync is about to add (delta, day, job): kept on the call
    until it has landed, so a crash in between is finished later instead of lost.
    """
    fields: dict[str, Any] = {
        "rollup.applied": applied,
        "rollup.seq": seq + 1,
        "rollup.synced_at": now,
        "rollup.day": day,
        "rollup.inc_pending": True,
        "costs": costs,
    }
    update: dict[str, Any] = {"$set": fields}
    if pending:
        fields["rollup.pending"] = dict(pending)
    else:
        update["$unset"] = {"rollup.pending": ""}
    # None matches a call never synced (no `rollup.seq` yet).
    result = db[CALLS].update_one({"_id": call_id, "rollup.seq": seq or None}, update)
    return result.modified_count == 1


def clear_inc_pending(db: Database, call_id: str, seq: int) -> None:
    """Mark the increment of sync `seq` as landed (unless a later sync has moved on)."""
    db[CALLS].update_one({"_id": call_id, "rollup.seq": seq},
                         {"$unset": {"rollup.inc_pending": "", "rollup.pending": ""}})


# -- the same gate for many calls at once (the sidecar's settler, the worker's stale pass) ----
# One command per step for a whole batch instead of one per call: on a store that commits
# before it answers, every command is a commit, and a burst of endings is hundreds of them.


@dataclass(frozen=True)
class RollupClaim:
    """One call's gate move in a batch: what `claim_rollup_sync` takes, for many calls."""

    call_id: str
    seq: int
    applied: Mapping[str, int]
    day: str | None
    costs: Mapping[str, Any]
    pending: Mapping[str, Any] | None


def rollup_sources(db: Database, call_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The calls as the rollup computation reads them, by id (missing ones left out)."""
    # `_id` with `$in` is answered from the unique `_id` index, also by the embedded server.
    return {d["_id"]: d for d in db[CALLS].find({"_id": {"$in": list(call_ids)}}, _PROJECTION)}


def claim_rollup_syncs(db: Database, claims: Sequence[RollupClaim], *, now: datetime,
                       token: str) -> set[str]:
    """The gate of `claim_rollup_sync` for many calls in one command; the ids whose gate moved.

    Each claim is still its own conditional update (a call synced meanwhile is not moved).
    When some did not move, the calls are read back: ours carry `token` at the new seq.
    """
    if not claims:
        return set()
    writes = []
    for c in claims:
        fields: dict[str, Any] = {"rollup.applied": c.applied, "rollup.seq": c.seq + 1,
                                  "rollup.synced_at": now, "rollup.day": c.day,
                                  "rollup.inc_pending": True, "rollup.by": token, "costs": c.costs}
        update: dict[str, Any] = {"$set": fields}
        if c.pending:
            fields["rollup.pending"] = dict(c.pending)
        else:
            update["$unset"] = {"rollup.pending": ""}
        writes.append(UpdateOne({"_id": c.call_id, "rollup.seq": c.seq or None}, update))
    result = db[CALLS].bulk_write(writes, ordered=False)
    if result.modified_count == len(claims):
        return {c.call_id for c in claims}
    wanted = {c.call_id: c.seq + 1 for c in claims}
    moved = db[CALLS].find({"_id": {"$in": list(wanted)}}, {"rollup.seq": 1, "rollup.by": 1})
    return {d["_id"] for d in moved
            if (d.get("rollup") or {}).get("by") == token and d["rollup"].get("seq") == wanted[d["_id"]]}


def clear_inc_pending_many(db: Database, landed: Sequence[tuple[str, int]]) -> None:
    """`clear_inc_pending` for many (call id, seq) pairs in one command."""
    if landed:
        db[CALLS].bulk_write([UpdateOne({"_id": call_id, "rollup.seq": seq},
                                        {"$unset": {"rollup.inc_pending": "", "rollup.pending": ""}})
                              for call_id, seq in landed], ordered=False)


def stale_call_ids(db: Database, *, since: datetime, terminal: Sequence[str], limit: int,
                   pending_before: datetime | None = None) -> list[str]:
    """Calls created since `since` that ended unsynced, or changed after their last sync, or
    whose increment was left half done (pending since before `pending_before`)."""
    ways: list[dict[str, Any]] = [
        {"status": {"$in": list(terminal)}, "rollup.seq": None},
        {"$expr": {"$gt": ["$updated_at", "$rollup.synced_at"]}, "rollup.seq": {"$ne": None}},
    ]
    if pending_before is not None:
        ways.append({"rollup.inc_pending": True, "rollup.synced_at": {"$lt": pending_before}})
    query = {"created_at": {"$gte": since}, "$or": ways}
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
                    "$unset": {"rollup.inc_pending": "", "rollup.pending": ""},
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


def inc_counters(db: Database, day: str, job_id: Any, delta: Mapping[str, int], *, now: datetime,
                 mark: tuple[str, int] | None = None) -> None:
    """Add `delta` to the day's and the day-job's counters (creating them).

    With `mark` (call id, sync seq) each document is changed only if its mark for that call is
    below the seq, and gets the seq in the same update: the increment of one sync lands once
    even when a crash (or a slow process) makes it run again. Marks are pruned later.
    """
    inc = {f"c.{k}": v for k, v in delta.items() if v}
    if not inc:
        return
    day_id, job_doc_id = rollup_ids(day, job_id)
    base = {"day": day, "month": day[:7]}
    writes: list[Any] = [
        UpdateOne({"_id": day_id}, {"$setOnInsert": {**base, "scope": "day", "job_id": None}}, upsert=True),
        UpdateOne({"_id": job_doc_id}, {"$setOnInsert": {**base, "scope": "job", "job_id": job_id or ""}},
                  upsert=True),
    ]
    for doc_id in (day_id, job_doc_id):
        query: dict[str, Any] = {"_id": doc_id}
        update: dict[str, Any] = {"$inc": inc, "$set": {"updated_at": now}}
        if mark is not None:
            key = f"m.{field_key(mark[0])}"
            # Sync seqs only grow: a mark at or past this seq means this increment (or a
            # later sync's, which includes it) has landed on this document.
            query[f"{key}.s"] = {"$not": {"$gte": mark[1]}}
            update["$set"][key] = {"s": mark[1], "t": now}
        writes.append(UpdateOne(query, update))
    db[ROLLUPS].bulk_write(writes, ordered=True)


@dataclass(frozen=True)
class CounterIncrement:
    """One call's sync increment in a batch: its day, job, counter changes and mark."""

    day: str
    job_id: Any
    delta: Mapping[str, int]
    mark: tuple[str, int]


def inc_counters_many(db: Database, increments: Sequence[CounterIncrement], *, now: datetime) -> bool:
    """Add many calls' increments, summed per rollup document, in one command; True if all landed.

    A document's summed update carries every call's mark and is conditional on none of them
    having landed yet, so it lands whole or not at all. False means some document refused (one
    of those increments had landed before, e.g. a crash being finished): the caller then adds
    the increments one by one with `inc_counters`, whose marks skip what has landed.
    """
    sums: dict[str, dict[str, Any]] = {}
    for item in increments:
        inc = {f"c.{k}": v for k, v in item.delta.items() if v}
        if not inc:
            continue
        day_id, job_doc_id = rollup_ids(item.day, item.job_id)
        base = {"day": item.day, "month": item.day[:7]}
        for doc_id, insert in ((day_id, {**base, "scope": "day", "job_id": None}),
                               (job_doc_id, {**base, "scope": "job", "job_id": item.job_id or ""})):
            doc = sums.setdefault(doc_id, {"insert": insert, "inc": Counter(), "marks": []})
            doc["inc"].update(inc)
            doc["marks"].append(item.mark)
    if not sums:
        return True
    writes: list[Any] = [UpdateOne({"_id": doc_id}, {"$setOnInsert": doc["insert"]}, upsert=True)
                         for doc_id, doc in sums.items()]
    for doc_id, doc in sums.items():
        query: dict[str, Any] = {"_id": doc_id}
        sets: dict[str, Any] = {"updated_at": now}
        for call_id, seq in doc["marks"]:
            key = f"m.{field_key(call_id)}"
            query[f"{key}.s"] = {"$not": {"$gte": seq}}
            sets[key] = {"s": seq, "t": now}
        writes.append(UpdateOne(query, {"$inc": dict(doc["inc"]), "$set": sets}))
    result = db[ROLLUPS].bulk_write(writes, ordered=True)
    # Each $setOnInsert either matched or inserted; the rest matched only where they landed.
    return result.matched_count + result.upserted_count - len(sums) == len(sums)


def prune_marks(db: Database, *, older_than: datetime, limit: int = 200) -> int:
    """Drop sync marks older than `older_than` from the rollups (their syncs finished long ago);
    returns how many documents were pruned."""
    pruned = 0
    for doc in db[ROLLUPS].find({"m": {"$exists": True, "$ne": {}}}, {"m": 1}).limit(limit):
        old = {k: v for k, v in (doc.get("m") or {}).items()
               if isinstance(v, dict) and v.get("t") is not None and _aware(v["t"]) < older_than}
        if not old:
            continue
        # Only if none of them changed meanwhile (a newer sync of that call re-marked it).
        query = {"_id": doc["_id"], **{f"m.{k}.s": v["s"] for k, v in old.items()}}
        result = db[ROLLUPS].update_one(query, {"$unset": {f"m.{k}": "" for k in old}})
        pruned += result.modified_count
    return pruned


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# -- the rebuild lock (one document in app_state) ---------------------------------------------


def start_rebuild(db: Database, *, owner: str, until: datetime) -> bool:
    """Take the rollup rebuild lock (held until `until` or released); True if we hold it."""
    db[APP_STATE].update_one({"_id": _REBUILD_LOCK}, {"$setOnInsert": {"until": _EPOCH}}, upsert=True)
    free = {"$gte": ["$$NOW", {"$ifNull": ["$until", _EPOCH]}]}
    result = db[APP_STATE].update_one({"_id": _REBUILD_LOCK, "$expr": free},
                                      {"$set": {"until": until, "owner": owner}})
    return result.modified_count == 1


def rebuild_running(db: Database) -> bool:
    """True while a rebuild holds the lock (syncs then wait for the stale pass)."""
    return db[APP_STATE].find_one({"_id": _REBUILD_LOCK,
                                   "$expr": {"$lt": ["$$NOW", {"$ifNull": ["$until", _EPOCH]}]}},
                                  {"_id": 1}) is not None


def extend_rebuild(db: Database, *, owner: str, until: datetime) -> None:
    """Keep holding the rebuild lock until `until` (only ours)."""
    db[APP_STATE].update_one({"_id": _REBUILD_LOCK, "owner": owner}, {"$set": {"until": until}})


def finish_rebuild(db: Database, *, owner: str) -> None:
    """Release the rebuild lock (only ours)."""
    db[APP_STATE].update_one({"_id": _REBUILD_LOCK, "owner": owner}, {"$set": {"until": _EPOCH}})


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


