"""Follow-up of a call: what webhooks did not bring (transcript, billing, price, hang-up)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from core import crypto
from core.calling.transitions import advance_status, sync_rollup
from core.compliance import record as compliance_record
from core.compliance import recording_consent
from core.config import get_settings
from core.db import Database, utcnow
from core.documents.call import Call
from core.documents.status import OPEN_STATUSES, TERMINAL_STATUSES, CallStatus
from core.lifecycle import events, ingest, store
from core.lifecycle.opt_out import detect_opt_out, mark_do_not_call
from core.lifecycle.transcripts import transcript_messages
from core.privacy import privacy_store
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import get_twilio
from core.providers.ultravox import get_ultravox
from core.screening import store as screening_store
from core.screening.voicemail import left_voicemail

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


def record_ultravox(db: Database, call: Call, uv: Any) -> None:
    """Record what webhooks would have told us (ended, billed) from a read of the Ultravox call."""
    if getattr(uv, "joined", None):
        _uv_event(db, "call.joined", uv)
    if getattr(uv, "ended", None):
        _uv_event(db, "call.ended", uv)
        if uv.summary or uv.short_summary:
            # Summaries are generated after the end: a later read may carry what the event lacked.
            fields = {k: v for k, v in (("summary", uv.summary),
                                        ("short_summary", uv.short_summary)) if v}
            store.set_call_facts(db, call.id, fields)
    if uv.billing_status and uv.billing_status != events.BILLING_PENDING:
        _uv_event(db, "call.billed", uv)


def record_twilio(db: Database, call: Call, tw: Any) -> None:
    """Record a read of the Twilio call: its status as an event and its price when known."""
    if tw.status:
        form = {"CallSid": call.twilio_call_sid or "", "CallStatus": tw.status}
        if tw.duration is not None:
            form["CallDuration"] = str(tw.duration)
        if tw.answered_by:
            form["AnsweredBy"] = tw.answered_by
        try:
            ingest.process(db, events.parse_twilio(form), source="poll")
        except events.BadPayload:
            log.warning("Twilio reported an unexpected status for call %s", call.id)
    if tw.price is not None:
        store.set_call_facts(db, call.id, {
            "telephony_price": str(abs(Decimal(tw.price))), "price_unit": tw.price_unit,
            "price_status": "actual", "priced_at": utcnow(), "updated_at": utcnow(),
        })
        sync_rollup(db, call.id)


# -- follow-up ----------------------------------------------------------------------------


def max_duration(call: Call) -> timedelta:
    """The call's configured maximum length (from its config snapshot), else 60 minutes."""
    snap = call.config_snapshot or {}
    # The launcher keeps the effective config under "config"; accept it at the top level too.
    for holder in (snap.get("config") or {}, snap):
        for key, unit in (("max_duration_minutes", 60), ("max_duration_seconds", 1)):
            value = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(value, int | float) and value > 0:
                return timedelta(seconds=value * unit)
    return _DEFAULT_MAX_DURATION


def _started(call: Call) -> datetime | None:
    return call.answered_at or call.dialed_at or call.created_at


def _missing(call: Call) -> list[str]:
    missing = []
    if call.status in OPEN_STATUSES:
        missing.append("status")
    if call.ultravox_call_id:
        if call.transcript_status not in ("stored", "unavailable", "not_kept"):
            missing.append("transcript")
        if not call.billing_status and call.billing_status_note != "unavailable":
            missing.append("billing")
    if recording_consent.deletion_due(call):
        missing.append("the deletion at Ultravox")  # retried until done (the recording is there)
    if call.twilio_call_sid and not call.telephony_price \
            and call.price_status not in ("unavailable", "none"):
        missing.append("price")
    return missing


def _step(call: Call, providers: Providers, now: datetime, db: Database) -> tuple[list[str], Call]:
    """One pass over what the call still lacks; returns the notes of what failed and the call
    as read after our last write (a provider read that failed wrote nothing: no re-read)."""
    notes: list[str] = []
    call_id = call.id
    stale = False  # we wrote since `call` was read

    def reload() -> Call:
        nonlocal stale
        stale = False
        return store.get_call(db, call_id) or call

    uv_id, sid = call.ultravox_call_id, call.twilio_call_sid
    started = _started(call)
    overdue = bool(started and now - started > max_duration(call) + OVERDUE_MARGIN)
    deleted = bool(call.recording_consent and call.recording_consent.deleted_at)
    if uv_id and not deleted and (not call.ultravox_ended or not call.billing_status or not call.summary):
        try:
            uv = providers.ultravox.get_call(uv_id)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"ultravox: {exc}")
        else:
            record_ultravox(db, call, uv)
            call = reload()
    if uv_id and call.ultravox_ended and call.transcript_status not in ("stored", "unavailable", "not_kept"):
        try:
            read = providers.ultravox.list_messages(uv_id)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"transcript: {exc}")
        else:
            messages = transcript_messages(read)
            # The disclosure verdict is kept whether or not the transcript may be; it and the
            # voicemail go in the transcript's own write, so whoever sees one sees the others.
            facts = {"disclosure": compliance_record.after_call(call, messages, now)}
            left = left_voicemail(messages)
            if left is not None:
                spoken = (call.config_snapshot.get("spoken") or {}).get("voicemail_message")
                facts.update(screening_store.voicemail_facts(crypto.encrypt(left or str(spoken or "")) or ""))
            if recording_consent.keeps_transcript(call) or not messages:
                store.store_transcript(db, call_id, messages, facts)
            else:  # read for the opt-out, voicemail and disclosure checks, never stored
                recording_consent.withhold_transcript(db, call, messages, now, facts)
            phrase = detect_opt_out(messages)
            if phrase:
                mark_do_not_call(db, call, phrase)
            call = reload()
    if recording_consent.ready_to_delete(call):
        failed = recording_consent.delete_at_ultravox(db, call, providers.ultravox, now)
        if failed:
            notes.append(failed)
        call = reload()
    if sid and call.status in OPEN_STATUSES:
        # The agent is done (or the call is overdue) but the phone line may still be up.
        if (call.ultravox_ended or overdue) and not call.twilio_hangup_at:
            try:
                providers.telephony.end_call(sid)
                store.set_call_facts(db, call_id, {"twilio_hangup_at": now})
                stale = True
            except (ProviderUnavailable, ProviderError) as exc:
                notes.append(f"twilio hang-up: {exc}")
        if uv_id and overdue and not call.ultravox_ended and not call.ultravox_hangup_at:
            try:
                providers.ultravox.end_call(uv_id)
                store.set_call_facts(db, call_id, {"ultravox_hangup_at": now})
                stale = True
            except (ProviderUnavailable, ProviderError) as exc:
                notes.append(f"ultravox hang-up: {exc}")
    wants_price = not call.telephony_price and call.price_status not in ("none", "unavailable")
    if sid and (call.status in OPEN_STATUSES or wants_price):
        try:
            tw = providers.telephony.fetch_call(sid)
        except (ProviderUnavailable, ProviderError) as exc:
            notes.append(f"twilio: {exc}")
        else:
            record_twilio(db, call, tw)
            call = reload()
    # A live launch stores the CallSid (or fails the call) well within the dispatcher's stale
    # limit; past it, the launching worker is gone.
    grace = timedelta(seconds=get_settings().dispatch_stale_seconds)
    launch_settled = bool(started and now - started > grace)
    if (not sid and call.twilio_sent_at is None and call.status in OPEN_STATUSES
            and call.ultravox_ended and call.joined_at is None and launch_settled):
        # The Twilio create never left (no `twilio_sent_at`) and the agent side ended with
        # nobody joining: the phone was never dialled. A create that may have left is never
        # failed here; the sweeper's lookup of Twilio's calls settles it.
        advance_status(db, call_id, CallStatus.FAILED,
                       fields={"failure_reason": "the phone call was never placed"})
        stale = True
    return notes, reload() if stale else call


def _give_up(db: Database, call: Call, missing: list[str], now: datetime) -> list[str]:
    """Mark pieces that will not come any more as unavailable; returns what is still awaited."""
    ended = call.ended_at or call.ultravox_ended_at or _started(call) or now
    age = now - ended
    fields: dict[str, Any] = {}
    if "price" in missing and call.status in _UNCONNECTED and age > _NO_CHARGE_WAIT:
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
        store.set_call_facts(db, call.id, fields)
        sync_rollup(db, call.id)
        call = call.model_copy(update=fields)
    return _missing(call)


def follow_up(db: Database, call_id: str, *, providers: Providers | None = None,
              now: datetime | None = None) -> str | None:
    """Complete one call from the providers if it is due and not leased; returns a summary."""
    now = now or utcnow()
    call = store.claim_followup(db, call_id, now, now + _LEASE)
    if call is None:
        return None
    providers = providers or default_providers()
    notes: list[str] = []
    missing: list[str] = []
    for _ in range(3):
        seq = call.followup_seq
        if not call.erased_at:
            notes, call = _step(call, providers, now, db)
        if call.erased_at:
            # The candidate was erased (before this follow-up, or while it read the providers):
            # what it fetched goes again, and with it the follow-up itself.
            privacy_store.scrub_erased(db, [call_id])
            return "erased"
        missing = _give_up(db, call, _missing(call), now)
        if not missing:
            store.finish_followup(db, call_id)
            return "complete"
        if call.followup_seq == seq:
            delay = min(15 * 2 ** call.followup_attempts, 600)
            # Guarded by the counter as we last read it: it fails when new information (e.g.
            # call.ended after the Twilio end) arrived since; then we read it and go again.
            if store.postpone_followup(db, call_id, seen_seq=call.followup_seq,
                                       next_at=now + timedelta(seconds=delay)):
                break
            call = store.get_call(db, call_id) or call
        # A webhook landed while we worked: go again (we still hold the lease).
    else:
        # Still moving after three passes: due again right away (the worker's reconcile).
        store.drop_followup_lease(db, call_id)
    if notes:
        log.info("follow-up of call %s waiting (%s)", call_id, "; ".join(notes)[:300])
    return "waiting for " + ", ".join(missing)


def run_due(db: Database, *, limit: int = 20, budget_seconds: float = 20.0,
            providers: Providers | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Follow up the calls that are due, a bounded batch; returns (completed, still waiting)."""
    now = now or utcnow()
    done = waiting = 0
    deadline = time.monotonic() + budget_seconds
    for call_id in store.due_followups(db, now, limit=limit):
        if time.monotonic() > deadline:
            break
        providers = providers or default_providers()
        result = follow_up(db, call_id, providers=providers, now=now)
        if result in ("complete", "erased"):
            done += 1
        elif result:
            waiting += 1
    return done, waiting


def terminal_statuses() -> list[str]:
    """The terminal statuses as stored strings."""
    return [s.value for s in TERMINAL_STATUSES]
