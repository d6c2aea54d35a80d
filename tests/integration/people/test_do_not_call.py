"""The candidate's own "don't call me" is lifted only by an admin, confirming the call, with a
reason; a do-not-call set by hand stays liftable by recruiters. Both audited."""

from __future__ import annotations

import pytest

from core import audit, auth
from core.db import CALLS, utcnow
from core.documents.call import Call
from core.lifecycle import opt_out
from core.people import candidates, jobs


@pytest.fixture
def people(db):
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    recruiter = auth.create_user(db, "rita", "a-long-password-1", "recruiter", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Cashier", company="Shop Co")
    cand = candidates.add_candidate(db, admin, name="Opal Out", phone="+1 212 555 0155", consent=True,
                                    job_ids=[job.id])
    return admin, recruiter, job, cand


def _spoken_opt_out(db, cand, job, call_id: str = "call-55") -> None:
    now = utcnow()
    db[CALLS].insert_one({"_id": call_id, "candidate_id": cand.id, "job_id": job.id,
                          "status": "completed", "created_at": now, "ended_at": now})
    opt_out.mark_do_not_call(db, Call.model_validate(db[CALLS].find_one({"_id": call_id})),
                             "please stop calling me")


def test_only_an_admin_lifts_the_candidates_own_request_confirming_the_call(db, people) -> None:
    admin, recruiter, job, cand = people
    _spoken_opt_out(db, cand, job)
    # The one-click path refuses, for a recruiter and an admin alike.
    for who in (recruiter, admin):
        with pytest.raises(candidates.CandidateError, match="asked on call call-55"):
            candidates.set_do_not_call(db, who, cand.id, False, "they called us back")
    with pytest.raises(auth.PermissionDenied, match="Only an admin"):
        candidates.lift_spoken_do_not_call(db, recruiter, cand.id, call_id="call-55",
                                           reason="they asked us to call again by email")
    with pytest.raises(candidates.CandidateError, match="at least 10 characters"):
        candidates.lift_spoken_do_not_call(db, admin, cand.id, call_id="call-55", reason="ok")
    with pytest.raises(candidates.CandidateError, match="not on call call-99"):
        candidates.lift_spoken_do_not_call(db, admin, cand.id, call_id="call-99",
                                           reason="they asked us to call again by email")
    assert candidates.get_candidate(db, cand.id).do_not_call is True

    candidates.lift_spoken_do_not_call(db, admin, cand.id, call_id="call-55",
                                       reason="they asked us to call again by email")
    after = candidates.get_candidate(db, cand.id)
    assert after.do_not_call is False and after.do_not_call_call_id is None
    entry = audit.recent(db, entity="candidate", entity_id=cand.id, limit=1)[0]
    assert (entry.action, entry.actor) == ("candidate.do_not_call_lifted", "boss")
    assert "call-55" in entry.detail and "by email" in entry.detail
    assert entry.changes == {"do_not_call": {"old": True, "new": False}}


def test_a_do_not_call_set_by_hand_stays_liftable_by_a_recruiter(db, people) -> None:
    _admin, recruiter, _job, cand = people
    candidates.set_do_not_call(db, recruiter, cand.id, True, "asked by email")
    assert candidates.get_candidate(db, cand.id).do_not_call_reason == "asked by email"
    candidates.set_do_not_call(db, recruiter, cand.id, False, "asked to be called after all")
    assert candidates.get_candidate(db, cand.id).do_not_call is False
    actions = [e.action for e in audit.recent(db, entity="candidate", entity_id=cand.id)]
    # Both are recorded (two entries written in the same millisecond have no defined order).
    assert sorted(actions[:2]) == ["candidate.do_not_call", "candidate.do_not_call_lifted"]


def test_a_request_spoken_meanwhile_is_not_lifted_by_the_hand_path(db, people) -> None:
    _admin, recruiter, job, cand = people
    candidates.set_do_not_call(db, recruiter, cand.id, True, "asked by email")
    # The hand-set entry is now the candidate's own (e.g. the store was changed meanwhile).
    db["candidates"].update_one({"_id": cand.id}, {"$set": {"do_not_call_call_id": "call-77"}})
    with pytest.raises(candidates.CandidateError, match="Only an admin can lift that"):
        candidates.set_do_not_call(db, recruiter, cand.id, False, "")
    assert candidates.get_candidate(db, cand.id).do_not_call is True


def test_setting_it_by_hand_again_keeps_the_candidates_request_admin_only(db, people) -> None:
    _admin, recruiter, job, cand = people
    _spoken_opt_out(db, cand, job)
    candidates.set_do_not_call(db, recruiter, cand.id, True, "also asked by email")
    assert candidates.get_candidate(db, cand.id).do_not_call_call_id == "call-55"
    with pytest.raises(candidates.CandidateError, match="Only an admin can lift that"):
        candidates.set_do_not_call(db, recruiter, cand.id, False, "")
