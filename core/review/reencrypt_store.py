"""Re-encryption's reads and conditional writes on the conversation content: summaries on
calls and in stored webhooks, transcript words, and what the agent's tools recorded (answers
and their history, the reason a person was asked for, the voicemail text, the stored tool
request bodies); core.review.reencrypt drives them."""

from __future__ import annotations

import re
from typing import Any

from pymongo.database import Database

from core.db import CALL_EVENTS, CALLS, TOOL_REQUESTS, TRANSCRIPTS

CALL_FIELDS = ("summary", "short_summary", "human_requested.reason", "voicemail_text")
EVENT_FIELDS = ("payload.call.summary", "payload.call.shortSummary")
TOOL_REQUEST_FIELDS = ("body",)


def _not_written_with(prefix: str) -> dict[str, Any]:
    # A non-empty string that the key of `prefix` did not write (older key, or plaintext).
    return {"$type": "string", "$gt": "", "$not": re.compile("^" + re.escape(prefix))}


def _stale(fields: tuple[str, ...], prefix: str, skip_ids: list[str]) -> dict[str, Any]:
    query: dict[str, Any] = {"$or": [{f: _not_written_with(prefix)} for f in fields]}
    if skip_ids:
        query["_id"] = {"$nin": list(skip_ids)}
    return query


def calls_to_reencrypt(db: Database, prefix: str, skip_ids: list[str], limit: int) -> list[dict[str, Any]]:
    """Calls whose summaries the current key did not write (id and the summaries), at most `limit`."""
    projection = dict.fromkeys(CALL_FIELDS, 1)
    return list(db[CALLS].find(_stale(CALL_FIELDS, prefix, skip_ids), projection).limit(limit))


def events_to_reencrypt(db: Database, prefix: str, skip_ids: list[str], limit: int) -> list[dict[str, Any]]:
    """Stored webhooks whose summaries the current key did not write, at most `limit`."""
    projection = dict.fromkeys(EVENT_FIELDS, 1)
    return list(db[CALL_EVENTS].find(_stale(EVENT_FIELDS, prefix, skip_ids), projection).limit(limit))


def tool_requests_to_reencrypt(db: Database, prefix: str, skip_ids: list[str],
                               limit: int) -> list[dict[str, Any]]:
    """Stored tool requests whose body the current key did not write, at most `limit`."""
    projection = dict.fromkeys(TOOL_REQUEST_FIELDS, 1)
    return list(db[TOOL_REQUESTS].find(_stale(TOOL_REQUEST_FIELDS, prefix, skip_ids), projection)
                .limit(limit))


def calls_with_answers_after(db: Database, after_id: str, limit: int) -> list[dict[str, Any]]:
    """Calls holding agent answers, by id after `after_id`, at most `limit`. The answers are keyed
    by question id, which a query cannot name, so re-encryption reads them page by page."""
    query = {"_id": {"$gt": after_id}, "agent_answers": {"$type": "object", "$ne": {}}}
    return list(db[CALLS].find(query, {"agent_answers": 1}).sort("_id", 1).limit(limit))


def replace_answer(db: Database, call_id: str, question_id: str, *, seq: int, answer: str,
                   fields: dict[str, Any]) -> bool:
    """Write one re-encrypted agent answer (and its history) only if it is still the one read:
    same `seq` (a correction bumps it) and same stored words."""
    field = f"agent_answers.{question_id}"
    result = db[CALLS].update_one({"_id": call_id, f"{field}.seq": seq, f"{field}.answer": answer},
                                  {"$set": {f"{field}.{k}": v for k, v in fields.items()}})
    return result.modified_count == 1


def transcripts_to_reencrypt(db: Database, prefix: str, skip_ids: list[str],
                             limit: int) -> list[dict[str, Any]]:
    """Transcripts with a message the current key did not write, at most `limit`."""
    query: dict[str, Any] = {"messages": {"$elemMatch": {"text": _not_written_with(prefix)}}}
    if skip_ids:
        query["_id"] = {"$nin": list(skip_ids)}
    return list(db[TRANSCRIPTS].find(query, {"messages": 1}).limit(limit))


def replace_fields(db: Database, collection: str, doc_id: str, *, expected: dict[str, Any],
                   fields: dict[str, Any]) -> bool:
    """Write re-encrypted values only where the stored ones are still `expected` (a write made
    meanwhile wins; the next run looks at the document again)."""
    if collection not in (CALLS, CALL_EVENTS, TRANSCRIPTS, TOOL_REQUESTS):
        raise ValueError(f"not a collection re-encryption writes: {collection}")
    result = db[collection].update_one({"_id": doc_id, **expected}, {"$set": fields})
    return result.modified_count == 1
