"""Launching screening calls: refusals, the one-open-call rule, the dial gate, the provider steps."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import audit, calling_hours, costs, crypto, events, voice_config
from core.auth import Action, User, require
from core.config import get_settings
from core.db import APP_STATE, CALLS, CANDIDATES, JOBS, new_id, utcnow
from core.models import OPEN_STATUSES, CallStatus, GlobalVoiceConfig
from core.resilience import ProviderError, ProviderUnavailable
from core.telephony import PhoneNumberError, get_twilio, join_timeout_for, region_of
from core.ultravox import get_ultravox

log = logging.getLogger(__name__)

_GATE_ID = "dial_gate"
# Twilio creates get their own rate gate, taken right before the request: the Ultravox step
# in between has variable latency, which would otherwise bunch Twilio's arrivals.
_TWILIO_GATE_ID = "twilio_gate"
_OPEN = [s.value for s in OPEN_STATUSES]
# Twilio's hard stop sits this far above Ultravox's maxDuration, so the agent's own goodbye
# and time-exceeded message always come first.
_TIME_LIMIT_SLACK_SECONDS = 60
_LIST_LIMIT = 500


class LaunchRefused(Exception):
    """A call that must not be placed; `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class LaunchResult:
    """The call of a launch; `created` is False when an open call already existed."""

    call: dict[str, Any]
    created: bool


def worker_id() -> str:
    """Who claims a call (host, process, thread), for the record and for leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def open_key(candidate_id: str, job_id: str) -> str:
    """The value of the unique `open_key` while a screening of this pair is open."""
    return f"{candidate_id}:{job_id}"


def public_call(doc: dict | None) -> dict | None:
    """A call document for pages and the CLI (`id` added)."""
    if doc is None:
        return None
    return {"id": doc["_id"], **doc}


def get_call(db: Database, call_id: str) -> dict | None:
    """One call by id."""
    return public_call(db[CALLS].find_one({"_id": str(call_id)}))


def list_calls(db: Database, *, job_id: str | None = None, batch_id: str | None = None,
               limit: int = 100) -> list[dict]:
    """Recent calls (of a job or batch), newest first, without the bulky request fields."""
    query: dict[str, Any] = {}
    if job_id:
        query["job_id"] = str(job_id)
    if batch_id:
        query["batch_id"] = str(batch_id)
    docs = (db[CALLS].find(query, {"request_body": 0, "rendered_prompt": 0,
                                   "config_snapshot": 0})
            .sort("created_at", -1).limit(max(1, min(limit, _LIST_LIMIT))))
    return [public_call(d) for d in docs]  # type: ignore[misc]


# -- budget ----------------------------------------------------------------------------------


def month_start(now: datetime) -> datetime:
    """Midnight UTC on the first day of `now`'s month."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _rate_per_minute() -> Decimal:
    s = get_settings()
    return s.ultravox_rate_per_minute + s.telephony_rate_per_minute


def estimated_call_cost(config: GlobalVoiceConfig) -> Decimal:
    """The most one call can cost: its maximum duration at the configured per-minute rates."""
    return (Decimal(config.max_duration_minutes) * _rate_per_minute()).quantize(Decimal("0.01"))


def month_spend(db: Database, now: datetime | None = None) -> Decimal:
    """Spend this month: ended calls from the usage rollups, live calls at their maximum."""
    now = now or utcnow()
    ended = costs.spend_this_month(db, now=now)
    rows = db[CALLS].aggregate([
        {"$match": {"created_at": {"$gte": month_start(now)},
                    "status": {"$in": [s for s in _OPEN if s != CallStatus.QUEUED.value]}}},
        {"$group": {"_id": None, "live_minutes": {"$sum": {
            "$ifNull": ["$config_snapshot.config.max_duration_minutes", 0]}}}},
    ])
    row = next(iter(rows), None)
    # Live calls count at their maximum: two dials in a row must not both fit one last dollar.
    live = Decimal(str(row["live_minutes"])) * _rate_per_minute() if row else Decimal(0)
    return (ended + live).quantize(Decimal("0.01"))


def budget_problem(db: Database, config: GlobalVoiceConfig, now: datetime | None = None,
                   *, spent: Decimal | None = None) -> str | None:
    """Why the next call would exceed the monthly budget, or None when it fits."""
    spent = month_spend(db, now) if spent is None else spent
    next_call = estimated_call_cost(config)
    if spent + next_call > config.monthly_budget:
        return (f"Over the monthly budget: ${spent} spent or committed this month, one more call "
                f"may cost up to ${next_call}, the budget is ${config.monthly_budget}.")
    return None


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


def refusal(candidate: dict, job: dict, config: GlobalVoiceConfig) -> LaunchRefused | None:
    """The standing reason this candidate must not be called for this job, if any."""
    if candidate.get("do_not_call"):
        return LaunchRefused("do_not_call", "The candidate is on the do-not-call list.")
    if job.get("status") == "archived":
        return LaunchRefused("job_archived", "The job is archived; no new calls are placed for it.")
    if config.require_consent and not candidate.get("consent"):
        return LaunchRefused("no_consent", "The candidate has not consented to be called, and "
                             "the settings require consent.")
    return None


def window_check(candidate: dict, config: GlobalVoiceConfig,
                 now: datetime) -> calling_hours.WindowCheck:
    """Calling-hours verdict for this candidate now."""
    phone = crypto.decrypt(candidate.get("phone"))
    return calling_hours.check(config.calling_hours, now=now,
                               candidate_timezone=candidate.get("timezone") or None, phone=phone)


# -- the dial gate: calls per second and concurrent calls, across every process ---------------


def _gate(db: Database, gate_id: str = _GATE_ID) -> dict:
    db[APP_STATE].update_one(
        {"_id": gate_id},
        {"$setOnInsert": {"next_at": 0.0, "version": 0, "inflight": []}},
        upsert=True,
    )
    return db[APP_STATE].find_one({"_id": gate_id}) or {}


def sweep_gate(db: Database) -> int:
    """Free the slots of calls that have ended (or vanished); returns how many were freed."""
    doc = _gate(db)
    ids = list(doc.get("inflight") or [])
    if not ids:
        return 0
    still_open = {d["_id"] for d in db[CALLS].find({"_id": {"$in": ids}, "status": {"$in": _OPEN}},
                                                   {"_id": 1})}
    done = [i for i in ids if i not in still_open]
    if done:
        db[APP_STATE].update_one({"_id": _GATE_ID}, {"$pull": {"inflight": {"$in": done}}})
    return len(done)


def release_slot(db: Database, call_id: str) -> None:
    """Give back a call's concurrency slot (its rate slot is spent either way)."""
    db[APP_STATE].update_one({"_id": _GATE_ID}, {"$pull": {"inflight": call_id}})


def inflight_count(db: Database) -> int:
    """Calls currently holding a concurrency slot."""
    return len(_gate(db).get("inflight") or [])


@dataclass(frozen=True)
class Slot:
    """The outcome of asking the gate: granted (at `at`, epoch seconds) or why not."""

    granted: bool
    reason: str = ""
    at: float = 0.0
    wait: float = 0.0


def acquire_slot(db: Database, call_id: str, *, calls_per_second: float,
                 max_concurrent: int | None, max_wait: float, sleep: bool = True,
                 gate_id: str = _GATE_ID) -> Slot:
    """Reserve the next dial time and a concurrency slot for `call_id`, atomically.

    One document holds the next free dial time and the calls in flight; a compare-and-set on
    its version makes the reservation atomic across threads, processes and hosts, so the
    dials of all workers together are spaced at least 1/calls-per-second apart.
    """
    interval = (1.0 / calls_per_second) * (1.0 + get_settings().dispatch_rate_margin)
    swept = False
    for _ in range(200):  # bounded: contention resolves in a few rounds
        doc = _gate(db, gate_id)
        inflight = list(doc.get("inflight") or [])
        if max_concurrent is not None and call_id in inflight:
            return Slot(True, at=time.time())
        if max_concurrent is not None and len(inflight) >= max_concurrent:
            if not swept:
                swept = True
                sweep_gate(db)
                continue
            return Slot(False, f"{len(inflight)} calls are in progress; the limit is "
                               f"{max_concurrent} at a time.")
        now = time.time()
        at = max(now, float(doc.get("next_at") or 0.0))
        if at - now > max_wait:
            return Slot(False, "the calls-per-second limit is reached", wait=at - now)
        update: dict[str, Any] = {"$set": {"next_at": at + interval}, "$inc": {"version": 1}}
        if max_concurrent is not None:
            update["$push"] = {"inflight": call_id}
        result = db[APP_STATE].update_one({"_id": gate_id, "version": doc.get("version", 0)},
                                          update)
        if result.modified_count == 1:
            if sleep and at > time.time():
                time.sleep(at - time.time())
            return Slot(True, at=at)
    return Slot(False, "the dial gate is busy; try again")


# -- the call document -----------------------------------------------------------------------


def new_call_doc(candidate_id: str, job_id: str, *, actor: str, batch_id: str | None = None,
                 attempt: int = 1, call_id: str | None = None, first_call_id: str | None = None,
                 next_attempt_at: datetime | None = None) -> dict[str, Any]:
    """A queued call holding the pair's `open_key` (inserting it is the idempotency check)."""
    now = utcnow()
    call_id = call_id or new_id()
    return {
        "_id": call_id,
        "candidate_id": str(candidate_id),
        "job_id": str(job_id),
        "batch_id": batch_id,
        "attempt": attempt,
        "first_call_id": first_call_id or call_id,
        "status": CallStatus.QUEUED.value,
        "open_key": open_key(candidate_id, job_id),
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": next_attempt_at or now,
        "ultravox_call_id": None,
        "twilio_call_sid": None,
        "status_history": [{"status": CallStatus.QUEUED.value, "at": now, "event_id": None}],
    }


def insert_open_call(db: Database, doc: dict[str, Any]) -> tuple[dict, bool]:
    """Insert a queued call, or return the pair's open call: (call, created)."""
    try:
        db[CALLS].insert_one(doc)
        return doc, True
    except DuplicateKeyError:
        existing = db[CALLS].find_one({"open_key": doc["open_key"]})
        if existing is None:  # it ended in between: the caller may try again
            existing = db[CALLS].find_one({"_id": doc["_id"]})
        if existing is None:
            raise LaunchRefused("busy", "Another launch of this candidate just finished; "
                                "try again.") from None
        return existing, False


def claim(db: Database, call_id: str, *, by: str, lease_owner: str | None = None,
          window: dict | None = None, slot_at: float | None = None) -> dict | None:
    """Move a queued call to `dialing` atomically; None when someone else got it first."""
    query: dict[str, Any] = {"_id": call_id, "status": CallStatus.QUEUED.value}
    if lease_owner is not None:
        query["lease_owner"] = lease_owner
    now = utcnow()
    fields: dict[str, Any] = {"status": CallStatus.DIALING.value, "dialed_at": now,
                              "updated_at": now, "claimed_by": by}
    if window is not None:
        fields["calling_window"] = window
    if slot_at is not None:
        fields["rate_slot_at"] = slot_at  # the gate's reserved dial time (epoch seconds)
    return db[CALLS].find_one_and_update(
        query,
        {"$set": fields, "$unset": {"lease_owner": "", "lease_until": "", "hold_reason": ""},
         "$push": {"status_history": {"status": CallStatus.DIALING.value, "at": now,
                                      "event_id": None}}},
        return_document=ReturnDocument.AFTER,
    )


def mark_failed(db: Database, call_id: str, reason: str, **fields: Any) -> bool:
    """End an open call as `failed` with a reason (forward-only; frees the open_key)."""
    moved = events.advance_status(db, call_id, CallStatus.FAILED,
                                  fields={"failure_reason": reason[:500], "ended_at": utcnow(),
                                          **fields})
    release_slot(db, call_id)
    return moved


def cancel_queued(db: Database, call_id: str, reason: str) -> bool:
    """Cancel a call that has not been dialled yet."""
    now = utcnow()
    result = db[CALLS].update_one(
        {"_id": call_id, "status": CallStatus.QUEUED.value},
        {"$set": {"status": CallStatus.CANCELED.value, "failure_reason": reason[:500],
                  "ended_at": now, "updated_at": now},
         "$unset": {"open_key": "", "lease_owner": "", "lease_until": ""},
         "$push": {"status_history": {"status": CallStatus.CANCELED.value, "at": now,
                                      "event_id": None}}},
    )
    return result.modified_count == 1


# -- the provider steps ------------------------------------------------------------------------


def build_request_body(snapshot: dict[str, Any], *, call_id: str, candidate_id: str,
                       job_id: str, ring_timeout: int) -> dict[str, Any]:
    """The Ultravox create-call body (reference §1.2 and §3): no secrets, no phone number."""
    body = dict(snapshot["ultravox"])
    body["medium"] = {"twilio": {}}
    body["metadata"] = {"screeningId": call_id, "candidateId": candidate_id, "jobId": job_id}
    body["joinTimeout"] = join_timeout_for(ring_timeout)
    return body


def dial(db: Database, call: dict[str, Any]) -> dict[str, Any]:
    """Place a claimed (`dialing`) call: Ultravox, then Twilio; any failure ends both sides."""
    call_id = call["_id"]
    settings = get_settings()
    candidate = db[CANDIDATES].find_one({"_id": call["candidate_id"]}) or {}
    job = db[JOBS].find_one({"_id": call["job_id"]}) or {}
    ultravox_id: str | None = None
    try:
        snapshot = voice_config.snapshot_for_call(
            db, call["job_id"], candidate.get("name", ""), job.get("title", ""),
            job.get("company"))
        body = build_request_body(snapshot, call_id=call_id, candidate_id=call["candidate_id"],
                                  job_id=call["job_id"],
                                  ring_timeout=settings.ring_timeout_seconds)
        config_snapshot = {k: v for k, v in snapshot.items()
                           if k not in ("rendered_prompt", "ultravox")}
        phone = crypto.decrypt(candidate.get("phone"))
        db[CALLS].update_one({"_id": call_id}, {"$set": {
            "config_snapshot": config_snapshot, "rendered_prompt": snapshot["rendered_prompt"],
            "request_body": body, "destination_country": region_of(phone),
            "updated_at": utcnow()}})
        created = get_ultravox().create_call(body)
        ultravox_id = created.call_id
        # Only while still dialing: a call failed meanwhile (stale recovery) is not resumed.
        still = db[CALLS].update_one(
            {"_id": call_id, "status": {"$in": _OPEN},
             "ultravox_call_id": {"$in": [None, ultravox_id]}},
            {"$set": {"ultravox_call_id": ultravox_id, "updated_at": utcnow()}})
        if still.matched_count == 0:
            _end_ultravox(ultravox_id)
            return get_call(db, call_id) or call
        if not created.join_url:
            raise ProviderError("Ultravox", 502, "the new call has no joinUrl")
        max_seconds = int(snapshot["config"]["max_duration_minutes"]) * 60
        # Already admitted by the dial gate; this only re-spaces the Twilio request itself.
        twilio_slot = acquire_slot(
            db, call_id, calls_per_second=float(snapshot["config"]["calls_per_second"]),
            max_concurrent=None, max_wait=60.0, gate_id=_TWILIO_GATE_ID)
        sid = get_twilio().place_call(phone or "", created.join_url,
                                      time_limit_seconds=max_seconds + _TIME_LIMIT_SLACK_SECONDS,
                                      ring_timeout=settings.ring_timeout_seconds)
        db[CALLS].update_one({"_id": call_id, "twilio_call_sid": {"$in": [None, sid]}},
                             {"$set": {"twilio_call_sid": sid, "updated_at": utcnow(),
                                       # when the request left (epoch s): the rate as sent
                                       "twilio_requested_at": twilio_slot.at}})
    except (ProviderError, ProviderUnavailable, PhoneNumberError, ValueError) as exc:
        step = "Twilio" if ultravox_id else "Ultravox"
        ended = _end_ultravox(ultravox_id) if ultravox_id else None
        extra = {"ultravox_end": ended} if ended else {}
        mark_failed(db, call_id, f"{step} step failed: {exc}", **extra)
        log.warning("call %s failed at the %s step: %s", call_id, step, type(exc).__name__)
    except Exception:
        if ultravox_id:
            _end_ultravox(ultravox_id)
        mark_failed(db, call_id, "internal error while dialling (see the server log)")
        log.exception("call %s: unexpected error while dialling", call_id)
    return get_call(db, call_id) or call


def _end_ultravox(ultravox_id: str) -> str:
    """Best effort: hang up the Ultravox side; returns what happened, for the call record."""
    try:
        if get_ultravox().end_call(ultravox_id, "Sorry, we could not connect this call."):
            return "ended"
        # Not joined yet: Ultravox ends it by itself at joinTimeout (endReason `unjoined`).
        return "not joined; ends by itself at joinTimeout"
    except (ProviderError, ProviderUnavailable) as exc:
        log.warning("could not end Ultravox call: %s", type(exc).__name__)
        return f"end request failed ({type(exc).__name__}); ends at joinTimeout"


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
    config = voice_config.job_effective_config(db, job["_id"])
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
    from core import candidates  # noqa: PLC0415 - candidates imports this module's neighbours

    candidate = candidates.upsert_test_candidate(db, actor, phone=phone, job_id=job_id)
    return launch_call(db, actor, candidate["id"], job_id, test_call=True)
