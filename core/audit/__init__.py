"""The audit log: who did what, when, and what changed."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core.db import AUDIT_LOG, new_id, utcnow


def record(
    db: Database,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    changes: dict[str, Any] | None = None,
    detail: str | None = None,
) -> str:
    """Append one audit entry; `changes` maps field → {"old": ..., "new": ...}."""
    entry = {
        "_id": new_id(),
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "changes": changes or {},
        "detail": detail,
    }
    db[AUDIT_LOG].insert_one(entry)
    return entry["_id"]


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-by-field changes between two flat dicts, in the audit log's shape."""
    keys = sorted(set(old) | set(new))
    return {k: {"old": old.get(k), "new": new.get(k)} for k in keys if old.get(k) != new.get(k)}


def recent(
    db: Database, *, entity: str | None = None, entity_id: str | None = None, limit: int = 50
) -> list[dict]:
    """The latest audit entries, newest first (bounded)."""
    query: dict[str, Any] = {}
    if entity:
        query["entity"] = entity
    if entity_id:
        query["entity_id"] = entity_id
    return list(db[AUDIT_LOG].find(query).sort("at", -1).limit(min(limit, 500)))
