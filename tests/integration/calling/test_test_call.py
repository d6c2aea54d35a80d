"""The test call to a team member's own number: never a candidate's number, never a screening,
still paid for, always audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from core import audit
from core.calling import launch, refusals, test_call
from core.calling import store as call_store
from core.db import AUDIT_LOG, CALLS, CANDIDATES
from core.people import candidates
from core.review import call_list, exports, overview
from core.review.filters import CallFilters
from core.usage import budget, spend
from core.usage import export as usage_export
from core.usage import views as usage_views
from tests.support import sandbox_stack
from tests.support.apptest import TIMEOUT, page_path, signed_in
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack

OWN = "+1 212 555 0107"


def _snapshot(db) -> tuple[list, list, list]:
    return (list(db[CANDIDATES].find({}, {"updated_at": 0})), list(db[CALLS].find()),
            list(db[AUDIT_LOG].find()))


def _settled(stack, call_id: str):
    """The call once its final prices are in and counted everywhere (then no webhook is let in)."""
    def done():
        c = call_store.get_call(stack.db, call_id)
        return (c.status == "completed" and c.costs and not c.costs.ai_estimated
                and not c.costs.telephony_estimated and c.rollup and not c.rollup.inc_pending
                and c.budget and c.budget.counted == c.costs.total_micros and c)

    stack.sandbox.wait_for(done, 30)
    stack.stop_sidecar()
    return call_store.get_call(stack.db, call_id)


def test_a_candidates_number_is_refused_and_nothing_changes(stack):
    job, other = make_job(stack), make_job(stack, "Night cook")
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Dana Reyes", consent=True,
                                    phone=OWN, job_ids=[other.id])
    before = _snapshot(stack.db)
    # Any way of writing the number, for a job the candidate has not applied to.
    for typed in ("(212) 555-0107", "+12125550107"):
        with pytest.raises(test_call.TestCallUnavailable, match="belongs to a candidate") as info:
            test_call.place_test_call(stack.db, stack.recruiter, job.id, typed)
        assert "own number" in str(info.value)
    assert _snapshot(stack.db) == before  # the candidate keeps its jobs; no call, no entry
    assert candidates.get_candidate(stack.db, cand.id).job_ids == [other.id]
    assert stack.dials() == [] and stack.sandbox.received("ultravox", "create_call") == []


def test_a_test_call_stays_out_of_candidate_lists_and_screening_figures(stack):
    job = make_job(stack)
    real = candidates.add_candidate(stack.db, stack.recruiter, name="Dana Reyes", consent=True,
                                    phone="+1 212 555 0100", job_ids=[job.id])
    call_id = test_call.place_test_call(stack.db, stack.recruiter, job.id, OWN)
    call = _settled(stack, call_id)
    assert call.test_call is True and stack.dials()[0]["params"]["To"] == ["+12125550107"]

    # Candidate lists: the Jobs & candidates list (all, per job, by name) and the launch picker.
    db, rec = stack.db, stack.recruiter
    assert [c.id for c in candidates.list_candidates(db, rec)] == [real.id]
    assert [c.id for c in candidates.list_candidates(db, rec, job_id=job.id)] == [real.id]
    assert candidates.list_candidates(db, rec, search="test call") == []
    at = signed_in(AppTest.from_file(page_path("jobs_candidates"), default_timeout=TIMEOUT), rec).run()
    assert not at.exception
    shown = [df.value.to_dict("records") for df in at.dataframe]
    assert [r["Candidate"].rsplit("=", 1)[1] for rows in shown for r in rows if "Phone" in r] == [real.id]
    # The calls list, the candidate's page counts, the home page, the job's CSV export.
    page = call_list.list_calls(db, CallFilters(), user=rec)
    assert page.count == 0 and page.data == []
    assert call_list.list_calls(db, CallFilters(job_id=job.id), user=rec).count == 0
    home = overview.counts(db)
    assert (home.candidates, home.calls_open, home.calls_done) == (1, 0, 0)
    exported = exports.export_job_csv(db, rec, job.id).decode("utf-8-sig")
    assert call_id not in exported and list(csv.DictReader(io.StringIO(exported))) == []
    # Usage: no screening counted, but the money is there, and it counts against the budget.
    today = datetime.now(UTC).date()
    usage = usage_views.usage_summary(db, today, today)
    assert usage.totals.get("calls", 0) == 0 and usage.totals["test_calls"] == 1
    assert usage.total_cost_micros == call.costs.total_micros > 0
    assert usage_views.headline(usage).calls == "0" and not usage.empty
    assert spend.spend_this_month(db) * 1_000_000 == call.costs.total_micros
    [row] = usage_export.export_rows(db, today, today)  # the usage CSV: its money, marked
    assert row["call_id"] == call_id and row["test_call"] == "true"
    state = budget.budget_state(db, Decimal("500"))
    assert state.committed * 1_000_000 == call.costs.total_micros

    # The record behind it is no candidate: it cannot be screened, and takes no number away.
    with pytest.raises(refusals.LaunchRefused):
        launch.launch_call(db, rec, call.candidate_id, job.id)
    later = candidates.add_candidate(db, rec, name="Sam Okafor", consent=True, phone=OWN, job_ids=[job.id])
    assert {c.id for c in candidates.list_candidates(db, rec)} == {real.id, later.id}
    with pytest.raises(test_call.TestCallUnavailable, match="belongs to a candidate"):
        test_call.place_test_call(db, rec, job.id, OWN)


def test_a_test_call_is_refused_when_the_budget_has_no_room(stack):
    job = make_job(stack)
    stack.set_config(monthly_budget=Decimal("0.50"))  # one call may cost up to $0.974
    with pytest.raises(test_call.TestCallUnavailable, match="budget"):
        test_call.place_test_call(stack.db, stack.recruiter, job.id, OWN)
    assert stack.dials() == [] and stack.db[CALLS].count_documents({}) == 0


def test_a_test_call_is_audited_with_the_number_masked(stack):
    job = make_job(stack)
    call_id = test_call.place_test_call(stack.db, stack.recruiter, job.id, OWN)
    again = test_call.place_test_call(stack.db, stack.recruiter, job.id, OWN)
    assert again == call_id  # a double click places one call
    entries = [e for e in audit.recent(stack.db, entity="call", entity_id=call_id)
               if e.action == "call.test_call"]
    assert len(entries) == 1
    [entry] = entries
    assert entry.actor == stack.recruiter.username
    assert job.id in (entry.detail or "") and "…0107" in (entry.detail or "")
    stored = json.dumps(list(stack.db[AUDIT_LOG].find()), default=str)
    assert "5550107" not in stored and "2125550107" not in stored
