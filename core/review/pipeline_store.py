"""The pipeline's reads: a job's candidates, their calls of the job and the transcripts of the
calls that speak for them (each bounded; nothing here writes)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from pymongo.database import Database

from core.db import CALLS, CANDIDATES, TRANSCRIPTS
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.review.models import StoredTranscript

MAX_CANDIDATES = 5000  # candidates of one job in the pipeline (the largest candidate list)
MAX_CALLS = 50_000  # calls of one job read for the pipeline (as for the job export)
_BATCH = 1000
_EPOCH = datetime.min.replace(tzinfo=UTC)
_JOBS_PER_READ = 5
# What the stage rule, the knockouts and the table need of a call: no prompt, no request body.
_CALL_FIELDS = {
    "candidate_id": 1, "job_id": 1, "status": 1, "attempt": 1, "retry_of": 1, "batch_id": 1,
    "created_at": 1, "dialed_at": 1, "ended_at": 1, "next_attempt_at": 1, "hold_reason": 1,
    "calling_window": 1, "answered_by": 1, "opt_out": 1, "human_requested": 1, "callback": 1,
    "review": 1, "short_summary": 1, "agent_answers": 1, "end_reason": 1, "failure_reason": 1,
    "config_snapshot.config.screening_questions": 1,
    "config_snapshot.spoken.screening_questions": 1,
    "config_snapshot.spoken.voicemail_message": 1,
}
_CANDIDATE_FIELDS = {"name": 1, "phone": 1, "timezone": 1, "do_not_call": 1, "human_requested": 1,
                     "consent": 1, "job_ids": 1, "created_at": 1}


def job_candidates(db: Database, job_id: str, *, limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The job's candidates (no test contacts), oldest first, at most `limit`."""
    cursor = db[CANDIDATES].find({"job_ids": str(job_id), "test_contact": {"$ne": True}},
                                 _CANDIDATE_FIELDS).sort([("created_at", 1), ("_id", 1)])
    return [Candidate.model_validate(d) for d in cursor.limit(max(1, min(limit, MAX_CANDIDATES)))]


def job_calls(db: Database, job_id: str, *, limit: int = MAX_CALLS) -> list[Call]:
    """The job's screening calls (no test calls), newest first, at most `limit`."""
    cursor = (db[CALLS].find({"job_id": str(job_id), "test_call": {"$ne": True}}, _CALL_FIELDS)
              .sort([("created_at", -1), ("_id", -1)]).limit(limit).batch_size(_BATCH))
    return [Call.model_validate(d) for d in cursor]


def transcripts_of(db: Database, call_ids: Iterable[str]) -> dict[str, StoredTranscript]:
    """The stored transcripts of these calls, by call id (read a thousand ids at a time)."""
    ids = sorted(set(call_ids))
    found: dict[str, StoredTranscript] = {}
    for start in range(0, len(ids), _BATCH):
        for doc in db[TRANSCRIPTS].find({"_id": {"$in": ids[start:start + _BATCH]}}):
            found[str(doc["_id"])] = StoredTranscript.model_validate(doc)
    return found


# -- Home's work queue: many jobs in one read each ---------------------------------------------

# What the stage rule needs of a call (Home shows stages, no answers, summaries or questions).
_STAGE_FIELDS = {
    "candidate_id": 1, "job_id": 1, "status": 1, "attempt": 1, "retry_of": 1, "created_at": 1,
    "next_attempt_at": 1, "hold_reason": 1, "calling_window.zone": 1, "review.decision": 1,
}
_STAGE_CANDIDATE_FIELDS = {"name": 1, "phone": 1, "timezone": 1, "do_not_call": 1, "human_requested": 1,
                           "job_ids": 1, "created_at": 1}


def jobs_candidates(db: Database, job_ids: list[str], *, per_job: int = MAX_CANDIDATES
                    ) -> dict[str, list[Candidate]]:
    """Each job's candidates (no test contacts), oldest first, at most `per_job` each, in one
    read (a candidate of several of these jobs is listed under each)."""
    wanted = {str(j) for j in job_ids}
    out: dict[str, list[Candidate]] = {j: [] for j in wanted}
    if not wanted:
        return out
    cursor = (db[CANDIDATES].find({"job_ids": {"$in": sorted(wanted)}, "test_contact": {"$ne": True}},
                                  _STAGE_CANDIDATE_FIELDS)
              .sort([("created_at", 1), ("_id", 1)]).limit(per_job * len(wanted)).batch_size(_BATCH))
    for doc in cursor:
        person = Candidate.model_validate(doc)
        for job_id in wanted.intersection(person.job_ids):
            if len(out[job_id]) < per_job:
                out[job_id].append(person)
    return out


def jobs_stage_calls(db: Database, job_ids: list[str], *, per_job: int = MAX_CALLS
                     ) -> Iterator[tuple[str, list[Call]]]:
    """Each job's screening calls, newest first, at most `per_job` each, with only what the
    stage rule reads: one read per `_JOBS_PER_READ` jobs (each read a scan on the embedded
    server; fewer jobs per read hold fewer calls in memory at once), typed a job at a time.

    The read is not sorted: the embedded server sorts slowly (sorting 20k calls by job and time
    took it 2.9 s against 0.4–1.2 s to read them unsorted), so each job's calls are put in
    order here; only when the bounded read fills up are the jobs read one by one, sorted."""
    wanted = sorted({str(j) for j in job_ids})
    for start in range(0, len(wanted), _JOBS_PER_READ):
        chunk = wanted[start:start + _JOBS_PER_READ]
        bound = per_job * len(chunk)
        cursor = db[CALLS].find({"job_id": {"$in": chunk}, "test_call": {"$ne": True}},
                                _STAGE_FIELDS).limit(bound).batch_size(_BATCH)
        by_job: dict[str, list[dict]] = {j: [] for j in chunk}
        read = 0
        for doc in cursor:
            by_job.setdefault(str(doc.get("job_id")), []).append(doc)
            read += 1
        if read >= bound:  # a job with more calls than that: each job's newest, sorted by the server
            for job_id in chunk:
                yield job_id, job_calls(db, job_id, limit=per_job)
            continue
        for job_id in chunk:
            docs = by_job.pop(job_id)
            docs.sort(key=lambda d: (d.get("created_at") or _EPOCH, str(d["_id"])), reverse=True)
            yield job_id, [Call.model_validate(d) for d in docs[:per_job]]
