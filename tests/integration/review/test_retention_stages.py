"""Retention by job stage: recordings N days and transcripts M days after a job closed or was
archived (the job's settings, RETENTION_DAYS caps them); legal holds stop every purge."""

from datetime import timedelta

import pytest

from core import auth
from core.agent import settings as agent_settings
from core.db import (
    AUDIT_LOG,
    CALL_EVENTS,
    CALLS,
    CANDIDATES,
    JOBS,
    MEDIA_CACHE,
    TOOL_REQUESTS,
    TRANSCRIPTS,
    utcnow,
)
from core.people import holds, jobs
from core.review import detail, recordings, retention
from tests.factories import insert_call

DAY = timedelta(days=1)


@pytest.fixture
def admin(db):
    return auth.create_user(db, "ada1", "password-123", "admin", actor=auth.OPERATOR)


@pytest.fixture
def recruiter(db):
    return auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)


def seed_call(db, job_id: str, candidate_id: str = "cand-1", *, ended=None):
    """An ended, reviewed call of the job with everything a purge may touch."""
    ended = ended or utcnow() - DAY
    call = insert_call(
        db, job_id=job_id, candidate_id=candidate_id, status="completed", ended_at=ended,
        ultravox_call_id=f"uv-{job_id}-{candidate_id}", summary="Talked about forklifts.",
        short_summary="Forklifts.", transcript_status="stored", recording_available=True,
        agent_answers={"q1": {"number": 1, "answer": "five years on forklifts", "value": 5, "seq": 2,
                              "earlier": [{"number": 1, "answer": "four years", "value": 4}]}},
        review={"decision": "advance", "ratings": {"q1": 4}, "overall": 4, "by": "rec1"},
        costs={"currency": "USD", "total": "0.30", "total_micros": 300000},
    )
    db[TRANSCRIPTS].insert_one({"_id": call.id, "messages": [{"role": "user", "text": "five years"}]})
    db[MEDIA_CACHE].insert_one({"_id": f"rec-{call.id}", "call_id": call.id,
                                "expires_at": utcnow() + timedelta(days=400)})
    db[TOOL_REQUESTS].insert_one({"_id": f"tool-{call.id}", "call_id": call.id,
                                  "body": {"answer": "five years on forklifts"}})
    db[CALL_EVENTS].insert_one({"_id": f"ev-{call.id}", "call_id": call.id, "dedupe_key": f"ev-{call.id}",
                                "payload": {"call": {"summary": "Talked about forklifts."}}})
    return call


def closed_job(db, recruiter, title="Driver"):
    job = jobs.create_job(db, recruiter, title=title, company="Acme")
    return job, jobs.set_stage(db, recruiter, job.id, "closed").job


def test_recordings_then_transcripts_go_after_their_days_and_the_review_stays(db, recruiter):
    job, closed = closed_job(db, recruiter)
    call = seed_call(db, job.id)
    open_job = jobs.create_job(db, recruiter, title="Open", company="Acme")
    untouched = seed_call(db, open_job.id, "cand-2")

    # Defaults: recordings 30 days, transcripts 90 days after the close.
    assert retention.purge_expired(db, now=closed.closed_at + 29 * DAY) == ""
    summary = retention.purge_expired(db, now=closed.closed_at + 31 * DAY)
    assert summary == "job stage: 1 recording and 0 transcripts deleted"
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["recording_available"] is False and doc["recording_purge"]["days"] == 30
    assert db[MEDIA_CACHE].count_documents({"call_id": call.id}) == 0
    assert db[TRANSCRIPTS].count_documents({"_id": call.id}) == 1 and doc["summary"]
    fetch = recordings.recording_bytes(db, call.id, now=closed.closed_at + 31 * DAY)
    assert not fetch.available
    assert fetch.message == "Recording deleted (job closed 31 days ago; kept 30 days after that)."
    entry = db[AUDIT_LOG].find_one({"action": "retention.stage_purge"})
    assert entry["changes"]["recordings"]["new"] == 1 and entry["changes"]["transcripts"]["new"] == 0

    summary = retention.purge_expired(db, now=closed.closed_at + 91 * DAY)
    assert summary == "job stage: 0 recordings and 1 transcript deleted"
    doc = db[CALLS].find_one({"_id": call.id})
    assert db[TRANSCRIPTS].count_documents({"_id": call.id}) == 0
    assert doc["transcript_status"] == "purged" and "summary" not in doc and "short_summary" not in doc
    answer = doc["agent_answers"]["q1"]
    assert "answer" not in answer and answer["value"] == 5  # the typed answer stays, not the words
    assert answer["earlier"] == [{"number": 1, "value": 4}]
    assert doc["review"]["decision"] == "advance" and doc["review"]["ratings"] == {"q1": 4}
    assert doc["costs"]["total"] == "0.30" and doc["status"] == "completed"
    assert "body" not in db[TOOL_REQUESTS].find_one({"call_id": call.id})
    assert "summary" not in db[CALL_EVENTS].find_one({"call_id": call.id})["payload"]["call"]
    shown = detail.call_detail(db, call.id, recruiter)
    assert shown.transcript_note.startswith("Transcript deleted (job closed ") and shown.transcript == []
    assert db[AUDIT_LOG].count_documents({"action": "retention.stage_purge"}) == 2
    assert "forklift" not in str(list(db[AUDIT_LOG].find({"action": "retention.stage_purge"})))
    # The open job's call keeps everything; a further run finds nothing.
    kept = db[CALLS].find_one({"_id": untouched.id})
    assert kept["recording_available"] is True and kept["summary"]
    assert db[TRANSCRIPTS].count_documents({"_id": untouched.id}) == 1
    assert retention.purge_expired(db, now=closed.closed_at + 92 * DAY) == ""


def test_a_jobs_own_days_override_the_global_ones(db, recruiter):
    job, closed = closed_job(db, recruiter, "Short")
    other, _ = closed_job(db, recruiter, "Default")
    agent_settings.save_job_config(db, recruiter, job.id,
                                   {"recording_retention_days": 2, "transcript_retention_days": 3})
    short, default = seed_call(db, job.id), seed_call(db, other.id, "cand-2")
    assert retention.purge_expired(db, now=closed.closed_at + 4 * DAY) == (
        "job stage: 1 recording and 1 transcript deleted")
    assert db[CALLS].find_one({"_id": short.id})["transcript_status"] == "purged"
    assert db[CALLS].find_one({"_id": default.id})["transcript_status"] == "stored"


def test_retention_days_caps_the_days_after_the_close_when_it_is_shorter(db, recruiter):
    assert retention.stage_days(30, 10) == 10 and retention.stage_days(5, 180) == 5
    job, closed = closed_job(db, recruiter)
    call = seed_call(db, job.id, ended=closed.closed_at)
    # The purge by stage alone counts 10 days (RETENTION_DAYS), not the job's 30 and 90.
    counts = retention.stage_purge(db, closed.closed_at + 11 * DAY, global_days=10)
    assert (counts.recordings, counts.transcripts) == (1, 1)
    assert db[CALLS].find_one({"_id": call.id})["recording_purge"]["days"] == 10
    # Through the worker's purge the call is gone at RETENTION_DAYS after it ended as well.
    job2, closed2 = closed_job(db, recruiter, "Second")
    call2 = seed_call(db, job2.id, "cand-2", ended=closed2.closed_at)
    retention.purge_expired(db, now=closed2.closed_at + 11 * DAY, retention_days=10)
    assert db[TRANSCRIPTS].count_documents({"_id": call2.id}) == 0
    assert db[MEDIA_CACHE].count_documents({"call_id": call2.id}) == 0


@pytest.mark.parametrize("kind", ["candidate", "job"])
def test_a_legal_hold_stops_every_purge_until_it_is_lifted(db, admin, recruiter, kind):
    job, closed = closed_job(db, recruiter)
    db[CANDIDATES].insert_one({"_id": "cand-1", "name": "Held Person", "job_ids": [job.id]})
    held = seed_call(db, job.id, "cand-1", ended=closed.closed_at - 400 * DAY)
    free_job, free_closed = closed_job(db, recruiter, "Other")
    free = seed_call(db, free_job.id, "cand-2", ended=free_closed.closed_at - 400 * DAY)
    db[MEDIA_CACHE].update_many({}, {"$set": {"expires_at": closed.closed_at}})  # expired cache too
    holds.place_hold(db, admin, kind, "cand-1" if kind == "candidate" else job.id, "Case 2026-14")
    assert holds.is_held(db, candidate_id="cand-1", job_id=job.id)
    later = closed.closed_at + 200 * DAY  # past RETENTION_DAYS (180) and both stage periods

    retention.purge_expired(db, now=later)

    doc = db[CALLS].find_one({"_id": held.id})
    assert "purged_at" not in doc and "recording_purge" not in doc and "transcript_purge" not in doc
    assert doc["summary"] and doc["agent_answers"]["q1"]["answer"] == "five years on forklifts"
    assert db[TRANSCRIPTS].count_documents({"_id": held.id}) == 1
    assert db[MEDIA_CACHE].count_documents({"call_id": held.id}) == 1
    assert db[CALLS].find_one({"_id": free.id})["transcript_status"] == "purged"
    assert db[MEDIA_CACHE].count_documents({"call_id": free.id}) == 0

    holds.lift_hold(db, admin, kind, "cand-1" if kind == "candidate" else job.id, "Case closed")
    assert not holds.is_held(db, candidate_id="cand-1", job_id=job.id)
    retention.purge_expired(db, now=later)
    doc = db[CALLS].find_one({"_id": held.id})
    assert doc["transcript_status"] == "purged" and "summary" not in doc
    assert db[TRANSCRIPTS].count_documents({"_id": held.id}) == 0
    assert db[MEDIA_CACHE].count_documents({"call_id": held.id}) == 0


def test_a_hold_on_a_candidate_keeps_their_old_audit_text(db, admin):
    db[CANDIDATES].insert_one({"_id": "cand-1", "name": "Held Person"})
    old = utcnow() - 400 * DAY
    db[AUDIT_LOG].insert_many([
        {"_id": "a1", "at": old, "entity": "candidate", "entity_id": "cand-1", "detail": "asked by Held"},
        {"_id": "a2", "at": old, "entity": "candidate", "entity_id": "cand-2", "detail": "asked by Free"},
    ])
    holds.place_hold(db, admin, "candidate", "cand-1", "Tribunal claim")
    retention.purge_expired(db)
    assert db[AUDIT_LOG].find_one({"_id": "a1"})["detail"] == "asked by Held"
    assert db[AUDIT_LOG].find_one({"_id": "a2"})["detail"] != "asked by Free"


def test_only_an_admin_places_or_lifts_a_hold_with_a_reason_and_both_are_audited(db, admin, recruiter):
    job = jobs.create_job(db, recruiter, title="Driver", company="Acme")
    with pytest.raises(auth.PermissionDenied):
        holds.place_hold(db, recruiter, "job", job.id, "Case 1")
    for blank in ("", "   "):
        with pytest.raises(holds.HoldError, match="Say why"):
            holds.place_hold(db, admin, "job", job.id, blank)
    with pytest.raises(holds.HoldError, match="does not exist"):
        holds.place_hold(db, admin, "job", "no-such-job", "Case 1")
    assert db[JOBS].find_one({"_id": job.id}).get("legal_hold") is None
    assert db[AUDIT_LOG].count_documents({"action": {"$regex": "^legal_hold"}}) == 0
    assert holds.held_job_ids(db) == []

    hold = holds.place_hold(db, admin, "job", job.id, "  Case   1 ")
    assert hold["reason"] == "Case 1" and hold["by"] == "ada1" and hold["at"] is not None
    assert jobs.get_job(db, job.id).legal_hold["reason"] == "Case 1"
    assert holds.held_job_ids(db) == [job.id] and holds.held_candidate_ids(db) == []
    placed = db[AUDIT_LOG].find_one({"action": "legal_hold.place"})
    assert placed["entity"] == "job" and placed["entity_id"] == job.id and "Case 1" in placed["detail"]
    with pytest.raises(holds.HoldError, match="already"):
        holds.place_hold(db, admin, "job", job.id, "again")

    with pytest.raises(auth.PermissionDenied):
        holds.lift_hold(db, recruiter, "job", job.id, "done")
    with pytest.raises(holds.HoldError, match="Say why"):
        holds.lift_hold(db, admin, "job", job.id, "")
    assert holds.held_job_ids(db) == [job.id]
    holds.lift_hold(db, admin, "job", job.id, "Settled")
    lifted = db[AUDIT_LOG].find_one({"action": "legal_hold.lift"})
    assert lifted["entity_id"] == job.id and "Settled" in lifted["detail"] and lifted["actor"] == "ada1"
    assert holds.held_job_ids(db) == [] and jobs.get_job(db, job.id).legal_hold is None
