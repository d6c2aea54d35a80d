"""The dial gates in `app_state`: the next free dial time and the calls in flight.

One document per gate; a compare-and-set on its `version` makes each reservation atomic
across threads, processes and hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

from core.db import APP_STATE


@dataclass(frozen=True)
class GateState:
    """A gate as read: the next free dial time (epoch s), its version, the calls in flight."""

    next_at: float = 0.0
    version: int = 0
    inflight: list[str] = field(default_factory=list)


def read_gate(db: Database, gate_id: str) -> GateState:
    """The gate document (created empty on first use)."""
    db[APP_STATE].update_one(
        {"_id": gate_id},
        {"$setOnInsert": {"next_at": 0.0, "version": 0, "inflight": []}},
        upsert=True,
    )
    doc = db[APP_STATE].find_one({"_id": gate_id}) or {}
    return GateState(float(doc.get("next_at") or 0.0), int(doc.get("version", 0)),
                     list(doc.get("inflight") or []))


def reserve(db: Database, gate_id: str, *, version: int, next_at: float,
            call_id: str | None) -> bool:
    """Move the gate's next free time on (and add the call in flight) if nobody did meanwhile."""
    update: dict[str, Any] = {"$set": {"next_at": next_at}, "$inc": {"version": 1}}
    if call_id is not None:
        update["$push"] = {"inflight": call_id}
    result = db[APP_STATE].update_one({"_id": gate_id, "version": version}, update)
    return result.modified_count == 1


def release(db: Database, gate_id: str, call_ids: list[str]) -> None:
    """Take calls out of the gate's in-flight list."""
    db[APP_STATE].update_one({"_id": gate_id}, {"$pull": {"inflight": {"$in": call_ids}}})
