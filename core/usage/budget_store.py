"""The budget's database access: the `budgets` collection, and on `calls` only `budget.counted`.

A reservation is one conditional `$inc` judged inside the database (the month's committed
total and the job's total plus the new call must stay within both caps, and no rebuild may
be running), so two workers can never both take the last dollar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database

from core.db import BUDGETS, CALLS, field_key
from core.documents.budget import BudgetMonth
from core.documents.call import Call

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def month_id(month: str) -> str:
    """The `_id` of a month's budget document."""
    return f"budget:{month}"


def open_month(db: Database, month: str, *, earlier_micros: int = 0) -> None:
    """Create a month's document if it is missing, starting from what calls placed before the
    budget was kept this way have cost (`earlier_micros`; they hold no reservation)."""
    db[BUDGETS].update_one({"_id": month_id(month)},
                           {"$setOnInsert": {"month": month, "committed_micros": earlier_micros,
                                             "earlier_micros": earlier_micros, "jobs": {}}},
                           upsert=True)


def get_month(db: Database, month: str) -> BudgetMonth | None:
    """A month's budget document, or None before its first reservation."""
    return BudgetMonth.from_doc(db[BUDGETS].find_one({"_id": month_id(month)}))


def try_reserve(db: Database, month: str, job_id: str, micros: int, *, cap_micros: int,
                job_cap_micros: int) -> bool:
    """Add `micros` to the month and the job if both stay within their caps; True if added."""
    job_path = f"jobs.{field_key(job_id)}"
    fits = {"$and": [
        {"$lte": [{"$add": [{"$ifNull": ["$committed_micros", 0]}, micros]}, cap_micros]},
        {"$lte": [{"$add": [{"$ifNull": [f"${job_path}", 0]}, micros]}, job_cap_micros]},
        {"$gte": ["$$NOW", {"$ifNull": ["$rebuilding_until", _EPOCH]}]},
    ]}
    doc = db[BUDGETS].find_one_and_update(
        {"_id": month_id(month), "$expr": fits},
        {"$inc": {"committed_micros": micros, job_path: micros, "reservations": 1}},
        projection={"_id": 1}, return_document=ReturnDocument.AFTER)
    return doc is not None


def add(db: Database, month: str, job_id: str, micros: int) -> None:
    """Change the month's and the job's committed totals by `micros` (negative to release)."""
    open_month(db, month)
    db[BUDGETS].update_one({"_id": month_id(month)},
                           {"$inc": {"committed_micros": micros, f"jobs.{field_key(job_id)}": micros}})


def start_rebuild(db: Database, month: str, *, owner: str, until: datetime) -> bool:
    """Hold new reservations of the month until `until` (or until finished); True if we hold it."""
    open_month(db, month)
    free = {"$gte": ["$$NOW", {"$ifNull": ["$rebuilding_until", _EPOCH]}]}
    result = db[BUDGETS].update_one({"_id": month_id(month), "$expr": free},
                                    {"$set": {"rebuilding_until": until, "rebuilt_by": owner}})
    return result.modified_count == 1


def finish_rebuild(db: Database, month: str, *, owner: str, committed: int,
                   jobs: dict[str, int]) -> bool:
    """Write the recomputed totals and let reservations in again; False if the hold was lost."""
    result = db[BUDGETS].update_one(
        {"_id": month_id(month), "rebuilt_by": owner},
        {"$set": {"committed_micros": committed, "jobs": {field_key(j): v for j, v in jobs.items()}},
         "$currentDate": {"rebuilt_at": True},
         "$unset": {"rebuilding_until": "", "rebuilt_by": ""}})
    return result.modified_count == 1


def cancel_rebuild(db: Database, month: str, *, owner: str) -> None:
    """Let reservations in again without writing totals (only our hold)."""
    db[BUDGETS].update_one({"_id": month_id(month), "rebuilt_by": owner},
                           {"$unset": {"rebuilding_until": "", "rebuilt_by": ""}})


# -- calls: the field the budget owns ----------------------------------------------------------


def budget_call(db: Database, call_id: str) -> Call | None:
    """A call with what the budget needs: its status, its reservation and its costs."""
    return Call.from_doc(db[CALLS].find_one({"_id": call_id},
                                            {"status": 1, "budget": 1, "costs": 1, "job_id": 1}))


def set_counted(db: Database, call_id: str, *, old: int | None, new: int) -> bool:
    """Compare-and-set what the month counts for a call whose reservation the caller read (a
    call's `budget` is never removed); True if this process changed it."""
    result = db[CALLS].update_one(_counted_was(call_id, old), {"$set": {"budget.counted": new}})
    return result.modified_count == 1


def _counted_was(call_id: str, old: int | None) -> dict[str, Any]:
    # Only `_id` and the one compared field: the embedded server answers that from an index
    # (core.db); None also matches a reservation never counted yet (no `counted` field).
    return {"_id": call_id, "budget.counted": old}


def budget_calls(db: Database, call_ids: Sequence[str]) -> list[Call]:
    """`budget_call` for many calls in one read (`_id` `$in`: answered from the `_id` index)."""
    docs = db[CALLS].find({"_id": {"$in": list(call_ids)}},
                          {"status": 1, "budget": 1, "costs": 1, "job_id": 1})
    return [call for call in map(Call.from_doc, docs) if call is not None]


def set_counted_many(db: Database, changes: Sequence[tuple[str, int | None, int]], *, token: str) -> set[str]:
    """`set_counted` for many (call id, old, new) in one command; the ids this process changed.

    Each is still its own compare-and-set. When some did not match, the calls are read back:
    ours carry `token` with the new figure. (Should another process change a call again in
    that instant, its share is missed here and the sweeper's budget check rebuilds the month,
    as after a crash between the call's write and the month's.)
    """
    if not changes:
        return set()
    writes = []
    for call_id, old, new in changes:
        writes.append(UpdateOne(_counted_was(call_id, old),
                                {"$set": {"budget.counted": new, "budget.settled_by": token}}))
    result = db[CALLS].bulk_write(writes, ordered=False)
    if result.modified_count == len(changes):
        return {call_id for call_id, _, _ in changes}
    wanted = {call_id: new for call_id, _, new in changes}
    docs = db[CALLS].find({"_id": {"$in": list(wanted)}}, {"budget.counted": 1, "budget.settled_by": 1})
    return {d["_id"] for d in docs if (d.get("budget") or {}).get("settled_by") == token
            and d["budget"].get("counted") == wanted[d["_id"]]}


def add_many(db: Database, amounts: Sequence[tuple[str, str, int]]) -> None:
    """`add` for many (month, job, micros), summed per month, in one command."""
    months: dict[str, dict[str, int]] = {}
    for month, job_id, micros in amounts:
        incs = months.setdefault(month, {"committed_micros": 0})
        incs["committed_micros"] += micros
        path = f"jobs.{field_key(job_id)}"
        incs[path] = incs.get(path, 0) + micros
    if not months:
        return
    writes: list[Any] = [UpdateOne({"_id": month_id(m)},
                                   {"$setOnInsert": {"month": m, "committed_micros": 0, "earlier_micros": 0,
                                                     "jobs": {}}}, upsert=True) for m in months]
    writes += [UpdateOne({"_id": month_id(m)}, {"$inc": incs}) for m, incs in months.items()]
    db[BUDGETS].bulk_write(writes, ordered=True)


def counted_by_job(db: Database, month: str) -> dict[str, int]:
    """What the calls claimed in `month` count now, summed per job (from the calls themselves)."""
    rows = db[CALLS].aggregate([
        {"$match": {"budget.month": month}},
        {"$group": {"_id": "$budget.job_id",
                    "micros": {"$sum": {"$ifNull": ["$budget.counted", "$budget.micros"]}}}},
    ])
    return {str(r["_id"] or ""): int(r["micros"] or 0) for r in rows}


def reservations_dialed_in(db: Database,
                           windows: Sequence[tuple[datetime, datetime]]) -> list[tuple[str, str, datetime]]:
    """(call, its budget month, when it was dialled) for the calls holding a reservation that were
    dialled in any of these [from, before) windows."""
    query = {"budget.month": {"$type": "string"},
             "$or": [{"dialed_at": {"$gte": lo, "$lt": hi}} for lo, hi in windows]}
    return [(d["_id"], d["budget"]["month"], d["dialed_at"])
            for d in db[CALLS].find(query, {"budget.month": 1, "dialed_at": 1})]


def move_reservation(db: Database, call_id: str, *, old: str, new: str) -> bool:
    """Count a call's reservation in month `new` instead of `old` (only if still in `old`);
    both months are recounted from the calls afterwards."""
    result = db[CALLS].update_one({"_id": call_id, "budget.month": old}, {"$set": {"budget.month": new}})
    return result.modified_count == 1


def count_open_reservations(db: Database, month: str, statuses: Sequence[str]) -> int:
    """Calls of the month still counted at their maximum (open, or of unknown outcome)."""
    return db[CALLS].count_documents({"budget.month": month, "status": {"$in": list(statuses)}})


def count_releasable(db: Database, month: str, held_for_good: Sequence[str]) -> int:
    """Calls of the month still counted at their maximum that will give part of it back: open,
    or ended but not yet settled at their cost (`held_for_good`: statuses that never settle)."""
    return db[CALLS].count_documents({"budget.month": month, "budget.counted": None,
                                      "status": {"$nin": list(held_for_good)}})


def unsettled_ids(db: Database, month: str, ended: Sequence[str], *, limit: int) -> list[str]:
    """Ended calls of the month whose counted figure is not yet their cost (a missed release)."""
    query: dict[str, Any] = {
        "budget.month": month, "status": {"$in": list(ended)}, "costs.total_micros": {"$exists": True},
        "$expr": {"$ne": [{"$ifNull": ["$budget.counted", "$budget.micros"]},
                          {"$ifNull": ["$costs.total_micros", 0]}]},
    }
    return [d["_id"] for d in db[CALLS].find(query, {"_id": 1}).limit(limit)]
