"""A job (`jobs`): the role candidates are screened for."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.documents.base import Document, Instant


class JobStatus(StrEnum):
    """Open jobs take new calls; archived ones do not."""

    OPEN = "open"
    ARCHIVED = "archived"


class Job(Document):
    """One job as stored."""

    title: str = ""
    company: str = ""
    description: str = ""
    owner: str = ""
    status: JobStatus = JobStatus.OPEN
    legal_hold: dict[str, Any] | None = None  # {"reason", "by", "at"}: no purge, no erasure while set
    created_at: Instant = None
    updated_at: Instant = None

    @property
    def archived(self) -> bool:
        """True when no new calls are placed for the job."""
        return self.status == JobStatus.ARCHIVED
