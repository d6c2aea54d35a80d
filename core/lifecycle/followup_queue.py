"""The sidecar's queue of calls to follow up soon: one entry per call, at most two threads.

A real call ends twice (Twilio's final status and Ultravox's `call.ended`, usually a second or
two apart); both land on the call's one entry here, due at the earlier of their times, so the
call is followed up once rather than once per event. A call scheduled again while its
follow-up runs is followed up once more afterwards: what the later event brought is not lost
(`follow_up` also goes again by itself when it sees the call's `followup_seq` move).

Nothing depends on it: a call keeps `needs_followup` until its follow-up is complete, so what
this queue does not do (it was full, the process died, a follow-up failed) the worker's
reconcile (`followup.run_due`) does.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from core.db import Database, DatabaseError
from core.documents.event import Event
from core.lifecycle import events, followup

log = logging.getLogger(__name__)

_WORKERS = 2  # follow-ups wait on the providers; two keep the request path's CPU share
# Pending calls (an id and a time each, so cheap to hold): a burst of a few hundred endings inside
# the Twilio delay fits; beyond this the worker's reconcile picks the work up instead.
_LIMIT = 2000
_BATCH = 20  # due calls one thread takes at a time
_IDLE_WAIT = 1.0  # seconds a thread sleeps at most before looking again

# Twilio's final status usually comes a second or two before the agent side's `call.ended`,
# and Twilio's price is not there yet: waiting a little lets one follow-up see both ends.
# `call.ended` is due at once: the recruiter is waiting for the transcript.
TWILIO_SETTLE_SECONDS = 2.0


def delay_after(event: Event) -> float:
    """Seconds to wait before following up the call this (ending) event ended."""
    return TWILIO_SETTLE_SECONDS if event.provider == events.TWILIO else 0.0


class FollowupQueue:
    """Calls of one process waiting for their follow-up, keyed by call id; threads on first use."""

    def __init__(self, db: Database, *, providers: followup.Providers | None = None,
                 limit: int = _LIMIT, workers: int = _WORKERS) -> None:
        self._db = db
        self._providers = providers
        self._limit = limit
        self._workers = workers
        self._cond = threading.Condition()
        self._pending: dict[str, float] = {}  # call id -> when due (time.monotonic)
        self._taken: set[str] = set()  # in a thread's batch, not started yet
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.runs = 0  # follow-ups started (for tests and benches)

    def schedule(self, call_id: str, delay_seconds: float = 0.0) -> bool:
        """Follow the call up after `delay_seconds`; False when full (the worker's reconcile will)."""
        due = time.monotonic() + max(0.0, delay_seconds)
        with self._cond:
            self._ensure_threads()
            if call_id in self._taken:
                return True  # about to start: it reads the call after this event was applied
            if call_id in self._pending:
                self._pending[call_id] = min(due, self._pending[call_id])
            elif len(self._pending) >= self._limit:
                log.warning("follow-up queue full: call %s is left to the worker's reconcile", call_id)
                return False
            else:
                self._pending[call_id] = due
            self._cond.notify_all()
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every follow-up scheduled so far ran, delays included; for tests and benches."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._taken or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _ensure_threads(self) -> None:
        # Started on first use, i.e. after gunicorn forked (threads do not survive a fork).
        # Called with the lock held.
        if len(self._threads) == self._workers and all(t.is_alive() for t in self._threads):
            return
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self._workers:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"followup-{len(self._threads) + 1}")
            self._threads.append(thread)
            thread.start()

    def _take(self) -> list[str]:
        """Due calls not running here, earliest first: this thread's share (lock held)."""
        now = time.monotonic()
        due = sorted((at, call_id) for call_id, at in self._pending.items()
                     if at <= now and call_id not in self._running)
        share = min(_BATCH, math.ceil(len(due) / self._workers))
        batch = [call_id for _, call_id in due[:share]]
        for call_id in batch:
            del self._pending[call_id]
            self._taken.add(call_id)
        return batch

    def _wait_seconds(self) -> float:
        """Until the next pending call not running here is due (lock held)."""
        waiting = [at for call_id, at in self._pending.items() if call_id not in self._running]
        if not waiting:
            return _IDLE_WAIT
        return min(_IDLE_WAIT, max(0.0, min(waiting) - time.monotonic()))

    def _work(self) -> None:
        while True:
            with self._cond:
                batch = self._take()
                while not batch:
                    self._cond.wait(self._wait_seconds())
                    batch = self._take()
            for call_id in batch:
                with self._cond:
                    self._taken.discard(call_id)
                    self._running.add(call_id)
                    self.runs += 1
                try:
                    self._follow_up(call_id)
                finally:
                    with self._cond:
                        self._running.discard(call_id)
                        self._cond.notify_all()

    def _follow_up(self, call_id: str) -> None:
        try:
            followup.follow_up(self._db, call_id, providers=self._providers)
        except DatabaseError as exc:  # an outage, not a bug: one line, no traceback
            log.warning("background follow-up of call %s: database error (%s); reconcile will retry",
                        call_id, type(exc).__name__)
        except Exception:  # noqa: BLE001 - the flag stays set, reconcile retries
            log.exception("background follow-up of call %s failed; reconcile will retry", call_id)
