"""The candidate page: profile, do-not-call state, jobs and every call."""

from __future__ import annotations

from core import crypto
from core.auth import User
from core.calling.outcome import outcome_text
from core.db import Database
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.lifecycle.opt_out import detect_opt_out
from core.people import store as people_store
from core.people.candidates import describe_zone
from core.people.models import CandidateProfile
from core.people.visibility import visible
from core.review import store
from core.review.models import (
    CandidateCall,
    CandidateJob,
    CandidateView,
    DoNotCall,
    HumanRequest,
    OptOutRequest,
)

_DETAIL_CALL_LIMIT = 200  # a candidate has a handful of calls; the cap guards the page


def do_not_call_state(cand: Candidate) -> DoNotCall:
    """Whether the candidate may not be called, since when, and why (a call: they asked on it)."""
    return DoNotCall(
        active=bool(cand.do_not_call),
        at=cand.do_not_call_at,
        reason=cand.do_not_call_reason or ("asked on a call" if cand.do_not_call_call_id else None),
        call_id=cand.do_not_call_call_id,
    )


def _call(call: Call, jobs: dict[str, Job]) -> CandidateCall:
    job = jobs.get(call.job_id)
    return CandidateCall(
        id=call.id,
        job_id=call.job_id,
        job=job.title if job else "(a job that no longer exists)",
        attempt=call.attempt,
        status=call.status.value,
        outcome=outcome_text(call),
        created_at=call.created_at,
        ended_at=call.ended_at,
        decision=call.decision,
        batch_id=call.batch_id,
    )


def candidate_detail(db: Database, candidate_id: str, user: User | None) -> CandidateView | None:
    """Everything the candidate page shows, as the user may see it (core.people.visibility):
    profile, do-not-call state, jobs, every call."""
    cand = people_store.get_candidate(db, candidate_id)
    if cand is None or cand.test_contact:  # a team member's own number is no candidate
        return None
    full = CandidateProfile.of(cand)
    profile = visible(full, user)
    jobs = people_store.jobs_by_id(db, cand.job_ids)
    calls = store.candidate_calls(db, cand.id, _DETAIL_CALL_LIMIT)
    # Calls may be for jobs the candidate was since detached from: their titles too.
    all_jobs = {**jobs, **people_store.jobs_by_id(db, {c.job_id for c in calls} - set(jobs))}
    return CandidateView(
        candidate=profile,
        zone=describe_zone(cand.timezone or "", full.phone or ""),
        do_not_call=do_not_call_state(cand),
        jobs=[
            CandidateJob(id=j, title=jobs[j].title, status=jobs[j].status.value)
            if j in jobs
            else CandidateJob(id=j, title=j, status="missing")
            for j in cand.job_ids
        ],
        calls=[_call(c, all_jobs) for c in calls],
    )


def human_requests(db: Database, candidate_id: str) -> list[HumanRequest]:
    """The jobs for which the candidate asked on a call for a person, with their reason."""
    cand = people_store.get_candidate(db, candidate_id)
    if cand is None or not cand.human_requested:
        return []
    jobs = people_store.jobs_by_id(db, set(cand.human_requested))
    out = []
    for job_id, request in sorted(cand.human_requested.items()):
        try:
            reason = crypto.decrypt(request.get("reason")) or ""
        except crypto.CryptoError:
            reason = "(cannot be decrypted)"
        out.append(HumanRequest(job_id=job_id, job=jobs[job_id].title if job_id in jobs else job_id,
                                reason=reason, call_id=request.get("call_id"), at=request.get("at")))
    return out


def opt_out_request(db: Database, candidate_id: str) -> OptOutRequest | None:
    """The call on which the candidate asked not to be called again, with their words when the
    transcript is still kept (None: no such request is in force)."""
    cand = people_store.get_candidate(db, candidate_id)
    if cand is None or not cand.do_not_call or not cand.do_not_call_call_id:
        return None
    call_id = cand.do_not_call_call_id
    call = store.get_call(db, call_id)
    job = people_store.job_summary(db, call.job_id) if call else None
    transcript = store.get_transcript(db, call_id)
    words = None
    for message in (transcript.messages if transcript else None) or []:
        text = crypto.decrypt(message.text) if message.role == "user" else None
        if text and detect_opt_out([{"role": "user", "text": text}]):
            words = text
            break
    return OptOutRequest(
        call_id=call_id,
        at=cand.do_not_call_at,
        job=(job.title if job else "") or "(deleted job)",
        words=words,
    )
