"""The audit log's queries: append an entry, read the latest ones."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core.audit.models import AuditEntry
from core.db import AUDIT_LOG, new_id, utcnow

_RECENT_CAP = 500  # the audit log only grows: every read is bounded


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


def recent(
    db: Database, *, entity: str | None = None, entity_id: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The latest audit entries, newest first (bounded)."""
    query: dict[str, Any] = {}
    if entity:
        query["entity"] = entity
    if entity_id:
        query["entity_id"] = entity_id
    docs = db[AUDIT_LOG].find(query).sort("at", -1).limit(min(limit, _RECENT_CAP))
    return [AuditEntry.model_validate(d) for d in docs]
