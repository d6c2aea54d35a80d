"""The life of one screening call: statuses that only ever move forward."""

from __future__ import annotations

from enum import StrEnum


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
    # Set only by the sweeper: the providers never settled the call within its maximum length
    # plus a grace period. Never "failed" when the phone may have rung; a later provider
    # result may still replace it (the one move from an end to another end).
    UNKNOWN = "unknown"


TERMINAL_STATUSES: frozenset[CallStatus] = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.VOICEMAIL,
        CallStatus.FAILED,
        CallStatus.CANCELED,
        CallStatus.UNKNOWN,
    }
)
OPEN_STATUSES: frozenset[CallStatus] = frozenset(set(CallStatus) - TERMINAL_STATUSES)
# The same as stored strings, for queries.
OPEN_VALUES: list[str] = sorted(s.value for s in OPEN_STATUSES)
TERMINAL_VALUES: list[str] = sorted(s.value for s in TERMINAL_STATUSES)

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
    """True if a call in `current` may move to `new`: strictly forward, or from `unknown` to a
    provider's own end (the only move out of an end)."""
    return new in statuses_after(current)


def statuses_after(current: CallStatus | str) -> list[CallStatus]:
    """The statuses a call in `current` may move to."""
    if CallStatus(current) == CallStatus.UNKNOWN:
        return [s for s in TERMINAL_STATUSES if s != CallStatus.UNKNOWN]
    rank = status_rank(current)
    return [s for s in CallStatus if _RANK[s] > rank]


def statuses_before(new: CallStatus | str) -> list[str]:
    """Statuses from which `new` is an allowed move (for conditional updates)."""
    return sorted(s.value for s in CallStatus if CallStatus(new) in statuses_after(s))
