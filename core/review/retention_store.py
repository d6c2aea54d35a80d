"""The retention purge's bounded batches: conversation content of old calls, expired media, and
the personal text old audit entries carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from pymongo.database import Database

from core.db import AUDIT_LOG, CALL_EVENTS, CALLS, MEDIA_CACHE, TOOL_REQUESTS, TRANSCRIPTS

# What a call keeps of the conversation and of the texts rendered for it (they name the
# candidate): the summaries, the prompt, the spoken texts, and the same texts in the request
# body sent to Ultravox. Outcome, times, costs, the settings used and the review stay.
_CALL_TEXT = (
    "summary", "short_summary", "rendered_prompt", "config_snapshot.spoken",
    "config_snapshot.rendered_prompt", "request_body.systemPrompt",
    "request_body.timeExceededMessage", "request_body.firstSpeakerSettings",
    "request_body.firstSpeaker", "request_body.initialMessages", "request_body.inactivityMessages",
    "request_body.selectedTools", "agent_answers", "voicemail_text", "human_requested.reason",
)
# The summaries Ultravox sent in its webhooks (and our polls stored the same way).
_EVENT_TEXT = ("payload.call.summary", "payload.call.shortSummary")
REMOVED = "(removed by the retention purge)"


@dataclass(frozen=True)
class Held:
    """Candidates and jobs on legal hold (core.people.holds): no purge touches their calls."""

    candidates: frozenset[str] = dc_field(default_factory=frozenset)
    jobs: frozenset[str] = dc_field(default_factory=frozenset)


def _not_held(query: dict[str, Any], held: Held | None) -> dict[str, Any]:
    """The query, leaving out the calls of candidates and jobs on legal hold."""
    if held is not None and held.candidates:
        query["candidate_id"] = {"$nin": list(held.candidates)}
    if held is not None and held.jobs:
        query["job_id"] = {"$nin": list(held.jobs)}
    return query


def purge_calls_batch(db: Database, cutoff: datetime, now: datetime, limit: int,
                      held: Held | None = None) -> int:
    """Purge the conversation content of up to `limit` calls that ended before `cutoff` and are
    not purged yet (nor on legal hold) — transcript, cached media, summaries (on the call and in
    its stored webhooks), the texts rendered for it, and the personal text of its audit entries;
    returns how many calls were purged."""
    query = _not_held({"ended_at": {"$lt": cutoff}, "purged_at": {"$exists": False}}, held)
    docs = list(db[CALLS].find(query, {"_id": 1, "candidate_id": 1}).limit(limit))
    if not docs:
        return 0
    ids = [doc["_id"] for doc in docs]
    db[TRANSCRIPTS].delete_many({"_id": {"$in": ids}})
    db[MEDIA_CACHE].delete_many({"call_id": {"$in": ids}})
    db[CALL_EVENTS].update_many({"call_id": {"$in": ids}}, {"$unset": dict.fromkeys(_EVENT_TEXT, "")})
    # The agent's tool requests carry the candidate's answers in their bodies.
    db[TOOL_REQUESTS].update_many({"call_id": {"$in": ids}}, {"$unset": {"body": ""}})
    _scrub_call_audit(db, docs, now)
    # The call keeps its outcome, costs and review; only the conversation content goes. The
    # purge mark goes last: a batch cut short is picked up again by the next run.
    db[CALLS].update_many(
        {"_id": {"$in": ids}},
        {
            "$set": {"purged_at": now, "transcript_status": "purged", "recording_available": False},
            "$unset": dict.fromkeys(_CALL_TEXT, ""),
        },
    )
    return len(ids)


def _scrub_call_audit(db: Database, calls: list[dict], now: datetime, *, notes: bool = True) -> None:
    """Drop the words of the calls' audit entries: review notes (unless `notes` is False), and
    the candidate's spoken opt-out quoted in the do-not-call entry (the facts — who, when,
    what — stay)."""
    ids = [c["_id"] for c in calls]
    if notes:
        for entry in db[AUDIT_LOG].find(
            {"entity": "call", "entity_id": {"$in": ids}, "changes.notes": {"$exists": True}},
            {"changes.notes": 1},
        ).limit(len(ids) * 20):
            db[AUDIT_LOG].update_one(
                {"_id": entry["_id"]},
                {"$set": {"changes.notes": {"old": REMOVED, "new": REMOVED}, "scrubbed_at": now}},
            )
    candidates = sorted({c.get("candidate_id") for c in calls if c.get("candidate_id")})
    if not candidates:
        return
    # "spoken opt-out on call <id>: "<the candidate's words>"" (core.lifecycle.opt_out).
    pattern = re.compile("^spoken opt-out on call (" + "|".join(re.escape(i) for i in ids) + "):")
    for entry in db[AUDIT_LOG].find(
        {"entity": "candidate", "entity_id": {"$in": candidates}, "detail": pattern}, {"detail": 1}
    ).limit(len(ids) * 5):
        call_ref = str(entry["detail"]).split(":", 1)[0]
        db[AUDIT_LOG].update_one(
            {"_id": entry["_id"]},
            {"$set": {"detail": f"{call_ref} (the candidate's words: {REMOVED})", "scrubbed_at": now}},
        )


def scrub_audit_batch(db: Database, cutoff: datetime, now: datetime, limit: int,
                      held: Held | None = None) -> int:
    """Drop the personal text of up to `limit` candidate audit entries older than `cutoff`
    (names and notes written before they were hidden, and free-text do-not-call reasons) —
    never of a candidate on legal hold; who did what to which candidate, and when, stays.
    Returns how many entries were scrubbed."""
    query: dict[str, Any] = {
        "entity": "candidate",
        "at": {"$lt": cutoff},
        "scrubbed_at": {"$exists": False},
        "$or": [{"detail": {"$type": "string"}}, {"changes.name": {"$exists": True}},
                {"changes.notes": {"$exists": True}}],
    }
    if held is not None and held.candidates:
        query["entity_id"] = {"$nin": list(held.candidates)}
    entries = list(db[AUDIT_LOG].find(query, {"_id": 1, "changes": 1, "detail": 1}).limit(limit))
    _scrub_entries(db, entries, now, ("name", "notes"))
    return len(entries)


def _scrub_entries(db: Database, entries: list[dict], now: datetime, fields: tuple[str, ...],
                   removed: str = REMOVED) -> None:
    for entry in entries:
        update: dict = {"scrubbed_at": now}
        for field in fields:
            if field in (entry.get("changes") or {}):
                update[f"changes.{field}"] = {"old": removed, "new": removed}
        if isinstance(entry.get("detail"), str):
            update["detail"] = removed
        db[AUDIT_LOG].update_one({"_id": entry["_id"]}, {"$set": update})


# What an erasure takes out of the audit entries about the candidate: the personal text the
# purge takes, and the last digits of the number an edit quotes ("…1234").
_ERASED_FIELDS = ("name", "notes", "phone", "email")
ERASED = "(removed: the candidate was erased)"


def scrub_candidate_audit(db: Database, candidate_id: str, calls: list[dict], now: datetime,
                          limit: int = 5000) -> int:
    """For an erasure: the purge's scrub of the calls' audit entries (notes, the spoken opt-out),
    then of every audit entry about the candidate whatever its age; returns how many of those
    entries were scrubbed (who did what, and when, stays)."""
    if calls:
        _scrub_call_audit(db, calls, now)
    query = {"entity": "candidate", "entity_id": candidate_id,
             "$or": [{"detail": {"$type": "string"}},
                     *({f"changes.{f}": {"$exists": True}} for f in _ERASED_FIELDS)]}
    entries = list(db[AUDIT_LOG].find(query, {"_id": 1, "changes": 1, "detail": 1}).limit(limit))
    _scrub_entries(db, entries, now, _ERASED_FIELDS, ERASED)
    return len(entries)


def purge_expired_media(db: Database, now: datetime, held: Held | None = None) -> int:
    """Delete every media-cache entry past its expiry (recordings and voice previews alike),
    but the recordings of calls on legal hold."""
    expired: dict[str, Any] = {"expires_at": {"$lt": now}}
    if held is not None and (held.candidates or held.jobs):
        # Bounded by the expired entries' calls (the cache holds a few hours of playbacks).
        call_ids = [c for c in db[MEDIA_CACHE].distinct("call_id", expired) if c]
        keep = [d["_id"] for d in db[CALLS].find(
            {"_id": {"$in": call_ids}, "$or": [{"candidate_id": {"$in": list(held.candidates)}},
                                               {"job_id": {"$in": list(held.jobs)}}]}, {"_id": 1})]
        if keep:
            expired["call_id"] = {"$nin": keep}
    return db[MEDIA_CACHE].delete_many(expired).deleted_count


# -- retention by job stage ------------------------------------------------------------------

# The words of the conversation a stage purge removes from the call (typed answers' values,
# the review, costs, status and outcome stay).
_STAGE_TEXT = ("summary", "short_summary", "human_requested.reason")


def _stage_query(job_id: str, mark_field: str, now: datetime, held: Held | None) -> dict[str, Any]:
    """Ended calls of the job that neither purge has reached yet, candidates on hold left out."""
    query = {"job_id": job_id, "ended_at": {"$lt": now}, "purged_at": {"$exists": False},
             mark_field: {"$exists": False}}
    if held is not None and held.candidates:
        query["candidate_id"] = {"$nin": list(held.candidates)}
    return query


def purge_stage_recordings(db: Database, job_id: str, mark: dict[str, Any], now: datetime,
                           limit: int, held: Held | None = None) -> int:
    """Delete the recordings we hold of up to `limit` ended calls of one closed or archived job
    (the cached media), mark each call with `mark`; returns how many calls."""
    ids = [d["_id"] for d in db[CALLS].find(_stage_query(job_id, "recording_purge", now, held),
                                            {"_id": 1}).limit(limit)]
    if not ids:
        return 0
    db[MEDIA_CACHE].delete_many({"call_id": {"$in": ids}})
    db[CALLS].update_many({"_id": {"$in": ids}},
                          {"$set": {"recording_available": False, "recording_purge": mark}})
    return len(ids)


def purge_stage_transcripts(db: Database, job_id: str, mark: dict[str, Any], now: datetime,
                            limit: int, held: Held | None = None) -> int:
    """Delete the transcripts and the answers' words of up to `limit` ended calls of one closed
    or archived job: the transcript, the summaries (on the call and in its webhooks), the tool
    requests' bodies, the words of each recorded answer (its typed value stays) and the
    candidate's spoken opt-out quoted in the audit log; returns how many calls."""
    docs = list(db[CALLS].find(_stage_query(job_id, "transcript_purge", now, held),
                               {"_id": 1, "candidate_id": 1, "agent_answers": 1}).limit(limit))
    if not docs:
        return 0
    ids = [doc["_id"] for doc in docs]
    db[TRANSCRIPTS].delete_many({"_id": {"$in": ids}})
    db[CALL_EVENTS].update_many({"call_id": {"$in": ids}}, {"$unset": dict.fromkeys(_EVENT_TEXT, "")})
    db[TOOL_REQUESTS].update_many({"call_id": {"$in": ids}}, {"$unset": {"body": ""}})
    _scrub_call_audit(db, docs, now, notes=False)
    for doc in docs:
        answers = doc.get("agent_answers") or {}
        words = {f"agent_answers.{qid}.answer": "" for qid in answers}
        # Earlier (corrected) answers keep their value and time, not their words.
        earlier = {f"agent_answers.{qid}.earlier": [{k: v for k, v in e.items() if k != "answer"}
                                                    for e in (a or {}).get("earlier") or []]
                   for qid, a in answers.items() if isinstance(a, dict)}
        db[CALLS].update_one(
            {"_id": doc["_id"]},
            {"$set": {"transcript_status": "purged", "transcript_purge": mark, **earlier},
             "$unset": {**dict.fromkeys(_STAGE_TEXT, ""), **words}},
        )
    return len(ids)
