"""Exports: a job's screened candidates as CSV, one call's transcript as text."""

from __future__ import annotations

import csv
import io
from typing import Any

from pymongo.database import Database

from core import audit, crypto
from core.auth import Action, User, can, require
from core.calling.outcome import outcome_text
from core.documents.status import CallStatus
from core.db import CALLS, CANDIDATES, JOBS
from core.review.answer_matching import _questions
from core.review.detail import call_detail
from core.review.filters import _LIST_FIELDS, _OPEN, ReviewError, _aware, _started, call_cost

_EXPORT_CALL_LIMIT = 50_000  # calls of one job read for an export
_EXPORT_BATCH = 1000


# -- exports --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (text from a call is untrusted)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(value: Any) -> str:
    at = _aware(value)
    return at.isoformat(timespec="seconds") if at else ""


def _rank(call: dict[str, Any]) -> tuple[int, int]:
    # The call that speaks for a candidate: a reviewed one, else a completed one, else any ended.
    reviewed = 1 if (call.get("review") or {}).get("decision") else 0
    completed = 1 if call.get("status") == CallStatus.COMPLETED.value else 0
    return reviewed, completed


def export_job_csv(db: Database, user: User | None, job_id: str) -> bytes:
    """CSV (UTF-8 with BOM) of a job's screened candidates, one row each, columns by role."""
    actor = require(user, Action.VIEW)
    reviewer = can(actor, Action.REVIEW_CALLS)
    job = db[JOBS].find_one({"_id": str(job_id)}, {"title": 1})
    if job is None:
        raise ReviewError("That job does not exist.")
    fields = {
        **{k: v for k, v in _LIST_FIELDS.items() if k != "review.decision"},  # no path collision
        "review": 1,
        "summary": 1,
        "short_summary": 1,
        "config_snapshot.config.screening_questions": 1,
        "config_snapshot.spoken.screening_questions": 1,
    }
    ended = [s.value for s in CallStatus if s.value not in _OPEN]
    best: dict[str, dict[str, Any]] = {}
    attempts: dict[str, int] = {}
    questions = 0
    cursor = (
        db[CALLS]
        .find({"job_id": job["_id"], "status": {"$in": ended}}, fields)
        .sort("created_at", -1)
        .limit(_EXPORT_CALL_LIMIT)
        .batch_size(_EXPORT_BATCH)
    )
    for call in cursor:
        cid = call.get("candidate_id") or ""
        attempts[cid] = attempts.get(cid, 0) + 1
        questions = max(questions, len(_questions(call)))
        # Newest first, so a later call only wins with a strictly better rank.
        if cid not in best or _rank(call) > _rank(best[cid]):
            best[cid] = call
    people: dict[str, dict[str, Any]] = {}
    ids = sorted(best)
    for start in range(0, len(ids), _EXPORT_BATCH):
        chunk = ids[start : start + _EXPORT_BATCH]
        for doc in db[CANDIDATES].find({"_id": {"$in": chunk}}, {"name": 1, "phone": 1}):
            people[doc["_id"]] = doc
    header = ["candidate_id", "candidate_name"]
    if reviewer:
        header.append("phone")
    header += [
        "job",
        "call_id",
        "started_at_utc",
        "status",
        "outcome",
        "attempts",
        "duration_seconds",
        "decision",
        "overall_rating",
    ]
    header += [f"q{n}_rating" for n in range(1, questions + 1)]
    header += ["reviewed_by", "reviewed_at_utc"]
    if reviewer:
        header.append("review_notes")
    header += ["short_summary", "summary", "cost", "currency", "cost_estimated"]
    phone_col = header.index("phone") if reviewer else -1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    rows = sorted(
        best.items(), key=lambda kv: (str((people.get(kv[0]) or {}).get("name", "")).lower(), kv[0])
    )
    for cid, call in rows:
        person = people.get(cid) or {}
        review = call.get("review") or {}
        amount, estimated = call_cost(call)
        row: list[Any] = [cid, person.get("name", "(deleted candidate)")]
        if reviewer:
            try:
                row.append(crypto.decrypt(person.get("phone")) or "")
            except crypto.CryptoError:
                row.append("(cannot decrypt)")
        row += [
            job.get("title", ""),
            call["_id"],
            _iso(_started(call)),
            call.get("status"),
            outcome_text(call),
            attempts.get(cid, 1),
            call.get("duration_seconds", ""),
            review.get("decision") or "",
            review.get("overall") or "",
        ]
        ratings = review.get("ratings") or {}
        row += [ratings.get(str(n), "") for n in range(1, questions + 1)]
        row += [review.get("by") or "", _iso(review.get("at"))]
        if reviewer:
            row.append(review.get("notes") or "")
        row += [
            call.get("short_summary") or "",
            call.get("summary") or "",
            "" if amount is None else str(amount),
            (call.get("costs") or {}).get("currency") or "",
            "yes" if estimated else ("no" if amount is not None else ""),
        ]
        # The phone is validated E.164 ("+1…"), not free text: it is written as is.
        writer.writerow([v if i == phone_col else _cell(v) for i, v in enumerate(row)])
    audit.record(
        db,
        actor=actor.username,
        action="job.export_csv",
        entity="job",
        entity_id=job["_id"],
        detail=f"{len(rows)} candidate(s), {'with' if reviewer else 'without'} phone and notes",
    )
    return buffer.getvalue().encode("utf-8-sig")


def _clock(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "--:--"
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def transcript_text(db: Database, user: User | None, call_id: str) -> str:
    """One call's transcript as plain text (speaker, time into the call, words); no phone number."""
    require(user, Action.VIEW)
    detail = call_detail(db, call_id, user)
    if detail is None:
        raise ReviewError("That call does not exist.")
    started = detail["started_at"]
    lines = [
        f"Call {detail['id']}",
        f"Candidate: {detail['candidate']['name']}",
        f"Job: {detail['job']['title']}",
        f"Started (UTC): {started.isoformat(timespec='seconds') if started else 'not started'}",
        f"Outcome: {detail['outcome']}",
        "",
    ]
    spoken = [m for m in detail["transcript"] if m["speaker"] in ("agent", "candidate")]
    if not spoken:
        lines.append("(no transcript)")
    for m in spoken:
        lines.append(f"[{_clock(m['start_s'])}] {m['speaker'].capitalize()}: {m['text']}")
    return "\n".join(lines) + "\n"
