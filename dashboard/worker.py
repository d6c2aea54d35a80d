"""Worker: one loop for time-driven work (dispatch, reconcile, purge), stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo.database import Database  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from core import db as dbmod  # noqa: E402
from core import health  # noqa: E402
from core.config import get_settings  # noqa: E402

log = logging.getLogger("worker")

# (name, "module:function", every N seconds). Each function takes the Database and returns a
# short summary string (or None); a task whose module is not there yet is skipped.
TASKS: list[tuple[str, str, float]] = [
    ("dispatch", "core.dispatch:run_once", 1.0),
    ("reconcile", "core.reconcile:run_once", 15.0),
    ("purge", "core.retention:purge_expired", 3600.0),
]


@dataclass
class Task:
    """A periodic job of the worker."""

    name: str
    func: Callable[[Database], object]
    every: float
    next_run: float = field(default=0.0)


def load_tasks() -> list[Task]:
    """Import the task functions that exist."""
    tasks = []
    for name, target, every in TASKS:
        module_name, func_name = target.split(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError):
            log.info("task %s not available (%s missing)", name, target)
            continue
        tasks.append(Task(name, func, every))
    return tasks


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
        except PyMongoError as exc:
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
            except PyMongoError as exc:
                log.warning("%s: database error %s; will retry", task.name, type(exc).__name__)
            except Exception:
                log.exception("%s failed; will retry", task.name)
        stop.wait(tick)
    with contextlib.suppress(PyMongoError):  # a dead database just leaves a stale heartbeat
        health.forget(db, "worker")
    log.info("worker stopped")


def main() -> None:
    """Entry point: `python -m dashboard.worker`."""
    logging.basicConfig(
        level=get_settings().log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        log.info("signal %s: finishing the current task, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run(stop)


if __name__ == "__main__":
    main()
