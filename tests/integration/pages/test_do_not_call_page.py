"""The candidate page: an admin lifts the candidate's own do-not-call in a confirmation quoting the call
where they asked (with a link to it) and a reason; a recruiter is told only an admin can."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import audit
from core.db import CALLS, TRANSCRIPTS, utcnow
from core.documents.call import Call
from core.lifecycle import opt_out
from core.people import candidates, jobs
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts


def _opted_out(db):
    admin = make_user(db, "admin", "boss")
    job = jobs.create_job(db, admin, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, admin, name="Opal Out", phone="+1 212 555 0155", consent=True,
                                    job_ids=[job.id])
    now = utcnow()
    db[CALLS].insert_one({"_id": "call-55", "candidate_id": cand.id, "job_id": job.id,
                          "status": "completed", "created_at": now, "ended_at": now})
    db[TRANSCRIPTS].insert_one({"_id": "call-55", "messages": [
        {"role": "agent", "text": "Is now a good time?"},
        {"role": "user", "text": "No. Please stop calling me, I found a job."}]})
    opt_out.mark_do_not_call(db, Call.model_validate(db[CALLS].find_one({"_id": "call-55"})),
                             "stop calling me")
    return admin, cand


def _page(user, candidate_id: str) -> AppTest:
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT), user)
    at.query_params["candidate"] = candidate_id
    return at.run()


def test_a_recruiter_is_told_only_an_admin_can_lift_it(db) -> None:
    _admin, cand = _opted_out(db)
    at = _page(make_user(db, "recruiter", "rita"), cand.id)
    assert not at.exception
    assert "only an admin can lift that" in texts(at)
    assert not [c for c in at.checkbox if "Lift" in c.label or "Do not call" in c.label]


def test_an_admin_confirms_the_quoted_call_and_gives_a_reason(db) -> None:
    admin, cand = _opted_out(db)
    at = _page(admin, cand.id)
    at.button(key="jobs_candidates.dnc.lift").click()
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "call-55" in shown and "Cashier" in shown
    assert "“No. Please stop calling me, I found a job.”" in shown
    submit = "FormSubmitter:jobs_candidates.dnc.confirm-Lift their request"
    at.text_area(key="jobs_candidates.dnc.why").input("She wrote to ask for the interview call.")
    at.button(key=submit).click()
    at.run()
    assert "Tick the confirmation first" in texts(at)  # nothing lifted without it
    assert candidates.get_candidate(db, cand.id).do_not_call is True
    at.checkbox(key="jobs_candidates.dnc.sure").check()
    at.button(key=submit).click()
    at.run()
    assert not at.exception
    assert candidates.get_candidate(db, cand.id).do_not_call is False
    entry = audit.recent(db, entity="candidate", entity_id=cand.id, limit=1)[0]
    assert entry.action == "candidate.do_not_call_lifted" and "call-55" in entry.detail


def test_a_recruiter_allows_ai_calls_again_after_a_request_for_a_person(db) -> None:
    from core.people import store as people_store

    admin = make_user(db, "admin", "boss")
    job = jobs.create_job(db, admin, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, admin, name="Hugh Human", phone="+1 212 555 0157", consent=True,
                                    job_ids=[job.id])
    people_store.mark_human_requested(db, cand.id, job.id, call_id="call-57", reason="needs large print")
    recruiter = make_user(db, "recruiter", "rita")
    at = _page(recruiter, cand.id)
    assert not at.exception
    assert "asked for a person: needs large print" in texts(at)
    at.text_input(key=f"jobs_candidates.human.{job.id}.why").input("Spoke with him; large print sent.")
    at.button(key=f"FormSubmitter:jobs_candidates.human.{job.id}-Allow AI calls again for this job").click()
    at.run()
    assert not at.exception
    assert people_store.get_candidate(db, cand.id).human_requested == {}
    entry = db["audit_log"].find_one({"action": "candidate.human_request_lifted"})
    assert entry["actor"] == "rita"
