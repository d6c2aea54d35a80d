"""Status moves of a call and what follows them (the usage counters, the freed slot)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.calling import gate
from core.calling import store as call_store
from core.db import Database, DatabaseError, utcnow
from core.documents.status import TERMINAL_STATUSES, CallStatus
from core.usage import budget, rollups

log = logging.getLogger(__name__)


def sync_rollup(db: Database, call_id: str) -> None:
    """Bring the usage rollups, the call's `costs` and its share of the month's budget in line
    after its figures changed (an ended call gives back the unused part of its reservation)."""
    try:
        rollups.sync_call(db, call_id)
    except DatabaseError:
        raise
    except Exception:
        # Counters are derived data: the worker's rollup safety net (sync_stale) catches up.
        log.exception("rollup sync of call %s failed", call_id)
    budget.settle_call(db, call_id)  # the sweeper's budget check repairs a crash in between


def sync_rollups(db: Database, call_ids: Sequence[str]) -> None:
    """`sync_rollup` for a batch of calls, with a few database commands for all of them."""
    try:
        rollups.sync_calls(db, call_ids)
    except DatabaseError:
        raise
    except Exception:
        log.exception("rollup sync of a batch of %d calls failed", len(call_ids))
    budget.settle_calls(db, call_ids)


def advance_status(db: Database, call_id: str, new: CallStatus, *, fields: dict[str, Any] | None = None,
                   event_id: str | None = None, at: datetime | None = None,
                   earliest: dict[str, datetime] | None = None) -> bool:
    """Move a call to `new` only if that is forward; True if it moved (then counted if it ended).

    `earliest` phase times ($min) ride on the same write when it moves.
    """
    moved = call_store.move_status(db, call_id, new, fields=fields, event_id=event_id, at=at,
                                   earliest=earliest)
    if moved and new in TERMINAL_STATUSES:
        sync_rollup(db, call_id)
    return moved


def mark_failed(db: Database, call_id: str, reason: str, **fields: Any) -> bool:
    """End an open call as `failed` with a reason (forward-only; frees the open_key and slot)."""
    moved = advance_status(db, call_id, CallStatus.FAILED,
                           fields={"failure_reason": reason, "ended_at": utcnow(), **fields})
    gate.release_slot(db, call_id)
    return moved
