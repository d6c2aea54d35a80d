"""A batch (`batches`): the calls queued for many candidates of one job at once."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from core.documents.base import Document, Instant, Stored


class BatchStatus(StrEnum):
    """Running batches dial; paused ones wait; canceled and done are final."""

    RUNNING = "running"
    PAUSED = "paused"
    CANCELED = "canceled"
    DONE = "done"


class SkippedCandidate(Stored):
    """A candidate of the job the batch did not queue, and why."""

    candidate_id: str = ""
    name: str | None = None
    reason: str | None = None


class Batch(Document):
    """One batch as stored."""

    job_id: str = ""
    name: str = ""
    status: BatchStatus = BatchStatus.RUNNING
    pause_reason: str | None = None
    created_by: str | None = None
    created_at: Instant = None
    updated_at: Instant = None
    finished_at: Instant = None
    spike_since: Instant = None
    queued: int = 0
    skipped: list[SkippedCandidate] = Field(default_factory=list)
    skipped_count: int = 0
