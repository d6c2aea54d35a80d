"""Jobs & candidates: a recruiter closes a job after a confirmation (its queued calls are
cancelled); an admin places a legal hold with a reason, and everyone sees the badge."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.calling import batches
from core.db import CALLS
from core.documents.job import JobStatus
from core.people import candidates, holds, jobs
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts


def _job_with_queue(db, user):
    job = jobs.create_job(db, user, title="Cashier", company="Shop Co")
    for i in range(2):
        candidates.add_candidate(db, user, name=f"Cand {i}", phone=f"+1 212 555 01{i:02d}", consent=True,
                                 job_ids=[job.id])
    batches.create_batch(db, user, job.id)
    return job


def _page(user, candidate_id: str = "") -> AppTest:
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT), user)
    if candidate_id:
        at.query_params["candidate"] = candidate_id
    return at.run()


def test_a_recruiter_closes_a_job_after_confirming(db) -> None:
    rita = make_user(db, "recruiter", "rita")
    job = _job_with_queue(db, rita)
    at = _page(rita)
    assert not at.exception
    assert "Open: calls can be placed." in texts(at)
    at.button(key="jobs_candidates.stage.closed").click().run()
    assert not at.exception
    assert "Calls waiting in the queue for it are cancelled" in texts(at)
    assert jobs.get_job(db, job.id).status == JobStatus.OPEN  # nothing changes before the yes
    at.button(key="jobs_candidates.stage.yes").click().run()
    assert not at.exception
    assert jobs.get_job(db, job.id).status == JobStatus.CLOSED
    assert db[CALLS].count_documents({"job_id": job.id, "status": "queued"}) == 0
    shown = texts(at)
    assert "Closed since " in shown and "no new calls are placed" in shown
    assert [b.label for b in at.button if (b.key or "").startswith("jobs_candidates.stage.")] == [
        "Reopen job…", "Archive job…"]
    # A recruiter sees no legal-hold form.
    assert not [e for e in at.expander if e.label == "Legal hold"]


def test_an_admin_places_a_hold_and_every_role_sees_the_badge(db) -> None:
    ada = make_user(db, "admin", "ada")
    job = jobs.create_job(db, ada, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, ada, name="Held Person", phone="+1 212 555 0111", consent=True,
                                    job_ids=[job.id])
    at = _page(ada, cand.id)
    assert not at.exception
    submit = "FormSubmitter:jobs_candidates.detail.hold.form-Place legal hold"
    at.button(key=submit).click().run()  # no reason: refused, nothing placed
    assert "Say why" in texts(at) and holds.hold_of(db, "candidate", cand.id) is None
    at.text_input(key="jobs_candidates.detail.hold.reason").input("Tribunal case 14")
    at.button(key=submit).click().run()
    assert not at.exception
    assert holds.hold_of(db, "candidate", cand.id)["reason"] == "Tribunal case 14"

    viewer = make_user(db, "viewer", "vic")
    seen = _page(viewer, cand.id)
    assert not seen.exception
    assert "On legal hold since " in texts(seen) and "— Tribunal case 14" in texts(seen)
    assert not [e for e in seen.expander if e.label == "Legal hold"]


def test_a_closed_jobs_settings_stay_open_for_its_retention_days(db) -> None:
    rita = make_user(db, "recruiter", "rita")
    job = jobs.create_job(db, rita, title="Cashier", company="Shop Co")
    jobs.set_stage(db, rita, job.id, "closed")
    at = signed_in(AppTest.from_file(page_path("job_settings"), default_timeout=TIMEOUT), rita)
    at.query_params["job"] = job.id
    at.run()
    assert not at.exception
    assert "points to no job" not in texts(at)
    picker = at.selectbox(key="job_settings.job")
    assert picker.value == job.id and "Cashier — Shop Co (closed)" in picker.options
    assert "Keep recordings after the job closes (days)" in [n.label for n in at.number_input]
