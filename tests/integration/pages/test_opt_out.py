"""A spoken opt-out shows on the candidate page and on the call that recorded it."""

from streamlit.testing.v1 import AppTest

from core.db import CALLS, utcnow
from core.documents.call import Call
from core.lifecycle import opt_out
from core.people import candidates, jobs
from tests.factories import insert_call
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts


def test_opt_out_is_shown_on_candidate_and_call_pages(db):
    admin = make_user(db, "admin", "boss")
    job = jobs.create_job(db, admin, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, admin, name="Opal Out", phone="+1 212 555 0155",
                                    consent=True, job_ids=[job.id])
    now = utcnow()
    insert_call(db, id="call-55", candidate_id=cand.id, job_id=job.id, status="completed", created_at=now,
                ended_at=now)
    opt_out.mark_do_not_call(db, Call.model_validate(db[CALLS].find_one({"_id": "call-55"})),
                             "please stop calling me")
    assert candidates.get_candidate(db, cand.id).do_not_call is True

    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT), admin)
    at.query_params["candidate"] = cand.id
    at.run()
    assert not at.exception
    assert "asked during the screening call" in texts(at)

    at = signed_in(AppTest.from_file(page_path("transcripts"), default_timeout=TIMEOUT), admin)
    at.query_params["call"] = "call-55"
    at.run()
    assert not at.exception
    assert "asked not to be called again" in texts(at)
