"""Reviews on the real database: a save refused when another reviewer's save overtook it, and
the next call awaiting review in the same job (Save & next)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.auth import PermissionDenied
from core.db import AUDIT_LOG, CALLS
from core.documents.call import Review
from core.review import decisions as review_decisions
from core.review import detail as review_detail
from core.review import store as review_store
from tests.support.apptest import make_user
from tests.support.review_seed import T0, add_call, add_candidate, add_job


@pytest.fixture
def call(db) -> str:
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    return add_call(db, cand, job)


def _audits(db, call_id: str) -> list[dict]:
    return list(db[AUDIT_LOG].find({"entity_id": call_id, "action": "call.review"}))


def test_second_save_on_the_same_version_is_refused_and_the_first_kept(db, call):
    maria, tom = make_user(db, "recruiter", "maria"), make_user(db, "recruiter", "tom")
    opened = review_detail.call_detail(db, call, tom).review_version  # both open the unreviewed call
    assert opened == 0

    first = review_decisions.save_review(db, maria, call, "advance", {1: 5}, 5, "great",
                                         expected_version=opened)
    with pytest.raises(review_decisions.ReviewConflict) as refused:
        review_decisions.save_review(db, tom, call, "reject", {1: 1}, 1, "no", expected_version=opened)
    assert refused.value.by == "maria"
    assert abs(refused.value.at - first.at) < timedelta(milliseconds=1)  # as stored (ms precision)
    assert "maria saved a review of this call" in str(refused.value)

    stored = db[CALLS].find_one({"_id": call})["review"]
    assert (stored["decision"], stored["by"], stored["notes"], stored["version"]) == (
        "advance", "maria", "great", 1)
    assert [a["actor"] for a in _audits(db, call)] == ["maria"]  # the refused save left no trace

    # After reloading, Tom's save names the version he now sees, and it applies.
    seen = review_detail.call_detail(db, call, tom).review_version
    assert seen == 1
    review_decisions.save_review(db, tom, call, "hold", {}, 3, "", expected_version=seen)
    stored = db[CALLS].find_one({"_id": call})["review"]
    assert (stored["decision"], stored["by"], stored["version"]) == ("hold", "tom", 2)
    with pytest.raises(review_decisions.ReviewConflict):
        review_decisions.save_review(db, maria, call, "advance", {}, 5, "", expected_version=1)


def test_the_store_update_is_conditional_on_the_version(db, call):
    review = Review(decision="hold", overall=3, by="maria", at=T0, version=1)
    assert review_store.record_review(db, call, review, 0) is True
    assert review_store.record_review(db, call, review.model_copy(update={"by": "tom"}), 0) is False
    assert db[CALLS].find_one({"_id": call})["review"]["by"] == "maria"


def test_a_review_saved_before_versions_counts_as_version_one(db, call):
    db[CALLS].update_one({"_id": call}, {"$set": {"review": {"decision": "hold", "ratings": {}, "overall": 3,
                                                             "notes": "", "by": "old", "at": T0}}})
    tom = make_user(db, "recruiter", "tom")
    assert review_detail.call_detail(db, call, tom).review_version == 1
    with pytest.raises(review_decisions.ReviewConflict):
        review_decisions.save_review(db, tom, call, "advance", {}, 4, expected_version=0)
    review_decisions.save_review(db, tom, call, "advance", {}, 4, expected_version=1)
    assert db[CALLS].find_one({"_id": call})["review"]["version"] == 2
    # Without an expected version (scripts), the save replaces the review it just read.
    review_decisions.save_review(db, tom, call, "reject", {}, 2)
    assert db[CALLS].find_one({"_id": call})["review"]["version"] == 3


def test_next_awaiting_review_is_the_oldest_undecided_ended_screening_of_the_job(db):
    job, other = add_job(db, "Forklift driver"), add_job(db, "Night cook")
    ann = add_candidate(db, "Ann Archer", "+12015550101", [job, other])
    hour = timedelta(hours=1)
    current = add_call(db, ann, job, created_at=T0)
    add_call(db, ann, other, created_at=T0 - hour)  # another job, older: never offered
    add_call(db, ann, job, created_at=T0 + hour, decision="advance")  # decided
    add_call(db, ann, job, created_at=T0 + 2 * hour, status="in_progress")  # not ended
    add_call(db, ann, job, created_at=T0 + 3 * hour, test_call=True)  # a team member's test call
    later = add_call(db, ann, job, created_at=T0 + 5 * hour)
    sooner = add_call(db, ann, job, created_at=T0 + 4 * hour, status="no_answer")
    recruiter = make_user(db, "recruiter")

    assert review_decisions.next_awaiting_review(db, recruiter, current) == sooner  # oldest first
    review_decisions.save_review(db, recruiter, sooner, "reject", {}, 1)
    assert review_decisions.next_awaiting_review(db, recruiter, sooner) == current
    assert review_decisions.next_awaiting_review(db, recruiter, current) == later
    review_decisions.save_review(db, recruiter, later, "hold", {}, 3)
    review_decisions.save_review(db, recruiter, current, "hold", {}, 3)
    assert review_decisions.next_awaiting_review(db, recruiter, current) is None
    assert review_decisions.next_awaiting_review(db, recruiter, "0123456789abcdef") is None
    with pytest.raises(PermissionDenied):
        review_decisions.next_awaiting_review(db, make_user(db, "viewer"), current)


def test_a_save_landing_between_the_read_and_the_write_is_refused(db, call, monkeypatch):
    maria, tom = make_user(db, "recruiter", "maria"), make_user(db, "recruiter", "tom")
    real_read = review_store.call_for_review

    def read_then_maria_saves(database, call_id):
        seen = real_read(database, call_id)  # Tom's save has read the call (no review yet)…
        monkeypatch.setattr(review_store, "call_for_review", real_read)
        review_decisions.save_review(database, maria, call_id, "advance", {}, 5, "first")  # …Maria saves
        return seen

    monkeypatch.setattr(review_store, "call_for_review", read_then_maria_saves)
    with pytest.raises(review_decisions.ReviewConflict) as refused:
        review_decisions.save_review(db, tom, call, "reject", {}, 1, "second")
    assert refused.value.by == "maria"
    assert db[CALLS].find_one({"_id": call})["review"]["notes"] == "first"
    assert [a["actor"] for a in _audits(db, call)] == ["maria"]
