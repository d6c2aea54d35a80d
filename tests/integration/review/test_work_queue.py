"""Home as a work queue: awaiting review per job with the call to start at, who asked for a
person, calls running and waiting (times on both clocks), each job's progress in one line."""

from __future__ import annotations

from datetime import timedelta

from streamlit.testing.v1 import AppTest

from core.db import utcnow
from core.review import pipeline_store
from core.review.job_pipeline import job_stages, jobs_stages
from core.review.pipeline import Stage
from core.review.work_queue import progress_sentence, work_queue
from tests import factories
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.pipeline_seed import seed_pipeline
from tests.support.review_seed import add_job


def test_the_queue_lists_what_needs_someone_and_when(db) -> None:
    seeded = seed_pipeline(db)
    queue = work_queue(db, make_user(db, "recruiter"), zone="Europe/Paris")
    job = next(j for j in queue.jobs if j.job_id == seeded["job"])
    assert job.awaiting == 1 and queue.awaiting_review == 1
    assert job.first_awaiting_call == seeded["calls"]["Cara Diaz"]
    assert [i.name for i in queue.asked_for_person] == ["Hana Human"]
    assert queue.asked_for_person[0].text == "asked for a person: prefers to talk to a person"
    waiting = {i.name: i for i in queue.waiting}
    assert list(waiting) == ["Gus Hale"]
    gus = waiting["Gus Hale"].text
    assert gus.startswith("retry at ") and "for the candidate, Chicago" in gus
    assert queue.running == []
    assert progress_sentence(job) == (
        "9 candidates: 1 not called, 1 screened, awaiting review, 1 advanced, 1 on hold, 1 rejected, "
        "4 elsewhere (calling, waiting or stopped)")
    assert job.counts[Stage.DO_NOT_CALL] == 1


def test_home_shows_the_queue_with_links_and_no_ids(db) -> None:
    seed_pipeline(db)
    at = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), make_user(db, "recruiter"))
    at.run()
    assert not at.exception
    shown = texts(at)
    for section in ("Awaiting review", "Asked for a person", "Calls running and waiting", "Jobs"):
        assert section in shown
    assert {m.label: m.value for m in at.metric}["Awaiting review"] == "1"
    calls = next(df.value for df in at.dataframe if "What" in df.value.columns and
                 df.value["Candidate"].tolist() == ["Gus Hale"])
    assert calls.iloc[0]["Open"].startswith("call?call=")


def test_the_queue_reads_all_jobs_at_once_and_agrees_with_each_job_alone(db) -> None:
    # A second job sharing one candidate (with a live call for it there) and one of its own,
    # waiting for a call-back: the batched read (one read of candidates, one of calls) must count
    # and word every job exactly as the per-job pipeline does.
    user = make_user(db, "recruiter")
    first = seed_pipeline(db)
    second = add_job(db, "Night picker")
    both = first["ids"]["Cara Diaz"]
    db["candidates"].update_one({"_id": both}, {"$addToSet": {"job_ids": second}})
    factories.insert_call(db, candidate_id=both, job_id=second, status="in_progress",
                          created_at=utcnow() - timedelta(minutes=2))
    own = factories.insert_candidate(db, name="Zoe Later", phone="+12015550199", job_ids=[second]).id
    factories.insert_call(db, candidate_id=own, job_id=second, status="queued", open_key=f"{own}:{second}",
                          next_attempt_at=utcnow() + timedelta(hours=5))
    listed = (Stage.ASKED_FOR_HUMAN, Stage.CALLING, Stage.RETRY, Stage.SCHEDULED)
    batched = jobs_stages(db, user, [first["job"], second], listed, zone="Europe/Paris")
    for job_id in (first["job"], second):
        alone = job_stages(db, user, job_id, zone="Europe/Paris")
        got = batched[job_id]
        counts: dict[Stage, int] = {}
        for row in alone:
            counts[row.stage] = counts.get(row.stage, 0) + 1
        assert got.counts == counts and got.candidates == len(alone)
        assert got.listed == [row for row in alone if row.stage in listed]
        awaiting = [row.call_id for row in alone if row.stage == Stage.AWAITING_REVIEW]
        assert got.first_awaiting_call == (awaiting[0] if awaiting else None)
    assert {r.name: r.stage for r in batched[second].listed} == {"Cara Diaz": Stage.CALLING,
                                                                 "Zoe Later": Stage.SCHEDULED}
    queue = work_queue(db, user, zone="Europe/Paris")
    assert [i.name for i in queue.running] == ["Cara Diaz"]
    assert sorted(i.name for i in queue.waiting) == ["Gus Hale", "Zoe Later"]
    assert queue.awaiting_review == 1  # Cara awaits review for the first job only


def test_the_batched_call_read_gives_each_jobs_newest_calls_within_its_bound(db) -> None:
    # Unsorted read, ordered here: each job's calls newest first, as the per-job sorted read
    # gives them; when the bound fills up, the jobs are read one by one with the same answer.
    seeded = seed_pipeline(db)
    other = add_job(db, "Night picker")
    person = factories.insert_candidate(db, name="Zoe Later", phone="+12015550199", job_ids=[other]).id
    for hours in (3, 1, 2):
        factories.insert_call(db, candidate_id=person, job_id=other, status="no_answer",
                              created_at=utcnow() - timedelta(hours=hours))
    jobs = [seeded["job"], other]
    for per_job in (pipeline_store.MAX_CALLS, 2):  # 2: the bound fills up
        got = {job_id: [c.id for c in calls]
               for job_id, calls in pipeline_store.jobs_stage_calls(db, jobs, per_job=per_job)}
        assert got == {j: [c.id for c in pipeline_store.job_calls(db, j, limit=per_job)] for j in jobs}
    assert len(got[other]) == 2


def test_a_closed_job_stays_on_the_queue_until_it_is_archived(db) -> None:
    from core.people import jobs

    seeded = seed_pipeline(db)
    admin = make_user(db, "admin")
    jobs.set_stage(db, admin, seeded["job"], "closed")
    queue = work_queue(db, make_user(db, "recruiter"), zone="Europe/Paris")
    job = next(j for j in queue.jobs if j.job_id == seeded["job"])
    assert job.awaiting == 1 and job.first_awaiting_call == seeded["calls"]["Cara Diaz"]
    assert job.title.endswith(" (closed)")
    jobs.set_stage(db, admin, seeded["job"], "archived")
    assert seeded["job"] not in [j.job_id for j in work_queue(db, admin, zone="UTC").jobs]
