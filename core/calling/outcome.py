"""One line saying how a call went."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
