"""The audit log on the real database: entries written as before, read back typed."""

from __future__ import annotations

from datetime import timedelta

from core import audit
from core.db import AUDIT_LOG


def test_record_writes_the_same_document_as_before(db) -> None:
    entry_id = audit.record(db, actor="ada", action="job.create", entity="job", entity_id="j1")
    doc = db[AUDIT_LOG].find_one({"_id": entry_id})
    assert set(doc) == {"_id", "at", "actor", "action", "entity", "entity_id", "changes", "detail"}
    assert (doc["actor"], doc["action"], doc["entity"], doc["entity_id"]) == (
        "ada", "job.create", "job", "j1")
    assert doc["changes"] == {} and doc["detail"] is None


def test_recent_is_typed_newest_first_filtered_and_bounded(db) -> None:
    first = audit.record(db, actor="ada", action="user.create", entity="user", entity_id="bob",
                         changes={"role": {"old": None, "new": "viewer"}})
    second = audit.record(db, actor="ada", action="user.role", entity="user", entity_id="bob",
                          changes={"role": {"old": "viewer", "new": "admin"}}, detail="promoted")
    audit.record(db, actor="rita", action="job.create", entity="job", entity_id="j1")
    # Make the order independent of the clock's resolution.
    db[AUDIT_LOG].update_one({"_id": first}, {"$set": {"at": db[AUDIT_LOG].find_one(
        {"_id": second})["at"] - timedelta(seconds=1)}})

    entries = audit.recent(db, entity="user", entity_id="bob")
    assert all(isinstance(e, audit.AuditEntry) for e in entries)
    assert [e.id for e in entries] == [second, first]
    latest = entries[0]
    assert (latest.actor, latest.action, latest.detail) == ("ada", "user.role", "promoted")
    assert latest.changes == {"role": {"old": "viewer", "new": "admin"}}
    assert latest.at is not None and latest.at.tzinfo is not None
    assert len(audit.recent(db)) == 3
    assert len(audit.recent(db, limit=1)) == 1
    assert [e.entity_id for e in audit.recent(db, entity="job")] == ["j1"]
