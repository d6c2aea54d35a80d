"""The reads of the compliance record: a job's dialled calls for the CSV, and the calls whose
disclosure was not found (Home). Every read is bounded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from core.db import Database
from core.documents.call import Call

CALLS = "calls"
# What the record and its CSV row read of a call (not the transcript, prompt or request).
_FIELDS: dict[str, Any] = {
    "candidate_id": 1, "job_id": 1, "status": 1, "attempt": 1, "created_at": 1, "dialed_at": 1,
    "test_call": 1, "compliance": 1, "disclosure": 1, "transcript_status": 1, "opt_out": 1,
    "human_requested.at": 1, "callback.at": 1, "voicemail_left": 1, "recording_consent": 1,
}
# A call that was claimed for dialling (older calls too: they show "not recorded").
_DIALLED = {"dialed_at": {"$ne": None}}


def job_calls(db: Database, job_id: str, *, limit: int, batch: int) -> Iterator[Call]:
    """A job's dialled calls (test calls left out), oldest first, at most `limit`."""
    cursor = (db[CALLS].find({"job_id": str(job_id), "test_call": {"$ne": True}, **_DIALLED}, _FIELDS)
              .sort("created_at", 1).limit(limit).batch_size(batch))
    for doc in cursor:
        yield Call.model_validate(doc)


def disclosure_missing(db: Database, since: datetime, *, count_cap: int,
                       limit: int) -> tuple[int, list[Call]]:
    """Calls dialled since `since` whose disclosure was not found: how many (counted up to
    `count_cap`) and the newest `limit` of them."""
    query = {"disclosure.found": False, "dialed_at": {"$gte": since}}
    count = db[CALLS].count_documents(query, limit=count_cap)
    newest = [Call.model_validate(d) for d in
              db[CALLS].find(query, _FIELDS).sort("dialed_at", -1).limit(limit)]
    return count, newest


def failing_deletions(db: Database, min_tries: int, *, count_cap: int, limit: int) -> tuple[int, list[Call]]:
    """Refused recordings not yet deleted at Ultravox after `min_tries` failed attempts: how many
    (counted up to `count_cap`) and the `limit` that failed longest."""
    query = {"recording_consent.delete_attempts": {"$gte": min_tries},
             "recording_consent.deleted_at": None}
    count = db[CALLS].count_documents(query, limit=count_cap)
    oldest = [Call.model_validate(d) for d in db[CALLS].find(query, {**_FIELDS, "ended_at": 1})
              .sort("ended_at", 1).limit(limit)]
    return count, oldest
