"""Provider webhooks parsed and validated into events (no I/O)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.calling.reasons import hide_numbers
from core.documents.status import CallStatus
from core.lifecycle.signatures import parse_timestamp

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
# Twilio numbers a call's status callbacks 0, 1, 2 … (a call has a handful): the event keys a
# call's page looks up go this far.
TWILIO_SEQUENCE_KEYS = 100


def dedupe_keys_of(ultravox_call_id: str, twilio_call_sid: str) -> list[str]:
    """Every dedupe key an event of the call with these provider ids can carry (the parsers
    below make them), so that its events can be read on the unique dedupe key."""
    return ([f"uv:{ultravox_call_id}:{event}" for event in sorted(ULTRAVOX_EVENTS)]
            + [f"tw:{twilio_call_sid}:{seq}" for seq in range(TWILIO_SEQUENCE_KEYS)]
            + [f"tw:{twilio_call_sid}:status:{status}" for status in _TWILIO_STATUS])


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


def parse_twilio(form: Any, call_hint: str | None = None) -> ParsedEvent:
    """Validate a Twilio status callback (a form MultiDict or a plain dict) into a ParsedEvent.

    `call_hint` is our call id from the callback URL's query (`?call=`), which Twilio's
    signature covers: it links the callback to our call even when we never learnt the CallSid.
    """
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
    if "ErrorMessage" in kept:
        # Twilio's error texts may quote the dialled number, which the event log never keeps.
        kept["ErrorMessage"] = hide_numbers(kept["ErrorMessage"])
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
    if call_hint is not None and not _ID_RE.match(call_hint):
        raise BadPayload("the call parameter is not an id")
    return ParsedEvent(
        provider=TWILIO,
        kind=status,
        dedupe_key=f"tw:{sid}:{suffix}",
        provider_call_id=sid,
        payload=kept,
        hint_call_id=call_hint,
        occurred_at=occurred,
    )


def twilio_status(call_status: str, answered_by: str | None = None) -> CallStatus | None:
    """Our status for a Twilio CallStatus (completed + answered by a machine = voicemail)."""
    status = _TWILIO_STATUS.get(call_status)
    if status == CallStatus.COMPLETED and (answered_by or "").startswith("machine"):
        return CallStatus.VOICEMAIL
    return status
