"""The sweeper: every claimed call ends, every slot comes back, no queued call is stranded.

Run by the worker every half minute. It settles dials whose Twilio answer was lost (see
core.calling.settle), ends as `unknown` the claimed calls no provider has ended within their
maximum length plus a grace period (only the sweeper sets `unknown`; a later provider result
may still replace it), cancels one-call launches that stopped before their claim, and frees
the dial gate's slots of calls that are no longer live. Every time is the database's clock.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from core.calling import gate, queue_store, settle
from core.calling import store as call_store
from core.calling.transitions import advance_status
from core.config import get_settings
from core.db import Database, server_now
from core.documents.status import CallStatus

log = logging.getLogger(__name__)

_DEFAULT_MAX_MINUTES = 60  # a call claimed before its settings snapshot was written
_BATCH = 100


def end_overdue(db: Database) -> int:
    """Set `unknown` on claimed calls past their maximum length plus the grace; how many."""
    settings = get_settings()
    now = server_now(db)
    ended = 0
    for call in queue_store.overdue_claimed(db, grace_ms=int(settings.stuck_call_grace_seconds * 1000),
                                            default_max_minutes=_DEFAULT_MAX_MINUTES, limit=_BATCH):
        reason = ("no provider reported how the call ended within its maximum length plus "
                  f"{settings.stuck_call_grace_seconds / 60:g} minutes")
        if advance_status(db, call.id, CallStatus.UNKNOWN,
                          fields={"failure_reason": reason, "ended_at": now}):
            ended += 1
            log.warning("call %s: outcome unknown (stuck in %s)", call.id, call.status.value)
        gate.release_slot(db, call.id)
    return ended


def cancel_orphan_launches(db: Database) -> int:
    """Cancel queued calls of a one-call launch that stopped before its claim; how many."""
    cutoff = server_now(db) - timedelta(seconds=get_settings().orphan_queued_seconds)
    canceled = 0
    for call_id in queue_store.orphan_launches(db, created_before=cutoff, limit=_BATCH):
        if call_store.cancel_queued(db, call_id, "the launch stopped before dialling; not dialled"):
            canceled += 1
            gate.release_slot(db, call_id)
    return canceled


def run_once(db: Database, *, telephony: Any = None) -> str | None:
    """One sweep; a short summary of what it did (None if nothing)."""
    counts = {
        "dials settled": settle.settle_due(db, telephony=telephony),
        "stuck calls ended as unknown": end_overdue(db),
        "stranded launches canceled": cancel_orphan_launches(db),
        "slots freed": gate.sweep_gate(db),
    }
    return "; ".join(f"{k} {v}" for k, v in counts.items() if v) or None
