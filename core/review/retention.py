"""Retention: conversation content of calls, and personal text in the audit log, is purged
after RETENTION_DAYS; expired media goes too. Calls of a closed or archived job lose their
recording N days and their transcript M days after the job left the open stage (the job's
settings; RETENTION_DAYS caps both). No purge touches a candidate or job on legal hold."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import audit, labels
from core.agent import settings as agent_settings
from core.config import get_settings
from core.db import Database, utcnow
from core.documents.job import Job
from core.people import holds
from core.people import store as people_store
from core.review import retention_store
from core.review.retention_store import Held

# Bounded batches so one run never holds the worker for long; the next run continues.
_BATCH = 500
_STEP_SECONDS = 2.0
_JOB_SCAN = 5000  # closed and archived jobs looked at per run (jobs are few; calls are many)


def held_now(db: Database) -> Held:
    """The candidates and jobs on legal hold now: every purge leaves their calls alone."""
    return Held(frozenset(holds.held_candidate_ids(db)), frozenset(holds.held_job_ids(db)))


def purge_batch(db: Database, cutoff: datetime, now: datetime, limit: int = _BATCH,
                held: Held | None = None) -> tuple[int, int]:
    """One bounded step of the purge: (calls purged, audit entries scrubbed), each at most `limit`.

    A call loses its transcript, cached recording, summaries (on the call and in its stored
    webhooks), the prompt and spoken texts rendered for it, and the words in its audit
    entries; older candidate audit entries lose the names, notes and reasons they quote.
    Calls and audit entries of candidates (and jobs) on legal hold are skipped.
    """
    held = held if held is not None else held_now(db)
    calls = retention_store.purge_calls_batch(db, cutoff, now, limit, held)
    audit_entries = retention_store.scrub_audit_batch(db, cutoff, now, limit, held)
    return calls, audit_entries


@dataclass
class StageCounts:
    """What one run of the purge by job stage did: calls whose recording / transcript went."""

    recordings: int = 0
    transcripts: int = 0
    more: bool = False  # stopped at its time limit with work left


def stage_days(job_cfg_days: int, global_days: int) -> int:
    """The days a job's setting keeps content after it closed: RETENTION_DAYS when shorter."""
    return min(int(job_cfg_days), int(global_days))


def job_retention_days(db: Database, job_id: str) -> tuple[int, int]:
    """(recording days, transcript days) that apply to a job's calls once it closes."""
    cfg = agent_settings.job_effective_config(db, job_id)
    days = get_settings().retention_days
    return (stage_days(cfg.recording_retention_days, days),
            stage_days(cfg.transcript_retention_days, days))


def _stage_mark(job: Job, now: datetime, days: int) -> dict:
    """What a purged call records: when, the stage its job was in, since when, and the days kept."""
    return {"at": now, "stage": "closed" if job.closed_at else "archived", "stage_at": job.stage_at,
            "days": days}


def stage_purge(db: Database, now: datetime, *, global_days: int, held: Held | None = None,
                deadline: float | None = None, limit: int = _BATCH) -> StageCounts:
    """Purge recordings and transcripts of closed or archived jobs whose retention has run out,
    batch by batch, until done or `deadline` (time.monotonic) passes."""
    held = held if held is not None else held_now(db)
    counts = StageCounts()
    for job in people_store.closed_jobs(db, limit=_JOB_SCAN):
        if job.id in held.jobs or job.stage_at is None:
            continue
        cfg = agent_settings.job_effective_config(db, job.id)
        plans = (
            ("recordings", retention_store.purge_stage_recordings,
             stage_days(cfg.recording_retention_days, global_days)),
            ("transcripts", retention_store.purge_stage_transcripts,
             stage_days(cfg.transcript_retention_days, global_days)),
        )
        for what, purge, days in plans:
            if job.stage_at + timedelta(days=days) > now:
                continue
            mark = _stage_mark(job, now, days)
            while True:
                done = purge(db, job.id, mark, now, limit, held)
                setattr(counts, what, getattr(counts, what) + done)
                if done < limit:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    counts.more = True
                    return counts
        if deadline is not None and time.monotonic() >= deadline:
            counts.more = True
            return counts
    return counts


def _record_stage_purge(db: Database, counts: StageCounts, global_days: int) -> None:
    """One audit entry per run that deleted something: counts only, no personal text."""
    audit.record(db, actor="system", action="retention.stage_purge", entity="retention",
                 changes={"recordings": {"old": None, "new": counts.recordings},
                          "transcripts": {"old": None, "new": counts.transcripts}},
                 detail=f"calls of closed or archived jobs: {labels.counted(counts.recordings, 'recording')} "
                        f"and {labels.counted(counts.transcripts, 'transcript')} deleted "
                        f"(RETENTION_DAYS {global_days})")


def purge_expired(db: Database, now: datetime | None = None, retention_days: int | None = None,
                  *, max_seconds: float | None = None) -> str:
    """Purge what is older than the retention period, batch by batch, expired media, and what
    the retention by job stage says is due.

    `max_seconds` bounds one run (the worker's tick): it stops after the batch that crosses it
    and the next run continues where it stopped. Without it (the CLI) it runs until done.
    """
    now = now or utcnow()
    days = retention_days if retention_days is not None else get_settings().retention_days
    cutoff = now - timedelta(days=days)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    held = held_now(db)
    purged = scrubbed = 0
    more = True
    while more:
        calls, audit_entries = purge_batch(db, cutoff, now, held=held)
        purged += calls
        scrubbed += audit_entries
        more = calls >= _BATCH or audit_entries >= _BATCH
        if deadline is not None and time.monotonic() >= deadline:
            break
    media = retention_store.purge_expired_media(db, now, held)
    stage = StageCounts(more=True) if more else stage_purge(db, now, global_days=days, held=held,
                                                             deadline=deadline)
    if stage.recordings or stage.transcripts:
        _record_stage_purge(db, stage, days)
    parts = []
    if purged or scrubbed or media:
        parts.append(f"purged {labels.counted(purged, 'call')} past {days} days, "
                     f"{labels.counted(media, 'expired media item')}, "
                     f"{labels.counted(scrubbed, 'audit entry', 'audit entries')} cleared of personal text")
    if stage.recordings or stage.transcripts:
        parts.append(f"job stage: {labels.counted(stage.recordings, 'recording')} and "
                     f"{labels.counted(stage.transcripts, 'transcript')} deleted")
    if not parts:
        return ""
    rest = "; more next time" if more or stage.more else ""
    return "; ".join(parts) + rest


def purge_note(mark: dict | None, what: str, now: datetime | None = None) -> str:
    """What a call shows instead of content the purge by job stage deleted, e.g. "Recording
    deleted (job closed 34 days ago; kept 30 days after that)." ("" when it was not)."""
    if not mark:
        return ""
    stage_at = mark.get("stage_at")
    if not isinstance(stage_at, datetime):
        return f"{what} deleted under the job's data-retention rule."
    if stage_at.tzinfo is None:  # read without time zone: stored in UTC
        stage_at = stage_at.replace(tzinfo=(now or utcnow()).tzinfo)
    ago = max(0, ((now or utcnow()) - stage_at).days)
    days = mark.get("days")
    kept = f"; kept {days} day{'' if days == 1 else 's'} after that" if isinstance(days, int) else ""
    return (f"{what} deleted (job {mark.get('stage') or 'closed'} {ago} day{'' if ago == 1 else 's'} "
            f"ago{kept}).")


def purge_step(db: Database) -> str:
    """The worker's purge: at most about two seconds per tick, so the other tasks keep their
    pace even with a large backlog (the worker runs it every minute until it is done)."""
    return purge_expired(db, max_seconds=_STEP_SECONDS)
