"""Embedded MongoDB write rates: H2 with the library's periodic commit vs commit before ack.

    .venv/bin/python bench/embedded_db_writes.py [--inserts 2000] [--threads 16]
        [--threaded-inserts 3200] [--claims 1000] [--claim-threads 3]
        [--crash-inserts 150] [--crash-claims 50] [--data-dir DIR]

In one run it starts three throwaway embedded servers one after the other: the H2 file
backend as mongo-java-server ships it (`--no-durable`: a background commit about once a
second), the H2 backend as the launcher now starts it (the default: every write committed
and fsynced before its reply), and the memory backend (what the tests use) for reference.
On each, after a short warm-up, it times the same fixed work, every write acknowledged:
single-threaded `insert_one`, `insert_one` from N threads, and `find_one_and_update` claims
(`queued` -> `dialing`) from a few threads, checking that no document is claimed twice. On the
two H2 servers it then writes a few more documents and claims, kills the Java process with
SIGKILL right after the last acknowledgement, restarts it on the same file and counts what
survived.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient  # noqa: E402
from pymongo.collection import Collection  # noqa: E402

from tools.embedded_db import launcher as embedded_db  # noqa: E402

WARMUP_WRITES = 300  # lets the JVM compile the hot paths before anything is timed


@dataclass
class Result:
    """One backend's line of the table."""

    label: str
    single: float
    threaded: float
    claims: float
    survived: str = "n/a"


def _rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def _in_threads(threads: int, target: Callable[[int], None]) -> None:
    workers = [threading.Thread(target=target, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _claim(coll: Collection, worker: str) -> object | None:
    """One dispatcher claim: take the first queued call and mark it dialling."""
    doc = coll.find_one_and_update({"status": "queued"},
                                   {"$set": {"status": "dialing", "claimed_by": worker}},
                                   projection={"_id": 1})
    return None if doc is None else doc["_id"]


def _claims_rate(coll: Collection, claims: int, threads: int) -> float:
    coll.insert_many([{"_id": i, "status": "queued"} for i in range(claims)])
    claimed: list[object] = []
    lock = threading.Lock()

    def claim_all(k: int) -> None:
        while (got := _claim(coll, f"w{k}")) is not None:
            with lock:
                claimed.append(got)

    rate = _rate(claims, lambda: _in_threads(threads, claim_all))
    if len(claimed) != claims or len(set(claimed)) != claims:
        raise SystemExit(f"claims went wrong: {len(claimed)} claims, {len(set(claimed))} distinct, "
                         f"{claims} queued")
    return rate


def _measure(uri: str, args: argparse.Namespace) -> tuple[float, float, float]:
    client = MongoClient(uri, maxPoolSize=args.threads + 4)
    try:
        db = client.bench
        db.warmup.insert_many([{"i": i} for i in range(WARMUP_WRITES)])
        for i in range(WARMUP_WRITES):
            db.warmup.update_one({"i": i}, {"$set": {"seen": True}})

        single = db.single
        rate_single = _rate(args.inserts, lambda: [single.insert_one({"_id": i, "n": i})
                                                   for i in range(args.inserts)])
        threaded = db.threaded
        per_thread = args.threaded_inserts // args.threads

        def insert_some(k: int) -> None:
            for i in range(per_thread):
                threaded.insert_one({"_id": f"{k}-{i}", "thread": k})

        rate_threaded = _rate(per_thread * args.threads, lambda: _in_threads(args.threads, insert_some))
        rate_claims = _claims_rate(db.calls, args.claims, args.claim_threads)
        return rate_single, rate_threaded, rate_claims
    finally:
        client.close()


def _crash_round(server: embedded_db.EmbeddedDb, data: Path, durable: bool,
                 args: argparse.Namespace) -> str:
    """Acknowledged writes, SIGKILL right after the last reply, restart: what is still there."""
    client = MongoClient(server.uri)
    crash = client.bench.crash
    crash.insert_many([{"_id": f"q{i}", "status": "queued"} for i in range(args.crash_claims)])
    for i in range(args.crash_inserts):
        crash.insert_one({"_id": i, "status": "inserted"})
    claimed = [_claim(crash, "crash") for _ in range(args.crash_claims)]
    server.kill()
    client.close()
    server = embedded_db.start(server.port, data, durable=durable, timeout=90)
    client = MongoClient(server.uri)
    try:
        inserted = client.bench.crash.count_documents({"status": "inserted"})
        kept = client.bench.crash.count_documents({"_id": {"$in": claimed}, "status": "dialing"})
    finally:
        client.close()
        server.stop()
    return (f"{inserted}/{args.crash_inserts} inserts, "
            f"{kept}/{args.crash_claims} claims")


def main() -> int:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--inserts", type=int, default=2000, help="single-threaded insert_one calls")
    parser.add_argument("--threads", type=int, default=16, help="threads for the threaded inserts")
    parser.add_argument("--threaded-inserts", type=int, default=3200,
                        help="insert_one calls shared by the threads")
    parser.add_argument("--claims", type=int, default=1000, help="queued documents claimed one by one")
    parser.add_argument("--claim-threads", type=int, default=3, help="threads claiming (like 3 workers)")
    parser.add_argument("--crash-inserts", type=int, default=150,
                        help="acknowledged inserts before the kill -9 (H2 only)")
    parser.add_argument("--crash-claims", type=int, default=50,
                        help="acknowledged claims before the kill -9 (H2 only)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the H2 files go (default: a temporary directory; fsync cost "
                             "depends on the disk)")
    args = parser.parse_args()

    modes = [("H2, periodic commit (stock)", "h2", False),
             ("H2, commit before ack (new default)", "h2", True),
             ("memory (reference: the tests' backend)", "memory", False)]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(dir=args.data_dir, prefix="bench-embedded-db-") as tmp:
        for label, backend, durable in modes:
            data = Path(tmp) / f"{'durable' if durable else 'periodic'}.mv" if backend == "h2" else None
            server = embedded_db.start(embedded_db.free_port(), data, durable=durable, timeout=90)
            try:
                result = Result(label, *_measure(server.uri, args))
                if data is not None:
                    result.survived = _crash_round(server, data, durable, args)
            finally:
                server.stop()
            results.append(result)

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"writes/s, each acknowledged, same run")
    header = (f"{'backend':<40}{'insert_one x1':>15}{f'insert_one x{args.threads}':>16}"
              f"{f'claims x{args.claim_threads}':>12}   survived kill -9")
    print(header)
    for r in results:
        print(f"{r.label:<40}{r.single:>15,.0f}{r.threaded:>16,.0f}{r.claims:>12,.0f}   {r.survived}")
    old, new = results[0], results[1]
    print(f"commit before ack / periodic: insert_one x1 {new.single / old.single:.2f}, "
          f"x{args.threads} {new.threaded / old.threaded:.2f}, claims {new.claims / old.claims:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
