"""Batches of screening calls and the worker's dispatcher (`run_once`), safe with many workers."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import audit, calls
from core.auth import Action, User, require
from core.config import get_settings
from core.db import BATCHES, CALLS, CANDIDATES, JOBS, new_id, utcnow
from core.models import TERMINAL_STATUSES, CallStatus, GlobalVoiceConfig
from core.resilience import ProviderError, ProviderUnavailable
from core.ultravox import get_ultravox
from core.voice_config import job_effective_config

log = logging.getLogger(__name__)

RUNNING, PAUSED, CANCELED, DONE = "running", "paused", "canceled", "done"
_TERMINAL = [s.value for s in TERMINAL_STATUSES]
_MAX_BATCH = 10_000  # candidates per batch; the import limit is the same
_SCAN_LIMIT = 500  # terminal calls examined per run for retries (the rest next run)


class BatchError(ValueError):
    """A batch operation that cannot be done; the message is for people."""


# -- batches ------------------------------------------------------------------------------------


def _screened(db: Database, job_id: str) -> set[str]:
    """Candidates with a completed screening for this job."""
    return set(db[CALLS].distinct("candidate_id", {"job_id": job_id,
                                                   "status": CallStatus.COMPLETED.value}))


def create_batch(db: Database, actor: User, job_id: str, candidate_ids: list[str] | None = None,
                 *, name: str = "") -> dict[str, Any]:
    """Queue calls for the chosen candidates, or for everyone of the job not yet screened."""
    require(actor, Action.LAUNCH_CALLS)
    job = db[JOBS].find_one({"_id": str(job_id)})
    if job is None:
        raise BatchError("That job does not exist.")
    if job.get("status") == "archived":
        raise BatchError("The job is archived; no new calls are placed for it.")
    config = job_effective_config(db, job["_id"])
    query: dict[str, Any] = {"job_ids": job["_id"]}
    if candidate_ids is not None:
        if not candidate_ids:
            raise BatchError("Choose at least one candidate.")
        query["_id"] = {"$in": [str(c) for c in candidate_ids]}
    cands = list(db[CANDIDATES].find(query, {"do_not_call": 1, "consent": 1, "name": 1})
                 .limit(_MAX_BATCH + 1))
    if len(cands) > _MAX_BATCH:
        raise BatchError(f"A batch holds at most {_MAX_BATCH:,} candidates.")
    screened = _screened(db, job["_id"]) if candidate_ids is None else set()
    batch_id = new_id()
    now = utcnow()
    batch = {"_id": batch_id, "job_id": job["_id"], "name": name.strip()[:100] or
             f"{job.get('title', 'Job')} — {now:%Y-%m-%d %H:%M} UTC", "status": RUNNING,
             "pause_reason": None, "created_by": actor.username, "created_at": now,
             "updated_at": now, "spike_since": now, "queued": 0, "skipped": []}
    db[BATCHES].insert_one(batch)
    queued, skipped = 0, []
    for cand in cands:
        reason = None
        if cand["_id"] in screened:
            continue
        if cand.get("do_not_call"):
            reason = "on the do-not-call list"
        elif config.require_consent and not cand.get("consent"):
            reason = "no consent (the settings require it)"
        if reason is None:
            doc = calls.new_call_doc(cand["_id"], job["_id"], actor=actor.username,
                                     batch_id=batch_id)
            try:
                db[CALLS].insert_one(doc)
                queued += 1
                continue
            except DuplicateKeyError:
                reason = "already has an open call for this job"
        skipped.append({"candidate_id": cand["_id"], "name": cand.get("name"), "reason": reason})
    status = RUNNING if queued else DONE
    db[BATCHES].update_one({"_id": batch_id}, {"$set": {
        "queued": queued, "skipped": skipped[:1000], "skipped_count": len(skipped),
        "status": status, "finished_at": None if queued else utcnow()}})
    audit.record(db, actor=actor.username, action="batch.create", entity="batch",
                 entity_id=batch_id, detail=f"job {job['_id']}: {queued} queued, "
                                            f"{len(skipped)} skipped")
    return get_batch(db, batch_id) or batch


def get_batch(db: Database, batch_id: str) -> dict | None:
    """One batch by id (`id` added)."""
    doc = db[BATCHES].find_one({"_id": str(batch_id)})
    return {"id": doc["_id"], **doc} if doc else None


def list_batches(db: Database, *, job_id: str | None = None, limit: int = 50) -> list[dict]:
    """Recent batches, newest first (bounded)."""
    query = {"job_id": str(job_id)} if job_id else {}
    return [{"id": d["_id"], **d} for d in
            db[BATCHES].find(query, {"skipped": 0}).sort("created_at", -1).limit(min(limit, 200))]


def _set_status(db: Database, actor: User, batch_id: str, new: str, allowed_from: list[str],
                extra: dict[str, Any] | None = None) -> dict:
    require(actor, Action.LAUNCH_CALLS)
    doc = db[BATCHES].find_one_and_update(
        {"_id": str(batch_id), "status": {"$in": allowed_from}},
        {"$set": {"status": new, "updated_at": utcnow(), **(extra or {})}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        current = get_batch(db, batch_id)
        if current is None:
            raise BatchError("That batch does not exist.")
        raise BatchError(f"The batch is {current['status']}; it cannot be set to {new}.")
    audit.record(db, actor=actor.username, action=f"batch.{new}", entity="batch",
                 entity_id=str(batch_id))
    return {"id": doc["_id"], **doc}


def pause_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Stop dialling new calls of a batch (live calls finish)."""
    return _set_status(db, actor, batch_id, PAUSED, [RUNNING],
                       {"pause_reason": f"paused by {actor.username}"})


def resume_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Dial again; failures before now no longer count towards the failure-spike check."""
    return _set_status(db, actor, batch_id, RUNNING, [PAUSED],
                       {"pause_reason": None, "spike_since": utcnow()})


def cancel_batch(db: Database, actor: User, batch_id: str) -> dict:
    """Cancel every not-yet-dialled call of a batch (calls already live finish)."""
    doc = _set_status(db, actor, batch_id, CANCELED, [RUNNING, PAUSED],
                      {"pause_reason": f"canceled by {actor.username}", "finished_at": utcnow()})
    for call in db[CALLS].find({"batch_id": doc["_id"], "status": CallStatus.QUEUED.value},
                               {"_id": 1}):
        calls.cancel_queued(db, call["_id"], f"batch canceled by {actor.username}")
    return doc


def release_holds(db: Database, actor: User, batch_id: str) -> int:
    """Let held calls of a batch be tried again (after a person fixed the time zone or budget)."""
    require(actor, Action.LAUNCH_CALLS)
    result = db[CALLS].update_many(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"$set": {"next_attempt_at": utcnow(), "hold_reason": None, "updated_at": utcnow()}},
    )
    audit.record(db, actor=actor.username, action="batch.release_holds", entity="batch",
                 entity_id=str(batch_id), detail=f"{result.modified_count} calls released")
    return result.modified_count


def batch_progress(db: Database, batch_id: str) -> dict[str, Any]:
    """Counts per status of each candidate's latest attempt, held calls and the done share."""
    rows = db[CALLS].aggregate([
        {"$match": {"batch_id": str(batch_id)}},
        {"$sort": {"attempt": -1}},
        {"$group": {"_id": "$candidate_id", "status": {"$first": "$status"},
                    "hold": {"$first": "$hold_reason"}, "attempts": {"$sum": 1}}},
        {"$group": {"_id": "$status", "n": {"$sum": 1},
                    "held": {"$sum": {"$cond": [{"$gt": ["$hold", None]}, 1, 0]}},
                    "attempts": {"$sum": "$attempts"}}},
    ])
    counts: dict[str, int] = {s.value: 0 for s in CallStatus}
    held = attempts = 0
    for row in rows:
        counts[row["_id"]] = row["n"]
        held += row["held"]
        attempts += row["attempts"]
    total = sum(counts.values())
    finished = sum(counts[s] for s in _TERMINAL)
    return {"batch": get_batch(db, batch_id), "counts": counts, "total": total,
            "finished": finished, "held": held, "attempts": attempts,
            "fraction": (finished / total) if total else 1.0}


def held_calls(db: Database, batch_id: str, limit: int = 200) -> list[dict]:
    """Queued calls of a batch waiting for a person, with the reason."""
    return [calls.public_call(d) for d in db[CALLS].find(
        {"batch_id": str(batch_id), "status": CallStatus.QUEUED.value,
         "hold_reason": {"$nin": [None, ""]}},
        {"candidate_id": 1, "hold_reason": 1, "attempt": 1, "calling_window": 1}).limit(limit)]


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
        if calls.mark_failed(db, call["_id"], "interrupted before dialling (the worker stopped); "
                                              "not re-dialled automatically"):
            failed += 1
    # Died between the two providers: Ultravox had the call, no Twilio leg was recorded, and
    # the agent side has ended without anyone joining — nothing will ever move it on.
    for call in db[CALLS].find({"status": CallStatus.DIALING.value,
                                "ultravox_call_id": {"$nin": [None]}, "twilio_call_sid": None,
                                "ultravox_ended": True, "joined_at": {"$exists": False},
                                "dialed_at": {"$lt": cutoff}}, {"_id": 1}).limit(100):
        if calls.mark_failed(db, call["_id"], "interrupted between Ultravox and Twilio (the "
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
            doc = calls.new_call_doc(
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


def check_failure_spike(db: Database, batch: dict) -> str | None:
    """Pause a batch when more than half of its last N attempts failed; returns the reason."""
    window = get_settings().dispatch_failure_window
    since = batch.get("spike_since") or batch.get("created_at")
    last = list(db[CALLS].find(
        {"batch_id": batch["_id"], "status": {"$in": _TERMINAL},
         "ended_at": {"$gte": since}}, {"status": 1, "failure_reason": 1, "ended_at": 1})
        .sort("ended_at", -1).limit(window))
    if len(last) < window:
        return None
    failed = [c for c in last if c["status"] == CallStatus.FAILED.value]
    if len(failed) * 2 <= window:
        return None
    latest = failed[0].get("failure_reason") or "no reason recorded"
    reason = (f"Paused automatically: {len(failed)} of the last {window} calls failed "
              f"(latest: {latest}). Check the numbers and the provider status, then resume.")
    moved = db[BATCHES].update_one({"_id": batch["_id"], "status": RUNNING},
                                   {"$set": {"status": PAUSED, "pause_reason": reason,
                                             "updated_at": utcnow()}})
    if moved.modified_count:
        audit.record(db, actor="dispatch", action="batch.paused", entity="batch",
                     entity_id=batch["_id"], detail=reason)
        log.warning("batch %s paused: failure spike", batch["_id"])
    return reason


def finish_batches(db: Database) -> int:
    """Mark running batches done when nothing is queued, live or awaiting a retry decision."""
    done = 0
    for batch in db[BATCHES].find({"status": RUNNING}, {"_id": 1}).limit(200):
        pending = db[CALLS].find_one({"batch_id": batch["_id"], "$or": [
            {"status": {"$nin": _TERMINAL}},
            {"status": {"$in": _TERMINAL}, "retry_handled": {"$exists": False}}]}, {"_id": 1})
        if pending is None:
            result = db[BATCHES].update_one({"_id": batch["_id"], "status": RUNNING},
                                            {"$set": {"status": DONE, "finished_at": utcnow(),
                                                      "updated_at": utcnow()}})
            done += result.modified_count
    return done


def run_once(db: Database, *, now: datetime | None = None, max_seconds: float | None = None) -> str:
    """One dispatcher pass: housekeeping, then dial due calls within every limit; a summary."""
    settings = get_settings()
    fixed_now = now
    owner = calls.worker_id()
    stats: Counter[str] = Counter()
    configs: dict[str, GlobalVoiceConfig] = {}
    current = fixed_now or utcnow()
    calls.sweep_gate(db)
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
            calls.cancel_queued(db, call["_id"], "the candidate was deleted")
            continue
        refused = calls.refusal(cand, job, cfg)
        if refused:
            calls.cancel_queued(db, call["_id"], str(refused))
            stats["refused"] += 1
            continue
        window = calls.window_check(cand, cfg, current)
        if not window.allowed:
            _hold(db, call["_id"], owner, window.reason, until=window.next_open_at,
                  window=window.as_record())
            stats["held" if window.held else "deferred"] += 1
            continue
        if spent is None:
            spent = calls.month_spend(db, current)
        problem = calls.budget_problem(db, cfg, current, spent=spent)
        if problem:
            _hold(db, call["_id"], owner, problem)
            stats["over_budget"] += 1
            continue
        batch_now = db[BATCHES].find_one({"_id": call["batch_id"]}, {"status": 1}) or {}
        if batch_now.get("status") != RUNNING:
            _unlease(db, call["_id"], owner)
            running_ids = [b for b in running_ids if b != call["batch_id"]]
            continue
        slot = calls.acquire_slot(db, call["_id"], calls_per_second=cfg.calls_per_second,
                                  max_concurrent=cfg.max_concurrent_calls,
                                  max_wait=max(0.0, deadline - time.monotonic()))
        if not slot.granted:
            _unlease(db, call["_id"], owner)
            stats["waiting_for_slot"] += 1
            break
        claimed = calls.claim(db, call["_id"], by=owner, lease_owner=owner,
                              window=window.as_record(), slot_at=slot.at)
        if claimed is None:  # our lease expired and someone else took it
            calls.release_slot(db, call["_id"])
            continue
        result = calls.dial(db, claimed)
        spent += calls.estimated_call_cost(cfg)
        stats["dialled"] += 1
        if result.get("status") == CallStatus.FAILED.value:
            stats["failed"] += 1
            batch_doc = db[BATCHES].find_one({"_id": call["batch_id"]})
            if batch_doc and check_failure_spike(db, batch_doc):
                stats["paused"] += 1
                running_ids = [b for b in running_ids if b != call["batch_id"]]
    stats["finished_batches"] = finish_batches(db)
    return ", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if v)
