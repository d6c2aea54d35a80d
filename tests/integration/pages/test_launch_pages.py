"""AppTest of the jobs & candidates and launch pages (real database, sandbox over HTTP)."""

from streamlit.testing.v1 import AppTest

from core.calling import batches
from core.people import candidates, jobs
from tests.support import sandbox_stack
from tests.support.apptest import TIMEOUT, page_path, signed_in, texts
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack


def test_jobs_page_creates_a_job_and_shows_a_candidate_deep_link(stack):
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT),
                   stack.recruiter).run()
    assert not at.exception
    at.text_input(key="jobs_candidates.new_title").input("Forklift driver")
    at.text_input(key="jobs_candidates.new_company").input("Acme")
    at.button[0].click().run()  # the form's submit button comes first
    assert not at.exception
    job = next(j for j in jobs.list_jobs(stack.db) if j.title == "Forklift driver")
    assert job is not None
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Dee Link", consent=True,
                                    phone="+1 212 555 0140", job_ids=[job.id])
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT),
                   stack.recruiter)
    at.query_params["candidate"] = cand.id
    at.run()
    assert not at.exception and "Dee Link" in texts(at)
    bad = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT),
                    stack.recruiter)
    bad.query_params["candidate"] = "../../etc"
    bad.run()
    assert not bad.exception and "not valid" in texts(bad)


def test_launch_page_places_a_call_and_shows_batch_progress(stack):
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Lou Launch", consent=True,
                                    phone="+1 212 555 0141", job_ids=[job.id])
    at = signed_in(AppTest.from_file(page_path("launch_calls"), default_timeout=TIMEOUT),
                   stack.recruiter).run()
    assert not at.exception
    at.button(key="FormSubmitter:launch_calls.one-Call now").click().run()
    assert not at.exception
    call_id = at.session_state["launch_calls.call_id"]
    assert stack.db["calls"].find_one({"_id": call_id})["candidate_id"] == cand.id
    assert len(stack.dials()) == 1
    # A batch created elsewhere shows its progress on the page.
    batches.create_batch(stack.db, stack.recruiter, job.id, [cand.id])
    at.run()
    assert not at.exception
    assert at.get("progress")


def test_viewer_cannot_open_the_launch_page(stack):
    from core import auth

    viewer = auth.create_user(stack.db, "viewer1", "password-123", "viewer", actor=auth.OPERATOR)
    at = signed_in(AppTest.from_file(page_path("launch_calls"), default_timeout=TIMEOUT),
                   viewer).run()
    assert not at.exception and "does not give access" in texts(at)
