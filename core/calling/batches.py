"""Batches of screening calls: create, pause, resume, cancel, progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from core import audit
from core.agent.models import GlobalVoiceConfig
from core.agent.settings import get_global_config, job_effective_config
from core.auth import Action, User, require
from core.calling import admission, batch_store, queue_store, refusals
from core.calling import store as call_store
from core.calling.hours import opening_sentence, opening_words
from core.calling.outcome import outcome_text
from core.calling.reasons import clean_reason
from core.config import get_settings
from core.db import Database, new_id, utcnow
from core.documents.batch import Batch, BatchStatus
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.documents.status import TERMINAL_VALUES, CallStatus
from core.errors import UserError
from core.people import store as people_store

log = logging.getLogger(__name__)

RUNNING, PAUSED, CANCELED, DONE = (BatchStatus.RUNNING, BatchStatus.PAUSED, BatchStatus.CANCELED,
                                   BatchStatus.DONE)
_MAX_BATCH = 10_000  # candidates per batch; the import limit is the same
_MAX_SKIPPED_KEPT = 1000


class BatchError(UserError, ValueError):
    """A batch operation that cannot be done; the message is for people."""


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch stands: per status of each candidate's latest attempt, held calls, done share."""

    batch: Batch | None
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    finished: int = 0
    held: int = 0
    attempts: int = 0

    @property
    def fraction(self) -> float:
        """Share of candidates whose latest attempt has ended (1.0 for an empty batch)."""
        return (self.finished / self.total) if self.total else 1.0


def skip_reason(cand: Candidate, job_id: str, config: GlobalVoiceConfig) -> str | None:
    """Why a batch leaves this candidate out (standing reasons only), or None."""
    if cand.do_not_call:
        return "on the do-not-call list"
    if str(job_id) in (cand.human_requested or {}):
        return "asked for a person on an earlier call for this job"
    if config.require_consent and not cand.consent:
        return "no consent (the settings require it)"
    return None


@dataclass(frozen=True)
class BatchPreview:
    """What a batch would do now: how many it queues, who it skips and why, and what may delay
    the calls (calling hours closed for some candidates, no room in the budget)."""

    to_call: int
    skipped: dict[str, int] = field(default_factory=dict)  # reason → candidates
    outside_hours: int = 0
    budget_note: str = ""


def _open_job(db: Database, job_id: str) -> tuple[Job, GlobalVoiceConfig]:
    """The job a batch is for, with its settings; refused when it is unknown or archived."""
    job = people_store.get_job(db, job_id)
    if job is None:
        raise BatchError("That job does not exist.")
    if job.archived:
        raise BatchError("The job is archived; no new calls are placed for it.")
    if not job.takes_calls:
        raise BatchError("The job is closed; no new calls are placed for it. Reopen it to call again.")
    return job, job_effective_config(db, job.id)


def preview_batch(db: Database, actor: User, job_id: str, candidate_ids: list[str],
                  *, now: datetime | None = None) -> BatchPreview:
    """The confirmation of a batch for these candidates: the same checks as `create_batch`
    (do-not-call, asked for a person, consent, an open call) plus calling hours and budget now."""
    require(actor, Action.LAUNCH_CALLS)
    job, config = _open_job(db, job_id)
    cands = people_store.candidates_of_job(db, job.id, ids=candidate_ids, limit=_MAX_BATCH + 1)
    if len(cands) > _MAX_BATCH:
        raise BatchError(f"A batch holds at most {_MAX_BATCH:,} candidates.")
    busy = queue_store.open_candidates(db, job.id)
    now = now or utcnow()
    skipped: dict[str, int] = {}
    callable_ = []
    for cand in cands:
        reason = skip_reason(cand, job.id, config)
        if reason is None and cand.id in busy:
            reason = "already has an open call for this job"
        if reason is None:
            callable_.append(cand)
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    closed = sum(1 for c in callable_ if not refusals.window_check(c, config, now).allowed)
    note = ""
    if callable_:
        note = admission.budget_precheck(db, job.id, callable_[0], global_cfg=get_global_config(db),
                                         job_cfg=config)
    return BatchPreview(to_call=len(callable_), skipped=skipped, outside_hours=closed,
                        budget_note=note)


def create_batch(db: Database, actor: User, job_id: str, candidate_ids: list[str] | None = None,
                 *, name: str = "") -> Batch:
    """Queue calls for the chosen candidates, or for everyone of the job not yet screened."""
    require(actor, Action.LAUNCH_CALLS)
    job, config = _open_job(db, job_id)
    if candidate_ids is not None and not candidate_ids:
        raise BatchError("Choose at least one candidate.")
    cands = people_store.candidates_of_job(db, job.id, ids=candidate_ids, limit=_MAX_BATCH + 1)
    if len(cands) > _MAX_BATCH:
        raise BatchError(f"A batch holds at most {_MAX_BATCH:,} candidates.")
    screened = queue_store.screened_candidates(db, job.id) if candidate_ids is None else set()
    batch_id = new_id()
    now = utcnow()
    first = {"_id": batch_id, "job_id": job.id,
             "name": name.strip()[:100] or f"{job.title or 'Job'} — {now:%Y-%m-%d %H:%M} UTC",
             "status": RUNNING.value, "pause_reason": None, "created_by": actor.username,
             "created_at": now, "updated_at": now, "spike_since": now, "queued": 0, "skipped": []}
    batch_store.insert_batch(db, first)
    queued, skipped = 0, []
    for cand in cands:
        if cand.id in screened:
            continue
        reason = skip_reason(cand, job.id, config)
        if reason is None:
            doc = call_store.new_call_doc(cand.id, job.id, actor=actor.username, batch_id=batch_id)
            if call_store.insert_call(db, doc):
                queued += 1
                continue
            reason = "already has an open call for this job"
        skipped.append({"candidate_id": cand.id, "name": cand.name or None, "reason": reason})
    batch_store.set_outcome_of_queueing(
        db, batch_id, queued=queued, skipped=skipped[:_MAX_SKIPPED_KEPT], skipped_count=len(skipped),
        status=RUNNING if queued else DONE, finished_at=None if queued else utcnow())
    audit.record(db, actor=actor.username, action="batch.create", entity="batch", entity_id=batch_id,
                 detail=f"job {job.id}: {queued} queued, {len(skipped)} skipped")
    return batch_store.get_batch(db, batch_id) or Batch.model_validate(first)


def get_batch(db: Database, batch_id: str) -> Batch | None:
    """One batch by id."""
    return batch_store.get_batch(db, batch_id)


def list_batches(db: Database, *, job_id: str | None = None, limit: int = 50) -> list[Batch]:
    """Recent batches, newest first (bounded)."""
    return batch_store.list_batches(db, job_id=job_id, limit=limit)


def _set_status(db: Database, actor: User, batch_id: str, new: BatchStatus,
                allowed_from: list[BatchStatus], extra: dict | None = None) -> Batch:
    require(actor, Action.LAUNCH_CALLS)
    moved = batch_store.move_status(db, batch_id, new, allowed_from, extra)
    if moved is None:
        current = batch_store.get_batch(db, batch_id)
        if current is None:
            raise BatchError("That batch does not exist.")
        raise BatchError(f"The batch is {current.status.value}; it cannot be set to {new.value}.")
    audit.record(db, actor=actor.username, action=f"batch.{new.value}", entity="batch",
                 entity_id=str(batch_id))
    return moved


def pause_batch(db: Database, actor: User, batch_id: str) -> Batch:
    """Stop dialling new calls of a batch (live calls finish)."""
    return _set_status(db, actor, batch_id, PAUSED, [RUNNING],
                       {"pause_reason": f"paused by {actor.username}"})


def resume_batch(db: Database, actor: User, batch_id: str) -> Batch:
    """Dial again; failures before now no longer count towards the failure-spike check."""
    return _set_status(db, actor, batch_id, RUNNING, [PAUSED],
                       {"pause_reason": None, "spike_since": utcnow()})


def cancel_batch(db: Database, actor: User, batch_id: str) -> Batch:
    """Cancel every not-yet-dialled call of a batch (calls already live finish)."""
    batch = _set_status(db, actor, batch_id, CANCELED, [RUNNING, PAUSED],
                        {"pause_reason": f"canceled by {actor.username}", "finished_at": utcnow()})
    for call_id in queue_store.queued_of_batch(db, batch.id):
        call_store.cancel_queued(db, call_id, f"batch canceled by {actor.username}")
    return batch


def release_holds(db: Database, actor: User, batch_id: str) -> int:
    """Let held calls of a batch be tried again (after a person fixed the time zone or budget)."""
    require(actor, Action.LAUNCH_CALLS)
    released = queue_store.release_holds(db, batch_id, utcnow(), by=actor.username)
    audit.record(db, actor=actor.username, action="batch.release_holds", entity="batch",
                 entity_id=str(batch_id), detail=f"{released} calls released")
    return released


def batch_progress(db: Database, batch_id: str) -> BatchProgress:
    """Counts per status of each candidate's latest attempt, held calls and the done share."""
    counts: dict[str, int] = {s.value: 0 for s in CallStatus}
    held = attempts = 0
    for row in queue_store.latest_status_counts(db, batch_id):
        counts[row.status] = row.candidates
        held += row.held
        attempts += row.attempts
    return BatchProgress(batch=batch_store.get_batch(db, batch_id), counts=counts,
                         total=sum(counts.values()), finished=sum(counts[s] for s in TERMINAL_VALUES),
                         held=held, attempts=attempts)


def waiting_sentence(db: Database, batch_id: str, now: datetime | None = None) -> str | None:
    """Why a batch's queued calls wait, in one sentence with the next time on the candidate's
    clock ("2 calls wait for calling hours: the calling window opens at 09:00 …"); None if none."""
    now = now or utcnow()
    count, first = queue_store.waiting_calls(db, batch_id, now)
    if first is None or first.next_attempt_at is None:
        return None
    calls = "1 call waits" if count == 1 else f"{count} calls wait"
    if first.wait_kind:
        return f"{calls} for a later attempt; the next: {outcome_text(first)}."
    zones = list(first.calling_window.zones if first.calling_window else [])
    if (first.wait_reason or "").startswith("Outside calling hours"):
        return f"{calls} for calling hours. {opening_sentence(first.next_attempt_at, zones, now)}"
    why = first.wait_reason or "until a later time"
    return f"{calls}: {why} (next at {opening_words(first.next_attempt_at, zones)})."


def held_calls(db: Database, batch_id: str, limit: int = 200) -> list[Call]:
    """Queued calls of a batch waiting for a person, with the reason."""
    return queue_store.held_calls(db, batch_id, limit)


def check_failure_spike(db: Database, batch: Batch) -> str | None:
    """Pause a batch when more than half of its last N attempts failed; returns the reason."""
    window = get_settings().dispatch_failure_window
    last = queue_store.latest_ended(db, batch.id, batch.spike_since or batch.created_at, window)
    if len(last) < window:
        return None
    failed = [c for c in last if c.status == CallStatus.FAILED]
    if len(failed) * 2 <= window:
        return None
    latest = clean_reason(failed[0].failure_reason) or "no reason recorded"
    reason = (f"Paused automatically: {len(failed)} of the last {window} calls failed "
              f"(latest: {latest}). Check the numbers and the provider status, then resume.")
    if batch_store.pause_if_running(db, batch.id, reason):
        audit.record(db, actor="dispatch", action="batch.paused", entity="batch",
                     entity_id=batch.id, detail=reason)
        log.warning("batch %s paused: failure spike", batch.id)
    return reason


def finish_batches(db: Database) -> int:
    """Mark running batches done when nothing is queued, live or awaiting a retry decision."""
    done = 0
    for batch in batch_store.running_batches(db):
        if not queue_store.has_pending(db, batch.id) and batch_store.finish_if_running(db, batch.id):
            done += 1
    return done
