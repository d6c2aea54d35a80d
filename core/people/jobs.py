"""Jobs: create, edit, archive, list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import audit, labels
from core.auth import Action, User, require
from core.calling import batch_store, queue_store
from core.calling import store as call_store
from core.db import Database, new_id, utcnow
from core.documents.batch import BatchStatus
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


@dataclass(frozen=True)
class StageChange:
    """What moving a job to a stage did: the job after, and the queued calls it canceled."""

    job: Job
    canceled_calls: int = 0


_STAGE_WORDS = {JobStatus.OPEN: "reopened", JobStatus.CLOSED: "closed", JobStatus.ARCHIVED: "archived"}
_QUEUED_CAP = 100_000  # the most queued calls one job can hold (batches are at most 5,000 each)


def set_stage(db: Database, actor: User, job_id: str, stage: JobStatus | str) -> StageChange:
    """Open, close or archive a job (recruiter or admin; audited). Closing or archiving cancels
    the job's queued calls and unfinished batches (calls already live finish); no new call is
    placed until it is reopened. An archived job can only be reopened."""
    require(actor, Action.MANAGE_JOBS)
    try:
        new = JobStatus(stage)
    except ValueError:
        raise JobError("A job is open, closed or archived.") from None
    old = store.get_job(db, job_id)
    if old is None:
        raise JobError("That job does not exist.")
    if old.status == new:
        return StageChange(old)
    if old.status == JobStatus.ARCHIVED and new == JobStatus.CLOSED:
        raise JobError("An archived job can only be reopened.")
    now = utcnow()
    # Only from the stage just read: two people changing it at once never both win.
    if not store.set_job_status(db, job_id, new, was=old.status, now=now):
        raise JobError("Someone changed this job's stage just now; look again.")
    canceled = 0 if new == JobStatus.OPEN else _cancel_queued(db, job_id, actor, _STAGE_WORDS[new])
    audit.record(db, actor=actor.username, action=f"job.{new.value}", entity="job", entity_id=job_id,
                 changes={"status": {"old": old.status.value, "new": new.value}},
                 detail=f"{labels.counted(canceled, 'queued call')} canceled" if canceled else None)
    return StageChange(store.get_job(db, job_id) or old, canceled)


def _cancel_queued(db: Database, job_id: str, actor: User, words: str) -> int:
    """Cancel the job's unfinished batches and every call of it still in the queue."""
    reason = f"the job was {words} by {actor.username}"
    for batch_id in batch_store.unfinished_of_job(db, job_id):
        batch_store.move_status(db, batch_id, BatchStatus.CANCELED,
                                [BatchStatus.RUNNING, BatchStatus.PAUSED],
                                {"pause_reason": reason, "finished_at": utcnow()})
    canceled = 0
    for call_id in queue_store.queued_of_job(db, job_id, limit=_QUEUED_CAP):
        # Queued calls hold no budget or dial slot yet (both are taken at the claim).
        canceled += call_store.cancel_queued(db, call_id, f"Not dialled: {reason}.")
    return canceled


def set_archived(db: Database, actor: User, job_id: str, archived: bool) -> None:
    """Archive a job (no new calls) or reopen it."""
    set_stage(db, actor, job_id, JobStatus.ARCHIVED if archived else JobStatus.OPEN)


def get_job(db: Database, job_id: str) -> Job | None:
    """One job by id."""
    return store.get_job(db, job_id)


def list_jobs(db: Database, *, include_archived: bool = False, include_closed: bool = False,
              limit: int = 500) -> list[Job]:
    """Open jobs (and closed / archived ones when asked), newest first (bounded: the picker shows
    at most `limit`)."""
    return store.list_jobs(db, include_archived=include_archived, include_closed=include_closed,
                           limit=limit)


def label(job: Job) -> str:
    """How pickers name a job: "Title — Company" (and "(closed)" / "(archived)" when it is)."""
    stage = " (archived)" if job.archived else " (closed)" if job.closed else ""
    return f"{job.title} — {job.company}{stage}"
