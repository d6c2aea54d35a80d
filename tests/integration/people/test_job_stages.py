"""Job stages: closing cancels the queued calls and refuses every way of placing a new one;
reopening allows calls again; every change is audited."""

from datetime import timedelta

import pytest

from core import auth, labels
from core.calling import batches, dispatch, launch, refusals
from core.db import AUDIT_LOG, BATCHES, CALLS, utcnow
from core.documents.job import JobStatus
from core.people import candidates, csv_import, jobs
from tests.factories import insert_call


@pytest.fixture
def recruiter(db):
    return auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)


@pytest.fixture
def job(db, recruiter):
    return jobs.create_job(db, recruiter, title="Driver", company="Acme")


def _candidates(db, recruiter, job, count=3):
    return [candidates.add_candidate(db, recruiter, name=f"Cand {i}", phone=f"+1 212 555 01{i:02d}",
                                     consent=True, job_ids=[job.id]) for i in range(count)]


def test_closing_cancels_queued_calls_and_refuses_new_ones_until_reopened(db, recruiter, job):
    people = _candidates(db, recruiter, job)
    batch = batches.create_batch(db, recruiter, job.id)
    assert db[CALLS].count_documents({"job_id": job.id, "status": "queued"}) == 3
    done = insert_call(db, job_id=job.id, candidate_id=people[0].id, status="completed",
                       ended_at=utcnow())

    change = jobs.set_stage(db, recruiter, job.id, "closed")

    assert change.canceled_calls == 3 and change.job.status == JobStatus.CLOSED
    assert change.job.closed_at is not None and change.job.stage_at == change.job.closed_at
    for doc in db[CALLS].find({"job_id": job.id, "_id": {"$ne": done.id}}):
        assert doc["status"] == "canceled" and "open_key" not in doc
        assert doc["failure_reason"] == "Not dialled: the job was closed by rec1."
    assert db[CALLS].find_one({"_id": done.id})["status"] == "completed"
    assert db[BATCHES].find_one({"_id": batch.id})["status"] == "canceled"
    entry = db[AUDIT_LOG].find_one({"action": "job.closed", "entity_id": job.id})
    assert entry["actor"] == "rec1" and entry["changes"]["status"] == {"old": "open", "new": "closed"}
    assert entry["at"] is not None
    assert jobs.label(change.job) == "Driver — Acme (closed)"
    assert labels.label(labels.Kind.JOB_STATUS, change.job.status) == "Closed"

    # Every way of placing a call refuses, and nothing is written.
    calls_before = db[CALLS].count_documents({})
    with pytest.raises(refusals.LaunchRefused, match="job is closed") as refused:
        launch.launch_call(db, recruiter, people[1].id)
    assert refused.value.code == "job_closed"
    with pytest.raises(batches.BatchError, match="job is closed"):
        batches.create_batch(db, recruiter, job.id)
    with pytest.raises(batches.BatchError, match="job is closed"):
        batches.preview_batch(db, recruiter, job.id, [p.id for p in people])
    with pytest.raises(csv_import.ImportFileError, match="closed"):
        csv_import.preview_import(db, job.id, b"name,phone\nA B,+12125550188\n")
    assert db[CALLS].count_documents({}) == calls_before
    assert jobs.list_jobs(db) == []  # the launch pickers list open jobs only

    reopened = jobs.set_stage(db, recruiter, job.id, "open")
    assert reopened.job.status == JobStatus.OPEN and reopened.job.closed_at is None
    assert db[AUDIT_LOG].find_one({"action": "job.open", "entity_id": job.id})["changes"]["status"] == {
        "old": "closed", "new": "open"}
    again = batches.create_batch(db, recruiter, job.id)  # the screened candidate is left out
    assert db[CALLS].count_documents({"batch_id": again.id, "status": "queued"}) == 2


def test_the_worker_never_dials_a_queued_call_of_a_closed_job(db, recruiter, job):
    # A call-back queued just as the job closed (it is not part of a batch the close canceled).
    person = _candidates(db, recruiter, job, 1)[0]
    jobs.set_stage(db, recruiter, job.id, "closed")
    now = utcnow()
    queued = insert_call(db, job_id=job.id, candidate_id=person.id, status="queued", retry_of="earlier",
                         next_attempt_at=now - timedelta(minutes=1))
    dispatch.run_once(db, now=now, max_seconds=2)
    doc = db[CALLS].find_one({"_id": queued.id})
    assert doc["status"] == "canceled" and "job is closed" in doc["failure_reason"]
    assert not doc.get("ultravox_call_id") and not doc.get("twilio_call_sid")


def test_no_callback_is_queued_for_a_closed_job(db, recruiter, job):
    person = _candidates(db, recruiter, job, 1)[0]
    now = utcnow()
    asked = insert_call(db, job_id=job.id, candidate_id=person.id, status="completed", ended_at=now,
                        callback={"at": now + timedelta(days=1), "when_local": "tomorrow 15:00"})
    jobs.set_stage(db, recruiter, job.id, "closed")
    assert dispatch.schedule_retries(db, now, {}) == 0
    assert db[CALLS].count_documents({"retry_of": asked.id}) == 0


def test_archiving_stamps_its_date_and_an_archived_job_can_only_be_reopened(db, recruiter, job):
    jobs.set_stage(db, recruiter, job.id, "closed")
    archived = jobs.set_stage(db, recruiter, job.id, JobStatus.ARCHIVED).job
    # Retention counts from the close, the earlier of the two.
    assert archived.archived_at is not None and archived.stage_at == archived.closed_at
    assert jobs.label(archived) == "Driver — Acme (archived)"
    with pytest.raises(jobs.JobError, match="only be reopened"):
        jobs.set_stage(db, recruiter, job.id, "closed")
    with pytest.raises(jobs.JobError, match="open, closed or archived"):
        jobs.set_stage(db, recruiter, job.id, "frozen")
    assert jobs.get_job(db, job.id).status == JobStatus.ARCHIVED


def test_a_viewer_cannot_close_a_job(db, job):
    viewer = auth.create_user(db, "vic1", "password-123", "viewer", actor=auth.OPERATOR)
    with pytest.raises(auth.PermissionDenied):
        jobs.set_stage(db, viewer, job.id, "closed")
    assert jobs.get_job(db, job.id).status == JobStatus.OPEN
    assert db[AUDIT_LOG].count_documents({"action": "job.closed"}) == 0
