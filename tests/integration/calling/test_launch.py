"""Launching one call through the sandbox: the call document, compensation, idempotency, refusals."""

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest

from core import auth
from core.agent import settings as agent_settings
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import launch, refusals, test_call
from core.calling import store as call_store
from core.db import CALLS, utcnow
from core.people import candidates
from core.people.jobs import set_archived
from core.usage import budget, rollups, spend
from tests.factories import insert_call
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack


def add(stack: Stack, job: dict, xx: str = "00", **fields) -> dict:
    fields.setdefault("consent", True)
    return candidates.add_candidate(stack.db, stack.recruiter, name=f"Cand {xx}",
                                    phone=f"+1 212 555 01{xx}", job_ids=[job.id], **fields)


def test_single_launch_goes_through_to_the_call_document(stack):
    job = make_job(stack)
    cand = add(stack, job, "00")
    result = launch.launch_call(stack.db, stack.recruiter, cand.id)
    call = result.call
    assert result.created and call.status == "dialing"
    assert call.ultravox_call_id and call.twilio_call_sid
    assert call.open_key == f"{cand.id}:{job.id}"
    body = call.request_body
    assert body["medium"] == {"twilio": {}}
    assert body["metadata"] == {"screeningId": call.id, "candidateId": cand.id,
                                "jobId": job.id}
    assert [t.get("toolName") or t["temporaryTool"]["modelToolName"] for t in body["selectedTools"]] == [
        "hangUp", "leaveVoicemail", "recordAnswer", "candidateOptOut", "requestHuman", "requestCallback"]
    # The stored body keeps no key; what Ultravox received carries the call's own.
    assert "authTokens" not in json.dumps(body)
    assert body["inactivityMessages"][-1]["endBehavior"] == "END_BEHAVIOR_HANG_UP_SOFT"
    assert body["joinTimeout"] == "50s"  # ring timeout 5 s + slack
    assert body["maxDuration"] == "900s" and body["timeExceededMessage"]
    assert "user" in body["firstSpeakerSettings"]
    assert "+12125550100" not in json.dumps(body, default=str)  # no phone number in the body
    assert call.rendered_prompt == body["systemPrompt"] and "Warehouse lead" in body["systemPrompt"]
    assert call.config_snapshot["config"]["max_duration_minutes"] == 15
    assert call.calling_window.allowed is True
    assert call.calling_window.zone == "America/New_York"
    # What Ultravox and Twilio received.
    uv = stack.sandbox.received("ultravox", "create_call")[0]["body"]
    assert uv["metadata"]["screeningId"] == call.id
    dial = stack.dials()[0]["params"]
    assert dial["To"] == ["+12125550100"] and int(dial["TimeLimit"][0]) == 900 + 60
    assert "joinUrl" not in json.dumps(stack.db["calls"].find_one({"_id": call.id}), default=str)
    # Webhooks carry it to the end; the open key is released.
    done = stack.sandbox.wait_for(
        lambda: (c := call_store.get_call(stack.db, call.id)).status == "completed" and c, 20)
    assert done.open_key is None and "open_key" not in done.to_doc()


def test_twilio_failure_ends_the_ultravox_call_and_marks_ours_failed(stack):
    job = make_job(stack)
    cand = add(stack, job, "53")  # the sandbox's Twilio rejects this number
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    assert call.status == "failed"
    assert call.failure_reason == ("Twilio refused the call: the number does not appear to be "
                                   "valid (error 21217)")
    assert call.provider_error_code == 21217
    assert call.twilio_call_sid is None and call.ultravox_call_id
    assert "open_key" not in call
    assert call.ultravox_end
    # The Ultravox call does not dangle: it ends (unjoined) on the provider side too.
    ended = stack.sandbox.wait_for(
        lambda: stack.sandbox.ultravox_call(call.ultravox_call_id)["ended"], 20)
    assert ended
    # The pair is free again: a new launch is a new call.
    again = launch.launch_call(stack.db, stack.recruiter, cand.id)
    assert again.created and again.call.id != call.id


def test_ultravox_refusal_marks_the_call_failed_without_dialling(stack):
    job = make_job(stack)
    cand = add(stack, job, "01")
    stack.sandbox.inject_fault(status=400, count=1, path_prefix="/api/calls", method="POST")
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    assert call.status == "failed" and call.failure_reason.startswith("Ultravox step failed")
    assert stack.dials() == []


def test_twenty_concurrent_launches_of_one_candidate_place_one_call(stack):
    job = make_job(stack)
    cand = add(stack, job, "02")
    results, errors = [], []
    barrier = threading.Barrier(20)

    def launch_once():
        barrier.wait()
        try:
            results.append(launch.launch_call(stack.db, stack.recruiter, cand.id))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=launch_once) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len({r.call.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert stack.db[CALLS].count_documents({"candidate_id": cand.id}) == 1
    assert len(stack.dials()) == 1
    assert len(stack.sandbox.received("ultravox", "create_call")) == 1


def test_refusals_change_nothing_and_say_why(stack):
    job = make_job(stack)
    dnc = add(stack, job, "03")
    candidates.set_do_not_call(stack.db, stack.recruiter, dnc.id, True, "asked by email")
    no_consent = add(stack, job, "04", consent=False)
    ok = add(stack, job, "05")
    # An Inmarsat number: valid, but no time zone can be known from it.
    satellite = candidates.add_candidate(stack.db, stack.recruiter, name="Sat", consent=True,
                                         phone="+870773111632", job_ids=[job.id])
    cases = [(dnc, "do_not_call", "do-not-call"), (no_consent, "no_consent", "consent"),
             (satellite, "zone_unknown", "Held for a person")]
    for cand, code, words in cases:
        with pytest.raises(refusals.LaunchRefused, match=words) as info:
            launch.launch_call(stack.db, stack.recruiter, cand.id)
        assert info.value.code == code
    stack.set_config(monthly_budget=Decimal("0.50"))
    with pytest.raises(refusals.LaunchRefused, match="monthly budget") as info:
        launch.launch_call(stack.db, stack.recruiter, ok.id)
    assert info.value.code == "budget"
    never = CallingHours(windows={Weekday.MON: [TimeWindow(start=dt.time(3, 0),
                                                            end=dt.time(3, 1))]})
    stack.set_config(monthly_budget=Decimal("500"), calling_hours=never)
    with pytest.raises(refusals.LaunchRefused, match="Outside calling hours") as info:
        launch.launch_call(stack.db, stack.recruiter, ok.id)
    assert info.value.code == "calling_hours" and "window opens at" in str(info.value)
    set_archived(stack.db, stack.recruiter, job.id, True)
    with pytest.raises(refusals.LaunchRefused, match="archived"):
        launch.launch_call(stack.db, stack.recruiter, ok.id)
    assert stack.db[CALLS].count_documents({}) == 0
    assert stack.dials() == []


def test_viewer_cannot_launch(stack):
    from core import auth

    job = make_job(stack)
    cand = add(stack, job, "06")
    viewer = auth.create_user(stack.db, "viewer1", "password-123", "viewer", actor=auth.OPERATOR)
    with pytest.raises(auth.PermissionDenied):
        launch.launch_call(stack.db, viewer, cand.id)


def test_calls_placed_before_reservations_count_against_the_budget(stack):
    job = make_job(stack)
    cand = add(stack, job, "00")
    # One long call ended earlier this month, before budgets were reserved: 60 billed
    # minutes, Twilio's actual price known. It holds no reservation but still counts.
    now = utcnow()
    insert_call(stack.db, id="spent-1", candidate_id="someone", job_id=job.id, status="completed",
                created_at=now, ended_at=now, billed_duration_seconds=3600, duration_seconds=3600,
                telephony_price="0.84", price_unit="USD")
    rollups.sync_call(stack.db, "spent-1")
    assert spend.spend_this_month(stack.db) == Decimal("3.84")  # 60 × 0.05 + 0.84
    stack.set_config(monthly_budget=Decimal("4.00"))  # the next call may cost up to $0.974
    with pytest.raises(refusals.LaunchRefused, match="monthly budget") as info:
        launch.launch_call(stack.db, stack.recruiter, cand.id)
    assert info.value.code == "budget" and "3.84 of 4.00 is committed" in str(info.value)


def test_a_call_holds_its_maximum_of_the_budget_until_it_ends_then_its_cost(stack):
    job = make_job(stack)
    first, second = add(stack, job, "00"), add(stack, job, "01")
    # One call may cost up to 15 min × $0.05 + 16 started minutes × $0.014 = $0.974.
    stack.set_config(monthly_budget=Decimal("1.50"))
    call = launch.launch_call(stack.db, stack.recruiter, first.id).call
    assert call.budget.micros == 974_000
    with pytest.raises(refusals.LaunchRefused, match="monthly budget") as info:
        launch.launch_call(stack.db, stack.recruiter, second.id)
    assert info.value.code == "budget" and "0.974 of 1.50 is committed" in str(info.value)
    assert stack.db[CALLS].count_documents({"candidate_id": second.id}) == 0  # nothing recorded

    def settled():
        c = call_store.get_call(stack.db, call.id)
        return c.status == "completed" and c.costs and c.budget.counted == c.costs.total_micros and c

    done = stack.sandbox.wait_for(settled, 20)
    # Ended: it counts at its cost, and the room it no longer needs is back.
    assert done.budget.counted < 974_000
    stack.stop_sidecar()  # the second call's own ending must not race the figures below
    assert launch.launch_call(stack.db, stack.recruiter, second.id).created
    first_now = call_store.get_call(stack.db, call.id).budget.counted
    state = budget.budget_state(stack.db, Decimal("1.50"))
    assert state.committed * 1_000_000 == first_now + 974_000


def test_test_call_to_own_number_uses_the_job_settings_outside_calling_hours(stack):
    from core.agent.models import CallingHours

    job = make_job(stack)
    agent_settings.save_job_config(stack.db, stack.recruiter, job.id, {"max_duration_minutes": 4})
    stack.set_config(calling_hours=CallingHours(windows={}))  # no calling hours at all
    call_id = test_call.place_test_call(stack.db, stack.recruiter, job.id, "+1 212 555 0107")
    call = call_store.get_call(stack.db, call_id)
    assert call.test_call is True and call.status != "failed"
    assert call.request_body["maxDuration"] == "240s"  # the job's override
    assert stack.dials()[0]["params"]["To"] == ["+12125550107"]
    with pytest.raises(test_call.TestCallUnavailable, match="phone number|number"):
        test_call.place_test_call(stack.db, stack.recruiter, job.id, "not a number")
    viewer = auth.create_user(stack.db, "vera", "a-long-password-1", "viewer", actor=auth.OPERATOR)
    with pytest.raises(auth.PermissionDenied):
        test_call.place_test_call(stack.db, viewer, job.id, "+1 212 555 0108")
