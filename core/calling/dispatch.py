"""The worker's dispatcher (`run_once`): dials due queued calls within every limit."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.agent.models import GlobalVoiceConfig
from core.agent.settings import job_effective_config
from core.calling import budget, dialing, refusals
from core.calling import gate as dial_gate
from core.calling import store as call_store
from core.calling.batches import PAUSED, RUNNING, check_failure_spike, finish_batches
from core.documents.status import TERMINAL_VALUES as _TERMINAL
from core.documents.status import CallStatus
from core.config import get_settings
from core.db import BATCHES, CALLS, CANDIDATES, JOBS, utcnow
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.ultravox import get_ultravox
from core.usage import spend

_SCAN_LIMIT = 500  # terminal calls examined per run for retries (the rest next run)


# -- the dispatcher -------------------------------------------------------------------------


def _hold(db: Database, call_id: str, owner: str, reason: str, *, until: datetime | None = None,
          window: dict | None = None) -> None:
    """Keep a call queued: until a time (calling hours), or for a person (until=None)."""
    fields: dict[str, Any] = {"next_attempt_at": until, "hold_reason": None if until else reason,
                              "wait_reason": reason, "updated_at": utcnow()}
    if window is not None:
        fields["calling_window"] = window
    db[CALLS].update_one({"_id": call_id, "status": CallStatus.QUEUED.value, "lease_owner": owner},
                         {"$set": fields, "$unset": {"lease_owner": "", "lease_until": ""}})


def _unlease(db: Database, call_id: str, owner: str) -> None:
    db[CALLS].update_one({"_id": call_id, "lease_owner": owner},
                         {"$unset": {"lease_owner": "", "lease_until": ""}})


def _lease_next(db: Database, batch_ids: list[str], owner: str, now: datetime) -> dict | None:
    """Atomically take the next due queued call for a short lease (expires if we die)."""
    lease = timedelta(seconds=get_settings().dispatch_lease_seconds)
    return db[CALLS].find_one_and_update(
        {"status": CallStatus.QUEUED.value, "batch_id": {"$in": batch_ids},
         "next_attempt_at": {"$lte": now},
         "$or": [{"lease_until": {"$exists": False}}, {"lease_until": None},
                 {"lease_until": {"$lt": now}}]},
        {"$set": {"lease_owner": owner, "lease_until": now + lease}},
        sort=[("next_attempt_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def recover_stale(db: Database, now: datetime) -> int:
    """Fail calls claimed by a worker that died before Ultravox knew them; never re-dial them."""
    cutoff = now - timedelta(seconds=get_settings().dispatch_stale_seconds)
    failed = 0
    for call in db[CALLS].find({"status": CallStatus.DIALING.value, "ultravox_call_id": None,
                                "dialed_at": {"$lt": cutoff}}, {"_id": 1}).limit(100):
        try:
            found = get_ultravox().list_calls(metadata={"screeningId": call["_id"]}, max_items=1)
        except (ProviderError, ProviderUnavailable):
            continue  # cannot tell now: look again next run rather than guess
        if found:
            # It reached Ultravox: its own webhooks (metadata screeningId) will end it.
            db[CALLS].update_one({"_id": call["_id"], "ultravox_call_id": None},
                                 {"$set": {"ultravox_call_id": found[0].call_id}})
            continue
        if call_store.mark_failed(db, call["_id"], "interrupted before dialling (the worker stopped); "
                                              "not re-dialled automatically"):
            failed += 1
    # Died between the two providers: Ultravox had the call, no Twilio leg was recorded, and
    # the agent side has ended without anyone joining — nothing will ever move it on.
    for call in db[CALLS].find({"status": CallStatus.DIALING.value,
                                "ultravox_call_id": {"$nin": [None]}, "twilio_call_sid": None,
                                "ultravox_ended": True, "joined_at": {"$exists": False},
                                "dialed_at": {"$lt": cutoff}}, {"_id": 1}).limit(100):
        if call_store.mark_failed(db, call["_id"], "interrupted between Ultravox and Twilio (the "
                                              "worker stopped); the phone was never dialled"):
            failed += 1
    return failed


def _retryable(call: dict, cfg: GlobalVoiceConfig) -> bool:
    status = call.get("status")
    if call.get("opt_out"):
        return False
    if status in (CallStatus.NO_ANSWER.value, CallStatus.BUSY.value):
        return True
    return status == CallStatus.VOICEMAIL.value and cfg.retry_policy.retry_after_voicemail


def schedule_retries(db: Database, now: datetime, configs: dict[str, GlobalVoiceConfig]) -> int:
    """Queue the next attempt of batch calls that ended no-answer/busy (voicemail if configured)."""
    scheduled = 0
    cursor = db[CALLS].find({"batch_id": {"$nin": [None]}, "status": {"$in": _TERMINAL},
                             "retry_handled": {"$exists": False}}).limit(_SCAN_LIMIT)
    for call in cursor:
        cfg = _config(db, configs, call["job_id"])
        batch = db[BATCHES].find_one({"_id": call["batch_id"]}, {"status": 1}) or {}
        cand = db[CANDIDATES].find_one({"_id": call["candidate_id"]}, {"do_not_call": 1}) or {}
        attempt = int(call.get("attempt", 1))
        retry_id = None
        if (_retryable(call, cfg) and attempt < cfg.retry_policy.max_attempts
                and batch.get("status") in (RUNNING, PAUSED) and not cand.get("do_not_call")):
            base = call.get("ended_at") or call.get("updated_at") or now
            first = call.get("first_call_id") or call["_id"]
            # A deterministic id makes scheduling idempotent across workers and reruns.
            doc = call_store.new_call_doc(
                call["candidate_id"], call["job_id"], actor="dispatch", batch_id=call["batch_id"],
                attempt=attempt + 1, call_id=f"{first}-{attempt + 1}", first_call_id=first,
                next_attempt_at=base + timedelta(minutes=cfg.retry_policy.spacing_minutes))
            doc["retry_of"] = call["_id"]
            try:
                db[CALLS].insert_one(doc)
                scheduled += 1
                retry_id = doc["_id"]
            except DuplicateKeyError:
                pass  # already scheduled, or another open call exists for the pair
        db[CALLS].update_one({"_id": call["_id"]},
                             {"$set": {"retry_handled": True, "retry_call_id": retry_id}})
    return scheduled


def _config(db: Database, cache: dict[str, GlobalVoiceConfig], job_id: str) -> GlobalVoiceConfig:
    if job_id not in cache:
        cache[job_id] = job_effective_config(db, job_id)
    return cache[job_id]


def run_once(db: Database, *, now: datetime | None = None, max_seconds: float | None = None) -> str:
    """One dispatcher pass: housekeeping, then dial due calls within every limit; a summary."""
    settings = get_settings()
    fixed_now = now
    owner = dial_gate.worker_id()
    stats: Counter[str] = Counter()
    configs: dict[str, GlobalVoiceConfig] = {}
    current = fixed_now or utcnow()
    dial_gate.sweep_gate(db)
    stats["stale_failed"] = recover_stale(db, current)
    stats["retries"] = schedule_retries(db, current, configs)
    running = list(db[BATCHES].find({"status": RUNNING}).limit(200))
    for batch in running:
        if check_failure_spike(db, batch):
            stats["paused"] += 1
    running_ids = [b["_id"] for b in running
                   if (db[BATCHES].find_one({"_id": b["_id"]}, {"status": 1}) or {})
                   .get("status") == RUNNING]
    deadline = time.monotonic() + (max_seconds or settings.dispatch_run_seconds)
    spent = None
    while running_ids and time.monotonic() < deadline:
        current = fixed_now or utcnow()
        call = _lease_next(db, running_ids, owner, current)
        if call is None:
            break
        cand = db[CANDIDATES].find_one({"_id": call["candidate_id"]}) or {}
        job = db[JOBS].find_one({"_id": call["job_id"]}) or {}
        cfg = _config(db, configs, call["job_id"])
        if not cand:
            call_store.cancel_queued(db, call["_id"], "the candidate was deleted")
            continue
        refused = refusals.refusal(cand, job, cfg)
        if refused:
            call_store.cancel_queued(db, call["_id"], str(refused))
            stats["refused"] += 1
            continue
        window = refusals.window_check(cand, cfg, current)
        if not window.allowed:
            _hold(db, call["_id"], owner, window.reason, until=window.next_open_at,
                  window=window.as_record())
            stats["held" if window.held else "deferred"] += 1
            continue
        if spent is None:
            spent = spend.month_spend(db, current)
        problem = budget.budget_problem(db, cfg, current, spent=spent)
        if problem:
            _hold(db, call["_id"], owner, problem)
            stats["over_budget"] += 1
            continue
        batch_now = db[BATCHES].find_one({"_id": call["batch_id"]}, {"status": 1}) or {}
        if batch_now.get("status") != RUNNING:
            _unlease(db, call["_id"], owner)
            running_ids = [b for b in running_ids if b != call["batch_id"]]
            continue
        slot = dial_gate.acquire_slot(db, call["_id"], calls_per_second=cfg.calls_per_second,
                                  max_concurrent=cfg.max_concurrent_calls,
                                  max_wait=max(0.0, deadline - time.monotonic()))
        if not slot.granted:
            _unlease(db, call["_id"], owner)
            stats["waiting_for_slot"] += 1
            break
        claimed = call_store.claim(db, call["_id"], by=owner, lease_owner=owner,
                              window=window.as_record(), slot_at=slot.at)
        if claimed is None:  # our lease expired and someone else took it
            dial_gate.release_slot(db, call["_id"])
            continue
        result = dialing.dial(db, claimed)
        spent += spend.estimated_call_cost(cfg)
        stats["dialled"] += 1
        if result.get("status") == CallStatus.FAILED.value:
            stats["failed"] += 1
            batch_doc = db[BATCHES].find_one({"_id": call["batch_id"]})
            if batch_doc and check_failure_spike(db, batch_doc):
                stats["paused"] += 1
                running_ids = [b for b in running_ids if b != call["batch_id"]]
    stats["finished_batches"] = finish_batches(db)
    return ", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if v)
