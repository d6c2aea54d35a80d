"""Home as a work queue: per open or closed job, who awaits review, who asked for a person, which calls
are running or waiting (with their times), and how far the job has come."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.auth import Action, User, require
from core.db import Database
from core.people import jobs
from core.review.job_pipeline import StageRow, jobs_stages
from core.review.pipeline import Stage

MAX_JOBS = 20  # Home reads the newest open or closed jobs; the Pipeline page has every job
_LISTED = (Stage.ASKED_FOR_HUMAN, Stage.CALLING, Stage.RETRY, Stage.SCHEDULED)  # Home names these
_PROGRESS = (Stage.NOT_CALLED, Stage.AWAITING_REVIEW, Stage.ADVANCED, Stage.ON_HOLD, Stage.REJECTED)


@dataclass(frozen=True)
class Item:
    """One line of a queue: who, for which job, what is going on (in words), what to open."""

    job_id: str
    job: str
    name: str
    text: str
    candidate_id: str
    call_id: str | None


@dataclass(frozen=True)
class JobProgress:
    """One open job: candidates per stage, and the first call awaiting review (to start there)."""

    job_id: str
    title: str
    candidates: int
    counts: dict[Stage, int]
    first_awaiting_call: str | None

    @property
    def awaiting(self) -> int:
        """Candidates screened and waiting for a decision."""
        return self.counts.get(Stage.AWAITING_REVIEW, 0)


@dataclass(frozen=True)
class WorkQueue:
    """Everything Home lists, newest jobs first; `more_jobs` when open jobs were left out."""

    jobs: list[JobProgress] = field(default_factory=list)
    asked_for_person: list[Item] = field(default_factory=list)
    running: list[Item] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)
    more_jobs: bool = False

    @property
    def awaiting_review(self) -> int:
        """Candidates awaiting a decision across the jobs shown."""
        return sum(j.awaiting for j in self.jobs)


def _item(job_id: str, title: str, row: StageRow) -> Item:
    return Item(job_id, title, row.name, row.stage_text, row.candidate_id, row.call_id)


def work_queue(db: Database, user: User | None, *, zone: str) -> WorkQueue:
    """The work queue for Home; times in `zone` with the candidate's clock beside them."""
    require(user, Action.VIEW)
    # Closed jobs stay: their screened candidates still await a decision (archived ones do not).
    open_jobs = jobs.list_jobs(db, include_closed=True, limit=MAX_JOBS + 1)
    queue = WorkQueue(more_jobs=len(open_jobs) > MAX_JOBS)
    shown = open_jobs[:MAX_JOBS]
    # Two reads for all the jobs; only the candidates Home names are put in words.
    stages = jobs_stages(db, user, [job.id for job in shown], _LISTED, zone=zone)
    for job in shown:
        got = stages[job.id]
        title = job.title + (" (closed)" if job.closed else "")
        for row in got.listed:
            if row.stage == Stage.ASKED_FOR_HUMAN:
                queue.asked_for_person.append(_item(job.id, title, row))
            elif row.stage == Stage.CALLING:
                queue.running.append(_item(job.id, title, row))
            elif row.stage in (Stage.RETRY, Stage.SCHEDULED):
                queue.waiting.append(_item(job.id, title, row))
        # the call to start reviewing at: the first screened candidate's
        queue.jobs.append(JobProgress(job.id, title, got.candidates, got.counts, got.first_awaiting_call))
    return queue


def progress_sentence(job: JobProgress) -> str:
    """A job's progress in one line: "12 candidates: 3 not called, 4 awaiting review, 2 advanced …"."""
    parts = [f"{job.counts[s]} {s.label}" for s in _PROGRESS if job.counts.get(s)]
    others = job.candidates - sum(job.counts.get(s, 0) for s in _PROGRESS)
    if others:
        parts.append(f"{others} elsewhere (calling, waiting or stopped)")
    people = "1 candidate" if job.candidates == 1 else f"{job.candidates} candidates"
    return f"{people}: " + ", ".join(parts) if parts else f"{people}."
