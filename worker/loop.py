"""Worker: one loop for time-driven work (dispatch, reconcile, purge), stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core import db as dbmod
from core import health, startup
from core.config import get_settings
from core.db import Database, DatabaseError
from worker.tasks import TASKS

log = logging.getLogger("worker")


@dataclass
class Task:
    """A periodic job of the worker."""

    name: str
    func: Callable[[Database], object]
    every: float
    next_run: float = field(default=0.0)


def load_tasks() -> list[Task]:
    """The fixed task list, each due at once."""
    return [Task(name, func, every) for name, func, every in TASKS]


def run(stop: threading.Event, db: Database | None = None, tick: float | None = None) -> None:
    """Run tasks until `stop` is set; a failing task is logged and retried next round."""
    db = db if db is not None else dbmod.get_db()
    tick = tick or min(1.0, get_settings().worker_interval_seconds)
    tasks = load_tasks()
    log.info("worker started with tasks: %s", ", ".join(t.name for t in tasks) or "none")
    while not stop.is_set():
        now = time.monotonic()
        try:
            health.beat(db, "worker", detail=",".join(t.name for t in tasks))
        except DatabaseError as exc:
            log.warning("database unavailable, worker waits: %s", type(exc).__name__)
            stop.wait(2)
            continue
        for task in tasks:
            if now < task.next_run or stop.is_set():
                continue
            task.next_run = now + task.every
            try:
                result = task.func(db)
                if result:
                    log.info("%s: %s", task.name, result)
            except DatabaseError as exc:
                log.warning("%s: database error %s; will retry", task.name, type(exc).__name__)
            except Exception:
                log.exception("%s failed; will retry", task.name)
        stop.wait(tick)
    with contextlib.suppress(DatabaseError):  # a dead database just leaves a stale heartbeat
        health.forget(db, "worker")
    log.info("worker stopped")


def main() -> None:
    """Entry point: `python -m worker`."""
    settings = startup.start_process("worker")  # a refused configuration: one line, exit status 2
    startup.refuse_embedded_store("worker", settings)
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        log.info("signal %s: finishing the current task, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run(stop)

