"""The calls list: one page of calls, sorted and filtered in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pymongo.database import Database

from core.calling.outcome import outcome_text
from core.db import CALLS, CANDIDATES, JOBS, utcnow
from core.review.filters import (
    _LIST_FIELDS,
    _OPEN,
    DEFAULT_SORT,
    MAX_PAGE_SIZE,
    SORTS,
    CallFilters,
    ReviewError,
    _started,
    build_query,
    call_cost,
)


def _names(db: Database, collection: str, ids: Iterable[str], field: str) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    docs = db[collection].find({"_id": {"$in": wanted}}, {field: 1}).limit(len(wanted))
    return {d["_id"]: str(d.get(field) or "") for d in docs}


def _row(call: dict[str, Any], candidates: dict[str, str], jobs: dict[str, str]) -> dict[str, Any]:
    amount, estimated = call_cost(call)
    return {
        "id": call["_id"],
        "candidate_id": call.get("candidate_id"),
        "candidate": candidates.get(call.get("candidate_id"), "(deleted candidate)"),
        "job_id": call.get("job_id"),
        "job": jobs.get(call.get("job_id"), "(deleted job)"),
        "status": call.get("status"),
        "outcome": outcome_text(call),
        "started_at": _started(call),
        "duration_seconds": call.get("duration_seconds"),
        "cost": amount,
        "cost_estimated": estimated,
        "currency": (call.get("costs") or {}).get("currency") or "",
        "decision": (call.get("review") or {}).get("decision"),
        "in_flight": call.get("status") in _OPEN,
    }


# -- the calls list -----------------------------------------------------------------------


# Newest-first pages of a big result are read from a recent time window first, widened until
# it holds the page: the rows of a window are the global newest ones, since everything outside
# it is older. On MongoDB the created_at index makes the first window answer at once; on a
# server that sorts by scanning (the embedded one) it sorts a day of calls, not all of them.
_WINDOW_DAYS = (1, 7, 30, 120, 365)
_WINDOW_MIN_TOTAL = 2000  # below this, sorting the whole result is cheap anyway
_WINDOW_MAX_ROWS = 2000  # deeper pages read the plain way (skip + limit)


def _newest_in_window(db: Database, query: dict[str, Any], skip: int, size: int) -> list[dict] | None:
    need = skip + size
    created = dict(query.get("created_at") or {})
    top = created.get("$lt") or utcnow()
    floor = created.get("$gte")
    for days in _WINDOW_DAYS:
        bound = top - timedelta(days=days)
        if floor is not None and bound <= floor:
            return None  # the window already spans the whole date filter: sort it all
        windowed = {**query, "created_at": {**created, "$gte": bound}}
        docs = list(db[CALLS].find(windowed, _LIST_FIELDS).sort(SORTS[DEFAULT_SORT][1]).limit(need))
        if len(docs) == need:
            return docs[skip:]
    return None


def list_calls(
    db: Database, filters: CallFilters, sort: str = DEFAULT_SORT, page: int = 1, page_size: int = 25
) -> tuple[list[dict[str, Any]], int]:
    """One page of calls matching the filters, sorted in the database, and the match count."""
    if sort not in SORTS:
        raise ReviewError(f"Unknown sort: {sort}.")
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    query = build_query(db, filters)
    if query is None:
        return [], 0
    # An empty query is the whole collection: its metadata count avoids a scan.
    total = db[CALLS].count_documents(query) if query else db[CALLS].estimated_document_count()
    skip = (page - 1) * page_size
    calls = None
    if sort == DEFAULT_SORT and total > _WINDOW_MIN_TOTAL and skip + page_size <= _WINDOW_MAX_ROWS:
        calls = _newest_in_window(db, query, skip, page_size)
    if calls is None:
        cursor = db[CALLS].find(query, _LIST_FIELDS).sort(SORTS[sort][1]).skip(skip).limit(page_size)
        calls = list(cursor)
    candidates = _names(db, CANDIDATES, (c.get("candidate_id") for c in calls), "name")
    jobs = _names(db, JOBS, (c.get("job_id") for c in calls), "title")
    return [_row(c, candidates, jobs) for c in calls], total


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows make (at least one, so page 1 always exists)."""
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    return max(1, -(-total // size))
