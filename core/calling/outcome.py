"""One line saying how a call went."""

from __future__ import annotations


def outcome_text(call: dict) -> str:
    """One line saying how a call went (or why it is waiting)."""
    status = call.get("status")
    if call.get("opt_out"):
        return "candidate asked not to be called again"
    if status == "failed":
        return f"failed: {call.get('failure_reason') or call.get('end_reason') or 'unknown'}"
    if status == "queued" and call.get("hold_reason"):
        return f"held: {call['hold_reason']}"
    if status == "queued" and call.get("next_attempt_at"):
        return "queued"
    if status == "canceled" and call.get("failure_reason"):
        return f"canceled: {call['failure_reason']}"
    if status == "completed" and call.get("end_reason"):
        return f"completed ({call['end_reason']})"
    return str(status or "unknown").replace("_", " ")
