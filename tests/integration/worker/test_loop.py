"""The worker loop: heartbeat, failing tasks isolated, graceful SIGTERM."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import health
from core.db import APP_STATE
from worker import loop as worker

ROOT = Path(__file__).resolve().parents[3]


def test_loop_beats_runs_tasks_survives_a_failing_one_and_stops(db, monkeypatch):
    ran: list[str] = []

    def good(database):
        ran.append("good")
        return "did something"

    def bad(database):
        ran.append("bad")
        raise RuntimeError("boom")

    monkeypatch.setattr(
        worker,
        "load_tasks",
        lambda: [worker.Task("bad", bad, 0.05), worker.Task("good", good, 0.05)],
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, db, 0.05))
    thread.start()
    time.sleep(0.6)
    assert health.last_heartbeat(db) is not None
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert (
        ran.count("good") >= 3 and ran.count("bad") >= 3
    )  # the failing task never stopped the loop
    assert db[APP_STATE].count_documents({"kind": "heartbeat"}) == 0  # removed on clean stop


def test_sigterm_stops_the_worker_process_cleanly(db, test_env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env={**os.environ, **test_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while health.last_heartbeat(db) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert health.last_heartbeat(db) is not None
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "worker stopped" in out
