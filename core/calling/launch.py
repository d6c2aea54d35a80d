"""Launching one screening call now (double clicks are safe), and the test call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from core import audit, labels
from core.agent import settings as agent_settings
from core.agent.models import GlobalVoiceConfig
from core.auth import Action, User, require
from core.calling import admission
from core.calling import store as call_store
from core.calling.dialing import dial
from core.calling.hours import WindowCheck, opening_sentence
from core.calling.refusals import LaunchRefused, refusal, window_check
from core.db import Database, utcnow
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.people import candidates
from core.people import store as people_store


@dataclass(frozen=True)
class LaunchResult:
    """The call of a launch; `created` is False when an open call already existed."""

    call: Call
    created: bool


def _candidate(db: Database, candidate_id: str) -> Candidate:
    found = people_store.get_candidate(db, candidate_id)
    if found is None:
        raise LaunchRefused("not_found", "That candidate does not exist.")
    return found


def _job(db: Database, job_id: str | None) -> Job:
    job = people_store.get_job(db, job_id) if job_id else None
    if job is None:
        raise LaunchRefused("not_found", "That job does not exist.")
    return job


def resolve_job(db: Database, candidate: Candidate, job_id: str | None) -> Job:
    """The job to screen for: the one given, or the candidate's only job."""
    jobs = candidate.job_ids
    if job_id is None:
        if len(jobs) != 1:
            applies = labels.counted(len(jobs), "job") if jobs else "no job"
            raise LaunchRefused("job_required", f"The candidate applies to {applies}; "
                                "say which job this call is for.")
        job_id = jobs[0]
    job = people_store.get_job(db, job_id)
    if job is None:
        raise LaunchRefused("not_found", "That job does not exist.")
    if str(job_id) not in jobs:
        raise LaunchRefused("not_in_job", "The candidate has not applied to this job.")
    return job


@dataclass(frozen=True)
class CheckedPair:
    """A candidate and job that may be called (consent, do-not-call, …), with the job's settings
    and the calling-hours verdict now; or the pair's open call, when one exists already."""

    candidate: Candidate
    job: Job
    config: GlobalVoiceConfig
    window: WindowCheck
    open_call: Call | None = None


def checked_pair(db: Database, candidate_id: str, job_id: str | None, now: datetime,
                 *, test_call: bool = False) -> CheckedPair:
    """The checks every way of placing one call shares; raises LaunchRefused saying why not."""
    candidate = _candidate(db, candidate_id)
    # A test contact is only ever called by a test call, and a test call never calls a candidate.
    if candidate.test_contact and not test_call:
        raise LaunchRefused("not_found", "That candidate does not exist.")
    if test_call and not candidate.test_contact:
        raise LaunchRefused("not_test_contact", "A test call goes to your own number, never to a "
                                                "candidate.")
    job = _job(db, job_id) if test_call else resolve_job(db, candidate, job_id)
    config = agent_settings.job_effective_config(db, job.id)
    existing = call_store.find_open_call(db, candidate.id, job.id)
    if existing:
        return CheckedPair(candidate, job, config, window_check(candidate, config, now), existing)
    refused = refusal(candidate, job, config)
    if refused:
        raise refused
    if candidates.candidate_listed(db, candidate):
        raise LaunchRefused("do_not_call", candidates.ERASED_DO_NOT_CALL)
    return CheckedPair(candidate, job, config, window_check(candidate, config, now))


def launch_call(db: Database, actor: User, candidate_id: str, job_id: str | None = None,
                *, now: datetime | None = None, test_call: bool = False) -> LaunchResult:
    """Place one screening call now, or return the pair's open call (double clicks are safe).

    `test_call`: a team member calling their own number (a test contact, core.people), for
    `job_id`; calling hours do not apply (they chose the moment), every other rule does.
    """
    require(actor, Action.LAUNCH_CALLS)
    now = now or utcnow()
    pair = checked_pair(db, candidate_id, job_id, now, test_call=test_call)
    if pair.open_call is not None:
        return LaunchResult(pair.open_call, False)
    candidate, job, config, window = pair.candidate, pair.job, pair.config, pair.window
    if test_call:
        window = dataclasses.replace(window, allowed=True, held=False,
                                     reason="test call to a team member's own number")
    if not window.allowed:
        code = "zone_unknown" if window.held else "calling_hours"
        when = (" " + opening_sentence(window.next_open_at, window.zones, now)
                if window.next_open_at else "")
        raise LaunchRefused(code, window.reason + when)
    global_cfg = agent_settings.get_global_config(db)
    over = admission.budget_precheck(db, job.id, candidate, global_cfg=global_cfg, job_cfg=config)
    if over:
        raise LaunchRefused("budget", over)
    new_doc = call_store.new_call_doc(candidate.id, job.id, actor=actor.username)
    new_doc["test_call"] = test_call
    call, created = call_store.insert_open_call(db, new_doc)
    if call is None:
        raise LaunchRefused("busy", "Another launch of this candidate just finished; try again.")
    if not created:
        return LaunchResult(call, False)
    admitted = admission.admit(db, call, candidate, by=f"launch:{actor.username}",
                               global_cfg=global_cfg, job_cfg=config,
                               window=window.as_record(), max_wait=10.0)
    if admitted.kind in ("slot", "budget"):
        # Nothing was dialled: the queued call ends now, so it blocks no later launch.
        call_store.cancel_queued(db, call.id, f"Not dialled: {admitted.reason}")
        if admitted.kind == "budget":
            raise LaunchRefused("budget", admitted.reason)
        raise LaunchRefused("busy", f"Not dialled: {admitted.reason.rstrip('.')}. Try again shortly.")
    claimed = admitted.call
    if claimed is None:  # canceled in between
        return LaunchResult(call_store.get_call(db, call.id) or call, False)
    if test_call:
        # Who called which number for which job; the number masked as everywhere else.
        audit.record(db, actor=actor.username, action="call.test_call", entity="call",
                     entity_id=call.id, detail=f"test call to …{candidate.phone_last4 or '????'} "
                                               f"with the settings of job {job.id}")
    else:
        audit.record(db, actor=actor.username, action="call.launch", entity="call",
                     entity_id=call.id, detail=f"candidate {candidate.id} job {job.id}")
    return LaunchResult(dial(db, claimed), True)


def place_test_call(db: Database, actor: User, job_id: str, phone: str) -> LaunchResult:
    """Call the actor's own number with the job's effective settings, through the launch path
    (a candidate's number is refused; the call is no screening but is paid for and audited)."""
    require(actor, Action.LAUNCH_CALLS)
    _job(db, job_id)
    contact = candidates.own_number_contact(db, actor, phone=phone)
    return launch_call(db, actor, contact.id, job_id, test_call=True)
