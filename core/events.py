"""Provider webhooks: verify, validate, store each event once, apply it forward-only to its call."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError
from twilio.request_validator import RequestValidator

from core.db import CALL_EVENTS, CALLS, new_id, utcnow
from core.models import TERMINAL_STATUSES, CallStatus, statuses_before

log = logging.getLogger(__name__)

ULTRAVOX = "ultravox"
TWILIO = "twilio"
ULTRAVOX_EVENTS = frozenset({"call.started", "call.joined", "call.ended", "call.billed"})

# Twilio `CallStatus` → our status ("initiated" is what the initiated event sends in practice,
# "answered" is not a Twilio status but some integrations send it: accept both spellings).
_TWILIO_STATUS: dict[str, CallStatus] = {
    "initiated": CallStatus.DIALING,
    "queued": CallStatus.DIALING,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "answered": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
}
# Which timestamp a status fills in (the earliest one wins, whatever the delivery order).
_STATUS_TIME_FIELD: dict[CallStatus, str] = {
    CallStatus.DIALING: "dialed_at",
    CallStatus.RINGING: "ringing_at",
    CallStatus.IN_PROGRESS: "answered_at",
}
# Final billing states; PENDING means "not yet" and is never stored over a final one.
BILLING_PENDING = "BILLING_STATUS_PENDING"
# Ultravox ids are UUIDs, Twilio CallSids "CA" + 32 hex; be a little lenient but never accept
# anything that could be a Mongo operator or a path.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENUM_RE = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
_DURATION_RE = re.compile(r"^(-?\d{1,12}(?:\.\d{1,9})?)s$")
_MAX_TEXT = 20_000
# Only these Twilio form fields are kept: no From/To/Caller/Called/ForwardedFrom/CallerName and
# no geographic fields, so no phone number reaches the database or the logs.
_TWILIO_KEEP = (
    "CallSid", "AccountSid", "CallStatus", "SequenceNumber", "Timestamp", "CallDuration",
    "Duration", "AnsweredBy", "Direction", "ApiVersion", "SipResponseCode", "ErrorCode",
    "ErrorMessage", "CallbackSource", "ParentCallSid",
)
# Fields of the Ultravox Call object kept in the event log (the rest echoes our own config).
_ULTRAVOX_STR_FIELDS = (
    "created", "joined", "ended", "endReason", "billedDuration", "billingStatus",
    "shortSummary", "summary", "maxDuration",
)


class BadPayload(ValueError):
    """The body is not a webhook we accept (malformed, wrong types, operator-like keys)."""


# -- signatures ---------------------------------------------------------------------------


def ultravox_signature(body: bytes, timestamp: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw body immediately followed by the timestamp header."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def verify_ultravox(
    body: bytes,
    timestamp: str | None,
    signatures: str | None,
    secrets: list[str],
    *,
    max_age_seconds: float,
    now: datetime | None = None,
) -> str | None:
    """None if the request is authentic and fresh, else the reason it is not (no secrets in it)."""
    if not timestamp or not signatures:
        return "missing signature headers"
    sent = parse_timestamp(timestamp)
    if sent is None:
        return "unreadable timestamp"
    age = ((now or utcnow()) - sent).total_seconds()
    # A timestamp from the future beyond the window is as suspicious as an old one.
    if abs(age) > max_age_seconds:
        return "stale timestamp"
    given = [s.strip() for s in signatures.split(",") if s.strip()]
    for secret in secrets:
        expected = ultravox_signature(body, timestamp, secret)
        # compare_digest on every candidate: timing says nothing about which one matched.
        if any(hmac.compare_digest(expected.encode(), s.encode()) for s in given):
            return None
    return "bad signature"


def verify_twilio(url: str, params: Any, signature: str | None, token: str) -> bool:
    """True if X-Twilio-Signature matches the URL Twilio called plus the POST parameters."""
    if not signature:
        return False
    return RequestValidator(token).validate(url, params, signature)


# -- parsing ------------------------------------------------------------------------------


@dataclass
class ParsedEvent:
    """A validated webhook, ready to store: its unique key and the sanitised payload."""

    provider: str
    kind: str
    dedupe_key: str
    provider_call_id: str
    payload: dict[str, Any]
    hint_call_id: str | None = None  # our call id if the sender told us (Ultravox metadata)
    occurred_at: datetime | None = None


def _reject_operator_keys(value: Any, depth: int = 0) -> None:
    # Nothing a sender writes may be read as a MongoDB operator or a dotted path, at any depth.
    if depth > 20:
        raise BadPayload("payload nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "\x00" in key:
                raise BadPayload("payload has an operator-like key")
            _reject_operator_keys(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _reject_operator_keys(item, depth + 1)


def _opt_str(obj: Mapping[str, Any], key: str, *, max_len: int = _MAX_TEXT) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{key} must be a string")
    if len(value) > max_len:
        raise BadPayload(f"{key} is too long")
    return value


def parse_duration(value: str | None) -> float | None:
    """A protobuf duration string ("37.5s") as seconds, or None."""
    if not value:
        return None
    match = _DURATION_RE.match(value.strip())
    return float(match.group(1)) if match else None


def parse_ultravox(data: Any) -> ParsedEvent:
    """Validate an Ultravox webhook body (already JSON-decoded) into a ParsedEvent."""
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    _reject_operator_keys(data)
    event = data.get("event")
    if not isinstance(event, str) or event not in ULTRAVOX_EVENTS:
        raise BadPayload("unknown or missing event")
    call = data.get("call")
    if not isinstance(call, dict):
        raise BadPayload("call must be an object")
    call_id = call.get("callId")
    if not isinstance(call_id, str) or not _ID_RE.match(call_id):
        raise BadPayload("call.callId must be an id string")
    kept: dict[str, Any] = {"callId": call_id}
    for key in _ULTRAVOX_STR_FIELDS:
        value = _opt_str(call, key)
        if value is not None:
            kept[key] = value
    for key in ("endReason", "billingStatus"):
        if key in kept and not _ENUM_RE.match(kept[key]):
            raise BadPayload(f"call.{key} is not a plain value")
    if "billedDuration" in kept and parse_duration(kept["billedDuration"]) is None:
        raise BadPayload("call.billedDuration is not a duration")
    metadata = call.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(v, str) and len(v) <= 500 for v in metadata.values()
        ):
            raise BadPayload("call.metadata must map strings to strings")
        # Only plain keys are stored (Ultravox reserves dotted `ultravox.*` keys for itself).
        kept["metadata"] = {k: v for k, v in metadata.items() if _ID_RE.match(k)}
    hint = (kept.get("metadata") or {}).get("screeningId")
    occurred = None
    if event == "call.ended" and "ended" in kept:
        occurred = parse_timestamp(kept["ended"])
    elif event == "call.joined" and "joined" in kept:
        occurred = parse_timestamp(kept["joined"])
    return ParsedEvent(
        provider=ULTRAVOX,
        kind=event,
        dedupe_key=f"uv:{call_id}:{event}",
        provider_call_id=call_id,
        payload={"event": event, "call": kept},
        hint_call_id=hint if hint and _ID_RE.match(hint) else None,
        occurred_at=occurred,
    )


def parse_twilio(form: Any) -> ParsedEvent:
    """Validate a Twilio status callback (a form MultiDict or a plain dict) into a ParsedEvent."""
    getlist = getattr(form, "getlist", None)
    keys = list(form.keys())
    if any(not isinstance(k, str) or k.startswith("$") for k in keys):
        raise BadPayload("form has an operator-like key")
    kept: dict[str, str] = {}
    for key in _TWILIO_KEEP:
        values = getlist(key) if getlist else ([form[key]] if key in form else [])
        if len(values) > 1:
            raise BadPayload(f"{key} given more than once")
        if values:
            value = values[0]
            if not isinstance(value, str) or len(value) > 1000:
                raise BadPayload(f"{key} must be a short string")
            kept[key] = value
    sid = kept.get("CallSid", "")
    if not _ID_RE.match(sid):
        raise BadPayload("CallSid missing or not an id")
    status = kept.get("CallStatus", "")
    if status not in _TWILIO_STATUS:
        raise BadPayload("CallStatus missing or unknown")
    seq = kept.get("SequenceNumber")
    if seq is not None and not seq.isdigit():
        raise BadPayload("SequenceNumber must be a number")
    for key in ("CallDuration", "Duration"):
        if kept.get(key) not in (None, "") and not kept[key].isdigit():
            raise BadPayload(f"{key} must be a number")
    if not _ENUM_RE.match(kept.get("AnsweredBy", "")):
        raise BadPayload("AnsweredBy is not a plain value")
    # SequenceNumber is unique per callback of one call; without it, the status itself is.
    suffix = seq if seq is not None else f"status:{status}"
    occurred = None
    if kept.get("Timestamp"):
        try:
            occurred = email.utils.parsedate_to_datetime(kept["Timestamp"]).astimezone(UTC)
        except (TypeError, ValueError):
            occurred = None
    return ParsedEvent(
        provider=TWILIO,
        kind=status,
        dedupe_key=f"tw:{sid}:{suffix}",
        provider_call_id=sid,
        payload=kept,
        occurred_at=occurred,
    )


def twilio_status(call_status: str, answered_by: str | None = None) -> CallStatus | None:
    """Our status for a Twilio CallStatus (completed + answered by a machine = voicemail)."""
    status = _TWILIO_STATUS.get(call_status)
    if status == CallStatus.COMPLETED and (answered_by or "").startswith("machine"):
        return CallStatus.VOICEMAIL
    return status


# -- storing and applying -----------------------------------------------------------------


@dataclass
class StoreResult:
    """What happened to one delivery."""

    event_id: str
    call_id: str | None
    new: bool
    applied: bool
    notes: list[str] = field(default_factory=list)


def find_call_id(db: Database, provider: str, provider_call_id: str,
                 hint_call_id: str | None = None) -> str | None:
    """Our call id for a provider's call id (adopting the hint when the launcher has not yet)."""
    key = "ultravox_call_id" if provider == ULTRAVOX else "twilio_call_sid"
    doc = db[CALLS].find_one({key: provider_call_id}, {"_id": 1})
    if doc:
        return doc["_id"]
    if hint_call_id:
        # The webhook can beat the launcher's write of the provider id: trust our own id from
        # the signed metadata, but only for a call that has no other provider id.
        doc = db[CALLS].find_one_and_update(
            {"_id": hint_call_id, key: {"$in": [None, provider_call_id]}},
            {"$set": {key: provider_call_id}},
            projection={"_id": 1},
        )
        if doc:
            return doc["_id"]
    return None


def store_event(db: Database, event: ParsedEvent, *, source: str = "webhook",
                now: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Insert the event once; returns (the stored document, True if this delivery stored it)."""
    now = now or utcnow()
    call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
    doc = {
        "_id": new_id(),
        "dedupe_key": event.dedupe_key,
        "provider": event.provider,
        "kind": event.kind,
        "call_id": call_id,
        "provider_call_id": event.provider_call_id,
        "payload": event.payload,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "source": source,
        "applied": False,
        "orphan": call_id is None,
        # Counts the apply that follows this insert (saves a write on the hot path).
        "apply_attempts": 1,
    }
    try:
        db[CALL_EVENTS].insert_one(doc)
    except DuplicateKeyError:
        existing = db[CALL_EVENTS].find_one({"dedupe_key": event.dedupe_key})
        if existing is None:  # deleted in between (purge): nothing to do
            return doc, False
        return existing, False
    return doc, True


def process(db: Database, event: ParsedEvent, *, source: str = "webhook") -> StoreResult:
    """Store the event once and apply it; database errors propagate (the caller answers 503)."""
    doc, new = store_event(db, event, source=source)
    if doc.get("applied"):
        return StoreResult(doc["_id"], doc.get("call_id"), new, True)
    if doc.get("call_id") is None:
        # A later delivery may find the call the first one did not (the launcher was slower).
        call_id = find_call_id(db, event.provider, event.provider_call_id, event.hint_call_id)
        if call_id is None:
            return StoreResult(doc["_id"], None, new, False, ["orphan"])
        db[CALL_EVENTS].update_one({"_id": doc["_id"]},
                                   {"$set": {"call_id": call_id, "orphan": False}})
        doc["call_id"] = call_id
    applied = apply_stored(db, doc, count_attempt=not new)
    return StoreResult(doc["_id"], doc["call_id"], new, applied)


def apply_stored(db: Database, doc: dict[str, Any], *, count_attempt: bool = True) -> bool:
    """Apply a stored event to its call and mark it applied; False if applying failed."""
    if count_attempt:  # bounded retries: a poison event is not re-applied forever
        db[CALL_EVENTS].update_one({"_id": doc["_id"]}, {"$inc": {"apply_attempts": 1}})
    try:
        apply_event(db, doc)
    except PyMongoError:
        raise
    except Exception:
        # The event is stored: reconcile retries it, so the provider needs no retry.
        log.exception("applying %s event %s failed; reconcile will retry",
                      doc.get("provider"), doc.get("_id"))
        return False
    db[CALL_EVENTS].update_one({"_id": doc["_id"]},
                               {"$set": {"applied": True, "applied_at": utcnow()}})
    return True


def advance_status(
    db: Database,
    call_id: str,
    new: CallStatus,
    *,
    fields: dict[str, Any] | None = None,
    event_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Move a call to `new` only if that is forward (one conditional update); True if it moved."""
    now = utcnow()
    update: dict[str, Any] = {
        "$set": {"status": new.value, "updated_at": now, **(fields or {})},
        "$push": {"status_history": {"status": new.value, "at": at or now, "event_id": event_id}},
    }
    if new in TERMINAL_STATUSES:
        update["$unset"] = {"open_key": ""}
        update["$set"]["needs_followup"] = True
        update["$set"]["followup_next_at"] = now
        update["$inc"] = {"followup_seq": 1}
    result = db[CALLS].update_one(
        {"_id": call_id, "status": {"$in": statuses_before(new)}}, update
    )
    moved = result.modified_count == 1
    if moved and new in TERMINAL_STATUSES:
        sync_rollup(db, call_id)
    return moved


def sync_rollup(db: Database, call_id: str) -> None:
    """Bring the usage rollups and the call's `costs` in line after its figures changed."""
    try:
        from core import rollups

        rollups.sync_call(db, call_id)
    except PyMongoError:
        raise
    except Exception:
        # Counters are derived data: the worker's rollup safety net (sync_stale) catches up.
        log.exception("rollup sync of call %s failed", call_id)


def _event_time(doc: dict[str, Any]) -> datetime:
    at = doc.get("occurred_at") or doc.get("received_at") or utcnow()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def apply_event(db: Database, doc: dict[str, Any]) -> None:
    """Apply one stored event to its call (idempotent: re-applying changes nothing)."""
    call_id = doc["call_id"]
    if doc["provider"] == TWILIO:
        _apply_twilio(db, call_id, doc)
    else:
        _apply_ultravox(db, call_id, doc)


def _apply_twilio(db: Database, call_id: str, doc: dict[str, Any]) -> None:
    p = doc["payload"]
    answered_by = p.get("AnsweredBy") or None
    new = twilio_status(p["CallStatus"], answered_by)
    if new is None:
        return
    at = _event_time(doc)
    # Facts that do not depend on the order of delivery are written unconditionally:
    # the earliest time of each phase ($min) and what the final callback reports.
    data: dict[str, Any] = {}
    if answered_by:
        data["answered_by"] = answered_by
    if p.get("CallDuration", "").isdigit():
        data["duration_seconds"] = int(p["CallDuration"])
    time_field = _STATUS_TIME_FIELD.get(new, "ended_at")
    update: dict[str, Any] = {"$min": {time_field: at}}
    if data:
        update["$set"] = data
    db[CALLS].update_one({"_id": call_id}, update)
    fields = {"twilio_status": p["CallStatus"]}
    if new == CallStatus.VOICEMAIL:
        fields["failure_reason"] = "answered by voicemail"
    elif new in (CallStatus.FAILED,) and p.get("ErrorMessage"):
        fields["failure_reason"] = p["ErrorMessage"][:300]
    advance_status(db, call_id, new, fields=fields, event_id=doc["_id"], at=at)


def _apply_ultravox(db: Database, call_id: str, doc: dict[str, Any]) -> None:
    kind = doc["kind"]
    call = doc["payload"]["call"]
    now = utcnow()
    if kind == "call.joined":
        at = parse_timestamp(call.get("joined", "")) or _event_time(doc)
        db[CALLS].update_one({"_id": call_id}, {"$min": {"joined_at": at}})
        advance_status(db, call_id, CallStatus.IN_PROGRESS, event_id=doc["_id"], at=at)
    elif kind == "call.ended":
        at = parse_timestamp(call.get("ended", "")) or _event_time(doc)
        fields: dict[str, Any] = {"ultravox_ended": True, "needs_followup": True,
                                  "followup_next_at": now, "updated_at": now}
        for src, dst in (("endReason", "end_reason"), ("summary", "summary"),
                         ("shortSummary", "short_summary")):
            if call.get(src):
                fields[dst] = call[src]
        db[CALLS].update_one(
            {"_id": call_id},
            {"$set": fields, "$min": {"ultravox_ended_at": at}, "$inc": {"followup_seq": 1}},
        )
        # The transcript is fetched by the follow-up; never downgrade a stored one.
        db[CALLS].update_one(
            {"_id": call_id, "transcript_status": {"$nin": ["stored", "unavailable"]}},
            {"$set": {"transcript_status": "pending"}},
        )
        sync_rollup(db, call_id)  # end reasons and agent-side duration feed the usage charts
    elif kind == "call.billed":
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
    db[CALLS].update_one({"_id": call_id}, {"$set": fields})
    sync_rollup(db, call_id)
    return True


def apply_pending(db: Database, *, limit: int = 100, orphan_max_age: timedelta = timedelta(hours=2),
                  max_attempts: int = 10, now: datetime | None = None) -> tuple[int, int]:
    """Apply stored events not applied yet (crashed applies, orphans whose call appeared).

    Returns (applied, still pending) for this bounded batch.
    """
    now = now or utcnow()
    query = {
        "applied": False,
        "apply_attempts": {"$lt": max_attempts},
        # Orphans are retried for a while only: a call that never appears stays an orphan.
        "$or": [{"call_id": {"$ne": None}}, {"received_at": {"$gte": now - orphan_max_age}}],
    }
    done = pending = 0
    for doc in db[CALL_EVENTS].find(query).sort("received_at", 1).limit(limit):
        if doc.get("call_id") is None:
            hint = ((doc.get("payload") or {}).get("call") or {}).get("metadata", {}) \
                .get("screeningId") if doc["provider"] == ULTRAVOX else None
            call_id = find_call_id(db, doc["provider"], doc["provider_call_id"], hint)
            if call_id is None:
                pending += 1
                continue
            claimed = db[CALL_EVENTS].find_one_and_update(
                {"_id": doc["_id"], "call_id": None},
                {"$set": {"call_id": call_id, "orphan": False}},
                return_document=ReturnDocument.AFTER,
            )
            if claimed is None:
                continue
            doc = claimed
        if apply_stored(db, doc):
            done += 1
        else:
            pending += 1
    return done, pending
