"""Benchmark: the calls & transcripts page (AppTest script time and memory) next to a naive page.

    .venv/bin/python bench/review_pages.py --calls 100000 --messages-per-call 10

Seeds N calls (with config snapshot, prompt and summary, as real calls carry them), one
transcript document per call holding its messages (N × messages-per-call messages in all)
and a few event-log entries per call, then times in one run, on the same database:

1. list        — the shipped page, first page of calls (no filter);
2. filtered    — the shipped page filtered by one job + status "completed" + a name prefix;
3. detail      — the shipped page opened on one call (`?call=`): call, candidate, job,
                 transcript, event-log timeline, per-question view, review form;
4. naive list  — a page that loads every call into pandas, sorts there and shows 25 rows;
5. naive filt. — the same, filtered in pandas.

Each is run --runs times after one warm-up; the median and best script times are printed,
with the peak Python allocation of one run (tracemalloc, a separate pass so tracing does not
slow the timed runs) and the process's peak RSS (getrusage) after each page — the RSS only
ever grows, so the shipped pages run first. A throwaway embedded database (memory backend)
is started unless --uri is given; the seeded database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENV_FILE", "")

_STATUSES = ["completed"] * 55 + ["no_answer"] * 20 + ["voicemail"] * 12 + ["busy"] * 6 + ["failed"] * 7
_FIRST = ["Ann", "Bob", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lee", "Max", "Ned"]
_LAST = ["Archer", "Baker", "Cole", "Diaz", "Evans", "Fox", "Gray", "Hill", "Ito", "Jones", "Khan"]
_QUESTIONS = [
    {"text": "How many years of experience do you have in this kind of role?", "guidance": "3+"},
    {"text": "When could you start the new position?", "guidance": ""},
    {"text": "Are you able to work weekend shifts?", "guidance": ""},
]
_PROMPT = "You are Alex, a friendly screening agent. " * 40  # ~1.7 kB, like a real rendered prompt
_NAIVE_PAGE = """
import pandas as pd
import streamlit as st
from core import crypto
from dashboard import ui

ui.require_user("transcripts")
db = ui.require_database()
st.title("Calls (naive)")
# batch_size: unbatched, the embedded server answers with one reply over its 48 MB limit at 20k calls
calls = pd.DataFrame(list(db["calls"].find().batch_size(1000)))
jobs = pd.DataFrame(list(db["jobs"].find()))
cands = pd.DataFrame(list(db["candidates"].find({}, {"name": 1}).batch_size(5000)))
cands["name"] = cands["name"].map(crypto.decrypt)  # names are encrypted at rest
frame = calls.merge(cands.rename(columns={"_id": "candidate_id"}), on="candidate_id", how="left")
frame = frame.merge(jobs[["_id", "title"]].rename(columns={"_id": "job_id"}), on="job_id", how="left")
flt = st.session_state.get("naive.filter")
if flt:
    frame = frame[(frame["job_id"] == flt["job_id"]) & (frame["status"] == "completed")
                  & frame["name"].str.lower().str.contains(r"\\b" + flt["prefix"], regex=True)]
frame = frame.sort_values("created_at", ascending=False)
st.caption(f"{len(frame)} calls")
st.dataframe(frame.head(25)[["name", "title", "created_at", "duration_seconds", "status"]])
"""


def _bulk(collection: Any, docs: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(docs), batch):
        collection.insert_many(docs[start : start + batch], ordered=False)


def seed(db: Any, calls: int, per_call: int, events_per_call: int, *, batch: int = 5000) -> dict[str, Any]:
    """Insert jobs, candidates, calls, transcripts and events; returns ids the pages use."""
    from core import crypto
    from core.db import CALL_EVENTS, CALLS, CANDIDATES, JOBS, TRANSCRIPTS, ensure_indexes

    ensure_indexes(db)
    rng = random.Random(7)
    now = datetime.now(UTC)
    jobs = [
        {"_id": uuid.uuid4().hex, "title": f"Job {n}", "company": "Acme", "status": "open", "created_at": now}
        for n in range(20)
    ]
    db[JOBS].insert_many(jobs)
    cands = []
    for n in range(max(1, calls // 4)):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {n}"
        phone = f"+1212{2000000 + n:07d}"  # unique: one candidate per number
        cands.append(
            {
                "_id": uuid.uuid4().hex,
                "name": crypto.encrypt(name),  # encrypted as the product stores it
                "name_tokens": crypto.name_tokens(name),  # what the name search reads
                "phone": crypto.encrypt(phone),
                "phone_hash": crypto.phone_hash(phone),
                "lookup_kid": crypto.lookup_key_id(),
                "job_ids": [rng.choice(jobs)["_id"]],
                "consent": True,
                "created_at": now,
            }
        )
    _bulk(db[CANDIDATES], cands, batch)
    call_docs, transcripts, events = [], [], []
    for _ in range(calls):
        cand = rng.choice(cands)
        status = rng.choice(_STATUSES)
        created = now - timedelta(seconds=rng.randrange(90 * 86400))
        call_id = uuid.uuid4().hex
        doc: dict[str, Any] = {
            "_id": call_id,
            "candidate_id": cand["_id"],
            "job_id": cand["job_ids"][0],
            "attempt": 1,
            "status": status,
            "created_at": created,
            "updated_at": created,
            "dialed_at": created,
            "twilio_call_sid": f"CA{call_id}",
            "ultravox_call_id": str(uuid.UUID(call_id)),
            "config_snapshot": {
                "config": {
                    "voice": "Mark",
                    "model": "ultravox-v0.7",
                    "recording_enabled": False,
                    "screening_questions": _QUESTIONS,
                    "system_prompt": _PROMPT,
                },
                "global_version": 1,
            },
            "rendered_prompt": _PROMPT,
            "calling_window": {"zone": "America/New_York", "local_time": "10:00", "allowed": True},
        }
        if status == "completed":
            seconds = rng.randrange(60, 900)
            doc.update(
                duration_seconds=seconds,
                answered_at=created + timedelta(seconds=5),
                ended_at=created + timedelta(seconds=seconds),
                transcript_status="stored",
                message_count=per_call,
                summary="The candidate answered every question. " * 8,
                short_summary="Screening completed.",
                costs={
                    "currency": "USD",
                    "total": "0.0490",
                    "total_micros": 49000,
                    "ai_estimated": False,
                    "telephony_estimated": False,
                },
            )
            if rng.random() < 0.3:
                doc["review"] = {
                    "decision": rng.choice(["advance", "hold", "reject"]),
                    "ratings": {"1": 4},
                    "overall": 4,
                    "notes": "ok",
                    "by": "bench",
                    "at": created,
                }
        call_docs.append(doc)
        if per_call:
            messages = []
            for m in range(per_call):
                role = "agent" if m % 2 == 0 else "user"
                text = (
                    _QUESTIONS[(m // 2) % 3]["text"]
                    if role == "agent"
                    else "I have about five years of experience and could start in two weeks."
                )
                messages.append(
                    {"role": role, "text": text, "medium": "voice", "start_s": m * 6.0, "end_s": m * 6.0 + 5}
                )
            transcripts.append({"_id": call_id, "messages": messages, "fetched_at": created})
        for e in range(events_per_call):
            events.append(
                {
                    "_id": uuid.uuid4().hex,
                    "dedupe_key": f"tw:{doc['twilio_call_sid']}:{e}",  # as core.lifecycle.events makes it
                    "provider": "twilio",
                    "kind": ["initiated", "ringing", "in-progress", "completed"][e % 4],
                    "call_id": call_id,
                    "provider_call_id": doc["twilio_call_sid"],
                    "payload": {"CallSid": doc["twilio_call_sid"]},
                    "occurred_at": None,
                    "received_at": created + timedelta(seconds=e),
                    "source": "webhook",
                    "applied": True,
                }
            )
        if len(call_docs) >= batch:
            _bulk(db[CALLS], call_docs, batch)
            _bulk(db[TRANSCRIPTS], transcripts, batch)
            _bulk(db[CALL_EVENTS], events, batch)
            call_docs, transcripts, events = [], [], []
    _bulk(db[CALLS], call_docs, batch)
    _bulk(db[TRANSCRIPTS], transcripts, batch)
    _bulk(db[CALL_EVENTS], events, batch)
    target = db[CALLS].find_one({"status": "completed"}, {"_id": 1, "job_id": 1, "candidate_id": 1})
    name = crypto.decrypt(db[CANDIDATES].find_one({"_id": target["candidate_id"]})["name"])
    first, family = name.lower().split()[:2]
    prefix = f"{first} {family[:3]}"  # a first name and 3 letters of the family name
    return {"call_id": target["_id"], "job_id": target["job_id"], "prefix": prefix}


_PAGES = {"detail": "call.py", "home": "home.py"}  # the others: the calls list


class _Commands:
    """pymongo command monitoring: what one page run sent to the database, and how long each took."""

    def __init__(self) -> None:
        self.on = False
        self.started: dict[int, tuple[str, float]] = {}
        self.seen: list[tuple[str, float]] = []

    def started_(self, event: Any) -> None:  # noqa: D401 - pymongo listener hook
        if self.on:
            cmd = event.command
            coll = cmd.get(event.command_name)
            what = cmd.get("filter", cmd.get("query", cmd.get("pipeline", "")))
            if isinstance(what, dict):
                what = sorted(what)
            label = f"{event.command_name} {coll} {what}"[:110]
            self.started[event.request_id] = (label, time.perf_counter())

    def ended(self, event: Any) -> None:
        got = self.started.pop(event.request_id, None)
        if got:
            self.seen.append((got[0], time.perf_counter() - got[1]))


def _listener(commands: _Commands) -> Any:
    from pymongo import monitoring

    class Listener(monitoring.CommandListener):
        def started(self, event: Any) -> None:
            commands.started_(event)

        def succeeded(self, event: Any) -> None:
            commands.ended(event)

        def failed(self, event: Any) -> None:
            commands.ended(event)

    return Listener()


def profile(kind: str, ids: dict[str, Any], commands: _Commands) -> None:
    """One more run of the page with every database command timed: where the time goes."""
    import streamlit as st

    at = _app(kind, ids)
    st.cache_data.clear()
    commands.seen, commands.on = [], True
    start = time.perf_counter()
    at.run()
    total = time.perf_counter() - start
    commands.on = False
    in_db = sum(t for _, t in commands.seen)
    print(f"    {kind}: {total * 1000:.0f} ms, {len(commands.seen)} database commands {in_db * 1000:.0f} ms"
          f" (the rest, {(total - in_db) * 1000:.0f} ms, is the page: Python, Streamlit, decrypting)")
    for what, took in sorted(commands.seen, key=lambda c: -c[1])[:6]:
        print(f"      {took * 1000:7.1f} ms  {what}")


def _quiet_streamlit() -> None:
    """Pages run and caches cleared outside a server make Streamlit log "missing
    ScriptRunContext" warnings by the dozen (each logger made on first use): they say nothing
    about the pages, so the bench's loggers drop them."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


_COMPONENTS: list[Any] = []


def _components() -> Any:
    """One discovery of installed Streamlit components for every AppTest of the run.

    Each new AppTest scans every installed package's metadata for components (about 120–600 ms
    on this machine, measured once below); a server does it once when it starts, so the pages'
    times leave it out.
    """
    if not _COMPONENTS:
        from streamlit.components.v2.component_manager import BidiComponentManager

        start = time.perf_counter()
        manager = BidiComponentManager()
        manager.discover_and_register_components(start_file_watching=False)
        _COMPONENTS.extend([manager, time.perf_counter() - start])
    return _COMPONENTS[0]


def _app(kind: str, ids: dict[str, Any]) -> Any:
    from streamlit.testing.v1 import AppTest

    _quiet_streamlit()

    page = str(ROOT / "pages" / _PAGES.get(kind, "transcripts.py"))
    at = (
        AppTest.from_string(_NAIVE_PAGE, default_timeout=900)
        if kind.startswith("naive")
        else AppTest.from_file(page, default_timeout=900)
    )
    if hasattr(at, "_bidi_component_manager"):  # AppTest's own slot for it (Streamlit 1.5x)
        at._bidi_component_manager = _components()
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "bench"
    at.session_state["roles"] = ["recruiter"]
    from core import auth
    from core import db as dbmod

    at.session_state["auth.session_id"] = auth.start_session(  # a live server-side session
        dbmod.get_db(), "bench", lifetime=timedelta(days=1), idle=timedelta(hours=8)
    ).session_id
    if kind == "detail":
        at.query_params["call"] = ids["call_id"]
    if kind == "filtered":
        at.session_state["transcripts.job"] = ids["job_id"]
        at.session_state["transcripts.statuses"] = ["completed"]
        at.session_state["transcripts.candidate"] = ids["prefix"]
    if kind == "naive filtered":
        at.session_state["naive.filter"] = {"job_id": ids["job_id"], "prefix": ids["prefix"]}
    return at


def _check(at: Any, kind: str) -> None:
    if at.exception:
        raise RuntimeError(f"{kind}: the page raised: {at.exception[0].message}")
    shown = {h.value for h in at.subheader}
    if kind == "detail" and not {"Transcript", "Scorecard"} <= shown:
        raise RuntimeError(f"detail: the call's transcript and scorecard are not shown ({sorted(shown)})")
    if kind == "home" and not any(t.value == "Voice Screening Console" for t in at.title):
        raise RuntimeError("home: no title")
    if kind == "filtered" and not any(c.value.startswith("Page 1 of") for c in at.caption):
        said = "; ".join(w.value for w in at.warning)
        raise RuntimeError(f"filtered: no result table ({said or 'no warning'})")


def measure(kind: str, ids: dict[str, Any], runs: int) -> dict[str, float]:
    """Median and best script time, peak traced allocation and peak RSS for one page."""
    import streamlit as st
    _check(_app(kind, ids).run(), kind)  # warm-up (imports, caches of the page)
    times = []
    for _ in range(runs):
        at = _app(kind, ids)
        st.cache_data.clear()  # cold: what a page costs before anything is cached
        _quiet_streamlit()
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        _check(at, kind)
    tracemalloc.start()
    _app(kind, ids).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "median": statistics.median(times),
        "best": min(times),
        "peak_mb": peak / 1e6,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    """Seed, measure the five pages, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--messages-per-call", type=int, default=10, help="1M messages at 100k calls")
    parser.add_argument("--events-per-call", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000, help="insert_many batch size")
    parser.add_argument("--uri", default=os.environ.get("BENCH_MONGODB_URI"))
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--profile", action="store_true", help="time each database command of one run")
    parser.add_argument("--no-encryption", action="store_true", help="store names in the clear")
    args = parser.parse_args(argv)

    from core import auth
    from core import db as dbmod
    from core.config import get_settings
    from tools.embedded_db import launcher as embedded_db

    server = None
    uri = args.uri
    if not uri:
        server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
        uri = server.uri
    os.environ.update(
        MONGODB_URI=uri, MONGODB_DB=f"bench_review_{uuid.uuid4().hex[:8]}", PROVIDER_MODE="sandbox"
    )
    if not os.environ.get("DATA_ENCRYPTION_KEY") and not args.no_encryption:
        from cryptography.fernet import Fernet

        os.environ["DATA_ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # names encrypted, as live
    get_settings.cache_clear()
    dbmod.get_client.cache_clear()
    commands = _Commands()
    if args.profile:
        from pymongo import monitoring

        monitoring.register(_listener(commands))  # before the client exists
    db = dbmod.get_db()
    try:
        auth.create_user(db, "bench", "a-long-password-1", "recruiter", actor=auth.OPERATOR)
        start = time.perf_counter()
        ids = seed(db, args.calls, args.messages_per_call, args.events_per_call, batch=args.batch)
        seeded = time.perf_counter() - start
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print(
            f"seeded {args.calls:,} calls, {args.calls * args.messages_per_call:,} transcript messages, "
            f"{args.calls * args.events_per_call:,} events in {seeded:.1f} s "
            f"({server.kind if server else 'given --uri'})"
        )
        kinds = ["list", "filtered", "detail", "home"] + (
            [] if args.skip_naive else ["naive list", "naive filtered"]
        )
        results: dict[str, dict[str, float]] = {}
        for kind in kinds:
            results[kind] = measure(kind, ids, args.runs)
            r = results[kind]
            print(
                f"  {kind:<15} median {r['median'] * 1000:8.0f} ms  best {r['best'] * 1000:8.0f} ms  "
                f"peak alloc {r['peak_mb']:8.1f} MB  process max RSS {r['rss_mb']:7.0f} MB",
                flush=True,
            )
        _report(results)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        if args.profile:
            print("where the time goes (one more run of each shipped page):")
            for kind in ("list", "filtered", "detail", "home"):
                profile(kind, ids, commands)
    finally:
        if not args.keep:
            db.client.drop_database(db.name)
        if server:
            server.stop()
    return 0


_GOALS_MS = {"list": 300, "filtered": 300, "detail": 200}  # issue 16, script time at 100k calls
_GOAL_RATIO = 10.0  # naive page / shipped page, for the list and the filtered list


def _report(results: dict[str, dict[str, float]]) -> None:
    """Each figure of the run next to its goal."""
    print("figure                        this run      goal  met")
    for kind, goal in _GOALS_MS.items():
        if kind in results:
            ms = results[kind]["median"] * 1000
            print(f"  {kind + ' (median)':<26} {ms:7.0f} ms  ≤{goal:4d} ms  {'yes' if ms <= goal else 'NO'}")
    if "home" in results:
        print(f"  {'home (median)':<26} {results['home']['median'] * 1000:7.0f} ms   no goal")
    for shipped, naive in (("list", "naive list"), ("filtered", "naive filtered")):
        if shipped in results and naive in results:
            ratio = results[naive]["median"] / results[shipped]["median"]
            print(f"  {naive + ' / ' + shipped:<26} {ratio:8.1f}×    ≥{_GOAL_RATIO:4.0f}×    "
                  f"{'yes' if ratio >= _GOAL_RATIO else 'NO'}")
    if _COMPONENTS:
        once = _COMPONENTS[1] * 1000
        print(f"  (left out of every page: AppTest's component discovery, {once:.0f} ms, done once)")


if __name__ == "__main__":
    raise SystemExit(main())
