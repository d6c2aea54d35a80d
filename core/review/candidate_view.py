"""The candidate page: profile, do-not-call state, jobs and every call."""

from __future__ import annotations

from core.calling.outcome import outcome_text
from core.db import Database
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.people import store as people_store
from core.people.candidates import describe_zone
from core.people.models import CandidateProfile
from core.review import store
from core.review.models import CandidateCall, CandidateJob, CandidateView, DoNotCall

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
        job=job.title if job else call.job_id,
        attempt=call.attempt,
        status=call.status.value,
        outcome=outcome_text(call),
        created_at=call.created_at,
        ended_at=call.ended_at,
        decision=call.decision,
        batch_id=call.batch_id,
    )


def candidate_detail(db: Database, candidate_id: str) -> CandidateView | None:
    """Everything the candidate page shows: profile, do-not-call state, jobs, every call."""
    cand = people_store.get_candidate(db, candidate_id)
    if cand is None:
        return None
    profile = CandidateProfile.of(cand)
    jobs = people_store.jobs_by_id(db, cand.job_ids)
    calls = store.candidate_calls(db, cand.id, _DETAIL_CALL_LIMIT)
    # Calls may be for jobs the candidate was since detached from: their titles too.
    all_jobs = {**jobs, **people_store.jobs_by_id(db, {c.job_id for c in calls} - set(jobs))}
    return CandidateView(
        candidate=profile,
        zone=describe_zone(cand.timezone or "", profile.phone or ""),
        do_not_call=do_not_call_state(cand),
        jobs=[
            CandidateJob(id=j, title=jobs[j].title, status=jobs[j].status.value)
            if j in jobs
            else CandidateJob(id=j, title=j, status="missing")
            for j in cand.job_ids
        ],
        calls=[_call(c, all_jobs) for c in calls],
    )
