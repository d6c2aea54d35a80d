"""The candidate page: profile, do-not-call state, jobs and every call."""

from __future__ import annotations

import dataclasses

from pymongo.database import Database

from core.calling.outcome import outcome_text
from core.db import CALLS, JOBS
from core.people.candidates import describe_zone, get_candidate

_DETAIL_CALL_LIMIT = 200  # a candidate has a handful of calls; the cap guards the page


def candidate_detail(db: Database, candidate_id: str) -> dict | None:
    """Everything the candidate page shows: profile, do-not-call state, jobs, every call."""
    profile = get_candidate(db, candidate_id)
    if profile is None:
        return None
    cand = dataclasses.asdict(profile)
    jobs = {d["_id"]: d for d in db[JOBS].find({"_id": {"$in": cand["job_ids"]}})}
    calls = list(db[CALLS].find({"candidate_id": cand["id"]},
                                {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0})
                 .sort("created_at", -1).limit(_DETAIL_CALL_LIMIT))
    all_jobs = {**jobs, **{d["_id"]: d for d in db[JOBS].find(
        {"_id": {"$in": sorted({c["job_id"] for c in calls} - set(jobs))}})}}
    rows = []
    for c in calls:
        review = c.get("review") or {}
        rows.append({
            "id": c["_id"],
            "job_id": c.get("job_id"),
            "job": (all_jobs.get(c.get("job_id")) or {}).get("title", c.get("job_id")),
            "attempt": c.get("attempt", 1),
            "status": c.get("status"),
            "outcome": outcome_text(c),
            "created_at": c.get("created_at"),
            "ended_at": c.get("ended_at"),
            "decision": review.get("decision"),
            "batch_id": c.get("batch_id"),
        })
    return {
        "candidate": cand,
        "zone": describe_zone(cand.get("timezone", ""), cand["phone"]),
        "do_not_call": {
            "active": bool(cand.get("do_not_call")),
            "at": cand.get("do_not_call_at"),
            "reason": cand.get("do_not_call_reason")
            or ("asked on a call" if cand.get("do_not_call_call_id") else None),
            "call_id": cand.get("do_not_call_call_id"),
        },
        "jobs": [{"id": j, "title": (jobs.get(j) or {}).get("title", j),
                  "status": (jobs.get(j) or {}).get("status", "missing")} for j in cand["job_ids"]],
        "calls": rows,
    }
