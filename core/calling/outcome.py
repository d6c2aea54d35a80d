"""One line saying how a call went, in words (pages, exports; the CLI's `--json` keeps codes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core import crypto
from core.calling.hours import opening_words
from core.calling.reasons import clean_reason
from core.documents.call import Call
from core.documents.status import CallStatus
from core.labels import Kind, label
from core.timezones import place_name


def _callback_when(callback: Mapping[str, Any]) -> str:
    """ "3 Dec 2026 at 15:00, their time (New York)" from the stored local date-time and zone."""
    raw, zone = str(callback.get("when_local") or ""), str(callback.get("zone") or "")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return raw or "a time they named"
    place = f" ({place_name(zone)})" if zone else ""
    return f"{when.day} {when:%b %Y} at {when:%H:%M}, their time{place}"


def _waiting_text(call: Call) -> str:
    """A queued follow-up attempt: why it waits and until when, on the candidate's clock."""
    when = opening_words(call.next_attempt_at, [call.candidate_zone] if call.candidate_zone else [])
    if call.wait_kind == "callback":
        return f"Call-back the candidate asked for: {when}"
    if call.wait_kind == "window":
        return f"Waiting for the calling window: {when}"
    of = f" of {call.max_attempts}" if call.max_attempts else ""
    return f"Retry at {when} (attempt {call.attempt}{of})"


def outcome_text(call: Call | Mapping[str, Any]) -> str:
    """One line saying how a call went (or why it is waiting)."""
    if not isinstance(call, Call):
        call = Call.model_validate(dict(call))
    status = call.status
    # Reasons stored before they were cleaned may quote a phone number: cleaned on the way out.
    reason = clean_reason(call.failure_reason)
    if call.opt_out:
        return "Asked not to be called again"
    if call.human_requested:
        try:
            reason = crypto.decrypt(call.human_requested.get("reason")) or "no reason given"
        except crypto.CryptoError:
            reason = "(the reason cannot be decrypted)"
        return f"Asked for a person: {reason}"
    if call.callback:
        if call.callback.get("flagged"):
            return "Asked to be called back more than 14 days ahead: for the hiring manager"
        return f"Asked to be called back on {_callback_when(call.callback)}"
    if call.voicemail_left:
        return "Left a voicemail message"
    if status == CallStatus.FAILED:
        why = reason or (label(Kind.END_REASON, call.end_reason) if call.end_reason else "no reason given")
        return f"Could not be placed: {why}"
    if status == CallStatus.QUEUED and call.hold_reason:
        return f"Held: {call.hold_reason}"
    if status == CallStatus.QUEUED and call.wait_kind and call.next_attempt_at:
        return _waiting_text(call)
    if status == CallStatus.QUEUED and call.scheduled_by and call.next_attempt_at:
        zones = list((call.calling_window.zones if call.calling_window else None) or [])
        return f"Scheduled for when the calling window opens: {opening_words(call.next_attempt_at, zones)}"
    if status == CallStatus.CANCELED and reason:
        return f"Cancelled: {reason}"
    if status == CallStatus.UNKNOWN:
        return f"Outcome unknown: {reason or 'the providers never said how it ended'}"
    if status == CallStatus.COMPLETED and call.end_reason:
        return f"Completed: {label(Kind.END_REASON, call.end_reason)}"
    return label(Kind.CALL_STATUS, status)
