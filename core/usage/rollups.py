"""Usage rollups: small per-day and per-(day, job) counter documents the usage page reads."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from core.config import Settings, get_settings
from core.db import CALLS, ROLLUPS, new_id, utcnow
from core.documents.status import TERMINAL_STATUSES, CallStatus
from core.usage import costs as costmod

log = logging.getLogger(__name__)

_TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)
OUTCOMES: tuple[str, ...] = tuple(s.value for s in CallStatus if s in TERMINAL_STATUSES)
# Review decisions that count as "advanced to the next round".
ADVANCED_DECISIONS = frozenset({"advance", "advanced"})
# A completed call shorter than this is an early hang-up: the candidate left before screening.
EARLY_HANGUP_SECONDS = 30
# Fixed counters (summed server-side with $group); outcome and end-reason counters are added.
COUNTERS: tuple[str, ...] = (
    "calls",
    "answered",
    "seconds",
    "answered_seconds",
    "ai_seconds",
    "ai_est",
    "ai_act",
    "tel_est",
    "tel_act",
    "advanced",
    "early_hangups",
    "foreign_priced",
    "waste_unanswered",
    "waste_voicemail",
    "waste_early_hangup",
    *(f"out_{o}" for o in OUTCOMES),
)
MONEY_COUNTERS = ("ai_est", "ai_act", "tel_est", "tel_act")
_RETRIES = 8
_STALE_PENDING = timedelta(minutes=1)
# Fields a rollup computation reads; the heavy ones (prompt, request, config) stay on the server.
_PROJECTION = {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0, "status_history": 0}


# -- per-call contribution ----------------------------------------------------------------


def day_of(call: Mapping[str, Any]) -> str | None:
    """The UTC day a call counts under ("YYYY-MM-DD", from `created_at`), or None."""
    created = call.get("created_at")
    if not isinstance(created, datetime):
        return None
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return created.astimezone(UTC).date().isoformat()


def _reason_key(reason: Any) -> str:
    # Keys become field names: nothing that MongoDB reads as a path or operator.
    text = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(reason or "none"))
    return f"er_{text[:40] or 'none'}"


def contribution(call: Mapping[str, Any], settings: Settings) -> tuple[dict[str, int], dict[str, Any]]:
    """(the call's counters — empty until it ends —, its `costs` figures)."""
    costs = costmod.call_costs(call, settings)
    status = call.get("status")
    if status not in _TERMINAL or day_of(call) is None:
        return {}, costs
    talk = costmod.talk_seconds(call)
    seconds = int(talk) if talk is not None else 0
    ai_m, tel_m = costs["ai_micros"], costs["telephony_micros"]
    c: Counter[str] = Counter()
    c["calls"] = 1
    c[f"out_{status}"] = 1
    c["seconds"] = seconds
    c["ai_seconds"] = costmod.ai_billed_seconds_of(call, settings)
    c["ai_est" if costs["ai_estimated"] else "ai_act"] = ai_m
    c["tel_est" if costs["telephony_estimated"] else "tel_act"] = tel_m
    if status == CallStatus.COMPLETED:
        c["answered"] = 1
        c["answered_seconds"] = seconds
        if seconds < EARLY_HANGUP_SECONDS:
            c["early_hangups"] = 1
            c["waste_early_hangup"] = ai_m + tel_m
    elif status == CallStatus.VOICEMAIL:
        c["waste_voicemail"] = ai_m + tel_m
    else:
        c["waste_unanswered"] = ai_m + tel_m
    if call.get("end_reason"):
        c[_reason_key(call["end_reason"])] = 1
    if ((call.get("review") or {}).get("decision") or "") in ADVANCED_DECISIONS:
        c["advanced"] = 1
    if costs["telephony_foreign"]:
        c["foreign_priced"] = 1
    # Zeros are dropped so equal states compare equal and documents stay small.
    return {k: int(v) for k, v in c.items() if v}, costs


def _doc_ids(day: str, job_id: Any) -> tuple[str, str]:
    return f"day|{day}", f"job|{day}|{job_id or ''}"


def _inc(db: Database, day: str, job_id: Any, delta: Mapping[str, int]) -> None:
    """Add `delta` to the day's and the day-job's counters (upserting them)."""
    if not delta:
        return
    inc = {f"c.{k}": v for k, v in delta.items() if v}
    if not inc:
        return
    now = utcnow()
    day_id, job_doc_id = _doc_ids(day, job_id)
    base = {"day": day, "month": day[:7]}
    db[ROLLUPS].bulk_write(
        [
            UpdateOne(
                {"_id": day_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "day", "job_id": None},
                },
                upsert=True,
            ),
            UpdateOne(
                {"_id": job_doc_id},
                {
                    "$inc": inc,
                    "$set": {"updated_at": now},
                    "$setOnInsert": {**base, "scope": "job", "job_id": job_id or ""},
                },
                upsert=True,
            ),
        ],
        ordered=False,
    )


def sync_call(db: Database, call_id: str, *, settings: Settings | None = None) -> bool:
    """Bring the rollups in line with the call as it is now; True if any counter moved."""
    settings = settings or get_settings()
    for _ in range(_RETRIES):
        call = db[CALLS].find_one({"_id": call_id}, _PROJECTION)
        if call is None:
            return False
        new, costs = contribution(call, settings)
        state = call.get("rollup") or {}
        old: dict[str, int] = state.get("applied") or {}
        if new == old and call.get("costs") == costs and "seq" in state:
            return False
        seq = int(state.get("seq") or 0)
        day = day_of(call)
        gate = db[CALLS].update_one(
            # None matches a call never synced (no `rollup.seq` yet).
            {"_id": call_id, "rollup.seq": seq or None},
            {
                "$set": {
                    "rollup.applied": new,
                    "rollup.seq": seq + 1,
                    "rollup.synced_at": utcnow(),
                    "rollup.day": day,
                    "rollup.inc_pending": True,
                    "costs": costs,
                }
            },
        )
        if gate.modified_count != 1:
            continue  # another process synced in between: recompute from its result
        delta = {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)}
        delta = {k: v for k, v in delta.items() if v}
        if delta and day:
            _inc(db, day, call.get("job_id"), delta)
        db[CALLS].update_one({"_id": call_id, "rollup.seq": seq + 1}, {"$unset": {"rollup.inc_pending": ""}})
        return bool(delta)
    log.warning("rollup sync of call %s kept racing; the next sync or a rebuild settles it", call_id)
    return False


# Named entry points for the code that changes a call (all do the same idempotent sync; the
# names say where each is called from).
def record_terminal(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After a call's status moved to a terminal one."""
    return sync_call(db, _id(call))


def record_billing(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Ultravox billing (billing_status, billed_duration_seconds) was stored."""
    return sync_call(db, _id(call))


def record_price(db: Database, call: Mapping[str, Any] | str) -> bool:
    """After Twilio's price (or price_status "none") was stored."""
    return sync_call(db, _id(call))


def record_decision(db: Database, call: Mapping[str, Any] | str, old: Any = None, new: Any = None) -> bool:
    """After a reviewer's decision changed (old/new are informative; the call is re-read)."""
    return sync_call(db, _id(call))


def _id(call: Mapping[str, Any] | str) -> str:
    return call if isinstance(call, str) else call["_id"]


def sync_stale(
    db: Database,
    *,
    now: datetime | None = None,
    lookback: timedelta = timedelta(days=7),
    limit: int = 200,
    settings: Settings | None = None,
) -> int:
    """Safety net for the worker: sync recent calls changed since their last sync; returns how many."""
    now = now or utcnow()
    query = {
        "created_at": {"$gte": now - lookback},
        "$or": [
            {"status": {"$in": sorted(_TERMINAL)}, "rollup.seq": None},
            {"$expr": {"$gt": ["$updated_at", "$rollup.synced_at"]}, "rollup.seq": {"$ne": None}},
        ],
    }
    moved = 0
    for doc in db[CALLS].find(query, {"_id": 1}).limit(limit):
        moved += sync_call(db, doc["_id"], settings=settings)
    return moved


def status(db: Database, *, now: datetime | None = None) -> dict[str, int]:
    """Calls whose rollup increment may not have landed (a crash mid-sync): rebuild if non-zero."""
    now = now or utcnow()
    pending = db[CALLS].count_documents(
        {"rollup.inc_pending": True, "rollup.synced_at": {"$lt": now - _STALE_PENDING}}
    )
    return {"possibly_uncounted": pending, "rollup_documents": db[ROLLUPS].estimated_document_count()}


def rebuild(db: Database, *, settings: Settings | None = None, batch_size: int = 1000) -> dict[str, int]:
    """Recompute every rollup from the calls (run while no calls are ending); returns counts."""
    settings = settings or get_settings()
    sums: dict[tuple[str, str, Any], Counter[str]] = {}
    calls = fixed = 0
    writes: list[UpdateOne] = []
    for call in db[CALLS].find({}, _PROJECTION).batch_size(batch_size):
        calls += 1
        new, costs = contribution(call, settings)
        state = call.get("rollup") or {}
        day = day_of(call)
        stale = new != (state.get("applied") or {}) or call.get("costs") != costs
        if stale or "seq" not in state or state.get("inc_pending"):
            fixed += 1
            writes.append(
                UpdateOne(
                    {"_id": call["_id"]},
                    {
                        "$set": {
                            "rollup.applied": new,
                            "rollup.seq": int(state.get("seq") or 0) + 1,
                            "rollup.synced_at": utcnow(),
                            "rollup.day": day,
                            "costs": costs,
                        },
                        "$unset": {"rollup.inc_pending": ""},
                    },
                )
            )
            if len(writes) >= batch_size:
                db[CALLS].bulk_write(writes, ordered=False)
                writes = []
        if new and day:
            for scope, job in (("day", None), ("job", call.get("job_id") or "")):
                sums.setdefault((scope, day, job), Counter()).update(new)
    if writes:
        db[CALLS].bulk_write(writes, ordered=False)
    run = new_id()
    now = utcnow()
    docs = []
    for (scope, day, job), counter in sums.items():
        day_id, job_doc_id = _doc_ids(day, job)
        docs.append(
            {
                "_id": day_id if scope == "day" else job_doc_id,
                "scope": scope,
                "day": day,
                "month": day[:7],
                "job_id": job,
                "c": dict(counter),
                "updated_at": now,
                "rebuild": run,
            }
        )
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        db[ROLLUPS].bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False)
    # Documents of days or jobs that no longer have calls are the ones this run did not write.
    removed = db[ROLLUPS].delete_many({"rebuild": {"$ne": run}}).deleted_count
    return {"calls": calls, "calls_fixed": fixed, "rollups": len(docs), "rollups_removed": removed}


# -- reading ------------------------------------------------------------------------------


def month_spend_micros(db: Database, month: str) -> int:
    """Total cost (estimated + actual, micros) of the calls created in a "YYYY-MM" month."""
    total = 0
    # At most 31 small day documents.
    for doc in db[ROLLUPS].find({"scope": "day", "month": month}, {"c": 1}):
        c = doc.get("c") or {}
        total += sum(int(c.get(k, 0)) for k in MONEY_COUNTERS)
    return total
