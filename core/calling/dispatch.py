"""The worker's dispatcher (`run_once`): dials due queued calls within every limit."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from core.agent.models import GlobalVoiceConfig
from core.agent.settings import get_global_config, job_effective_config
from core.calling import admission, batch_store, dialing, gate, queue_store, refusals
from core.calling import store as call_store
from core.calling.batches import PAUSED, RUNNING, check_failure_spike, finish_batches
from core.calling.transitions import mark_failed
from core.config import get_settings
from core.db import Database, server_now, utcnow
from core.documents.call import Call
from core.documents.status import CallStatus
from core.people import candidates as people_candidates
from core.people import store as people_store
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.ultravox import get_ultravox

_SCAN_LIMIT = 500  # terminal calls examined per run for retries (the rest next run)
# A call refused by the budget while calls in progress hold reservations looks again this soon.
_BUDGET_RECHECK = timedelta(seconds=60)


def _hold(db: Database, call_id: str, owner: str, reason: str, *, until: datetime | None = None,
          window: dict | None = None) -> None:
    """Keep a call queued: until a time (calling hours), or for a person (until=None)."""
    fields: dict[str, Any] = {"next_attempt_at": until, "hold_reason": None if until else reason,
                              "wait_reason": reason, "updated_at": utcnow()}
    if window is not None:
        fields["calling_window"] = window
    queue_store.hold(db, call_id, owner, fields)


def recover_stale(db: Database, now: datetime) -> int:
    """Fail calls claimed by a worker that died before Ultravox knew them; never re-dial them."""
    cutoff = now - timedelta(seconds=get_settings().dispatch_stale_seconds)
    failed = 0
    for call_id in queue_store.stale_before_ultravox(db, cutoff):
        try:
            found = get_ultravox().list_calls(metadata={"screeningId": call_id}, max_items=1)
        except (ProviderError, ProviderUnavailable):
            continue  # cannot tell now: look again next run rather than guess
        if found:
            # It reached Ultravox: its own webhooks (metadata screeningId) will end it.
            call_store.adopt_ultravox_id(db, call_id, found[0].call_id)
            continue
        if mark_failed(db, call_id, "interrupted before dialling (the worker stopped); "
                                    "not re-dialled automatically"):
            failed += 1
    # Died between the two providers, before the Twilio create could leave (no `twilio_sent_at`):
    # the agent side has ended without anyone joining — nothing will ever move it on. A call
    # whose create may have left is never failed here: the sweeper's lookup settles it.
    for call_id in queue_store.stale_between_providers(db, cutoff):
        if mark_failed(db, call_id, "interrupted between Ultravox and Twilio (the "
                                    "worker stopped); the phone was never dialled"):
            failed += 1
    return failed


def retryable(call: Call, cfg: GlobalVoiceConfig) -> bool:
    """True if the retry policy allows another attempt after how this call ended."""
    if call.opt_out:
        return False
    if call.status in (CallStatus.NO_ANSWER, CallStatus.BUSY):
        return True
    return call.status == CallStatus.VOICEMAIL and cfg.retry_policy.retry_after_voicemail


def schedule_retries(db: Database, now: datetime, configs: dict[str, GlobalVoiceConfig]) -> int:
    """Queue the next attempt of batch calls that ended no-answer/busy (voicemail if configured),
    and of any call whose candidate asked to be called back (a single call's only follow-on)."""
    scheduled = 0
    for call in queue_store.ended_awaiting_retry_decision(db, limit=_SCAN_LIMIT):
        cfg = _config(db, configs, call.job_id)
        batch = batch_store.batch_status(db, call.batch_id or "")
        cand = people_store.get_candidate(db, call.candidate_id)
        retry_id = None
        # A single call has no batch to be running: only its call-back is queued (below).
        # A test call to a team member's own number is never called back by itself.
        job = people_store.get_job(db, call.job_id)
        may_queue = ((batch in (RUNNING, PAUSED) or not (call.batch_id or call.test_call))
                     and not (cand and cand.do_not_call)
                     and not (job and not job.takes_calls))  # a closed job places no new call
        first = call.first_call_id or call.id
        doc, kind = None, None
        if may_queue and call.status == CallStatus.CANCELED and call.requeue_at:
            # Not dialled after all (calling hours closed during the dial): the same attempt
            # again when the window opens.
            doc = call_store.new_call_doc(
                call.candidate_id, call.job_id, actor="dispatch", batch_id=call.batch_id,
                attempt=call.attempt, call_id=f"{call.id}-w", first_call_id=first,
                next_attempt_at=call.requeue_at)
            kind = "window"
        elif may_queue and call.callback and call.callback.get("at") and not call.callback.get("flagged"):
            # The candidate asked to be called back then: the next attempt, not a used-up one.
            doc = call_store.new_call_doc(
                call.candidate_id, call.job_id, actor="dispatch", batch_id=call.batch_id,
                attempt=call.attempt, call_id=f"{call.id}-cb", first_call_id=first,
                next_attempt_at=call.callback["at"])
            kind = "callback"
        elif (may_queue and call.batch_id and retryable(call, cfg)
              and call.attempt < cfg.retry_policy.max_attempts):
            base = call.ended_at or call.updated_at or now
            # A deterministic id makes scheduling idempotent across workers and reruns.
            doc = call_store.new_call_doc(
                call.candidate_id, call.job_id, actor="dispatch", batch_id=call.batch_id,
                attempt=call.attempt + 1, call_id=f"{first}-{call.attempt + 1}", first_call_id=first,
                next_attempt_at=base + timedelta(minutes=cfg.retry_policy.spacing_minutes))
            kind = "retry"
        if doc is not None:
            doc["retry_of"] = call.id
            # What the lists say while it waits: "retry at 08:44, Denver time (attempt 2 of 3)".
            doc["wait_kind"] = kind
            doc["max_attempts"] = cfg.retry_policy.max_attempts
            doc["candidate_zone"] = call.calling_window.zone if call.calling_window else None
            # A duplicate: already scheduled, or another open call exists for the pair.
            if call_store.insert_call(db, doc):
                scheduled += 1
                retry_id = doc["_id"]
        queue_store.mark_retry_handled(db, call.id, retry_id)
    return scheduled


def _config(db: Database, cache: dict[str, GlobalVoiceConfig], job_id: str) -> GlobalVoiceConfig:
    if job_id not in cache:
        cache[job_id] = job_effective_config(db, job_id)
    return cache[job_id]


def run_once(db: Database, *, now: datetime | None = None, max_seconds: float | None = None) -> str:
    """One dispatcher pass: housekeeping, then dial due calls within every limit; a summary."""
    settings = get_settings()
    fixed_now = now
    owner = gate.worker_id()
    stats: Counter[str] = Counter()
    configs: dict[str, GlobalVoiceConfig] = {}
    global_cfg = get_global_config(db)
    # The database's clock, not this host's: calling hours, leases and staleness are judged
    # the same way by every worker, whatever its own clock says.
    current = fixed_now or server_now(db)
    gate.sweep_gate(db)
    stats["stale_failed"] = recover_stale(db, current)
    stats["retries"] = schedule_retries(db, current, configs)
    running = batch_store.running_batches(db)
    for batch in running:
        if check_failure_spike(db, batch):
            stats["paused"] += 1
    running_ids = [b.id for b in running if batch_store.batch_status(db, b.id) == RUNNING]
    deadline = time.monotonic() + (max_seconds or settings.dispatch_run_seconds)
    lease = timedelta(seconds=settings.dispatch_lease_seconds)
    # Also with no batch running: a single call's call-back may be due.
    while time.monotonic() < deadline:
        current = fixed_now or server_now(db)
        call = queue_store.lease_next(db, running_ids, owner, current, current + lease)
        if call is None:
            break
        cand = people_store.get_candidate(db, call.candidate_id)
        job = people_store.get_job(db, call.job_id)
        cfg = _config(db, configs, call.job_id)
        if cand is None:
            call_store.cancel_queued(db, call.id, "the candidate was deleted")
            continue
        refused = refusals.refusal(cand, job, cfg)
        if refused is None and people_candidates.candidate_listed(db, cand):
            refused = refusals.LaunchRefused("do_not_call", people_candidates.ERASED_DO_NOT_CALL)
        if refused:
            call_store.cancel_queued(db, call.id, str(refused))
            stats["refused"] += 1
            continue
        window = refusals.window_check(cand, cfg, current)
        if not window.allowed:
            _hold(db, call.id, owner, window.reason, until=window.next_open_at,
                  window=window.as_record())
            stats["held" if window.held else "deferred"] += 1
            continue
        if call.batch_id and batch_store.batch_status(db, call.batch_id) != RUNNING:
            queue_store.unlease(db, call.id, owner)
            running_ids = [b for b in running_ids if b != call.batch_id]
            continue
        admitted = admission.admit(db, call, cand, by=owner, lease_owner=owner, global_cfg=global_cfg,
                                   job_cfg=cfg, window=window.as_record(),
                                   max_wait=max(0.0, deadline - time.monotonic()))
        if admitted.kind == "slot":
            queue_store.unlease(db, call.id, owner)
            stats["waiting_for_slot"] += 1
            break
        if admitted.kind == "budget":
            # Calls in progress may end under their maximum and give room back: look again
            # soon. Otherwise the budget is spent: the call waits for a person (or next month).
            _hold(db, call.id, owner, admitted.reason,
                  until=current + _BUDGET_RECHECK if admitted.retry_soon else None)
            stats["over_budget"] += 1
            continue
        claimed = admitted.call
        if claimed is None:  # our lease expired and someone else took it
            continue
        result = dialing.dial(db, claimed)
        stats["dialled"] += 1
        if result.status == CallStatus.FAILED:
            stats["failed"] += 1
            batch_doc = batch_store.get_batch(db, call.batch_id) if call.batch_id else None
            if batch_doc and check_failure_spike(db, batch_doc):
                stats["paused"] += 1
                running_ids = [b for b in running_ids if b != call.batch_id]
    stats["finished_batches"] = finish_batches(db)
    return ", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if v)
