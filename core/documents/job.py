"""A job (`jobs`): the role candidates are screened for."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.documents.base import Document, Instant


class JobStatus(StrEnum):
    """The job's stage: open jobs take new calls; closed and archived ones do not (retention
    by job stage counts from `closed_at` / `archived_at`)."""

    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Job(Document):
    """One job as stored."""

    title: str = ""
    company: str = ""
    description: str = ""
    owner: str = ""
    status: JobStatus = JobStatus.OPEN
    created_at: Instant = None
    updated_at: Instant = None
    # When the job was last closed / archived (None: never, or written before job stages).
    closed_at: Instant = None
    archived_at: Instant = None
    legal_hold: dict[str, Any] | None = None  # {"reason", "by", "at"}: no purge, no erasure while set

    @property
    def archived(self) -> bool:
        """True when the job is archived."""
        return self.status == JobStatus.ARCHIVED

    @property
    def closed(self) -> bool:
        """True when the job is closed (not yet archived)."""
        return self.status == JobStatus.CLOSED

    @property
    def takes_calls(self) -> bool:
        """True only for an open job: no call is placed for a closed or archived one."""
        return self.status == JobStatus.OPEN

    @property
    def stage_at(self) -> Instant:
        """When the job left the open stage (what retention by job stage counts from)."""
        if self.status == JobStatus.ARCHIVED:
            return self.closed_at or self.archived_at
        if self.status == JobStatus.CLOSED:
            return self.closed_at
        return None
