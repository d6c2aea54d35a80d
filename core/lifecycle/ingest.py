"""Each event stored once, then applied forward-only to its call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.calling.transitions import advance_status, sync_rollup
from core.db import Database, DatabaseError, new_id, utcnow
from core.documents.event import Event
from core.documents.status import CallStatus
from core.lifecycle import store
from core.lifecycle.events import (
    BILLING_PENDING,
    TWILIO,
    ULTRAVOX,
    ParsedEvent,
    parse_duration,
    twilio_status,
)
from core.lifecycle.signatures import parse_timestamp

log = logging.getLogger(__name__)

# Which timestamp a status fills in (the earliest one wins, whatever the delivery order).
_STATUS_TIME_FIELD: dict[CallStatus, str] = {
    CallStatus.DIALING: "dialed_at",
    CallStatus.RINGING: "ringing_at",
    CallStatus.IN_PROGRESS: "answered_at",
}


@dataclass
class StoreResult:
    """What happened to one delivery."""

    event_id: str
    call_id: str | None
    new: bool
    applied: bool
    notes: list[str] = field(default_factory=list)


def _provider_field(provider: str) -> str:
    return "ultravox_call_id" if provider == ULTRAVOX else "twilio_call_sid"


def find_call_id(db: Database, provider: str, provider_call_id: str,
                 hint_call_id: str | None = None) -> str | None:
    """Our call id for a provider's call id (adopting the hint when the launcher has not yet)."""
    key = _provider_field(provider)
    # Our own id comes signed with the webhook (Twilio's callback URL, Ultravox's metadata):
    # link by it first, a lookup by `_id`, adopting the provider id when the launcher has not
    # stored it yet (its answer was lost, or it died) — but never over another provider id.
    if hint_call_id and store.adopt_provider_id(db, hint_call_id, key, provider_call_id):
        return hint_call_id
    return store.call_id_by_provider_id(db, key, provider_call_id)


def store_event(db: Database, event: ParsedEvent, *, source: str = "webhook",
                now: datetime | None = None) -> tuple[Event, bool]:
    """Insert the event once; returns (the stored event, True if this delivery stored it)."""
    now = now or utcnow()
    call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
    doc = {
        "_id": new_id(),
        "dedupe_key": event.dedupe_key,
        "provider": event.provider,
        "kind": event.kind,
        "call_id": call_id,
        "provider_call_id": event.provider_call_id,
        "call_hint": event.hint_call_id,
        "payload": event.payload,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "source": source,
        "applied": False,
        "orphan": call_id is None,
        # Counts the apply that follows this insert (saves a write on the hot path).
        "apply_attempts": 1,
    }
    if store.insert_event(db, doc):
        return Event.model_validate(doc), True
    # Deleted in between (purge): nothing to do with the delivery.
    return store.event_by_key(db, event.dedupe_key) or Event.model_validate(doc), False


def process(db: Database, event: ParsedEvent, *, source: str = "webhook") -> StoreResult:
    """Store the event once and apply it; database errors propagate (the caller answers 503)."""
    stored, new = store_event(db, event, source=source)
    if stored.applied:
        return StoreResult(stored.id, stored.call_id, new, True)
    if stored.call_id is None:
        # A later delivery may find the call the first one did not (the launcher was slower).
        call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
        if call_id is None:
            return StoreResult(stored.id, None, new, False, ["orphan"])
        store.link_event(db, stored.id, call_id)
        stored = stored.model_copy(update={"call_id": call_id, "orphan": False})
    applied = apply_stored(db, stored, count_attempt=not new)
    return StoreResult(stored.id, stored.call_id, new, applied)


def apply_stored(db: Database, event: Event, *, count_attempt: bool = True) -> bool:
    """Apply a stored event to its call and mark it applied; False if applying failed."""
    if count_attempt:  # bounded retries: a poison event is not re-applied forever
        store.count_apply_attempt(db, event.id)
    try:
        apply_event(db, event)
    except DatabaseError:
        raise
    except Exception:
        # The event is stored: reconcile retries it, so the provider needs no retry.
        log.exception("applying %s event %s failed; reconcile will retry", event.provider, event.id)
        return False
    store.mark_applied(db, event.id)
    return True


def _event_time(event: Event) -> datetime:
    at = event.occurred_at or event.received_at or utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def apply_event(db: Database, event: Event) -> None:
    """Apply one stored event to its call (idempotent: re-applying changes nothing)."""
    if event.call_id is None:
        return
    if event.provider == TWILIO:
        _apply_twilio(db, event.call_id, event)
    else:
        _apply_ultravox(db, event.call_id, event)


def _apply_twilio(db: Database, call_id: str, event: Event) -> None:
    p = event.payload
    answered_by = p.get("AnsweredBy") or None
    new = twilio_status(p["CallStatus"], answered_by)
    if new is None:
        return
    at = _event_time(event)
    # Facts that do not depend on the order of delivery are written unconditionally:
    # the earliest time of each phase ($min) and what the final callback reports.
    facts: dict[str, Any] = {}
    if answered_by:
        facts["answered_by"] = answered_by
    if p.get("CallDuration", "").isdigit():
        facts["duration_seconds"] = int(p["CallDuration"])
    store.record_phase(db, call_id, earliest={_STATUS_TIME_FIELD.get(new, "ended_at"): at}, facts=facts)
    fields = {"twilio_status": p["CallStatus"]}
    if new == CallStatus.VOICEMAIL:
        fields["failure_reason"] = "answered by voicemail"
    elif new in (CallStatus.FAILED,) and (p.get("ErrorMessage") or p.get("ErrorCode")):
        raw = p.get("ErrorCode", "")
        code = int(raw) if raw.isdigit() and len(raw) <= 6 else None  # Twilio's codes: 5 digits
        message = p.get("ErrorMessage") or "Twilio could not place the call"
        fields["provider_error_code"] = code
        fields["failure_reason"] = (f"{message} (Twilio error {code})" if code else message)[:300]
    advance_status(db, call_id, new, fields=fields, event_id=event.id, at=at)


def _apply_ultravox(db: Database, call_id: str, event: Event) -> None:
    call = event.payload["call"]
    now = utcnow()
    if event.kind == "call.joined":
        at = parse_timestamp(call.get("joined", "")) or _event_time(event)
        store.record_phase(db, call_id, earliest={"joined_at": at}, facts={})
        advance_status(db, call_id, CallStatus.IN_PROGRESS, event_id=event.id, at=at)
    elif event.kind == "call.ended":
        at = parse_timestamp(call.get("ended", "")) or _event_time(event)
        fields: dict[str, Any] = {"ultravox_ended": True, "needs_followup": True,
                                  "followup_next_at": now, "updated_at": now}
        for src, dst in (("endReason", "end_reason"), ("summary", "summary"),
                         ("shortSummary", "short_summary")):
            if call.get(src):
                fields[dst] = call[src]
        store.record_agent_end(db, call_id, fields=fields, ended_at=at)
        sync_rollup(db, call_id)  # end reasons and agent-side duration feed the usage charts
    elif event.kind == "call.billed":
        apply_billing(db, call_id, call.get("billingStatus"), call.get("billedDuration"))


def apply_billing(db: Database, call_id: str, billing_status: str | None,
                  billed_duration: str | None) -> bool:
    """Store Ultravox billing once it is final (a PENDING status is not stored)."""
    if not billing_status or billing_status == BILLING_PENDING:
        return False
    fields: dict[str, Any] = {"billing_status": billing_status, "billed_at": utcnow(), "updated_at": utcnow()}
    seconds = parse_duration(billed_duration)
    if seconds is not None:
        fields["billed_duration_seconds"] = seconds
    store.set_call_facts(db, call_id, fields)
    sync_rollup(db, call_id)
    return True


def apply_pending(db: Database, *, limit: int = 100, orphan_limit: int = 50,
                  orphan_max_age: timedelta = timedelta(hours=2), max_attempts: int = 10,
                  now: datetime | None = None) -> tuple[int, int]:
    """Apply stored events not applied yet: crashed applies first, then orphans whose call
    appeared. Orphans are read on their own (a bounded batch, each looked at again with a
    growing pause), so a flood of events that never link cannot starve the real retries.

    Returns (applied, still pending) for this bounded run.
    """
    now = now or utcnow()
    done = pending = 0
    for event in store.unapplied_linked_events(db, max_attempts=max_attempts, limit=limit):
        if apply_stored(db, event):
            done += 1
        else:
            pending += 1
    for event in store.due_orphan_events(db, received_since=now - orphan_max_age, now=now,
                                         limit=orphan_limit):
        hint = event.call_hint or ((event.payload.get("call") or {}).get("metadata", {})
                                   .get("screeningId") if event.provider == ULTRAVOX else None)
        call_id = find_call_id(db, event.provider, event.provider_call_id, hint)
        if call_id is None:
            store.defer_orphan(db, event.id, until=now + orphan_pause(event.orphan_checks))
            pending += 1
            continue
        claimed = store.claim_orphan(db, event.id, call_id)
        if claimed is None:  # another process linked it meanwhile
            continue
        if apply_stored(db, claimed):
            done += 1
        else:
            pending += 1
    return done, pending


def orphan_pause(checks: int) -> timedelta:
    """How long an orphan waits before its next look: 15 s, doubling, at most 10 minutes."""
    return min(timedelta(seconds=15 * 2 ** min(checks, 10)), timedelta(minutes=10))