"""Benchmark: N queued sandbox calls, 3 worker processes, calls-per-second limit; rate and duplicates.

    .venv/bin/python -m bench.dispatch_rate [--calls 1000] [--cps 5] [--workers 3]

Starts a throwaway embedded MongoDB (or uses MONGODB_URI) and the sandbox providers in this
process, queues one batch, runs worker processes until every call is dialled, then reports
the achieved rate, the spread of the gaps between dials, the worst 1-second window and
duplicates (numbers dialled more than once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENV_FILE", "")

_WORKER = ("import time\nfrom core.db import get_db\nfrom core.calling.dispatch import run_once\n"
           "db = get_db()\nwhile True:\n    run_once(db)\n    time.sleep(0.05)\n")


def _max_in_window(times: list[float], width: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def main() -> int:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--cps", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()

    from core.agent import settings as agent_settings
    from core.calling import batches
    from tools.embedded_db import launcher as embedded_db

    server = None
    if not os.environ.get("MONGODB_URI"):
        server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
        os.environ["MONGODB_URI"] = server.uri
    env = {"MONGODB_DB": f"bench_{uuid.uuid4().hex[:10]}", "PROVIDER_MODE": "sandbox",
           "SANDBOX_PORT": str(embedded_db.free_port()), "SANDBOX_SPEED": "1000",
           "LOG_LEVEL": "WARNING"}
    os.environ.update(env)

    from core import auth, crypto
    from core.agent.models import CallingHours, TimeWindow, Weekday
    from core.config import get_settings
    from core.db import CALLS, CANDIDATES, ensure_indexes, get_db, new_id, utcnow
    from core.people.jobs import create_job
    from sandbox.server import config_from_env, start_sandbox

    get_settings.cache_clear()
    db = get_db()
    ensure_indexes(db)
    # No webhooks: calls stay "live", so the concurrency cap is set high and the rate binds.
    # The sandbox's Twilio callbacks then have no receiver: one warning per callback is noise.
    logging.getLogger("sandbox").setLevel(logging.ERROR)
    sandbox = start_sandbox(int(env["SANDBOX_PORT"]), config_from_env(webhook_base_url=None))
    procs: list[subprocess.Popen] = []
    try:
        admin = auth.create_user(db, "bench", "bench-password-1", "admin", actor=auth.OPERATOR)
        cfg = agent_settings.get_global_config(db)
        all_day = CallingHours(windows={d: [TimeWindow(start=dt.time(0), end=dt.time(23, 59, 59))]
                                        for d in Weekday})
        agent_settings.save_global_config(db, admin, cfg.model_copy(update={
            "calls_per_second": args.cps, "max_concurrent_calls": 100,
            # Calls never end here, so each counts at its maximum cost against the budget:
            # the default $500 would (rightly) hold the batch after ~520 dials.
            "monthly_budget": Decimal("1000000"),
            "calling_hours": all_day}))
        # The settings cap concurrency at 100 and, without webhooks, no call ever ends; the
        # loop below empties the gate's in-flight list every half second (as if calls ended)
        # so the calls-per-second limit is the only thing that binds.
        job = create_job(db, admin, title="Bench", company="Bench Co")
        docs = []
        for i in range(args.calls):
            phone = f"+1212{2000000 + i:07d}"
            docs.append({"_id": new_id(), "name": f"Bench {i}", "name_lower": f"bench {i}",
                         "phone": crypto.encrypt(phone), "phone_hash": crypto.phone_hash(phone),
                         "phone_last4": phone[-4:], "email": "", "timezone": "America/New_York",
                         "consent": True, "do_not_call": False, "job_ids": [job.id],
                         "notes": "", "created_at": utcnow()})
        db[CANDIDATES].insert_many(docs)
        batch = batches.create_batch(db, admin, job.id)
        print(f"queued {batch.queued} calls; cps limit {args.cps}; {args.workers} workers")
        worker_env = {**os.environ}
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT, env=worker_env)
                 for _ in range(args.workers)]
        started = time.monotonic()
        deadline = started + args.calls / args.cps * 1.5 + 30
        next_report = started + 15
        while time.monotonic() < deadline:
            dialled = db[CALLS].count_documents({"batch_id": batch.id,
                                                 "status": {"$ne": "queued"}})
            if dialled >= args.calls:
                break
            if time.monotonic() >= next_report:
                print(f"  {time.monotonic() - started:5.0f} s: {dialled} dialled", flush=True)
                next_report += 15
            db["app_state"].update_one({"_id": "dial_gate"}, {"$set": {"inflight": []}})
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    slots = sorted(c["rate_slot_at"] for c in db[CALLS].find(
        {"batch_id": batch.id, "rate_slot_at": {"$exists": True}}, {"rate_slot_at": 1}))
    sent = sorted(c["twilio_requested_at"] for c in db[CALLS].find(
        {"batch_id": batch.id, "twilio_requested_at": {"$exists": True}},
        {"twilio_requested_at": 1}))
    received = sorted(r["at"] for r in sandbox.received("twilio", "create_call"))
    numbers = Counter(r["params"]["To"][0] for r in sandbox.received("twilio", "create_call"))
    by_worker = Counter(c["claimed_by"].split(":")[1] for c in db[CALLS].find(
        {"batch_id": batch.id, "claimed_by": {"$exists": True}}, {"claimed_by": 1}))
    sandbox.stop()
    if server:
        server.stop()

    def report(name: str, times: list[float]) -> None:
        if len(times) < 2:
            print(f"{name}: too few dials")
            return
        gaps = _gaps(times)
        rate = (len(times) - 1) / (times[-1] - times[0])
        q = statistics.quantiles(gaps, n=20)
        print(f"{name}: {len(times)} dials, achieved {rate:.3f}/s, max in any 1 s window "
              f"{_max_in_window(times)}, gap min {min(gaps):.3f}s p5 {q[0]:.3f}s "
              f"median {statistics.median(gaps):.3f}s p95 {q[-1]:.3f}s max {max(gaps):.3f}s")

    report("gate slots (reserved dial times)", slots)
    report("Twilio creates as sent (request start)", sent)
    report("Twilio creates received by the sandbox", received)
    dupes = sum(1 for n in numbers.values() if n > 1)
    print(f"duplicates: {dupes} numbers dialled more than once; per worker pid: "
          f"{dict(by_worker)}; wall time {elapsed:.1f}s")
    return 0 if dupes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
