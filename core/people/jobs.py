"""Jobs: create, edit, archive, list."""

from __future__ import annotations

from typing import Any

from core import audit
from core.auth import Action, User, require
from core.db import Database, new_id, utcnow
from core.documents.job import Job, JobStatus
from core.errors import UserError
from core.people import store

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


def create_job(db: Database, actor: User, *, title: str, company: str, description: str = "",
               owner: str = "", job_id: str | None = None) -> Job:
    """Create an open job and return it."""
    require(actor, Action.MANAGE_JOBS)
    fields = _clean({"title": title, "company": company, "description": description,
                     "owner": owner or actor.username})
    doc = {"_id": job_id or new_id(), **fields, "status": JobStatus.OPEN.value, "created_at": utcnow()}
    job = store.insert_job(db, doc)
    audit.record(db, actor=actor.username, action="job.create", entity="job", entity_id=job.id,
                 changes={k: {"old": None, "new": v} for k, v in fields.items()})
    return job


def update_job(db: Database, actor: User, job_id: str, **fields: Any) -> Job:
    """Change a job's title, company, description or owner."""
    require(actor, Action.MANAGE_JOBS)
    old = store.get_job(db, job_id)
    if old is None:
        raise JobError("That job does not exist.")
    new = _clean(fields)
    changes = audit.diff({k: getattr(old, k) for k in new}, new)
    if changes:
        store.update_job(db, job_id, new)
        audit.record(db, actor=actor.username, action="job.update", entity="job", entity_id=job_id,
                     changes=changes)
    return store.get_job(db, job_id) or old


def set_archived(db: Database, actor: User, job_id: str, archived: bool) -> None:
    """Archive a job (no new calls) or reopen it."""
    require(actor, Action.MANAGE_JOBS)
    status = JobStatus.ARCHIVED if archived else JobStatus.OPEN
    if not store.set_job_status(db, job_id, status):
        raise JobError("That job does not exist.")
    audit.record(db, actor=actor.username, action=f"job.{status.value}", entity="job",
                 entity_id=job_id)


def get_job(db: Database, job_id: str) -> Job | None:
    """One job by id."""
    return store.get_job(db, job_id)


def list_jobs(db: Database, *, include_archived: bool = False, limit: int = 500) -> list[Job]:
    """Jobs, newest first (bounded: the picker shows at most `limit`)."""
    return store.list_jobs(db, include_archived=include_archived, limit=limit)


def label(job: Job) -> str:
    """How pickers name a job: "Title — Company" (and "(archived)" when it is)."""
    return f"{job.title} — {job.company}" + (" (archived)" if job.archived else "")
