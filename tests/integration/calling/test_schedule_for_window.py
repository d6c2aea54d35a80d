""""Call when the window opens": one queued call for the next opening, never a second one, not
swept as a stranded launch, dialled by the worker only once the window is open."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import dispatch, launch, queue_store, schedule
from core.calling.outcome import outcome_text
from core.calling.refusals import LaunchRefused
from core.db import AUDIT_LOG, CALLS, utcnow
from core.documents.call import Call
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack


def _window_in_three_hours(stack) -> None:
    now_ny = utcnow().astimezone(ZoneInfo("America/New_York"))
    start = (now_ny + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0).time()
    end = (dt.datetime.combine(dt.date.today(), start) + timedelta(hours=1)).time()
    if end <= start:
        start, end = dt.time(1, 0), dt.time(2, 0)
    daily = {d: [TimeWindow(start=start, end=end)] for d in Weekday}
    stack.set_config(calling_hours=CallingHours(windows=daily))


def test_a_call_outside_hours_can_wait_for_the_window_and_is_dialled_once_it_opens(stack) -> None:
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Wendy Window", consent=True,
                                    phone="+1 212 555 0130", job_ids=[job.id])
    _window_in_three_hours(stack)
    with pytest.raises(LaunchRefused) as refused:
        launch.launch_call(stack.db, stack.recruiter, cand.id, job.id)
    assert refused.value.code == "calling_hours"
    # One zone per sentence: the refusal names the candidate's clock, never UTC.
    assert "The calling window opens at" in str(refused.value) and "New York time (in " in str(refused.value)
    assert "UTC" not in str(refused.value)

    first = schedule.call_when_window_opens(stack.db, stack.recruiter, cand.id, job.id)
    again = schedule.call_when_window_opens(stack.db, stack.recruiter, cand.id, job.id)
    assert first.created and not again.created and again.call.id == first.call.id
    assert stack.db[CALLS].count_documents({}) == 1
    call = first.call
    assert call.status == "queued" and call.scheduled_by == stack.recruiter.username
    opening = call.next_attempt_at
    assert opening > utcnow() + timedelta(hours=2)
    assert outcome_text(call).startswith("Scheduled for when the calling window opens: ")
    assert stack.db[AUDIT_LOG].count_documents({"action": "call.scheduled", "entity_id": call.id}) == 1

    # Not a stranded launch, and not dialled before its time.
    assert call.id not in queue_store.orphan_launches(stack.db, created_before=utcnow() + timedelta(days=1),
                                                      limit=10)
    dispatch.run_once(stack.db)
    assert stack.dials() == []
    # The opening comes (the database's clock cannot be moved: the call's time is moved to now
    # instead, and the hours opened all day, as they are at that moment).
    stack.db[CALLS].update_one({"_id": call.id}, {"$set": {"next_attempt_at": utcnow()}})
    stack.set_config(calling_hours=sandbox_stack.ALL_DAY)
    dispatch.run_once(stack.db)
    dispatch.run_once(stack.db)
    assert len(stack.dials()) == 1
    dialled = Call.model_validate(stack.db[CALLS].find_one({"_id": call.id}))
    assert dialled.status != "queued" and dialled.calling_window.allowed is True


def test_it_is_refused_when_the_window_is_open_or_the_candidate_may_not_be_called(stack) -> None:
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Nora Now", consent=True,
                                    phone="+1 212 555 0131", job_ids=[job.id])
    with pytest.raises(LaunchRefused, match="open now"):
        schedule.call_when_window_opens(stack.db, stack.recruiter, cand.id, job.id)
    quiet = candidates.add_candidate(stack.db, stack.recruiter, name="Quinn Quiet", consent=False,
                                     phone="+1 212 555 0132", job_ids=[job.id])
    _window_in_three_hours(stack)
    with pytest.raises(LaunchRefused):
        schedule.call_when_window_opens(stack.db, stack.recruiter, quiet.id, job.id)
    assert stack.db[CALLS].count_documents({}) == 0


def test_the_launch_page_offers_to_call_when_the_window_opens(stack) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.support.apptest import TIMEOUT, page_path, signed_in, texts

    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Paula Page", consent=True,
                                    phone="+1 212 555 0133", job_ids=[job.id])
    _window_in_three_hours(stack)
    at = signed_in(AppTest.from_file(page_path("launch_calls"), default_timeout=TIMEOUT), stack.recruiter)
    at.run()
    at.selectbox(key="launch_calls.candidate").set_value(cand.id)
    at.button(key="FormSubmitter:launch_calls.one-Call now").click().run()
    assert "Not called" in texts(at) and "The calling window opens at" in texts(at)
    at.button(key="launch_calls.schedule").click().run()
    assert not at.exception
    assert "Scheduled: the worker places the call" in texts(at)
    stored = Call.model_validate(stack.db[CALLS].find_one({"candidate_id": cand.id}))
    assert stored.status == "queued" and stored.scheduled_by == stack.recruiter.username
    assert stack.dials() == []
