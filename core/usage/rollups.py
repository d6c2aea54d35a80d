"""Usage rollups: small per-day and per-(day, job) counter documents the usage page reads.

A call's counters (core.usage.counters) reach the rollups exactly once: `sync_call` moves the
call's `rollup.seq` with a conditional update (the gate) that also stores the difference it
is about to add, then adds it to the rollups guarded by a per-call mark. A crash in between
leaves the difference on the call; the next sync or the worker's stale pass (`sync_stale`)
finishes it, once. `rebuild` recomputes everything under a lock that pauses the syncs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from core import faults
from core.config import Settings, get_settings
from core.db import Database, new_id, server_now, utcnow
from core.documents.rollup import Rollup
from core.errors import UserError
from core.usage import store
from core.usage.counters import TERMINAL, contribution, day_of, delta
from core.usage.period import organisation_zone

log = logging.getLogger(__name__)

_RETRIES = 8
_STALE_PENDING = timedelta(minutes=1)
# A sync's mark stays on the rollups this long after it landed: far longer than any process
# could still be finishing that same sync.
_MARK_KEPT = timedelta(hours=1)
# A rebuild's lock lasts this long unless renewed (it renews it as it goes), and the rebuild
# waits this long after taking it for syncs already past their check to land.
_REBUILD_HOLD = timedelta(minutes=10)
_REBUILD_GRACE_SECONDS = 1.5
_TERMINAL_VALUES = sorted(TERMINAL)


@dataclass(frozen=True)
class RollupStatus:
    """Calls whose increment may not have landed (rebuild if non-zero), and the rollup count."""

    possibly_uncounted: int
    rollup_documents: int

    def as_dict(self) -> dict[str, int]:
        """The figures as the CLI prints them."""
        return asdict(self)


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild read and wrote."""

    calls: int
    calls_fixed: int
    rollups: int
    rollups_removed: int

    def as_dict(self) -> dict[str, int]:
        """The figures as the CLI prints them."""
        return asdict(self)


def sync_call(db: Database, call_id: str, *, settings: Settings | None = None) -> bool:
    """Bring the rollups in line with the call as it is now; True if any counter moved.

    While a rebuild runs nothing is synced (the rebuild recounts everything; the stale pass
    syncs what changed meanwhile once it is done).
    """
    settings = settings or get_settings()
    if store.rebuild_running(db):
        return False
    # Read per sync, not per pass: a sync lands within the rebuild's grace, so one that read the
    # zone just before an admin changed it is recounted by the rebuild that change starts.
    zone = organisation_zone(db)
    for _ in range(_RETRIES):
        call = store.rollup_source(db, call_id)
        if call is None:
            return False
        state = call.get("rollup") or {}
        if state.get("inc_pending") and state.get("pending"):
            # A sync stopped between its gate and its increment (a crash, or one running now):
            # finish it first; its mark makes the increment land once either way.
            _finish(db, call_id, state)
            continue
        new, costs = contribution(call, settings)
        old: dict[str, int] = state.get("applied") or {}
        if new == old and call.get("costs") == costs and "seq" in state:
            return False
        seq = int(state.get("seq") or 0)
        day = day_of(call, zone)
        moved = delta(new, old)
        pending = {"delta": moved, "day": day, "job_id": call.get("job_id")} if moved and day else None
        if not store.claim_rollup_sync(db, call_id, seq=seq, applied=new, day=day, costs=costs,
                                       now=utcnow(), pending=pending):
            continue  # another process synced in between: recompute from its result
        faults.point("after_rollup_gate")
        if pending:
            store.inc_counters(db, day, call.get("job_id"), moved, now=utcnow(), mark=(call_id, seq + 1))
        store.clear_inc_pending(db, call_id, seq + 1)
        return bool(moved)
    log.warning("rollup sync of call %s kept racing; the next sync or a rebuild settles it", call_id)
    return False


def sync_calls(db: Database, call_ids: Sequence[str], *, settings: Settings | None = None) -> int:
    """`sync_call` for many calls with a few commands for the whole batch; returns how many moved.

    The same gate, increment and mark per call, grouped: one read of the calls, one command of
    gate moves, one of increments (summed per rollup document) and one clearing the pending
    marks. A call that needs more than the common path (a half-done increment to finish, a gate
    another process moved first, an increment that had already landed) goes through `sync_call`
    on its own.
    """
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        return 0
    settings = settings or get_settings()
    if store.rebuild_running(db):
        return 0
    zone = organisation_zone(db)
    claims: list[store.RollupClaim] = []
    one_by_one: list[str] = []
    changed: set[str] = set()  # calls whose counters (not only costs) move
    for call_id, call in store.rollup_sources(db, ids).items():
        state = call.get("rollup") or {}
        if state.get("inc_pending") and state.get("pending"):
            one_by_one.append(call_id)
            continue
        new, costs = contribution(call, settings)
        old: dict[str, int] = state.get("applied") or {}
        if new == old and call.get("costs") == costs and "seq" in state:
            continue
        day = day_of(call, zone)
        moved = delta(new, old)
        if moved:
            changed.add(call_id)
        pending = {"delta": moved, "day": day, "job_id": call.get("job_id")} if moved and day else None
        claims.append(store.RollupClaim(call_id, int(state.get("seq") or 0), new, day, costs, pending))
    won = store.claim_rollup_syncs(db, claims, now=utcnow(), token=new_id())
    one_by_one += [c.call_id for c in claims if c.call_id not in won]
    ours = [c for c in claims if c.call_id in won]
    faults.point("after_rollup_gate")
    increments = [store.CounterIncrement(c.pending["day"], c.pending["job_id"], c.pending["delta"],
                                         (c.call_id, c.seq + 1)) for c in ours if c.pending]
    if not store.inc_counters_many(db, increments, now=utcnow()):
        for item in increments:  # marks skip each one that has landed
            store.inc_counters(db, item.day, item.job_id, item.delta, now=utcnow(), mark=item.mark)
    store.clear_inc_pending_many(db, [(c.call_id, c.seq + 1) for c in ours])
    alone = sum(sync_call(db, call_id, settings=settings) for call_id in one_by_one)
    return sum(1 for c in ours if c.call_id in changed) + alone


def _finish(db: Database, call_id: str, state: Mapping[str, Any]) -> None:
    """Land a sync's stored increment (at most once, by its mark) and clear it."""
    pending, seq = state["pending"], int(state.get("seq") or 0)
    store.inc_counters(db, pending["day"], pending.get("job_id"), pending["delta"], now=utcnow(),
                       mark=(call_id, seq))
    store.clear_inc_pending(db, call_id, seq)


# Named entry points for the code that changes a call (all do the same idempotent sync; the
# names say where each is called from).
def record_terminal(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After a call's status moved to a terminal one."""
    return sync_call(db, _id(call))


def record_billing(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Ultravox billing (billing_status, billed_duration_seconds) was stored."""
    return sync_call(db, _id(call))


def record_price(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Twilio's price (or price_status "none") was stored."""
    return sync_call(db, _id(call))


def record_decision(db: Database, call: Mapping[str, Any] | str, old: Any = None, new: Any = None) -> bool:
    """After a reviewer's decision changed (old/new are informative; the call is re-read)."""
    return sync_call(db, _id(call))


def _id(call: Mapping[str, Any] | str) -> str:
    return call if isinstance(call, str) else call["_id"]


def sync_stale(
    db: Database,
    *,
    now: datetime | None = None,
    lookback: timedelta = timedelta(days=7),
    limit: int = 200,
    settings: Settings | None = None,
) -> int:
    """Safety net for the worker: sync recent calls changed since their last sync, finish
    increments a crash left half done, and prune old sync marks; returns how many moved."""
    now = now or utcnow()
    stale = store.stale_call_ids(db, since=now - lookback, terminal=_TERMINAL_VALUES, limit=limit,
                                 pending_before=now - _STALE_PENDING)
    moved = sync_calls(db, stale, settings=settings)
    store.prune_marks(db, older_than=now - _MARK_KEPT)
    return moved


def status(db: Database, *, now: datetime | None = None) -> RollupStatus:
    """Calls whose rollup increment may not have landed (a crash mid-sync): rebuild if non-zero."""
    now = now or utcnow()
    return RollupStatus(
        possibly_uncounted=store.count_possibly_uncounted(db, synced_before=now - _STALE_PENDING),
        rollup_documents=store.count_rollups(db),
    )


class RebuildRunning(UserError):
    """Another rebuild holds the lock."""


def rebuild(db: Database, *, settings: Settings | None = None, batch_size: int = 1000) -> RebuildReport:
    """Recompute every rollup from the calls, in the organisation's time zone; returns counts.

    Safe while calls end: it holds a lock that pauses the syncs (they are picked up by the
    stale pass afterwards), after a moment for syncs already under way to land.
    """
    owner = new_id()
    if not store.start_rebuild(db, owner=owner, until=server_now(db) + _REBUILD_HOLD):
        raise RebuildRunning("Another rebuild of the usage figures is running; try again when it is done.")
    try:
        time.sleep(_REBUILD_GRACE_SECONDS)
        return _recount(db, settings or get_settings(), batch_size,
                        keep_lock=lambda: store.extend_rebuild(db, owner=owner,
                                                               until=server_now(db) + _REBUILD_HOLD))
    finally:
        store.finish_rebuild(db, owner=owner)


def _recount(db: Database, settings: Settings, batch_size: int,
             keep_lock: Callable[[], None]) -> RebuildReport:
    sums: dict[tuple[str, str, Any], Counter[str]] = {}
    calls = fixed = 0
    zone = organisation_zone(db)  # read under the lock: a zone saved before it is the one used
    writes: list[store.CallRollupState] = []
    for call in store.all_calls(db, batch_size=batch_size):
        calls += 1
        new, costs = contribution(call, settings)
        state = call.get("rollup") or {}
        day = day_of(call, zone)
        # A call whose day moved (the organisation's zone changed) is stale too: its next sync
        # must add to the day it now counts under.
        stale = (new != (state.get("applied") or {}) or call.get("costs") != costs
                 or state.get("day") != day)
        if stale or "seq" not in state or state.get("inc_pending"):
            fixed += 1
            writes.append(
                store.CallRollupState(
                    call_id=call["_id"],
                    applied=new,
                    seq=int(state.get("seq") or 0) + 1,
                    synced_at=utcnow(),
                    day=day,
                    costs=costs,
                )
            )
            if len(writes) >= batch_size:
                store.reset_call_rollups(db, writes)
                writes = []
                keep_lock()
        if new and day:
            for scope, job in (("day", None), ("job", call.get("job_id") or "")):
                sums.setdefault((scope, day, job), Counter()).update(new)
    store.reset_call_rollups(db, writes)
    run = new_id()
    docs = _rollup_documents(sums, run=run, now=utcnow())
    for start in range(0, len(docs), batch_size):
        store.replace_rollups(db, docs[start : start + batch_size])
    # Documents of days or jobs that no longer have calls are the ones this run did not write.
    removed = store.delete_rollups_not_of(db, run)
    return RebuildReport(calls=calls, calls_fixed=fixed, rollups=len(docs), rollups_removed=removed)


def _rollup_documents(
    sums: Mapping[tuple[str, str, Any], Mapping[str, int]], *, run: str, now: datetime
) -> list[Rollup]:
    """The rollup documents of summed counters per (scope, day, job), stamped with the run."""
    docs = []
    for (scope, day, job), counter in sums.items():
        day_id, job_doc_id = store.rollup_ids(day, job)
        docs.append(
            Rollup(
                id=day_id if scope == "day" else job_doc_id,
                scope=scope,
                day=day,
                month=day[:7],
                job_id=job,
                c=dict(counter),
                updated_at=now,
                rebuild=run,
            )
        )
    return docs
