"""A single call placed when the calling window opens ("call when the window opens")."""

from __future__ import annotations

from datetime import datetime

from core import audit
from core.agent import settings as agent_settings
from core.auth import Action, User, require
from core.calling import admission
from core.calling import store as call_store
from core.calling.hours import opening_sentence
from core.calling.launch import LaunchResult, checked_pair
from core.calling.refusals import LaunchRefused
from core.db import Database, utcnow


def call_when_window_opens(db: Database, actor: User, candidate_id: str, job_id: str | None = None,
                           *, now: datetime | None = None) -> LaunchResult:
    """Queue one call for the next opening of the candidate's calling window (the worker dials
    it then, with every check run again); the pair's open call if there is one already.

    Refused like a launch (consent, do-not-call, budget, …), and when the window is open now
    (place the call instead) or no window opens within a week or the zone is unknown.
    """
    require(actor, Action.LAUNCH_CALLS)
    now = now or utcnow()
    pair = checked_pair(db, candidate_id, job_id, now)
    if pair.open_call is not None:
        return LaunchResult(pair.open_call, False)
    candidate, job, config, window = pair.candidate, pair.job, pair.config, pair.window
    if window.allowed:
        raise LaunchRefused("inside_hours", "The calling window is open now: place the call instead.")
    if window.next_open_at is None:
        raise LaunchRefused("calling_hours", window.reason)
    over = admission.budget_precheck(db, job.id, candidate,
                                     global_cfg=agent_settings.get_global_config(db), job_cfg=config)
    if over:
        raise LaunchRefused("budget", over)
    doc = call_store.new_call_doc(candidate.id, job.id, actor=actor.username,
                                  next_attempt_at=window.next_open_at)
    doc["scheduled_by"] = actor.username
    doc["calling_window"] = window.as_record()
    doc["wait_reason"] = window.reason
    call, created = call_store.insert_open_call(db, doc)
    if call is None:
        raise LaunchRefused("busy", "Another launch of this candidate just finished; try again.")
    if created:
        audit.record(db, actor=actor.username, action="call.scheduled", entity="call", entity_id=call.id,
                     detail=f"candidate {candidate.id} job {job.id}: "
                            + opening_sentence(window.next_open_at, window.zones, now))
    return LaunchResult(call, created)
