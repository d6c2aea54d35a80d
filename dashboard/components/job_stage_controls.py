"""A job's stage (open, closed, archived) in plain words, and Close / Reopen / Archive with a
confirmation: closing or archiving cancels the job's queued calls and starts the clock of its
retention by job stage."""

from __future__ import annotations

import streamlit as st

from core import auth, labels, timezones
from core.auth import User
from core.db import Database
from core.documents.job import Job, JobStatus
from core.people import jobs
from core.review import retention
from dashboard import ui
from dashboard.safe_text import md

_VERBS = {JobStatus.OPEN: "Reopen", JobStatus.CLOSED: "Close", JobStatus.ARCHIVED: "Archive"}
_DONE = {JobStatus.OPEN: "reopened", JobStatus.CLOSED: "closed", JobStatus.ARCHIVED: "archived"}


def stage_sentence(job: Job, recording_days: int, transcript_days: int, zone: str) -> str:
    """"Closed since 3 Dec 2026, 09:12 UTC: no new calls. Recordings are deleted …"."""
    keep = (f"Recordings are deleted {recording_days} days and transcripts {transcript_days} days "
            "after the job is closed or archived.")
    if job.takes_calls:
        return f"Open: calls can be placed. {keep}"
    word = "Archived" if job.archived else "Closed"
    since = f" since {timezones.readable(job.stage_at, zone)}" if job.stage_at else ""
    return f"{word}{since}: no new calls are placed. {keep}"


def _targets(job: Job) -> list[JobStatus]:
    if job.status == JobStatus.OPEN:
        return [JobStatus.CLOSED, JobStatus.ARCHIVED]
    if job.status == JobStatus.CLOSED:
        return [JobStatus.OPEN, JobStatus.ARCHIVED]
    return [JobStatus.OPEN]


def show(db: Database, user: User, job: Job, *, key: str) -> None:
    """The job's stage and, for a recruiter or admin, the buttons that change it (confirmed)."""
    recording_days, transcript_days = retention.job_retention_days(db, job.id)
    st.caption(stage_sentence(job, recording_days, transcript_days, ui.viewer_zone(user)))  # our words
    if not auth.can(user, auth.Action.MANAGE_JOBS):
        return
    page = key.split(".", 1)[0]
    pending_key = f"{key}.pending"
    # The question is kept in the session (the Yes button's rerun must still see it) and names
    # the job it was asked for, so choosing another job never confirms the wrong one.
    pending = st.session_state.get(pending_key)
    if pending and pending.get("job") == job.id and JobStatus(pending["to"]) in _targets(job):
        _confirm(db, user, job, JobStatus(pending["to"]), (recording_days, transcript_days),
                 key=key, page=page)
        return
    cols = st.columns(len(_targets(job)))
    for col, target in zip(cols, _targets(job), strict=True):
        if col.button(f"{_VERBS[target]} job…", key=f"{key}.{target.value}"):
            st.session_state[pending_key] = {"job": job.id, "to": target.value}
            st.rerun()


def _confirm(db: Database, user: User, job: Job, target: JobStatus, days: tuple[int, int], *,
             key: str, page: str) -> None:
    """Ask before changing the stage, saying what it does; Yes changes it, No forgets the question."""
    verb = _VERBS[target]
    with st.container(border=True):
        if target == JobStatus.OPEN:
            st.write(f"Reopen **{md(job.title)}**? Calls can be placed for it again.")
        elif job.closed:
            st.write(f"Archive **{md(job.title)}**? Its data is still deleted counting from when it "
                     "was closed.")
        else:
            st.write(f"{verb} **{md(job.title)}**? Calls waiting in the queue for it are cancelled "
                     f"and no new call is placed. Recordings are deleted {days[0]} days and "
                     f"transcripts {days[1]} days from now (unless it is reopened before).")
        yes, no = st.columns([1, 4])
        if yes.button(f"Yes, {verb.lower()}", type="primary", key=f"{key}.yes"):
            st.session_state.pop(f"{key}.pending", None)
            try:
                change = jobs.set_stage(db, user, job.id, target)
            except (jobs.JobError, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
                return
            canceled = (f" {labels.counted(change.canceled_calls, 'queued call')} cancelled."
                        if change.canceled_calls else "")
            ui.flash(page, f"{md(job.title)}: {_DONE[target]}.{canceled}")
            st.rerun()
        if no.button("No, keep it as it is", key=f"{key}.no"):
            st.session_state.pop(f"{key}.pending", None)
            st.rerun()
