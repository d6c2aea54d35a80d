"""Applies stored events just after their webhook was acknowledged, in background threads.

The sidecar answers a webhook once its event is durably stored; applying it to the call (the
status move and phase times) happens here, usually within a second, in the same process, a
batch of events at a time. Settling a call that ended (its usage counters and budget share)
follows in a second thread, so a burst of endings never delays the next status moves.

Nothing depends on either happening here: an event stored but not applied (the process died,
the queue was full, the database failed mid-apply) stays `applied: false` and the worker's
reconcile (`ingest.apply_pending`) applies it; an ended call left unsettled is settled by the
worker's rollup pass (`rollups.sync_stale`) and budget check, each exactly once by its gate.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.calling.transitions import sync_rollups
from core.db import Database, DatabaseError
from core.documents.event import Event
from core.lifecycle import ingest, store

log = logging.getLogger(__name__)

_BATCH = 200  # events applied before their one "applied" write
_QUEUE_LIMIT = 5000  # beyond this the worker's reconcile applies what the sidecar could not
_RETRY_PAUSE = 1.0  # after a database error, before the batch is tried once more
# Webhooks and endings come in bursts: gathering a moment applies (settles) a burst with a few
# commands instead of a few per event (seven per ended call), each a commit on the durable store.
_APPLY_GATHER = 0.1  # seconds the applier gathers received events (applied well within ~2 s)
_SETTLE_GATHER = 0.25  # seconds the settler gathers ended calls before settling them together


def _gather(source: queue.Queue, seconds: float) -> list:
    """The next item (waiting for it), then whatever else arrives within `seconds`, up to _BATCH."""
    batch = [source.get()]
    deadline = time.monotonic() + seconds
    while len(batch) < _BATCH:
        try:
            batch.append(source.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
    return batch


@dataclass(frozen=True)
class Received:
    """A stored event waiting to be applied, and whether its link is still to be confirmed."""

    event: Event
    confirm: bool


class Applier:
    """Background threads of one process: one applies received events in arrival order, one
    settles the calls they ended."""

    def __init__(self, db: Database, *, on_applied: Callable[[Event], None] | None = None) -> None:
        self._db = db
        self._on_applied = on_applied
        self._queue: queue.Queue[Received] = queue.Queue(maxsize=_QUEUE_LIMIT)
        self._settle: queue.Queue[str] = queue.Queue(maxsize=_QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, event: Event, *, confirm: bool = False) -> bool:
        """Queue a stored event for applying; False when full (reconcile will apply it)."""
        self._ensure_threads()
        try:
            self._queue.put_nowait(Received(event, confirm))
        except queue.Full:
            log.warning("apply queue full: event %s is left to the worker's reconcile", event.id)
            return False
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is applied and settled; for tests and benches."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks or self._settle.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _ensure_threads(self) -> None:
        # Started on first use, i.e. after gunicorn forked (threads do not survive a fork).
        if self._threads and all(t.is_alive() for t in self._threads):
            return
        with self._lock:
            if not self._threads or not all(t.is_alive() for t in self._threads):
                self._threads = [
                    threading.Thread(target=self._run, name="event-applier", daemon=True),
                    threading.Thread(target=self._run_settle, name="call-settler", daemon=True),
                ]
                for thread in self._threads:
                    thread.start()

    def _queue_settle(self, call_id: str) -> None:
        try:
            self._settle.put_nowait(call_id)
        except queue.Full:
            log.warning("settle queue full: call %s is left to the worker's rollup pass", call_id)

    def _run(self) -> None:
        while True:
            batch = _gather(self._queue, _APPLY_GATHER)
            try:
                self._apply_batch(batch)
            except Exception:  # noqa: BLE001 - the thread must live; reconcile applies the rest
                log.exception("applying %d received events failed; reconcile will retry", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _apply_batch(self, batch: list[Received]) -> None:
        applied: list[Event] = []
        for attempt in (1, 2):
            try:
                applied = ingest.apply_many(self._db, [(r.event, r.confirm) for r in batch],
                                            settle=self._queue_settle)
                store.mark_applied_many(self._db, [e.id for e in applied])
                break
            except DatabaseError as exc:
                if attempt == 2:
                    log.warning("database error applying received events (%s); reconcile will "
                                "apply them", type(exc).__name__)
                    return
                time.sleep(_RETRY_PAUSE)
        if self._on_applied is not None:
            for event in applied:
                try:
                    self._on_applied(event)
                except Exception:  # noqa: BLE001 - a follow-up hook must not stop applying
                    log.exception("after-apply hook failed for event %s", event.id)

    def _run_settle(self) -> None:
        while True:
            batch = _gather(self._settle, _SETTLE_GATHER)
            try:
                sync_rollups(self._db, batch)
            except DatabaseError as exc:  # an outage: one line, the worker's passes settle them
                log.warning("settling %d ended calls: database error (%s); the worker's rollup pass "
                            "will", len(batch), type(exc).__name__)
            except Exception:  # noqa: BLE001 - the worker's rollup and budget passes settle them
                log.exception("settling %d ended calls failed; the worker's rollup pass will", len(batch))
            finally:
                for _ in batch:
                    self._settle.task_done()
