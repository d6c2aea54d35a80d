"""Signed Twilio callbacks/s through the sidecar vs a textbook receiver vs raw insert_one.

Run: .venv/bin/python bench/webhook_throughput.py [--callbacks 1500] [--client-threads 16]
         [--inserts 3000] [--backends durable memory] [--rounds 1]

For each database backend in turn (the durable H2 file store that `make run` uses, then the
memory store the tests use) it starts a throwaway embedded server and, on it, one after the
other with the same gunicorn workers x threads and the same client threads:

- the sidecar (`sidecar/gunicorn_conf.py`, as the Procfile runs it) receiving each call's four
  Twilio status callbacks (initiated, ringing, in-progress, completed), signed, on the
  callback URL the dialler gives Twilio (`?call=<our id>`); one call's callbacks in order on
  one client thread;
- the textbook receiver (`bench/textbook_receiver.py`: verify + one insert per callback) with
  the same callbacks;
- raw pymongo `insert_one` of event-sized documents from the same number of threads.

Every acknowledged callback's stored event is looked up afterwards (`lost` must be 0); for the
sidecar it also waits until every event is applied, every call completed and followed up once,
and reports how long after the last acknowledgement that was.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["ENV_FILE"] = ""

from pymongo import MongoClient  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from core import db as dbmod  # noqa: E402
from core.config import get_settings  # noqa: E402
from core.usage import budget_store, period  # noqa: E402
from tools.embedded_db import launcher as embedded_db  # noqa: E402

STATUSES = ["initiated", "ringing", "in-progress", "completed"]
PATH = "/webhooks/twilio/status"
GOAL_TEXTBOOK = 1.5
GOAL_RAW = 0.35
_WARM_CALLS = 16
_RESERVED = 974_000  # a 15-minute US call's maximum cost, in micro-dollars


@dataclass
class Delivery:
    """What one receiver did with the callbacks."""

    rate: float
    p50_ms: float
    p99_ms: float
    lost: int
    acked: int
    cpu_ms: float  # receiver processes' CPU per callback, until everything was applied
    db_cpu_ms: float  # the database server's CPU per callback, same span
    note: str = ""


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc), 0 for any that is gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _gunicorn(app: str, port: int, env: dict[str, str], workers: int, threads: int,
              sidecar: bool, log: Path) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn")]
    if sidecar:
        # Bind, worker class and limits as in production (BENCH_SIDECAR_CONF: another file).
        cmd += ["-c", os.environ.get("BENCH_SIDECAR_CONF", "sidecar/gunicorn_conf.py")]
    else:
        cmd += ["--bind", f"127.0.0.1:{port}", "--worker-class", "gthread"]
    cmd += ["--workers", str(workers), "--threads", str(threads), "--log-level", "error",
            "--access-logfile", "/dev/null", app]
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("receiver did not become ready")


def _seed_calls(db, count: int) -> list[tuple[str, str]]:
    now = dbmod.utcnow()
    calls = [(uuid.uuid4().hex, "CA" + uuid.uuid4().hex) for _ in range(count)]
    # Each holds its budget reservation, as every dialled call does: ending gives back the rest.
    month = period.month_key(now, "UTC")
    held = {"month": month, "job_id": "bench-job", "micros": _RESERVED, "counted": _RESERVED}
    budget_store.open_month(db, month)
    budget_store.add(db, month, "bench-job", _RESERVED * count)
    db[dbmod.CALLS].insert_many([
        {"_id": call_id, "status": "dialing", "twilio_call_sid": sid, "job_id": "bench-job",
         "candidate_id": f"cand-{call_id}", "open_key": f"bench:{call_id}", "created_at": now,
         "updated_at": now, "dialed_at": now, "budget": held}
        for call_id, sid in calls
    ])
    return calls


def _seed_history(db, count: int) -> None:
    """`count` calls that ended earlier, each with its four applied events (both receivers get
    them): a database that has been in use, where a query that scans pays for every past call."""
    if count <= 0:
        return
    ended = dbmod.utcnow()
    payload = {"CallStatus": "completed", "CallDuration": "30", "Direction": "outbound-api"}
    for start in range(0, count, 2000):
        ids = [uuid.uuid4().hex for _ in range(min(2000, count - start))]
        db[dbmod.CALLS].insert_many([
            {"_id": call_id, "status": "completed", "twilio_call_sid": "CA" + call_id,
             "job_id": "bench-job", "candidate_id": f"cand-{call_id}", "created_at": ended,
             "updated_at": ended, "dialed_at": ended, "ended_at": ended, "duration_seconds": 30,
             "followup_done_at": ended, "rollup": {"seq": 1, "synced_at": ended}}
            for call_id in ids])
        events = [{"_id": uuid.uuid4().hex, "dedupe_key": f"history:{call_id}:{s}", "call_id": call_id,
                   "provider": "twilio", "kind": s, "payload": payload, "applied": True,
                   "received_at": ended} for call_id in ids for s in STATUSES]
        db[dbmod.CALL_EVENTS].insert_many(events)
        db["textbook_events"].insert_many(events)


def _deliver(port: int, calls: list[tuple[str, str]],
             threads: int) -> tuple[list[float], list[str], float, float]:
    """Post every call's callbacks; returns (latencies, acked event ids, seconds, last ack time)."""
    token = get_settings().twilio_token
    validator = RequestValidator(token)
    base = f"http://127.0.0.1:{port}"
    per_thread: list[list[tuple[str, bytes, str]]] = [[] for _ in range(threads)]
    for i, (call_id, sid) in enumerate(calls):
        target = f"{PATH}?{urlencode({'call': call_id})}"
        for seq, status in enumerate(STATUSES):
            form = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(seq),
                    "CallDuration": "30", "AccountSid": "AC" + "0" * 32, "Direction": "outbound-api"}
            signature = validator.compute_signature(base + target, form)
            per_thread[i % threads].append((target, urlencode(form).encode(), signature))
    latencies: list[float] = []
    acked: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    last_ack = [0.0]

    def run(batch: list[tuple[str, bytes, str]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        ids: list[str] = []
        for target, body, signature in batch:
            started = time.perf_counter()
            conn.request("POST", target, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
            resp = conn.getresponse()
            data = resp.read()
            mine.append(time.perf_counter() - started)
            if resp.status != 200:
                with lock:
                    failures.append(f"{resp.status}: {data[:120]!r}")
                continue
            ids.append(json.loads(data)["event"])
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            acked.extend(ids)
            last_ack[0] = max(last_ack[0], time.perf_counter())

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(b,)) for b in per_thread]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    seconds = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} callbacks refused, e.g. {failures[0]}")
    return latencies, acked, seconds, last_ack[0]


def _lost(collection, ids: list[str]) -> int:
    return len(ids) - _count(collection, ids, lambda d: True)


def _run_receiver(kind: str, server: embedded_db.EmbeddedDb, db_name: str, calls_n: int,
                  args: argparse.Namespace, sandbox_port: int, log: Path) -> Delivery:
    uri = server.uri
    port = embedded_db.free_port()
    env = {**os.environ, "MONGODB_URI": uri, "MONGODB_DB": db_name, "PROVIDER_MODE": "sandbox",
           "WEBHOOK_PORT": str(port), "WEBHOOK_BIND": "127.0.0.1", "SANDBOX_PORT": str(sandbox_port),
           "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore"}
    os.environ.update({k: env[k] for k in ("MONGODB_URI", "MONGODB_DB", "WEBHOOK_PORT", "SANDBOX_PORT")})
    get_settings.cache_clear()
    dbmod.get_client.cache_clear()
    db = dbmod.get_db()
    dbmod.ensure_indexes(db)
    _seed_history(db, args.history)
    warm = _seed_calls(db, _WARM_CALLS)
    calls = _seed_calls(db, calls_n)
    ours = [call_id for call_id, _ in warm + calls]
    sidecar = kind == "sidecar"
    app = "sidecar.app:create_app()" if sidecar else "bench.textbook_receiver:create_app()"
    process = _gunicorn(app, port, env, args.workers, args.threads, sidecar, log)
    try:
        _wait_ready(port, process)
        # Warm-up (not timed, not counted): the workers' lazy imports and the JVM's hot paths.
        _deliver(port, warm, args.client_threads)
        # The warm-up's applies and follow-ups finish before the clock starts.
        _until_followed_up(db, ours, _WARM_CALLS, 10)
        pids = [process.pid, *_children(process.pid)]
        cpu0, db_cpu0 = _cpu_seconds(pids), _cpu_seconds([server.process.pid])
        latencies, acked, seconds, last_ack = _deliver(port, calls, args.client_threads)
        collection = db[dbmod.CALL_EVENTS] if sidecar else db["textbook_events"]
        note = ""
        if sidecar:
            # Acknowledged means stored; applied follows just after, then the ended calls'
            # usage counters (the rollup sync) and budget shares are settled.
            applied_after = settled_after = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and settled_after is None:
                if applied_after is None:
                    pending = _count(collection, acked, lambda d: not d.get("applied"))
                    if pending == 0 and _count(db[dbmod.CALLS], ours, _completed) == len(ours):
                        applied_after = time.perf_counter() - last_ack
                if applied_after is not None and _count(db[dbmod.CALLS], ours, _settled) == len(ours):
                    settled_after = time.perf_counter() - last_ack
                time.sleep(0.1)
            # Then each ended call's follow-up (its first provider poll) ran in the sidecar.
            waited = _until_followed_up(db, ours, _WARM_CALLS + calls_n, 30)
            followed_after = None if waited is None else time.perf_counter() - last_ack
            followed = _count(db[dbmod.CALLS], ours, _was_followed_up) - _WARM_CALLS
            applied = _count(collection, acked, lambda d: bool(d.get("applied")))
            settled = _count(db[dbmod.CALLS], ours, _settled)
            note = (f"applied {applied}/{len(acked)} within {_secs(applied_after)} of the last ack, "
                    f"ended calls settled {settled - _WARM_CALLS}/{calls_n} within {_secs(settled_after)}, "
                    f"followed up {followed}/{calls_n} within {_secs(followed_after, 30)}")
        cpu = (_cpu_seconds(pids) - cpu0) * 1000 / max(1, len(acked))
        db_cpu = (_cpu_seconds([server.process.pid]) - db_cpu0) * 1000 / max(1, len(acked))
        return Delivery(rate=len(latencies) / seconds, p50_ms=statistics.median(latencies) * 1000,
                        p99_ms=_percentile(latencies, 0.99) * 1000, lost=_lost(collection, acked),
                        acked=len(acked), cpu_ms=cpu, db_cpu_ms=db_cpu, note=note)
    finally:
        process.terminate()
        process.wait(20)
        dbmod.get_client().close()
        dbmod.get_client.cache_clear()


def _count(collection, ids: list[str], test) -> int:
    """How many of these documents pass `test`: read by `_id` (an index on the embedded server
    too), so watching the run does not scan the history and load the server being measured."""
    found = 0
    for start in range(0, len(ids), 500):
        found += sum(1 for d in collection.find({"_id": {"$in": ids[start:start + 500]}}) if test(d))
    return found


def _completed(doc) -> bool:
    return doc.get("status") == "completed"


def _settled(doc) -> bool:
    return (_completed(doc) and (doc.get("rollup") or {}).get("seq") is not None
            and (doc.get("budget") or {}).get("counted") != _RESERVED)


def _was_followed_up(doc) -> bool:
    # The bench's calls are unknown to the sandbox: their first follow-up postpones (attempts 1).
    return (doc.get("followup_attempts") or 0) >= 1 or doc.get("followup_done_at") is not None


def _until_followed_up(db, ids: list[str], count: int, seconds: float) -> float | None:
    """Seconds until `count` of these calls were followed up at least once, None if not within
    `seconds`."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if _count(db[dbmod.CALLS], ids, _was_followed_up) >= count:
            return time.perf_counter() - started
        time.sleep(0.1)
    return None


def _raw_inserts(uri: str, count: int, threads: int, name: str) -> float:
    client: MongoClient = MongoClient(uri, tz_aware=True)
    coll = client["bench_raw"][name]
    coll.create_index("dedupe_key", unique=True)
    payload = {"CallSid": "CA" + "0" * 32, "CallStatus": "ringing", "SequenceNumber": "1",
               "CallDuration": "30", "AccountSid": "AC" + "0" * 32, "Direction": "outbound-api"}

    def work(offset: int) -> None:
        for j in range(offset, count, threads):
            coll.insert_one({"_id": uuid.uuid4().hex, "dedupe_key": f"raw:{j}", "payload": payload,
                             "received_at": dbmod.utcnow()})

    for j in range(300):  # warm-up, as for the receivers
        coll.insert_one({"_id": uuid.uuid4().hex, "dedupe_key": f"warm:{j}", "payload": payload})
    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    rate = count / (time.perf_counter() - started)
    client.close()
    return rate


def _secs(value: float | None, limit: int = 60) -> str:
    return f"(not within {limit} s)" if value is None else f"{max(value, 0):.2f} s"


def _line(label: str, d: Delivery) -> str:
    return (f"  {label:<9} {d.acked:>5} acked  {d.rate:7.0f}/s  p50 {d.p50_ms:6.1f} ms  "
            f"p99 {d.p99_ms:6.1f} ms  lost {d.lost}  CPU/callback {d.cpu_ms:4.2f} ms "
            f"+ db {d.db_cpu_ms:4.2f} ms" + (f"\n            {d.note}" if d.note else ""))


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=1500, help="multiple of 4 (one call = 4)")
    parser.add_argument("--client-threads", type=int, default=16)
    parser.add_argument("--inserts", type=int, default=3000, help="raw insert_one count")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (settings)")
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads (settings)")
    parser.add_argument("--backends", nargs="+", default=["durable", "memory"],
                        choices=["durable", "memory"])
    parser.add_argument("--rounds", type=int, default=1, help="sidecar/textbook/raw repeated")
    parser.add_argument("--history", type=int, default=0,
                        help="ended calls (with their events) already in each receiver's database")
    args = parser.parse_args()
    settings = get_settings()
    args.workers = args.workers or settings.webhook_workers
    args.threads = args.threads or settings.webhook_threads
    calls_n = max(1, args.callbacks // len(STATUSES))

    sandbox_port = embedded_db.free_port()
    os.environ["SANDBOX_PORT"] = str(sandbox_port)
    os.environ["PROVIDER_MODE"] = "sandbox"
    get_settings.cache_clear()
    # The sidecar's follow-ups ask the providers about each ended call; the sandbox answers
    # (404: it never placed these calls) so that path costs what it costs, without timeouts.
    # Its own process, as the real providers are elsewhere: not in the clients' interpreter, and
    # at the lowest CPU priority, so that answering the follow-ups' reads does not take the 2
    # cores from the receiver being measured (real providers answer from their own machines).
    sandbox = subprocess.Popen([sys.executable, "-m", "sandbox"], cwd=ROOT,
                               env={**os.environ, "LOG_LEVEL": "WARNING"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: os.nice(19))  # noqa: PLW1509 - no threads yet
    for _ in range(150):
        if embedded_db.port_in_use(sandbox_port):
            break
        time.sleep(0.2)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; gunicorn "
          f"{args.workers} workers x {args.threads} threads for both receivers; "
          f"{calls_n * len(STATUSES)} callbacks ({calls_n} calls x 4) from "
          f"{args.client_threads} client threads; {args.history} earlier calls in each database")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "receivers.log"
            for backend in args.backends:
                data = Path(tmp) / f"{backend}.mv" if backend == "durable" else None
                server = embedded_db.start(embedded_db.free_port(), data, timeout=90)
                label = ("durable H2 file store, commit before ack (make run)" if data
                         else "memory store (tests)")
                print(f"{label}:")
                try:
                    for r in range(args.rounds):
                        side = _run_receiver("sidecar", server, f"bench_sidecar_{r}", calls_n, args,
                                             sandbox_port, log)
                        text = _run_receiver("textbook", server, f"bench_textbook_{r}", calls_n, args,
                                             sandbox_port, log)
                        raw = _raw_inserts(server.uri, args.inserts, args.client_threads, f"raw_events_{r}")
                        print(_line("sidecar", side))
                        print(_line("textbook", text))
                        print(f"  raw insert_one x{args.client_threads}: {args.inserts} = {raw:.0f}/s")
                        print(f"  sidecar/textbook {side.rate / text.rate:.2f}x (goal >= {GOAL_TEXTBOOK}), "
                              f"sidecar/raw {side.rate / raw:.2f}x (goal >= {GOAL_RAW}), "
                              f"load average {os.getloadavg()[0]:.1f}")
                finally:
                    server.stop()
            errors = [line for line in log.read_text(errors="replace").splitlines()
                      if "Traceback" in line or "ERROR" in line]
            if errors:
                print(f"receiver log: {len(errors)} error lines, first: {errors[0][:200]}")
    finally:
        sandbox.terminate()
        sandbox.wait(15)


if __name__ == "__main__":
    main()
