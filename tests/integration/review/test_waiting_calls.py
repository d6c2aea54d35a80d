"""A retry or call-back waiting for its time is its own state on the calls list and the call
page: not in progress, no "Started" time, no live refresh, with when and which attempt."""

from __future__ import annotations

from datetime import timedelta

from streamlit.testing.v1 import AppTest

from core.db import utcnow
from core.review import call_list
from core.review.filters import CallFilters
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.review_seed import add_call, add_candidate, add_job


def _retry(db) -> str:
    job = add_job(db, "Forklift operator")
    cand = add_candidate(db, "Rita Retry", "+1 303 555 0160", [job])
    first = add_call(db, cand, job, status="no_answer", created_at=utcnow() - timedelta(hours=1))
    return add_call(db, cand, job, status="queued", duration=None, attempt=2, retry_of=first,
                    wait_kind="retry", max_attempts=3, candidate_zone="America/Denver",
                    created_at=utcnow() - timedelta(minutes=5), dialed_at=None, summary=None,
                    next_attempt_at=utcnow() + timedelta(hours=2))


def test_the_list_row_says_when_and_which_attempt_and_is_not_live(db) -> None:
    retry = _retry(db)
    rows = {r.id: r for r in call_list.list_calls(db, CallFilters()).data}
    row = rows[retry]
    assert not row.in_flight and row.started_at is None
    assert row.outcome.startswith("Retry at ") and row.outcome.endswith(", Denver time (attempt 2 of 3)")


def test_the_pages_show_the_wait_without_refreshing(db) -> None:
    retry = _retry(db)
    user = make_user(db, "recruiter")
    at = signed_in(AppTest.from_file(page_path("transcripts"), default_timeout=TIMEOUT), user).run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "Outcome" in df.value.columns)
    waiting = table[table["Outcome"].str.startswith("Retry at")]
    assert len(waiting) == 1 and waiting.iloc[0]["Started"] == "—"
    assert "refreshing every" not in texts(at)  # nothing on the page is in progress
    at = signed_in(AppTest.from_file(page_path("transcripts"), default_timeout=TIMEOUT), user)
    at.query_params["call"] = retry
    at.run()
    assert not at.exception
    assert "(attempt 2 of 3)" in texts(at) and "updates by itself" not in texts(at)
