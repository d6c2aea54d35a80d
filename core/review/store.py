"""Review's read side (the calls list, one call, the candidate page, exports, home counts) and
its one write on calls: the reviewer's `review` field.

A separate read side, as in cosmicpython's views.py: it may read `candidates`, `jobs`,
`call_events` and `call_transcripts` for its views, and hands back typed documents
(`core.documents`) or review's own read models. Every read is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database

from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, utcnow
from core.documents.call import Call, Review
from core.documents.event import Event
from core.documents.status import OPEN_STATUSES, TERMINAL_STATUSES
from core.review.filters import DEFAULT_SORT, UNDECIDED, CallFilters
from core.review.models import StoredTranscript

# What the table needs of a call: an inclusion projection keeps the prompt, the config
# snapshot, the request body and the summaries off the wire.
_LIST_FIELDS = {
    "candidate_id": 1,
    "job_id": 1,
    "status": 1,
    "created_at": 1,
    "dialed_at": 1,
    "answered_at": 1,
    "ended_at": 1,
    "duration_seconds": 1,
    "billed_duration_seconds": 1,
    "costs": 1,
    "review.decision": 1,
    "end_reason": 1,
    "failure_reason": 1,
    "opt_out": 1,
    "hold_reason": 1,
    "next_attempt_at": 1,
    "attempt": 1,
    # What the outcome line says (core.calling.outcome): requests, voicemail, waits.
    "human_requested": 1,
    "callback": 1,
    "voicemail_left": 1,
    "wait_kind": 1,
    "max_attempts": 1,
    "candidate_zone": 1,
    "scheduled_by": 1,
    "calling_window.zones": 1,
}
# How each order of the calls list sorts (the keys are filters.SORT_LABELS'); the trailing
# keys make the order total, so pages never repeat or skip a row.
SORT_SPECS: dict[str, list[tuple[str, int]]] = {
    "newest": [("created_at", -1), ("_id", -1)],
    "oldest": [("created_at", 1), ("_id", 1)],
    "longest": [("duration_seconds", -1), ("created_at", -1), ("_id", -1)],
    "shortest": [("duration_seconds", 1), ("created_at", -1), ("_id", -1)],
    "status": [("status", 1), ("created_at", -1), ("_id", -1)],
    "costliest": [("costs.total_micros", -1), ("created_at", -1), ("_id", -1)],
    "decision": [("review.decision", 1), ("created_at", -1), ("_id", -1)],
}
# A team member's test call to their own number is no screening: no list, count or export has it.
_SCREENINGS: dict[str, Any] = {"test_call": {"$ne": True}}
_DETAIL_EXCLUDED = {"request_body": 0}
_EPOCH = datetime.min.replace(tzinfo=UTC)
_CANDIDATE_CALL_EXCLUDED = {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0}
_QUESTION_FIELDS = {
    "config_snapshot.config.screening_questions": 1,
    "config_snapshot.spoken.screening_questions": 1,
}

# Newest-first pages of a big result are read from a recent time window first, widened until
# it holds the page: the rows of a window are the global newest ones, since everything outside
# it is older. On MongoDB the created_at index makes the first window answer at once; on a
# server that sorts by scanning (the embedded one) it sorts a day of calls, not all of them.
_WINDOW_DAYS = (1, 7, 30, 120, 365)
_WINDOW_MIN_TOTAL = 2000  # below this, sorting the whole result is cheap anyway
_WINDOW_MAX_ROWS = 2000  # deeper pages read the plain way (skip + limit)


# -- the calls list ------------------------------------------------------------------------


def _calls_query(filters: CallFilters, candidate_ids: list[str] | None) -> dict[str, Any]:
    """The calls query for (checked) filters; `candidate_ids` None: no candidate filter."""
    query: dict[str, Any] = dict(_SCREENINGS)
    if filters.job_id:
        query["job_id"] = str(filters.job_id)
    if filters.statuses:
        query["status"] = {"$in": sorted(set(filters.statuses))}
    created: dict[str, Any] = {}
    if filters.date_from:
        created["$gte"] = filters.date_from
    if filters.date_to:
        created["$lt"] = filters.date_to
    if created:
        query["created_at"] = created
    if filters.decision == UNDECIDED:
        query["review.decision"] = None  # matches a missing review as well
    elif filters.decision:
        query["review.decision"] = filters.decision
    if candidate_ids is not None:
        query["candidate_id"] = candidate_ids[0] if len(candidate_ids) == 1 else {"$in": candidate_ids}
    return query


def count_calls(db: Database, filters: CallFilters, candidate_ids: list[str] | None = None) -> int:
    """How many calls match the filters (and, when given, belong to one of the candidates)."""
    query = _calls_query(filters, candidate_ids)
    if query == _SCREENINGS:
        # No filter: the metadata count, less the few test calls counted on their index (no scan).
        tests = db[CALLS].count_documents({"test_call": True})
        return max(0, db[CALLS].estimated_document_count() - tests)
    return db[CALLS].count_documents(query)


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
        docs = list(db[CALLS].find(windowed, _LIST_FIELDS).sort(SORT_SPECS[DEFAULT_SORT]).limit(need))
        if len(docs) == need:
            return docs[skip:]
    return None


def list_calls(
    db: Database,
    filters: CallFilters,
    candidate_ids: list[str] | None,
    *,
    sort: str,
    skip: int,
    size: int,
    total: int,
) -> list[Call]:
    """One page of matching calls in the sort's order (`total`: the match count, for the strategy)."""
    query = _calls_query(filters, candidate_ids)
    docs = None
    if sort == DEFAULT_SORT and total > _WINDOW_MIN_TOTAL and skip + size <= _WINDOW_MAX_ROWS:
        docs = _newest_in_window(db, query, skip, size)
    if docs is None:
        docs = list(db[CALLS].find(query, _LIST_FIELDS).sort(SORT_SPECS[sort]).skip(skip).limit(size))
    return [Call.model_validate(d) for d in docs]


def few_matching_ids(db: Database, filters: CallFilters, candidate_ids: list[str] | None, *, sort: str,
                     cap: int) -> list[str] | None:
    """Every matching call's id in the sort's order when at most `cap` match (one read of ids
    only: it is the count and the order at once), else None."""
    query = _calls_query(filters, candidate_ids)
    docs = list(db[CALLS].find(query, {"_id": 1}).sort(SORT_SPECS[sort]).limit(cap + 1))
    return None if len(docs) > cap else [str(d["_id"]) for d in docs]


def calls_by_ids(db: Database, ids: list[str]) -> list[Call]:
    """These calls as the list shows them, in the order given (read by id: no scan on any server)."""
    if not ids:
        return []
    found = {d["_id"]: d for d in db[CALLS].find({"_id": {"$in": ids}}, _LIST_FIELDS)}
    return [Call.model_validate(found[i]) for i in ids if i in found]


# -- one call --------------------------------------------------------------------------------


def get_call(db: Database, call_id: str) -> Call | None:
    """One call for its page (all but the request body sent to the provider)."""
    return Call.from_doc(db[CALLS].find_one({"_id": call_id}, _DETAIL_EXCLUDED))


_EVENT_FIELDS = {"payload": 1, "provider": 1, "kind": 1, "occurred_at": 1, "received_at": 1, "source": 1}


def call_events(db: Database, call_id: str, limit: int, dedupe_keys: list[str] | None = None) -> list[Event]:
    """The call's provider events in the order received, at most `limit`.

    `dedupe_keys`: every key the call's events can carry (core.lifecycle.events.dedupe_keys_of),
    read on the unique dedupe index, which the embedded server uses too (it scans for call_id).
    """
    if dedupe_keys:
        docs = [d for d in db[CALL_EVENTS].find({"dedupe_key": {"$in": dedupe_keys}},
                                                {**_EVENT_FIELDS, "call_id": 1})
                if d.get("call_id") == call_id]  # an event of the provider call linked elsewhere: not ours
        docs.sort(key=lambda d: d.get("received_at") or _EPOCH)
        return [Event.model_validate(d) for d in docs[:limit]]
    # Indexed (call_id, received_at) on MongoDB; bounded either way.
    docs = db[CALL_EVENTS].find({"call_id": call_id}, _EVENT_FIELDS).sort("received_at", 1).limit(limit)
    return [Event.model_validate(d) for d in docs]


def get_transcript(db: Database, call_id: str) -> StoredTranscript | None:
    """The call's stored transcript document (None: not fetched yet, or purged)."""
    return StoredTranscript.from_doc(db[TRANSCRIPTS].find_one({"_id": call_id}))


def call_for_recording(db: Database, call_id: str) -> Call | None:
    """What deciding about a call's recording needs: status, agent call id, recording flags."""
    doc = db[CALLS].find_one(
        {"_id": call_id},
        {
            "status": 1,
            "ultravox_call_id": 1,
            "recording_available": 1,
            "recording_purge": 1,
            "recording_consent": 1,
            "joined_at": 1,
            "config_snapshot.config.recording_enabled": 1,
        },
    )
    return Call.from_doc(doc)


# -- the review ------------------------------------------------------------------------------


def call_for_review(db: Database, call_id: str) -> Call | None:
    """What a review needs of its call: status, the current review, the screening questions."""
    return Call.from_doc(db[CALLS].find_one({"_id": call_id}, {"status": 1, "review": 1, "test_call": 1,
                                                               "job_id": 1, **_QUESTION_FIELDS}))


def _review_at_version(version: int) -> dict[str, Any]:
    """The filter matching a call whose review is at `version` (0: no review yet; 1 also
    matches a review saved before reviews carried versions)."""
    if version <= 0:
        return {"review": None}  # missing or null
    if version == 1:
        return {"$or": [{"review.version": 1},
                        {"review.version": None, "review.decision": {"$exists": True}}]}
    return {"review.version": version}


def record_review(db: Database, call_id: str, review: Review, expected_version: int) -> bool:
    """Set the call's `review` (the one field of calls review owns) and its `updated_at`, only
    if its review is still at `expected_version` (one conditional update); False: it was not."""
    result = db[CALLS].update_one(
        {"_id": call_id, **_review_at_version(expected_version)},
        {"$set": {"review": review.model_dump(), "updated_at": review.at}},
    )
    return result.matched_count == 1


def next_awaiting_review(db: Database, job_id: str, after_call_id: str) -> str | None:
    """The oldest ended screening call of the job with no decision yet, other than
    `after_call_id` (the (job_id, created_at) index serves it; one id read)."""
    doc = db[CALLS].find_one(
        {
            "job_id": job_id,
            "_id": {"$ne": after_call_id},
            "status": {"$in": sorted(s.value for s in TERMINAL_STATUSES)},
            "review.decision": None,  # matches a missing review as well
            **_SCREENINGS,
        },
        {"_id": 1},
        sort=[("created_at", 1), ("_id", 1)],
    )
    return str(doc["_id"]) if doc else None


# -- the candidate page ----------------------------------------------------------------------


def candidate_calls(db: Database, candidate_id: str, limit: int) -> list[Call]:
    """The candidate's calls, newest first, at most `limit` (without the bulky dial fields)."""
    docs = db[CALLS].find({"candidate_id": candidate_id, **_SCREENINGS},
                          _CANDIDATE_CALL_EXCLUDED).sort("created_at", -1)
    return [Call.model_validate(d) for d in docs.limit(limit)]


# -- exports ---------------------------------------------------------------------------------


def export_calls(db: Database, job_id: str, statuses: list[str], *, limit: int, batch: int) -> Iterator[Call]:
    """A job's calls in these statuses, newest first, streamed in batches (at most `limit`)."""
    fields = {
        **{k: v for k, v in _LIST_FIELDS.items() if k != "review.decision"},  # no path collision
        "review": 1,
        "summary": 1,
        "short_summary": 1,
        "agent_answers": 1,  # the typed answers of the export's per-question columns
        "config_snapshot.spoken.voicemail_message": 1,
        **_QUESTION_FIELDS,
    }
    cursor = (
        db[CALLS]
        .find({"job_id": job_id, "status": {"$in": statuses}, **_SCREENINGS}, fields)
        .sort("created_at", -1)
        .limit(limit)
        .batch_size(batch)
    )
    for doc in cursor:
        yield Call.model_validate(doc)


# -- the home page ---------------------------------------------------------------------------


def call_counts(db: Database) -> tuple[int, int]:
    """(screening calls in flight, finished screening calls)."""
    return (db[CALLS].count_documents({"status": {"$in": [s.value for s in OPEN_STATUSES]}, **_SCREENINGS}),
            db[CALLS].count_documents({"status": {"$in": [s.value for s in TERMINAL_STATUSES]},
                                       **_SCREENINGS}))
