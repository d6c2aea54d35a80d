"""Retention purge with a large backlog: one run to the end vs the worker's bounded ticks.

    .venv/bin/python bench/retention_purge.py [--calls 200000] [--tick-seconds 2]

Seeds `--calls` ended calls past the retention period (each with a transcript) into a
throwaway embedded database, twice. On the first copy it purges them in one run to the end —
what the worker's purge task did inside its single loop before, and what `purge-expired` still
does. On the second it runs the worker's task (`purge_step`, about `--tick-seconds` per tick)
until nothing is left. Printed side by side: total time, the longest time the worker loop was
held by one purge, and the number of ticks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENV_FILE", "")


def _seed(db, calls: int) -> None:
    from core.db import CALLS, TRANSCRIPTS, utcnow

    ended = utcnow() - timedelta(days=400)
    for start in range(0, calls, 5000):
        ids = [uuid.uuid4().hex for _ in range(min(5000, calls - start))]
        db[CALLS].insert_many([{"_id": i, "status": "completed", "ended_at": ended, "created_at": ended,
                                "summary": "s", "short_summary": "s"} for i in ids])
        db[TRANSCRIPTS].insert_many([{"_id": i, "messages": [{"role": "agent", "text": "hello"}]}
                                     for i in ids])


def main() -> int:
    """Run both ways and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--tick-seconds", type=float, default=2.0)
    args = parser.parse_args()

    from tools.embedded_db import launcher as embedded_db

    server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
    os.environ.update({"MONGODB_URI": server.uri, "PROVIDER_MODE": "sandbox",
                       "SANDBOX_SECRETS_FILE": str(Path("/tmp") / f"purge-bench-{uuid.uuid4().hex}.json")})
    from core.config import get_settings
    from core.db import CALLS, ensure_indexes, get_client
    from core.review import retention

    try:
        get_settings.cache_clear()
        client = get_client()
        one_run = client[f"purge_{uuid.uuid4().hex[:8]}"]
        ensure_indexes(one_run)
        _seed(one_run, args.calls)
        started = time.monotonic()
        retention.purge_expired(one_run, retention_days=180)
        whole = time.monotonic() - started
        assert one_run[CALLS].count_documents({"purged_at": {"$exists": False}}) == 0

        ticked = client[f"purge_{uuid.uuid4().hex[:8]}"]
        ensure_indexes(ticked)
        _seed(ticked, args.calls)
        ticks, longest, total = 0, 0.0, 0.0
        while True:
            started = time.monotonic()
            summary = retention.purge_expired(ticked, retention_days=180, max_seconds=args.tick_seconds)
            took = time.monotonic() - started
            ticks += 1
            longest, total = max(longest, took), total + took
            if not summary.endswith("more next time"):
                break
        assert ticked[CALLS].count_documents({"purged_at": {"$exists": False}}) == 0
    finally:
        server.stop()
    print(f"retention purge of {args.calls} expired calls (embedded database, memory backend)")
    print(f"  {'':<42} {'one run (before)':>18} {'worker ticks (now)':>20}")
    print(f"  {'total seconds':<42} {whole:>18.1f} {total:>20.1f}")
    print(f"  {'longest hold of the worker loop (s)':<42} {whole:>18.1f} {longest:>20.1f}")
    print(f"  {'runs':<42} {1:>18} {ticks:>20}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
