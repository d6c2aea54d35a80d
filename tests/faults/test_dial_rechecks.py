"""Right before the phone is dialled, the call is checked again: still ours, still a decent hour.

The Ultravox step between the claim and the Twilio create takes its time. These tests change
the world at that moment (through the dial's named fault point) and check that Twilio is never
asked to dial a call that has been ended, or a candidate whose calling hours have closed.
"""

from __future__ import annotations

from core import faults
from core.agent.models import CallingHours
from core.calling import batches, dispatch
from core.calling.transitions import mark_failed
from core.db import CALLS
from core.documents.call import Call
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack


def _at_point(monkeypatch, name: str, action) -> None:
    real = faults.point

    def point(where: str) -> None:
        if where == name:
            action()
        real(where)

    monkeypatch.setattr(faults, "point", point)


def _candidate(stack, job, xx="00"):
    return candidates.add_candidate(stack.db, stack.recruiter, name=f"Pat {xx}", consent=True,
                                    phone=f"+1 212 555 01{xx}", timezone="America/New_York",
                                    job_ids=[job.id])


def test_calling_hours_that_close_during_the_dial_stop_it_before_twilio(stack, monkeypatch) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)
    _at_point(monkeypatch, "after_ultravox_create",
              lambda: stack.set_config(calling_hours=CallingHours(windows={})))
    result = sandbox_stack.launch(stack, cand.id)
    call = result.call
    assert call.status.value == "canceled"
    assert "Not dialled: calling hours closed" in call.failure_reason
    assert stack.dials() == []  # Twilio was never asked
    # The agent side was ended rather than left waiting for a caller.
    assert call.ultravox_end
    assert call.open_key is None


def test_a_batch_call_stopped_by_closed_hours_is_queued_again_for_the_next_opening(
        stack, monkeypatch) -> None:
    job = make_job(stack)
    _candidate(stack, job)
    # Closes now, opens again tomorrow: every day 00:00–23:59 except today.
    tomorrow = sandbox_stack.all_day_except_today("America/New_York")  # the candidate's zone
    _at_point(monkeypatch, "after_ultravox_create", lambda: stack.set_config(calling_hours=tomorrow))
    batch = batches.create_batch(stack.db, stack.recruiter, job.id)
    dispatch.run_once(stack.db)
    first = Call.model_validate(stack.db[CALLS].find_one({"batch_id": batch.id, "attempt": 1,
                                                          "requeue_at": {"$ne": None}}))
    assert first.status.value == "canceled" and stack.dials() == []
    dispatch.run_once(stack.db)  # the retry pass queues the same attempt again
    again = Call.model_validate(stack.db[CALLS].find_one({"_id": f"{first.id}-w"}))
    assert again.status.value == "queued" and again.attempt == 1
    assert again.next_attempt_at == first.requeue_at and again.retry_of == first.id


def test_a_call_ended_during_the_dial_is_not_dialled(stack, monkeypatch) -> None:
    job = make_job(stack)
    cand = _candidate(stack, job)

    def end_it() -> None:
        call = stack.db[CALLS].find_one({"candidate_id": cand.id})
        mark_failed(stack.db, call["_id"], "ended by an operator")

    _at_point(monkeypatch, "after_ultravox_create", end_it)
    result = sandbox_stack.launch(stack, cand.id)
    assert result.call.status.value == "failed"
    assert result.call.failure_reason == "ended by an operator"
    assert stack.dials() == []


def test_a_job_closed_during_the_dial_stops_it_before_twilio(stack, monkeypatch) -> None:
    from core.people import jobs

    job = make_job(stack)
    cand = _candidate(stack, job)
    _at_point(monkeypatch, "after_ultravox_create",
              lambda: jobs.set_stage(stack.db, stack.recruiter, job.id, "closed"))
    result = sandbox_stack.launch(stack, cand.id)
    call = result.call
    assert call.status.value == "canceled"
    assert call.failure_reason == "Not dialled: the job was closed before the phone was dialled"
    assert stack.dials() == [] and call.ultravox_end and call.open_key is None
    # Not queued again for later: the job takes no calls.
    assert call.requeue_at is None
