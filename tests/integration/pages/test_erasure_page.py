"""The candidate page's data controls: only an admin sees them; the erasure asks for a reason and the
candidate's name, refuses a wrong name changing nothing, then erases and says so in plain words."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.db import CALLS, utcnow
from core.people import candidates, jobs
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts

_KEY = "jobs_candidates.privacy"


def _page(user, candidate_id: str) -> AppTest:
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT), user)
    at.query_params["candidate"] = candidate_id
    return at.run()


def _candidate(db):
    admin = make_user(db, "admin", "boss")
    job = jobs.create_job(db, admin, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, admin, name="Erin Erased", phone="+1 212 555 0123", consent=True,
                                    job_ids=[job.id])
    now = utcnow()  # an ended call without provider ids: nothing to delete at the providers
    db[CALLS].insert_one({"_id": "call-1", "candidate_id": cand.id, "job_id": job.id, "status": "completed",
                          "created_at": now, "ended_at": now, "summary": "Erin Erased is keen."})
    return admin, cand


def test_a_recruiter_sees_no_download_or_erasure(db) -> None:
    _admin, cand = _candidate(db)
    at = _page(make_user(db, "recruiter", "rita"), cand.id)
    assert not at.exception
    assert not [b for b in at.button if "Erase" in b.label or "Download" in b.label]


def test_an_admin_erases_after_typing_the_name(db) -> None:
    admin, cand = _candidate(db)
    at = _page(admin, cand.id)
    assert not at.exception
    at.button(key=f"{_KEY}.erase.erase").click()
    at.run()
    shown = texts(at)
    assert "This cannot be undone" in shown and "recording" in shown and "Ultravox and Twilio" in shown
    submit = f"FormSubmitter:{_KEY}.erase.confirm-Erase for good"
    at.text_input(key=f"{_KEY}.erase.why").input("Request by letter, ticket 881")
    at.text_input(key=f"{_KEY}.erase.name").input("Erin")
    at.button(key=submit).click()
    at.run()
    assert "does not match" in texts(at)
    assert candidates.get_candidate(db, cand.id) is not None  # nothing erased
    at.text_input(key=f"{_KEY}.erase.name").input("Erin Erased")
    at.button(key=submit).click()
    at.run()
    assert not at.exception
    assert candidates.get_candidate(db, cand.id) is None
    assert "Erin" not in str(db[CALLS].find_one({"_id": "call-1"}))
    shown = texts(at)
    assert "This candidate was erased on" in shown and "nothing about them is kept" in shown


def test_an_admin_prepares_the_download(db) -> None:
    admin, cand = _candidate(db)
    at = _page(admin, cand.id)
    at.button(key=f"{_KEY}.export.prepare").click()
    at.run()
    assert not at.exception
    assert "1 call and 0 recordings" in texts(at)
    assert db["audit_log"].find_one({"action": "candidate.export", "entity_id": cand.id})
