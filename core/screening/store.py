"""The agent's tool requests (`tool_requests`) and the call fields its tools write.

Screening owns, on `calls`: `agent_answers`, `human_requested`, `callback`, `voicemail_left`
and `voicemail_text`; each is written by one single-document operation here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from core.db import CALLS, TOOL_REQUESTS, Database, utcnow
from core.documents.call import AgentAnswer, Call

_TOOL_CALL_FIELDS = {"status": 1, "candidate_id": 1, "job_id": 1, "ultravox_call_id": 1,
                     "config_snapshot.config.screening_questions": 1,
                     "config_snapshot.spoken.screening_questions": 1, "calling_window": 1,
                     "joined_at": 1, "agent_answers": 1, "attempt": 1, "batch_id": 1,
                     "first_call_id": 1, "opt_out": 1}


def insert_request(db: Database, doc: dict[str, Any]) -> bool:
    """Store one tool request; False when the same request (same `_id` hash) is stored already."""
    try:
        db[TOOL_REQUESTS].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def get_request(db: Database, request_id: str) -> dict[str, Any] | None:
    """A stored tool request by its hash."""
    return db[TOOL_REQUESTS].find_one({"_id": request_id})


def finish_request(db: Database, request_id: str, outcome: str, reply: str) -> None:
    """Note what a stored request did and what the agent was told."""
    db[TOOL_REQUESTS].update_one({"_id": request_id}, {"$set": {"outcome": outcome, "reply": reply}})


def requests_of_call(db: Database, call_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """A call's stored tool requests, oldest first (bounded: a call makes a few dozen)."""
    return list(db[TOOL_REQUESTS].find({"call_id": call_id}).sort("received_at", 1).limit(limit))


def call_for_tool(db: Database, call_id: str) -> Call | None:
    """What a tool request needs of its call (status, ids, the snapshot's questions, answers)."""
    return Call.from_doc(db[CALLS].find_one({"_id": call_id}, _TOOL_CALL_FIELDS))


def record_answer(db: Database, call_id: str, question_id: str, answer: AgentAnswer,
                  previous: AgentAnswer | None) -> bool:
    """Set the agent's answer to one question; a correction keeps the earlier one in `earlier`.

    A compare-and-set on the previous answer's `seq`, so two corrections arriving at once
    never lose one another: False means "re-read and try again".
    """
    field = f"agent_answers.{question_id}"
    if previous is None:
        query: dict[str, Any] = {"_id": call_id, field: {"$exists": False}}
        new = answer.model_copy(update={"seq": 1, "earlier": []})
    else:
        query = {"_id": call_id, f"{field}.seq": previous.seq}
        kept = previous.model_dump(exclude={"earlier", "seq"})
        new = answer.model_copy(update={"seq": previous.seq + 1, "earlier": [*previous.earlier, kept]})
    result = db[CALLS].update_one(query, {"$set": {field: new.model_dump(), "updated_at": utcnow()}})
    return result.modified_count == 1


def set_human_requested(db: Database, call_id: str, reason: str, at: datetime) -> None:
    """Flag the call: the candidate asked for a person (the first reason is kept)."""
    db[CALLS].update_one({"_id": call_id, "human_requested": None},
                         {"$set": {"human_requested": {"reason": reason, "at": at}, "updated_at": at}})


def set_callback(db: Database, call_id: str, callback: dict[str, Any]) -> None:
    """The candidate's requested call-back (the latest request wins)."""
    db[CALLS].update_one({"_id": call_id}, {"$set": {"callback": callback, "updated_at": utcnow()}})


def voicemail_facts(text: str) -> dict[str, Any]:
    """The fields saying the agent left a voicemail message (`text` encrypted), found in the
    messages after the call ended; the follow-up writes them with the transcript."""
    return {"voicemail_left": True, "voicemail_text": text}
