"""Jobs: create, edit, archive, list."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core import audit
from core.auth import Action, User, require
from core.db import JOBS, new_id, utcnow
from core.errors import UserError

_EDITABLE = ("title", "company", "description", "owner")


class JobError(UserError, ValueError):
    """Bad job input; the message is shown to the user."""


def _clean(fields: dict[str, Any]) -> dict[str, str]:
    out = {k: str(fields.get(k) or "").strip() for k in _EDITABLE if k in fields}
    if "title" in out and not out["title"]:
        raise JobError("A job needs a title.")
    if "company" in out and not out["company"]:
        raise JobError("A job needs a company name (the agent says it on the call).")
    for key, value in out.items():
        if len(value) > (5000 if key == "description" else 200):
            raise JobError(f"The {key} is too long.")
    return out


def create_job(
    db: Database,
    actor: User,
    *,
    title: str,
    company: str,
    description: str = "",
    owner: str = "",
    job_id: str | None = None,
) -> dict:
    """Create an open job and return it."""
    require(actor, Action.MANAGE_JOBS)
    fields = _clean(
        {
            "title": title,
            "company": company,
            "description": description,
            "owner": owner or actor.username,
        }
    )
    doc = {"_id": job_id or new_id(), **fields, "status": "open", "created_at": utcnow()}
    db[JOBS].insert_one(doc)
    audit.record(
        db,
        actor=actor.username,
        action="job.create",
        entity="job",
        entity_id=doc["_id"],
        changes={k: {"old": None, "new": v} for k, v in fields.items()},
    )
    return doc


def update_job(db: Database, actor: User, job_id: str, **fields: Any) -> dict:
    """Change a job's title, company, description or owner."""
    require(actor, Action.MANAGE_JOBS)
    old = get_job(db, job_id)
    if old is None:
        raise JobError("That job does not exist.")
    new = _clean(fields)
    changes = audit.diff({k: old.get(k) for k in new}, new)
    if changes:
        db[JOBS].update_one({"_id": job_id}, {"$set": {**new, "updated_at": utcnow()}})
        audit.record(
            db,
            actor=actor.username,
            action="job.update",
            entity="job",
            entity_id=job_id,
            changes=changes,
        )
    return get_job(db, job_id) or old


def set_archived(db: Database, actor: User, job_id: str, archived: bool) -> None:
    """Archive a job (no new calls) or reopen it."""
    require(actor, Action.MANAGE_JOBS)
    status = "archived" if archived else "open"
    result = db[JOBS].update_one(
        {"_id": job_id}, {"$set": {"status": status, "updated_at": utcnow()}}
    )
    if result.matched_count == 0:
        raise JobError("That job does not exist.")
    audit.record(db, actor=actor.username, action=f"job.{status}", entity="job", entity_id=job_id)


def get_job(db: Database, job_id: str) -> dict | None:
    """One job by id."""
    return db[JOBS].find_one({"_id": str(job_id)})


def list_jobs(db: Database, *, include_archived: bool = False, limit: int = 500) -> list[dict]:
    """Jobs, newest first (bounded: the picker shows at most `limit`)."""
    query = {} if include_archived else {"status": "open"}
    return list(db[JOBS].find(query).sort("created_at", -1).limit(limit))
