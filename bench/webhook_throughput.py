"""Signed-webhook throughput and latency of the sidecar under gunicorn, next to raw upserts.

Run: .venv/bin/python bench/webhook_throughput.py [--calls 250] [--threads 8] [--upserts 4000]

Starts a throwaway embedded MongoDB (memory backend) and the sidecar under gunicorn on free
ports, seeds calls in `dialing`, then posts each call's four Twilio status callbacks
(initiated, ringing, in-progress, completed), correctly signed, from several client threads
(one call's events in order on one thread). In the same run it measures raw pymongo
single-document upserts with the same thread count, and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["ENV_FILE"] = ""

import requests  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from core import db as dbmod  # noqa: E402
from core.config import get_settings  # noqa: E402
from tools.embedded_db import launcher as embedded_db  # noqa: E402

STATUSES = ["initiated", "ringing", "in-progress", "completed"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--upserts", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
    port = embedded_db.free_port()
    sandbox_port = embedded_db.free_port()
    env = {
        **os.environ,
        "MONGODB_URI": server.uri,
        "MONGODB_DB": "bench_webhooks",
        "PROVIDER_MODE": "sandbox",
        "WEBHOOK_PORT": str(port),
        "SANDBOX_PORT": str(sandbox_port),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    # The sidecar's follow-ups ask the providers about each ended call; the sandbox answers
    # (404: it never placed these calls) so that path costs what it costs, without timeouts.
    from sandbox import config_from_env, start_sandbox

    sandbox = start_sandbox(sandbox_port, config_from_env(webhook_base_url=None))
    db = dbmod.get_db()
    dbmod.ensure_indexes(db)
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.workers), "--threads", "4", "--log-level", "error", "sidecar.app:create_app()"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{base}/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)

        settings = get_settings()
        validator = RequestValidator(settings.twilio_token)
        url = settings.webhook_base_url + "/webhooks/twilio/status"
        per_thread: list[list[tuple[dict, str]]] = [[] for _ in range(args.threads)]
        now = dbmod.utcnow()
        for i in range(args.calls):
            sid = "CA" + uuid.uuid4().hex
            call_id = uuid.uuid4().hex
            db[dbmod.CALLS].insert_one({"_id": call_id, "status": "dialing", "twilio_call_sid": sid,
                                        "open_key": f"bench:{call_id}", "created_at": now,
                                        "updated_at": now})
            for seq, status in enumerate(STATUSES):
                form = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(seq),
                        "CallDuration": "30"}
                per_thread[i % args.threads].append((form, validator.compute_signature(url, form)))

        latencies: list[float] = []
        lock = threading.Lock()

        def deliver(batch: list[tuple[dict, str]]) -> None:
            session = requests.Session()
            for form, signature in batch:
                started = time.perf_counter()
                resp = session.post(f"{base}/webhooks/twilio/status", data=form,
                                    headers={"X-Twilio-Signature": signature}, timeout=30)
                elapsed = time.perf_counter() - started
                if resp.status_code != 200:
                    raise SystemExit(f"unexpected {resp.status_code}: {resp.text[:200]}")
                with lock:
                    latencies.append(elapsed)

        started = time.perf_counter()
        threads = [threading.Thread(target=deliver, args=(b,)) for b in per_thread]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        webhook_seconds = time.perf_counter() - started
        webhook_rate = len(latencies) / webhook_seconds
        completed = db[dbmod.CALLS].count_documents({"status": "completed"})

        coll = db["bench_raw_upserts"]

        def upsert(offset: int) -> None:
            for j in range(offset, args.upserts, args.threads):
                coll.update_one({"_id": j}, {"$set": {"v": j, "at": dbmod.utcnow()}}, upsert=True)

        started = time.perf_counter()
        threads = [threading.Thread(target=upsert, args=(k,)) for k in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        raw_rate = args.upserts / (time.perf_counter() - started)

        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print(f"sidecar: gunicorn {args.workers} workers x 4 threads, {args.threads} client threads")
        print(f"signed webhooks: {len(latencies)} in {webhook_seconds:.2f} s = {webhook_rate:.0f}/s; "
              f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms; calls completed {completed}/{args.calls}")
        print(f"raw pymongo upserts: {args.upserts} = {raw_rate:.0f}/s")
        print(f"ratio webhook/raw: {webhook_rate / raw_rate:.3f}")
    finally:
        gunicorn.terminate()
        gunicorn.wait(15)
        sandbox.stop()
        server.stop()


if __name__ == "__main__":
    main()
