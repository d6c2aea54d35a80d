"""Domain types shared by the dashboard, the sidecar and the worker."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do: admins configure, recruiters run calls, viewers read."""

    ADMIN = "admin"
    RECRUITER = "recruiter"
    VIEWER = "viewer"


class CallStatus(StrEnum):
    """Life of one screening call; it only ever moves forward (see `can_advance`)."""

    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_STATUSES: frozenset[CallStatus] = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.VOICEMAIL,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }
)
OPEN_STATUSES: frozenset[CallStatus] = frozenset(set(CallStatus) - TERMINAL_STATUSES)

# Rank of each status; all terminal statuses share the top rank so that once a call has
# ended, no later event can change how it ended.
_RANK: dict[CallStatus, int] = {
    CallStatus.QUEUED: 0,
    CallStatus.DIALING: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
    **{s: 4 for s in TERMINAL_STATUSES},
}


def status_rank(status: CallStatus | str) -> int:
    """Position of a status in the forward-only order."""
    return _RANK[CallStatus(status)]


def can_advance(current: CallStatus | str, new: CallStatus | str) -> bool:
    """True if a call in `current` may move to `new` (strictly forward, never out of an end)."""
    return status_rank(new) > status_rank(current)


def statuses_before(new: CallStatus | str) -> list[str]:
    """Statuses from which `new` is a forward move (for conditional updates)."""
    rank = status_rank(new)
    return [s.value for s in CallStatus if _RANK[s] < rank]


# ---------------------------------------------------------------------------------------
# Document shapes shared by the launcher, the sidecar, the worker and the review pages.
#
# calls (one screening attempt):
#   _id (str id), candidate_id, job_id, batch_id|None, attempt (1..), status (CallStatus),
#   open_key "<candidate_id>:<job_id>" while status is open, removed ($unset) when terminal,
#   created_at, updated_at, next_attempt_at (queued calls: earliest dial time),
#   dialed_at, ringing_at, answered_at, ended_at (UTC datetimes),
#   ultravox_call_id, twilio_call_sid, twilio_status, answered_by, duration_seconds,
#   end_reason (Ultravox endReason), failure_reason (our human-readable text),
#   summary, short_summary, transcript_status ("pending" | "stored" | "unavailable"),
#   message_count, billed_duration_seconds, billing_status, telephony_price (str Decimal,
#   positive), price_unit, recording_available (bool), config_snapshot (dict),
#   rendered_prompt (str), request_body (dict, no secrets), calling_window (dict: zone,
#   local_time, allowed, reason), opt_out (bool), review (dict: decision, ratings, notes,
#   by, at), costs (dict, see core/costs.py).
# call_transcripts: _id = call id, messages [{role, text, medium, start_s, end_s}], fetched_at.
# call_events: _id, dedupe_key (unique), provider ("ultravox" | "twilio"), kind, call_id (ours
#   or None for an orphan), provider_call_id, payload (sanitised: no phone numbers),
#   received_at, applied (bool).
# jobs: _id, title, company, description, owner, status ("open" | "archived"), created_at.
# candidates: _id, name, name_lower, phone (E.164, encrypted when DATA_ENCRYPTION_KEY is set),
#   phone_hash, email, timezone, consent (bool), do_not_call (bool), do_not_call_at,
#   do_not_call_call_id, job_ids [..], notes, created_at.
# ---------------------------------------------------------------------------------------
