"""Launching one screening call now (double clicks are safe), and the test call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database

from core import audit
from core.agent import settings as agent_settings
from core.auth import Action, User, require
from core.calling.budget import budget_problem
from core.calling.dialing import dial
from core.calling.gate import acquire_slot, release_slot
from core.calling.refusals import LaunchRefused, refusal, window_check
from core.calling.store import (
    cancel_queued,
    claim,
    get_call,
    insert_open_call,
    new_call_doc,
    open_key,
    public_call,
)
from core.db import CALLS, CANDIDATES, JOBS, utcnow
from core.people import candidates


@dataclass(frozen=True)
class LaunchResult:
    """The call of a launch; `created` is False when an open call already existed."""

    call: dict[str, Any]
    created: bool


# -- refusals --------------------------------------------------------------------------------


def _candidate_doc(db: Database, candidate_id: str) -> dict:
    doc = db[CANDIDATES].find_one({"_id": str(candidate_id)})
    if doc is None:
        raise LaunchRefused("not_found", "That candidate does not exist.")
    return doc


def resolve_job(db: Database, candidate: dict, job_id: str | None) -> dict:
    """The job to screen for: the one given, or the candidate's only job."""
    jobs = candidate.get("job_ids") or []
    if job_id is None:
        if len(jobs) != 1:
            raise LaunchRefused("job_required", "The candidate applies to "
                                f"{len(jobs) or 'no'} job(s); say which job this call is for.")
        job_id = jobs[0]
    job = db[JOBS].find_one({"_id": str(job_id)})
    if job is None:
        raise LaunchRefused("not_found", "That job does not exist.")
    if str(job_id) not in jobs:
        raise LaunchRefused("not_in_job", "The candidate has not applied to this job.")
    return job


# -- launch one call ----------------------------------------------------------------------------


def launch_call(db: Database, actor: User, candidate_id: str, job_id: str | None = None,
                *, now: datetime | None = None, test_call: bool = False) -> LaunchResult:
    """Place one screening call now, or return the pair's open call (double clicks are safe).

    `test_call`: a team member calling their own number; calling hours do not apply (they
    chose the moment), every other rule does.
    """
    require(actor, Action.LAUNCH_CALLS)
    now = now or utcnow()
    candidate = _candidate_doc(db, candidate_id)
    job = resolve_job(db, candidate, job_id)
    existing = db[CALLS].find_one({"open_key": open_key(candidate["_id"], job["_id"])})
    if existing:
        return LaunchResult(public_call(existing), False)  # type: ignore[arg-type]
    config = agent_settings.job_effective_config(db, job["_id"])
    refused = refusal(candidate, job, config)
    if refused:
        raise refused
    window = window_check(candidate, config, now)
    if test_call:
        window = dataclasses.replace(window, allowed=True, held=False,
                                     reason="test call to a team member's own number")
    if not window.allowed:
        code = "zone_unknown" if window.held else "calling_hours"
        when = (f" The window opens at {window.next_open_at:%Y-%m-%d %H:%M} UTC."
                if window.next_open_at else "")
        raise LaunchRefused(code, window.reason + when)
    problem = budget_problem(db, config, now)
    if problem:
        raise LaunchRefused("budget", problem)
    new_doc = new_call_doc(candidate["_id"], job["_id"], actor=actor.username)
    new_doc["test_call"] = test_call
    doc, created = insert_open_call(db, new_doc)
    if not created:
        return LaunchResult(public_call(doc), False)  # type: ignore[arg-type]
    slot = acquire_slot(db, doc["_id"], calls_per_second=config.calls_per_second,
                        max_concurrent=config.max_concurrent_calls, max_wait=10.0)
    if not slot.granted:
        cancel_queued(db, doc["_id"], f"Not dialled: {slot.reason}")
        raise LaunchRefused("busy", f"Not dialled: {slot.reason}. Try again shortly.")
    claimed = claim(db, doc["_id"], by=f"launch:{actor.username}", window=window.as_record(),
                    slot_at=slot.at)
    if claimed is None:  # canceled in between
        release_slot(db, doc["_id"])
        return LaunchResult(get_call(db, doc["_id"]) or public_call(doc), False)  # type: ignore[arg-type]
    audit.record(db, actor=actor.username, action="call.launch", entity="call",
                 entity_id=doc["_id"], detail=f"candidate {candidate['_id']} job {job['_id']}")
    return LaunchResult(dial(db, claimed), True)


def place_test_call(db: Database, actor: User, job_id: str, phone: str) -> LaunchResult:
    """Call the actor's own number with the job's effective settings, through the launch path."""
    require(actor, Action.LAUNCH_CALLS)

    candidate = candidates.upsert_test_candidate(db, actor, phone=phone, job_id=job_id)
    return launch_call(db, actor, candidate["id"], job_id, test_call=True)
