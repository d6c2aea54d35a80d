"""Follow-up of a call: what webhooks did not bring (transcript, billing, price, hang-up)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.documents.status import OPEN_STATUSES, TERMINAL_STATUSES, CallStatus
from core.config import get_settings
from core.db import CALLS, utcnow
from core.lifecycle import events, ingest
from core.lifecycle.opt_out import detect_opt_out, mark_do_not_call
from core.lifecycle.transcripts import store_transcript, transcript_messages
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import get_twilio
from core.providers.ultravox import get_ultravox

log = logging.getLogger(__name__)

_LEASE = timedelta(seconds=120)  # longer than one follow-up with provider retries takes
_GIVE_UP_AFTER = timedelta(hours=6)  # then missing pieces are marked unavailable
_NO_CHARGE_WAIT = timedelta(minutes=15)  # unconnected calls may never get a price
_DEFAULT_MAX_DURATION = timedelta(minutes=60)
OVERDUE_MARGIN = timedelta(minutes=5)
_UNCONNECTED = {CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELED}


# -- provider polling ---------------------------------------------------------------------


@dataclass
class Providers:
    """The provider clients follow-up uses (tests pass fakes)."""

    ultravox: Any
    telephony: Any


def default_providers() -> Providers:
    """The configured Ultravox client and Twilio gateway (or the sandbox)."""
    return Providers(get_ultravox(), get_twilio())


def _uv_event(db: Database, kind: str, uv_call: Any) -> None:
    data = uv_call.model_dump(by_alias=True, mode="json") if hasattr(uv_call, "model_dump") \
        else dict(uv_call)
    try:
        parsed = events.parse_ultravox({"event": kind, "call": data})
    except events.BadPayload as exc:
        log.warning("Ultravox returned a call we cannot read (%s)", exc)
        return
    ingest.process(db, parsed, source="poll")


def poll_ultravox(db: Database, call: dict[str, Any], ultravox: Any) -> Any:
    """Read the Ultravox call and record what webhooks would have told us (ended, billed)."""
    uv = ultravox.get_call(call["ultravox_call_id"])
    if getattr(uv, "joined", None):
        _uv_event(db, "call.joined", uv)
    if getattr(uv, "ended", None):
        _uv_event(db, "call.ended", uv)
        if uv.summary or uv.short_summary:
            # Summaries are generated after the end: a later read may carry what the event lacked.
            fields = {k: v for k, v in (("summary", uv.summary),
                                        ("short_summary", uv.short_summary)) if v}
            db[CALLS].update_one({"_id": call["_id"]}, {"$set": fields})
    if uv.billing_status and uv.billing_status != events.BILLING_PENDING:
        _uv_event(db, "call.billed", uv)
    return uv


def poll_twilio(db: Database, call: dict[str, Any], telephony: Any) -> Any:
    """Read the Twilio call: record its status as an event and its price when known."""
    tw = telephony.fetch_call(call["twilio_call_sid"])
    if tw.status:
        form = {"CallSid": call["twilio_call_sid"], "CallStatus": tw.status}
        if tw.duration is not None:
            form["CallDuration"] = str(tw.duration)
        if tw.answered_by:
            form["AnsweredBy"] = tw.answered_by
        try:
            ingest.process(db, events.parse_twilio(form), source="poll")
        except events.BadPayload:
            log.warning("Twilio reported an unexpected status for call %s", call["_id"])
    if tw.price is not None:
        db[CALLS].update_one({"_id": call["_id"]}, {"$set": {
            "telephony_price": str(abs(Decimal(tw.price))), "price_unit": tw.price_unit,
            "price_status": "actual", "priced_at": utcnow(), "updated_at": utcnow(),
        }})
        ingest.sync_rollup(db, call["_id"])
    return tw


# -- follow-up ----------------------------------------------------------------------------


def max_duration(call: dict[str, Any]) -> timedelta:
    """The call's configured maximum length (from its config snapshot), else 60 minutes."""
    snap = call.get("config_snapshot") or {}
    # The launcher keeps the effective config under "config"; accept it at the top level too.
    for holder in (snap.get("config") or {}, snap):
        for key, unit in (("max_duration_minutes", 60), ("max_duration_seconds", 1)):
            value = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(value, int | float) and value > 0:
                return timedelta(seconds=value * unit)
    return _DEFAULT_MAX_DURATION


def _started(call: dict[str, Any]) -> datetime | None:
    return call.get("answered_at") or call.get("dialed_at") or call.get("created_at")


def _missing(call: dict[str, Any]) -> list[str]:
    missing = []
    if call.get("status") in OPEN_STATUSES:
        missing.append("status")
    if call.get("ultravox_call_id"):
        if call.get("transcript_status") not in ("stored", "unavailable"):
            missing.append("transcript")
        if not call.get("billing_status") and call.get("billing_status_note") != "unavailable":
            missing.append("billing")
    if call.get("twilio_call_sid") and not call.get("telephony_price") \
            and call.get("price_status") not in ("unavailable", "none"):
        missing.append("price")
    return missing


def _claim(db: Database, call_id: str, now: datetime) -> dict[str, Any] | None:
    return db[CALLS].find_one_and_update(
        {"_id": call_id, "needs_followup": True,
         "$and": [
             {"$or": [{"followup_lease_until": None}, {"followup_lease_until": {"$lte": now}}]},
             {"$or": [{"followup_next_at": None}, {"followup_next_at": {"$lte": now}}]},
         ]},
        {"$set": {"followup_lease_until": now + _LEASE}},
        return_document=ReturnDocument.AFTER,
    )


def _step(call: dict[str, Any], providers: Providers, now: datetime, db: Database) -> list[str]:
    """One pass over what the call still lacks; returns the notes of what failed."""
    notes: list[str] = []
    call_id = call["_id"]

    def reload() -> dict[str, Any]:
        return db[CALLS].find_one({"_id": call_id}) or call

    uv_id, sid = call.get("ultravox_call_id"), call.get("twilio_call_sid")
    started = _started(call)
    overdue = bool(started and now - started > max_duration(call) + OVERDUE_MARGIN)
    if uv_id and (not call.get("ultravox_ended") or not call.get("billing_status")
                  or not call.get("summary")):
        try:
            poll_ultravox(db, call, providers.ultravox)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"ultravox: {exc}")
        call = reload()
    if uv_id and call.get("ultravox_ended") and \
            call.get("transcript_status") not in ("stored", "unavailable"):
        try:
            messages = transcript_messages(providers.ultravox.list_messages(uv_id))
            store_transcript(db, call_id, messages)
            phrase = detect_opt_out(messages)
            if phrase:
                mark_do_not_call(db, call, phrase)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"transcript: {exc}")
        call = reload()
    if sid and call.get("status") in OPEN_STATUSES:
        # The agent is done (or the call is overdue) but the phone line may still be up.
        if (call.get("ultravox_ended") or overdue) and not call.get("twilio_hangup_at"):
            try:
                providers.telephony.end_call(sid)
                db[CALLS].update_one({"_id": call_id}, {"$set": {"twilio_hangup_at": now}})
            except (ProviderUnavailable, ProviderError) as exc:
                notes.append(f"twilio hang-up: {exc}")
        if uv_id and overdue and not call.get("ultravox_ended") \
                and not call.get("ultravox_hangup_at"):
            try:
                providers.ultravox.end_call(uv_id)
                db[CALLS].update_one({"_id": call_id}, {"$set": {"ultravox_hangup_at": now}})
            except (ProviderUnavailable, ProviderError) as exc:
                notes.append(f"ultravox hang-up: {exc}")
    wants_price = not call.get("telephony_price") and \
        call.get("price_status") not in ("none", "unavailable")
    if sid and (call.get("status") in OPEN_STATUSES or wants_price):
        try:
            poll_twilio(db, call, providers.telephony)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"twilio: {exc}")
        call = reload()
    # A live launch stores the CallSid (or fails the call) well within the dispatcher's stale
    # limit; past it, the launching worker is gone.
    grace = timedelta(seconds=get_settings().dispatch_stale_seconds)
    launch_settled = bool(started and now - started > grace)
    if not sid and call.get("status") in OPEN_STATUSES and (
        overdue or (call.get("ultravox_ended") and launch_settled)
    ):
        # No phone leg was ever recorded (launch stopped half-way): close the call as failed.
        # Not before that: an unanswered call's Ultravox side can end (unjoined) before the
        # launcher has stored the Twilio CallSid, and Twilio's outcome must win.
        ingest.advance_status(db, call_id, CallStatus.FAILED,
                          fields={"failure_reason": "the phone call was never placed"})
    return notes


def _give_up(db: Database, call: dict[str, Any], missing: list[str], now: datetime) -> list[str]:
    """Mark pieces that will not come any more as unavailable; returns what is still awaited."""
    ended = call.get("ended_at") or call.get("ultravox_ended_at") or _started(call) or now
    age = now - ended
    status = call.get("status")
    fields: dict[str, Any] = {}
    if "price" in missing and status in {s.value for s in _UNCONNECTED} and age > _NO_CHARGE_WAIT:
        fields["price_status"] = "none"  # Twilio does not charge calls that never connected
    if age > _GIVE_UP_AFTER:
        if "transcript" in missing:
            fields["transcript_status"] = "unavailable"
        if "billing" in missing:
            fields["billing_status_note"] = "unavailable"
        if "price" in missing:
            fields["price_status"] = "unavailable"
    if fields:
        fields["updated_at"] = now
        db[CALLS].update_one({"_id": call["_id"]}, {"$set": fields})
        ingest.sync_rollup(db, call["_id"])
        call = {**call, **fields}
    return _missing(call)


def follow_up(db: Database, call_id: str, *, providers: Providers | None = None,
              now: datetime | None = None) -> str | None:
    """Complete one call from the providers if it is due and not leased; returns a summary."""
    now = now or utcnow()
    call = _claim(db, call_id, now)
    if call is None:
        return None
    providers = providers or default_providers()
    notes: list[str] = []
    for _ in range(3):
        seq = call.get("followup_seq", 0)
        notes = _step(call, providers, now, db)
        call = db[CALLS].find_one({"_id": call_id}) or call
        missing = _give_up(db, call, _missing(call), now)
        if not missing:
            db[CALLS].update_one({"_id": call_id}, {
                "$set": {"followup_done_at": utcnow()},
                "$unset": {"needs_followup": "", "followup_next_at": "",
                           "followup_lease_until": "", "followup_attempts": ""},
            })
            return "complete"
        if call.get("followup_seq", 0) == seq:
            break
        # A webhook landed while we worked (e.g. call.ended after the Twilio end): go again.
    attempts = int(call.get("followup_attempts", 0))
    delay = min(15 * 2 ** attempts, 600)
    result = db[CALLS].update_one(
        # None matches a call whose counter was never set (flagged by reconcile, not an event).
        {"_id": call_id, "followup_seq": call.get("followup_seq")},
        {"$set": {"followup_next_at": now + timedelta(seconds=delay)},
         "$inc": {"followup_attempts": 1}, "$unset": {"followup_lease_until": ""}},
    )
    if result.matched_count == 0:
        # New information arrived after our last read: due again right away.
        db[CALLS].update_one({"_id": call_id}, {"$unset": {"followup_lease_until": ""}})
    if notes:
        log.info("follow-up of call %s waiting (%s)", call_id, "; ".join(notes)[:300])
    return "waiting for " + ", ".join(missing)


def run_due(db: Database, *, limit: int = 20, budget_seconds: float = 20.0,
            providers: Providers | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Follow up the calls that are due, a bounded batch; returns (completed, still waiting)."""
    now = now or utcnow()
    query = {
        "needs_followup": True,
        "$and": [
            {"$or": [{"followup_next_at": None}, {"followup_next_at": {"$lte": now}}]},
            {"$or": [{"followup_lease_until": None}, {"followup_lease_until": {"$lte": now}}]},
        ],
    }
    done = waiting = 0
    deadline = time.monotonic() + budget_seconds
    ids = [d["_id"] for d in db[CALLS].find(query, {"_id": 1}).sort("followup_next_at", 1)
           .limit(limit)]
    for call_id in ids:
        if time.monotonic() > deadline:
            break
        providers = providers or default_providers()
        result = follow_up(db, call_id, providers=providers, now=now)
        if result == "complete":
            done += 1
        elif result:
            waiting += 1
    return done, waiting


def terminal_statuses() -> list[str]:
    """The terminal statuses as stored strings."""
    return [s.value for s in TERMINAL_STATUSES]
