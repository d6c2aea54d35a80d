"""Each event stored once, then applied forward-only to its call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from core.calling.store import PhaseMove, move_status_many
from core.calling.transitions import advance_status, sync_rollup
from core.db import Database, DatabaseError, new_id, utcnow
from core.documents.event import Event
from core.documents.status import TERMINAL_STATUSES, CallStatus
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
from core.privacy import privacy_store

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
    # The stored event (for an apply after the acknowledgement) and whether applying it must
    # first give the call the provider id it does not carry yet.
    event: Event | None = None
    adopt: bool = False


# Writes one event document (the sidecar's group insert); returns False for a duplicate.
Insert = Callable[[dict[str, Any]], bool]


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


def link_call(db: Database, provider: str, provider_call_id: str, hint_call_id: str | None = None,
              *, trust_hint: bool = False) -> tuple[str | None, bool]:
    """(our call id or None, whether that link is still to be confirmed or the call to adopt
    the provider id).

    By our own id when the webhook names it and the call carries no other provider id (a read
    by `_id`); else by the provider id (a unique index, so an indexed lookup everywhere).
    `trust_hint`: take the id the signed webhook names without reading; `confirm_links`
    checks it after the acknowledgement (the event becomes an orphan if it was wrong).
    """
    key = _provider_field(provider)
    if hint_call_id and trust_hint:
        return hint_call_id, True
    if hint_call_id:
        exists, current = store.provider_id_of(db, hint_call_id, key)
        if exists and current in (None, provider_call_id):
            return hint_call_id, current is None
    return store.call_id_by_provider_id(db, key, provider_call_id), False


@dataclass
class Links:
    """The events still linked after `confirm_links`, and which of their calls are erased."""

    events: list[Event]
    # Calls whose candidate was erased: a late event is applied like any other (the money and
    # counts still settle), then `privacy_store.scrub_erased` takes out what it brought (summary, payload).
    erased: list[str]
    # The status of each call read, for the status moves' compare-and-set (`move_status_many`).
    statuses: dict[str, str]


def confirm_links(db: Database, received: list[tuple[Event, bool]]) -> Links:
    """Confirm the links of events stored under the call id their webhook named (flagged True):
    one read for the batch; a call without the provider id adopts it. An event whose named call
    is missing or belongs to another provider call is linked by the provider id instead, or
    becomes an orphan (reconcile retries it). Returns the events still linked, to apply."""
    checks = [e for e, check in received if check and e.call_id]
    known = store.provider_ids_of(db, list({e.call_id for e in checks if e.call_id}))
    erased = [call_id for call_id, doc in known.items() if doc.get("erased_at")]
    linked: list[Event] = []
    for event, check in received:
        if not check or event.call_id is None:
            linked.append(event)
            continue
        key = _provider_field(event.provider)
        doc = known.get(event.call_id)
        current = doc.get(key) if doc is not None else None
        if doc is not None and (current == event.provider_call_id or doc.get("erased_at")):
            # An erased call has lost its provider ids on purpose: it adopts none again.
            linked.append(event)
            continue
        if doc is not None and current is None and store.adopt_provider_id(
                db, event.call_id, key, event.provider_call_id):
            linked.append(event)
            continue
        owner = store.call_id_by_provider_id(db, key, event.provider_call_id)
        if owner is None:
            store.unlink_event(db, event.id)
            continue
        if owner != event.call_id:
            store.link_event(db, event.id, owner)
            event = event.model_copy(update={"call_id": owner})
        linked.append(event)
    statuses = {call_id: doc["status"] for call_id, doc in known.items() if doc.get("status")}
    return Links(linked, erased, statuses)


def store_event(db: Database, event: ParsedEvent, *, source: str = "webhook",
                now: datetime | None = None, insert: Insert | None = None,
                trust_hint: bool = False) -> tuple[Event, bool, bool]:
    """Insert the event once; returns (the stored event, True if this delivery stored it,
    True if its link is to be confirmed or its call must still adopt the provider id)."""
    now = now or utcnow()
    call_id, adopt = link_call(db, event.provider, event.provider_call_id, event.hint_call_id,
                               trust_hint=trust_hint)
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
    if store.insert_event(db, doc, insert):
        return Event.model_validate(doc), True, adopt
    # Deleted in between (purge): nothing to do with the delivery.
    existing = store.event_by_key(db, event.dedupe_key) or Event.model_validate(doc)
    return existing, False, adopt and existing.call_id == call_id


def receive(db: Database, event: ParsedEvent, *, source: str = "webhook",
            insert: Insert | None = None, trust_hint: bool = False) -> StoreResult:
    """Store the event once (durably, before anything is acknowledged) without applying it.

    The result carries the stored event for an apply right after the acknowledgement
    (`apply_many`); if that never happens, reconcile's `apply_pending` applies it.
    With `trust_hint` the only database work is the insert when the webhook names our call.
    """
    stored, new, adopt = store_event(db, event, source=source, insert=insert, trust_hint=trust_hint)
    if stored.applied or stored.call_id is not None:
        return StoreResult(stored.id, stored.call_id, new, stored.applied, event=stored, adopt=adopt)
    # A later delivery may find the call the first one did not (the launcher was slower).
    call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
    if call_id is None:
        return StoreResult(stored.id, None, new, False, ["orphan"], event=stored)
    store.link_event(db, stored.id, call_id)
    stored = stored.model_copy(update={"call_id": call_id, "orphan": False})
    return StoreResult(stored.id, call_id, new, False, event=stored)


def process(db: Database, event: ParsedEvent, *, source: str = "webhook") -> StoreResult:
    """Store the event once and apply it; database errors propagate (the caller answers 503)."""
    # Stored under the call its (signed) event names without a read; the confirmation is the one
    # read by `_id`, which also tells whether the call is erased.
    result = receive(db, event, source=source, trust_hint=True)
    if result.applied or result.call_id is None or result.event is None:
        return result
    links = confirm_links(db, [(result.event, True)])
    if not links.events:
        return result
    result.applied = apply_stored(db, links.events[0], count_attempt=not result.new, adopt=False)
    if result.applied:
        store.mark_applied(db, result.event_id)
    privacy_store.scrub_erased(db, links.erased)
    return result


def apply_stored(db: Database, event: Event, *, count_attempt: bool = True,
                 adopt: bool | None = None, settle: Callable[[str], None] | None = None) -> bool:
    """Apply a stored event to its call; False if applying failed. The caller marks it applied
    (`store.mark_applied`, or one write for a batch).

    `adopt`: first give the call the event's provider id if it has none (None: whenever the
    event was linked by the id the webhook named). `settle`: as in `apply_event`.
    """
    if count_attempt:  # bounded retries: a poison event is not re-applied forever
        store.count_apply_attempt(db, event.id)
    if adopt is None:
        adopt = event.call_hint is not None and event.call_hint == event.call_id
    try:
        if adopt and event.call_id:
            store.adopt_provider_id(db, event.call_id, _provider_field(event.provider),
                                    event.provider_call_id)
        apply_event(db, event, settle=settle)
    except DatabaseError:
        raise
    except Exception:
        # The event is stored: reconcile retries it, so the provider needs no retry.
        log.exception("applying %s event %s failed; reconcile will retry", event.provider, event.id)
        return False
    return True


def _event_time(event: Event) -> datetime:
    at = event.occurred_at or event.received_at or utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def apply_event(db: Database, event: Event, *, settle: Callable[[str], None] | None = None) -> None:
    """Apply one stored event to its call (idempotent: re-applying changes nothing).

    `settle(call_id)` brings the call's usage counters and budget in line afterwards (e.g. queued
    for the sidecar's settler, which settles a burst together); without it, that is done here.
    """
    if event.call_id is None:
        return
    if event.provider == TWILIO:
        _apply_twilio(db, event.call_id, event)
    else:
        _apply_ultravox(db, event.call_id, event, settle or partial(sync_rollup, db))


def _twilio_move(call_id: str, event: Event) -> PhaseMove | None:
    """What a Twilio status callback writes on its call (None: a status we do not track)."""
    p = event.payload
    answered_by = p.get("AnsweredBy") or None
    new = twilio_status(p["CallStatus"], answered_by)
    if new is None:
        return None
    at = _event_time(event)
    # Facts that do not depend on the order of delivery are written unconditionally:
    # the earliest time of each phase ($min) and what the final callback reports.
    facts: dict[str, Any] = {}
    if answered_by:
        facts["answered_by"] = answered_by
    if p.get("CallDuration", "").isdigit():
        facts["duration_seconds"] = int(p["CallDuration"])
    earliest = {_STATUS_TIME_FIELD.get(new, "ended_at"): at}
    fields = {"twilio_status": p["CallStatus"], **facts}
    if new == CallStatus.VOICEMAIL:
        fields["failure_reason"] = "answered by voicemail"
    elif new in (CallStatus.FAILED,) and (p.get("ErrorMessage") or p.get("ErrorCode")):
        raw = p.get("ErrorCode", "")
        code = int(raw) if raw.isdigit() and len(raw) <= 6 else None  # Twilio's codes: 5 digits
        message = p.get("ErrorMessage") or "Twilio could not place the call"
        fields["provider_error_code"] = code
        fields["failure_reason"] = (f"{message} (Twilio error {code})" if code else message)[:300]
    return PhaseMove(call_id=call_id, status=new, fields=fields, event_id=event.id, at=at,
                     earliest=earliest, facts=facts)


def _apply_twilio(db: Database, call_id: str, event: Event) -> None:
    move = _twilio_move(call_id, event)
    if move is None:
        return
    # One write when the status moves forward (the usual case); a late or repeated callback
    # still leaves its order-free facts.
    if not advance_status(db, call_id, move.status, fields=move.fields, event_id=event.id,
                          at=move.at, earliest=move.earliest):
        store.record_phase(db, call_id, earliest=move.earliest, facts=move.facts)


def apply_many(db: Database, received: list[tuple[Event, bool]],
               settle: Callable[[str], None] | None = None) -> list[Event]:
    """Apply a batch of stored events, each with whether its link is to be confirmed
    (`confirm_links`); returns those applied (the caller marks them, one write). The same
    effect as applying them one by one: every Twilio status callback of the batch is one
    ordered command, then each call it may have ended gets its usage counters and budget
    settled (idempotent) — by `settle(call_id)` when given (e.g. queued for another thread;
    the worker's rollup and budget passes settle what a dead process left), else here."""
    applied: list[Event] = []
    moves: list[PhaseMove] = []
    moved_events: list[Event] = []
    links = confirm_links(db, [(e, check) for e, check in received if not e.applied])
    read = dict(links.statuses)
    for event in links.events:
        if event.call_id is None:
            continue
        if event.provider != TWILIO:
            read.pop(event.call_id, None)  # its apply may move the status after the read
            if apply_stored(db, event, count_attempt=False, adopt=False, settle=settle):
                applied.append(event)
            continue
        move = _twilio_move(event.call_id, event)
        if move is not None:
            moves.append(move)
        moved_events.append(event)
    move_status_many(db, moves, read)
    for call_id in dict.fromkeys(m.call_id for m in moves if m.status in TERMINAL_STATUSES):
        (settle or partial(sync_rollup, db))(call_id)
    privacy_store.scrub_erased(db, links.erased)
    return applied + moved_events


def _apply_ultravox(db: Database, call_id: str, event: Event, settle: Callable[[str], None]) -> None:
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
        settle(call_id)  # end reasons and agent-side duration feed the usage charts
    elif event.kind == "call.billed" and apply_billing(db, call_id, call.get("billingStatus"),
                                                         call.get("billedDuration")):
        settle(call_id)


def apply_billing(db: Database, call_id: str, billing_status: str | None,
                  billed_duration: str | None) -> bool:
    """Store Ultravox billing once it is final (a PENDING status is not stored); True if stored
    (the caller then settles the call's usage counters and budget)."""
    if not billing_status or billing_status == BILLING_PENDING:
        return False
    fields: dict[str, Any] = {"billing_status": billing_status, "billed_at": utcnow(), "updated_at": utcnow()}
    seconds = parse_duration(billed_duration)
    if seconds is not None:
        fields["billed_duration_seconds"] = seconds
    store.set_call_facts(db, call_id, fields)
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
    linked = store.unapplied_linked_events(db, max_attempts=max_attempts, limit=limit)
    # An event stored under the id its webhook named may never have been confirmed (the
    # sidecar stopped right after answering): confirm first (every one: the read also says
    # which calls are erased), then apply.
    links = confirm_links(db, [(e, True) for e in linked])
    for event in links.events:
        if apply_stored(db, event, adopt=False):
            store.mark_applied(db, event.id)
            done += 1
        else:
            pending += 1
    privacy_store.scrub_erased(db, links.erased)
    claimed_calls: list[str] = []
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
        claimed_calls.append(call_id)
        if apply_stored(db, claimed, adopt=False):
            store.mark_applied(db, claimed.id)
            done += 1
        else:
            pending += 1
    # An orphan named an erased call by its metadata (it adopted the provider id to link):
    # erase again what it brought, the provider id included.
    privacy_store.scrub_erased(db, claimed_calls)
    return done, pending


def orphan_pause(checks: int) -> timedelta:
    """How long an orphan waits before its next look: 15 s, doubling, at most 10 minutes."""
    return min(timedelta(seconds=15 * 2 ** min(checks, 10)), timedelta(minutes=10))