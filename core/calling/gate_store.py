"""The dial gates in `app_state`: when the last dial was granted, and the calls in flight.

One document per gate. A grant is one conditional update judged on the database's clock
(`$$NOW` against the last grant, `$currentDate` to record it), so the dials of every worker on
every host are spaced by the same clock, whatever each host's own clock says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from core.db import APP_STATE

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GateState:
    """A gate as read: its last grant, the calls in flight, and how long until the next grant."""

    last_grant: datetime | None = None
    inflight: list[str] = field(default_factory=list)
    wait_seconds: float = 0.0


def _ensure(db: Database, gate_id: str) -> None:
    db[APP_STATE].update_one({"_id": gate_id},
                             {"$setOnInsert": {"last_grant": _EPOCH, "inflight": []}}, upsert=True)


def try_grant(db: Database, gate_id: str, *, interval_ms: int, call_id: str,
              max_concurrent: int | None) -> datetime | None:
    """Grant a dial now if the interval since the last grant has passed on the database's clock
    (and, with `max_concurrent`, a concurrency slot is free); the grant's time, or None."""
    _ensure(db, gate_id)
    rules: list[dict[str, Any]] = [{"$gte": ["$$NOW", {"$add": ["$last_grant", interval_ms]}]}]
    query: dict[str, Any] = {"_id": gate_id}
    update: dict[str, Any] = {"$currentDate": {"last_grant": True}, "$inc": {"grants": 1}}
    if max_concurrent is not None:
        rules.append({"$lt": [{"$size": {"$ifNull": ["$inflight", []]}}, max_concurrent]})
        query["inflight"] = {"$ne": call_id}
        update["$push"] = {"inflight": call_id}
    query["$expr"] = {"$and": rules}
    doc = db[APP_STATE].find_one_and_update(query, update, projection={"last_grant": 1},
                                            return_document=ReturnDocument.AFTER)
    if doc is None:
        return None
    at = doc["last_grant"]
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def read_gate(db: Database, gate_id: str, *, interval_ms: int = 0) -> GateState:
    """The gate now: calls in flight and the seconds until the next grant (database clock)."""
    _ensure(db, gate_id)
    rows = list(db[APP_STATE].aggregate([
        {"$match": {"_id": gate_id}},
        {"$project": {"last_grant": 1, "inflight": 1,
                      "wait_ms": {"$subtract": [{"$add": ["$last_grant", interval_ms]}, "$$NOW"]}}},
    ]))
    if not rows:
        return GateState()
    row = rows[0]
    last = row.get("last_grant")
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return GateState(last, list(row.get("inflight") or []), max(0.0, float(row.get("wait_ms") or 0) / 1000))


def release(db: Database, gate_id: str, call_ids: list[str]) -> None:
    """Take calls out of the gate's in-flight list."""
    db[APP_STATE].update_one({"_id": gate_id}, {"$pull": {"inflight": {"$in": call_ids}}})
