"""One line saying how a call went."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import crypto
from core.calling.reasons import clean_reason
from core.documents.call import Call
from core.documents.status import CallStatus


def outcome_text(call: Call | Mapping[str, Any]) -> str:
    """One line saying how a call went (or why it is waiting)."""
    if not isinstance(call, Call):
        call = Call.model_validate(dict(call))
    status = call.status
    # Reasons stored before they were cleaned may quote a phone number: cleaned on the way out.
    reason = clean_reason(call.failure_reason)
    if call.opt_out:
        return "candidate asked not to be called again"
    if call.human_requested:
        try:
            reason = crypto.decrypt(call.human_requested.get("reason")) or "no reason given"
        except crypto.CryptoError:
            reason = "(reason cannot be decrypted)"
        return f"candidate asked for a person: {reason}"
    if call.callback:
        if call.callback.get("flagged"):
            return "candidate asked to be called back more than 14 days ahead: for the hiring manager"
        return (f"candidate asked to be called back at {call.callback.get('when_local')} "
                f"({call.callback.get('zone')})")
    if call.voicemail_left:
        return "left a voicemail message"
    if status == CallStatus.FAILED:
        return f"failed: {reason or call.end_reason or 'unknown'}"
    if status == CallStatus.QUEUED and call.hold_reason:
        return f"held: {call.hold_reason}"
    if status == CallStatus.QUEUED and call.next_attempt_at:
        return "queued"
    if status == CallStatus.CANCELED and reason:
        return f"canceled: {reason}"
    if status == CallStatus.UNKNOWN:
        return f"outcome unknown: {reason or 'the providers never said how it ended'}"
    if status == CallStatus.COMPLETED and call.end_reason:
        return f"completed ({call.end_reason})"
    return str(status.value).replace("_", " ")
